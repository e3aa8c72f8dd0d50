"""The index folder on disk: generations of parts built and switched together.

Layout::

    index/
      CURRENT              name of the generation in service (replaced atomically)
      generations/<name>/  manifest.json, passages.sqlite, vectors.faiss (one vector per
                           passage), sentences.faiss (one per sentence), lexical/ (BM25)
      embeddings.sqlite    vector cache keyed by model + embedding text hash
      ingest.lock          held by the one ingest allowed at a time
      feedback.sqlite      visitors' votes (kb.feedback), kept across generations

A generation is written under ``generations/<name>.partial``, read back and checked,
synced, renamed, and only then named in ``CURRENT``; a crash at any moment leaves the
previous generation in service. Loaders read ``CURRENT`` and never see a half-written
generation. The invariant every step keeps: a folder in ``generations/`` without the
``.partial`` suffix is complete. Pruning renames a generation to ``.partial`` before
deleting it, so a crash mid-delete leaves a leftover, never a half-deleted "complete"
generation. Leftovers (``.partial`` folders, ``CURRENT.tmp``) are removed by the next
ingest, under the lock, before it writes anything; a write that fails removes its own.

A full disk fails the write with ``DiskFullError`` (a KBError the CLI turns into exit
code 2); the partial folder is removed and ``CURRENT`` is untouched.

If ``CURRENT`` names a generation that is missing or damaged (a folder deleted or copied
by hand, a restore gone wrong), loading falls back to the newest other complete
generation built with the configured model, with a logged warning, so the site keeps
answering; the next ingest writes a new generation and points ``CURRENT`` at it. With
nothing to fall back on, loading raises ``IndexNotFoundError`` or ``IndexDamagedError``
(the app then builds a fresh index). A generation of another format or model is never
used as a fallback: ``IndexFormatError`` / ``IndexMismatchError`` say what to run.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np

from kb.chunking import Passage
from kb.errors import (
    DiskFullError,
    IndexDamagedError,
    IndexNotFoundError,
    IngestLockedError,
    KBError,
)
from kb.index import base
from kb.index.base import (
    FORMAT_VERSION,
    MIN_SENTENCE_WORDS,
    DocumentRecord,
    ScoringData,
    heading_text,
    heading_texts,
    new_generation_name,
    now_iso,
    sentence_table,
)
from kb.lexical import LexicalIndex
from kb.query import load_glossary

__all__ = [
    "FORMAT_VERSION",
    "MIN_SENTENCE_WORDS",
    "DocumentRecord",
    "heading_texts",
    "now_iso",
    "sentence_table",
]

CURRENT = "CURRENT"
GENERATIONS = "generations"
MANIFEST = "manifest.json"
PASSAGES = "passages.sqlite"
VECTORS = "vectors.faiss"
SENTENCE_VECTORS = "sentences.faiss"
HEADING_VECTORS = "headings.faiss"
LEXICAL = "lexical"
GLOSSARY = "glossary.txt"
CACHE = "embeddings.sqlite"
LOCK = "ingest.lock"
_PARTIAL = ".partial"
_CURRENT_TMP = f"{CURRENT}.tmp"
#: errno values that mean "no room to write": a full disk, a full quota, a file size limit.
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)

logger = logging.getLogger(__name__)


# --- the CURRENT pointer ---------------------------------------------------------------


def current_generation_name(index_dir: Path) -> str | None:
    try:
        name = (Path(index_dir) / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def _switch_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / _CURRENT_TMP
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- reading a generation ----------------------------------------------------------------


class Generation(base.Generation):
    """One complete, read-only generation: manifest, passage store and vector index.

    Safe to share between threads: SQLite reads are serialized by a lock; the FAISS index
    is only searched.
    """

    def __init__(self, path: Path) -> None:
        from kb.lexical import LexicalIndex
        from kb.vectors import IndexPlan, all_vectors, load_vector_index

        self.path = Path(path)
        self.name = self.path.name
        self.manifest: dict = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        #: The passage index's type and search parameters, as the ingest chose them.
        self.plan = IndexPlan.from_manifest(self.manifest.get("vector_index", "Flat"))
        self.vectors = load_vector_index(self.path / VECTORS, self.plan)
        self.sentence_vectors = load_vector_index(self.path / SENTENCE_VECTORS)
        self.lexical = LexicalIndex.load(self.path / LEXICAL)
        uri = f"file:{(self.path / PASSAGES).as_posix()}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        found = self._db.execute("SELECT passage_row, words, question FROM sentences ORDER BY row").fetchall()
        table = np.array(found, dtype=np.int64).reshape(-1, 3)
        #: Passage row of each sentence vector (sentences are stored in passage order).
        self.sentence_passage: np.ndarray = table[:, 0]
        #: Passage row r's sentences are rows sentence_bounds[r] to sentence_bounds[r + 1].
        self.sentence_bounds: np.ndarray = np.searchsorted(
            self.sentence_passage, np.arange(self.vectors.ntotal + 1), side="left"
        )
        #: Sentences that rank passages: a question ("Does it hurt?") or a statement of four
        #: words or more (shorter ones, "Yes." or "Cash", match too many queries).
        self.sentence_is_question: np.ndarray = table[:, 2] == 1
        self.sentence_is_statement: np.ndarray = (table[:, 2] == 0) & (table[:, 1] >= MIN_SENTENCE_WORDS)
        #: Every vector as one matrix (a view of the flat index's memory, not a copy). An
        #: approximate index keeps no such matrix: it is searched, and read by row.
        self.passage_matrix: np.ndarray | None = all_vectors(self.vectors) if self.exact else None
        self.sentence_matrix: np.ndarray = all_vectors(self.sentence_vectors)
        self.heading_vectors = load_vector_index(self.path / HEADING_VECTORS)
        self.heading_matrix: np.ndarray = all_vectors(self.heading_vectors)
        headings = self._db.execute("SELECT title, section FROM passages ORDER BY row").fetchall()
        order = {h: i for i, h in enumerate(dict.fromkeys(heading_text(t, s) for t, s in headings))}
        #: Row in heading_matrix of each passage's heading.
        self.passage_heading: np.ndarray = np.array(
            [order[heading_text(t, s)] for t, s in headings], dtype=np.int64
        )
        glossary = self.path / GLOSSARY
        self.glossary_text: str | None = glossary.read_text(encoding="utf-8") if glossary.exists() else None
        self.glossary = load_glossary(glossary) if glossary.exists() else ()

    @property
    def passage_count(self) -> int:
        return int(self.vectors.ntotal)

    @property
    def exact(self) -> bool:
        """True when the passage index searches exactly (else approximately)."""
        return self.plan.exact

    def nearest_passages(self, vector: np.ndarray, depth: int) -> np.ndarray:
        """Rows of the ``depth`` passages the vector index finds nearest (-1 pads)."""
        from kb.vectors import search_vectors

        return search_vectors(self.vectors, vector[None, :], depth)[1][0]

    def passage_vectors_at(self, rows: np.ndarray) -> np.ndarray:
        """The passage vectors of the given rows, (len(rows), d) float32."""
        from kb.vectors import vectors_at

        if self.passage_matrix is not None:
            return self.passage_matrix[rows]
        return vectors_at(self.vectors, rows)

    def scoring_data(self, rows: np.ndarray | None) -> ScoringData:
        """Vectors and sentence flags of the given rows (None: every row, as views)."""
        if rows is None and self.passage_matrix is not None:
            return ScoringData(
                self.passage_matrix,
                self.sentence_matrix,
                self.sentence_bounds,
                self.sentence_is_statement,
                self.sentence_is_question,
                self.heading_matrix,
                self.passage_heading,
            )
        rows = np.arange(self.passage_count) if rows is None else np.asarray(rows, dtype=np.int64)
        starts, ends = self.sentence_bounds[rows], self.sentence_bounds[rows + 1]
        picked = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)] or [[]])
        picked = picked.astype(np.int64)
        return ScoringData(
            self.passage_vectors_at(rows),
            self.sentence_matrix[picked],
            np.append(0, np.cumsum(ends - starts)).astype(np.int64),
            self.sentence_is_statement[picked],
            self.sentence_is_question[picked],
            self.heading_matrix,
            self.passage_heading[rows],
        )

    def passages_at(self, rows: Sequence[int]) -> list[Passage]:
        """Passages of the given vector rows, in the same order."""
        rows = [int(r) for r in rows]
        found = self._passages(f"row IN ({','.join('?' * len(rows))})", rows) if rows else {}
        return [found[r] for r in rows]

    def passages_of(self, source: str) -> list[Passage]:
        return list(self._passages("source = ?", [source]).values())

    def texts_mentioning(self, word: str) -> list[tuple[str, str]]:
        """(source, text) of passages whose text contains ``word`` (case-insensitive)."""
        with self._lock:
            return self._db.execute(
                "SELECT source, text FROM passages WHERE text LIKE ? ORDER BY row", (f"%{word}%",)
            ).fetchall()

    def _passages(self, where: str, args: list) -> dict[int, Passage]:
        with self._lock:
            found = self._db.execute(
                "SELECT row, id, source, title, page, section, start, end_, text FROM passages "
                f"WHERE {where} ORDER BY row",
                args,
            ).fetchall()
            marks = ",".join("?" * len(found))
            sentences: dict[int, list[tuple[int, int]]] = {}
            for passage_row, start, end in self._db.execute(
                f"SELECT passage_row, start, end_ FROM sentences WHERE passage_row IN ({marks}) ORDER BY row",
                [r[0] for r in found],
            ):
                sentences.setdefault(passage_row, []).append((start, end))
        return {r[0]: Passage(*r[1:], sentences=tuple(sentences.get(r[0], ()))) for r in found}

    def documents(self) -> list[DocumentRecord]:
        with self._lock:
            found = self._db.execute(
                "SELECT source, title, kind, pages, sha256, size, passages, ingested_at, notice "
                "FROM documents ORDER BY source"
            ).fetchall()
        return [DocumentRecord(*r) for r in found]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_generation(index_dir: Path, name: str | None = None) -> Generation:
    """The generation named in CURRENT (or ``name``).

    Raises:
        IndexNotFoundError: no index has been built in ``index_dir``.
    """
    index_dir = Path(index_dir)
    name = name or current_generation_name(index_dir)
    if name is None:
        raise IndexNotFoundError(
            f"No index in {index_dir}/. Build one with: python ingest.py --index {index_dir}"
        )
    path = index_dir / GENERATIONS / name
    if not (path / MANIFEST).exists():
        raise IndexNotFoundError(
            f"{index_dir}/{CURRENT} names generation {name!r}, which is missing. Run the ingest "
            f"to write a new one and name it there: python ingest.py --index {index_dir}"
        )
    try:
        return Generation(path)
    except (OSError, ValueError, RuntimeError, sqlite3.Error) as exc:
        raise IndexDamagedError(
            f"The index generation {name!r} in {index_dir}/ could not be loaded ({exc}). "
            f"Rebuild the index: python ingest.py --rebuild --index {index_dir}"
        ) from exc


def open_current(index_dir: Path, model: str) -> Generation:
    """The generation to serve: the one named in CURRENT, checked against ``model``.

    If CURRENT names a generation that is missing or damaged, the newest other complete
    generation built with ``model`` is served instead and a warning logged (see the module
    docstring); CURRENT is not rewritten here, the next ingest does that.

    Raises:
        IndexNotFoundError: no index, or CURRENT names a missing generation and no other
            complete one can be served.
        IndexDamagedError: the generation in CURRENT cannot be read and none other can.
        IndexMismatchError: the generation in CURRENT was built with another model or format.
    """
    index_dir = Path(index_dir)
    try:
        generation = open_generation(index_dir)
    except (IndexNotFoundError, IndexDamagedError) as exc:
        name = current_generation_name(index_dir)
        if name is None:
            raise
        fallback = _newest_servable(index_dir, model, skip=name)
        if fallback is None:
            raise
        logger.warning(
            "%s Serving generation %r, the newest complete one, until then: run python ingest.py "
            "--index %s to write a new generation and name it in %s.",
            exc,
            fallback.name,
            index_dir,
            CURRENT,
        )
        return fallback
    try:
        check_compatible(generation.manifest, model, index_dir)
    except KBError:
        generation.close()
        raise
    return generation


def _newest_servable(index_dir: Path, model: str, skip: str) -> Generation | None:
    for name in reversed(complete_generations(index_dir)):
        if name == skip:
            continue
        try:
            generation = open_generation(index_dir, name)
        except KBError:
            continue
        try:
            check_compatible(generation.manifest, model, index_dir)
        except KBError:
            generation.close()
            continue
        return generation
    return None


def check_compatible(manifest: dict, model: str, where: Path) -> None:
    """Refuse an index built with another model or an unknown format (``base.check_compatible``).

    Raises:
        IndexMismatchError: with the command that fixes it.
    """
    base.check_compatible(manifest, model, f"{where}/", f" --index {where}")


# --- writing a generation ----------------------------------------------------------------


def write_generation(
    index_dir: Path,
    manifest: dict,
    documents: Iterable[DocumentRecord],
    passages: Sequence[Passage],
    vector_index: object,
    sentence_index: object,
    heading_index: object,
    lexical_index: LexicalIndex,
    glossary: str | None = None,
) -> str:
    """Write a complete generation beside the current one, then switch CURRENT to it.

    Returns:
        The new generation's name.

    Raises:
        DiskFullError: no room on the disk; nothing was switched and the half-written
            generation was removed.
        IndexDamagedError: what was written did not read back whole (nothing switched).
    """
    index_dir = Path(index_dir)
    root = index_dir / GENERATIONS
    root.mkdir(parents=True, exist_ok=True)
    name = new_generation_name()
    partial = root / (name + _PARTIAL)
    partial.mkdir()
    manifest = {**manifest, "format": FORMAT_VERSION, "generation": name}
    documents = list(documents)
    try:
        _write_parts(partial, manifest, documents, passages, vector_index, sentence_index, heading_index)
        lexical_index.save(partial / LEXICAL)
        if glossary is not None:
            (partial / GLOSSARY).write_text(glossary, encoding="utf-8")
        # The manifest goes last: a folder with a manifest has every other part.
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        # Some writers only report a failed final flush on stderr (FAISS closes its file that
        # way), so a part can be short without an exception: read it all back first.
        _check_written(partial, documents, passages)
        for part in [*partial.iterdir(), *(partial / LEXICAL).iterdir()]:
            if part.is_dir():
                continue
            with open(part, "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(partial)
        os.rename(partial, root / name)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if is_disk_full(exc):
            raise _disk_full(index_dir, "while writing the new index", exc) from exc
        raise
    _fsync_dir(root)
    try:
        _switch_current(index_dir, name)
    except OSError as exc:
        # The complete generation stays on disk, unnamed; the next ingest prunes it.
        (index_dir / _CURRENT_TMP).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise _disk_full(index_dir, f"while naming the new index in {CURRENT}", exc) from exc
        raise
    return name


def _write_parts(
    partial: Path,
    manifest: dict,
    documents: list[DocumentRecord],
    passages: Sequence[Passage],
    vector_index: object,
    sentence_index: object,
    heading_index: object,
) -> None:
    from kb.vectors import save_vector_index

    # Built in memory and written in one go: a failed write then raises an OSError with its
    # errno (a full disk says so), where SQLite would only say "disk I/O error".
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(
            """
            CREATE TABLE documents (
                source TEXT PRIMARY KEY, title TEXT NOT NULL, kind TEXT NOT NULL,
                pages INTEGER, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
                passages INTEGER NOT NULL, ingested_at TEXT NOT NULL, notice TEXT);
            CREATE TABLE passages (
                row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL,
                title TEXT NOT NULL, page INTEGER, section TEXT,
                start INTEGER NOT NULL, end_ INTEGER NOT NULL, text TEXT NOT NULL);
            CREATE INDEX passages_source ON passages(source);
            CREATE TABLE sentences (
                row INTEGER PRIMARY KEY, passage_row INTEGER NOT NULL,
                start INTEGER NOT NULL, end_ INTEGER NOT NULL, words INTEGER NOT NULL,
                question INTEGER NOT NULL);
            CREATE INDEX sentences_passage ON sentences(passage_row);
            """
        )
        db.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
            [tuple(asdict(d).values()) for d in documents],
        )
        db.executemany(
            "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (row, p.id, p.source, p.title, p.page, p.section, p.start, p.end, p.text)
                for row, p in enumerate(passages)
            ],
        )
        db.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?,?)",
            [
                (row, passage_row, start, end, len(text.split()), int(text.rstrip().endswith("?")))
                for row, (passage_row, start, end, text) in enumerate(sentence_table(passages))
            ],
        )
        db.commit()
        (partial / PASSAGES).write_bytes(db.serialize())
    finally:
        db.close()
    save_vector_index(vector_index, partial / VECTORS)
    save_vector_index(sentence_index, partial / SENTENCE_VECTORS)
    save_vector_index(heading_index, partial / HEADING_VECTORS)


def _check_written(partial: Path, documents: list[DocumentRecord], passages: Sequence[Passage]) -> None:
    """Read the written generation back and check that every part holds all it should.

    Raises:
        IndexDamagedError: a part is short or unreadable.
    """
    expected = {
        "documents": len(documents),
        "passages": len(passages),
        "sentences": sum(len(p.sentences) for p in passages),
        "headings": len(heading_texts(passages)),
    }
    try:
        generation = Generation(partial)
    except (OSError, ValueError, RuntimeError, sqlite3.Error) as exc:
        if is_disk_full(exc):
            raise
        raise IndexDamagedError(
            f"The new index generation did not read back after writing ({exc}); it was discarded and "
            "the previous index stays in service. Check the disk, then run the ingest again."
        ) from exc
    try:
        found = {
            "documents": len(generation.documents()),
            "passages": generation.passage_count,
            "sentences": int(generation.sentence_vectors.ntotal),
            "headings": int(generation.heading_vectors.ntotal),
        }
        lexical = generation.lexical.size
    finally:
        generation.close()
    if found != expected or lexical != len(passages):
        raise IndexDamagedError(
            f"The new index generation read back incomplete ({found}, {lexical} keyword rows; expected "
            f"{expected}); it was discarded and the previous index stays in service. Check the disk "
            "(is it full?), then run the ingest again."
        )


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` reports that a write found no room (full disk, full quota, file size
    limit), however the writer reports it: an OSError's errno, SQLite's "database or disk is
    full", or FAISS's RuntimeError quoting the system's message."""
    if isinstance(exc, OSError):
        return exc.errno in _NO_ROOM
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    if isinstance(exc, RuntimeError):
        return any(f"({os.strerror(code)})" in str(exc) for code in _NO_ROOM)
    return False


def _disk_full(index_dir: Path, doing: str, exc: BaseException) -> DiskFullError:
    return DiskFullError(
        f"The disk is full ({exc.__class__.__name__}: {_brief(exc)}, {doing} in {index_dir}/); "
        "free some space and run the ingest again. The previous index stays in service."
    )


def _brief(exc: BaseException) -> str:
    """The cause in the error's message: its last line, without FAISS's source location
    ("Error in ... at index_write.cpp:499: Error: '...' failed: "), cut short."""
    lines = str(exc).strip().splitlines()
    text = lines[-1].rsplit("failed: ", 1)[-1] if lines else exc.__class__.__name__
    return text if len(text) <= 200 else "…" + text[-200:]


def prune_generations(index_dir: Path, keep: int = 2) -> None:
    """Delete all but the ``keep`` newest complete generations (and any leftovers).

    Call only while holding the ingest lock. The generation in CURRENT is always kept; the
    one before it stays so a running app can finish searches begun on it.
    """
    root = Path(index_dir) / GENERATIONS
    if not root.is_dir():
        return
    current = current_generation_name(index_dir)
    complete = sorted(complete_generations(index_dir))
    for name in complete[:-keep]:
        if name == current:
            continue
        # Renamed first (one atomic step), so a crash mid-delete leaves a ".partial"
        # leftover for the next ingest, never a half-deleted folder that looks complete.
        doomed = root / (name + _PARTIAL)
        try:
            os.rename(root / name, doomed)
        except OSError:
            continue
        shutil.rmtree(doomed, ignore_errors=True)
    remove_leftovers(index_dir)


def remove_leftovers(index_dir: Path) -> list[str]:
    """Remove what a killed or failed ingest left behind: ``.partial`` generation folders
    and ``CURRENT.tmp``. Call only while holding the ingest lock (no writer is running).

    Returns:
        The names removed, for the record.
    """
    index_dir = Path(index_dir)
    removed = []
    root = index_dir / GENERATIONS
    if root.is_dir():
        for path in root.iterdir():
            if path.name.endswith(_PARTIAL):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(f"{GENERATIONS}/{path.name}")
    tmp = index_dir / _CURRENT_TMP
    if tmp.exists():
        tmp.unlink()
        removed.append(_CURRENT_TMP)
    return removed


def complete_generations(index_dir: Path) -> list[str]:
    """Names of the generation folders that are complete (renamed into place), oldest first."""
    root = Path(index_dir) / GENERATIONS
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name.endswith(_PARTIAL) and (p / MANIFEST).exists()
    )


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's ingest lock; released even if the process is killed.

    Raises:
        IngestLockedError: another ingest holds it.
    """
    from filelock import FileLock, Timeout

    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise IngestLockedError(
            f"Another ingest is running on {index_dir}/ (it holds {index_dir / LOCK}). "
            "Wait for it to finish, then run this again."
        ) from None
    try:
        yield
    finally:
        lock.release()


# --- the embedding cache -------------------------------------------------------------------


class EmbeddingCache(base.EmbeddingCache):
    """Vectors already computed, keyed by a hash of (model, embedding text).

    Lets a re-ingest embed only passages whose text is new. SQLite keeps each write atomic,
    so a crash mid-ingest leaves a usable cache.
    """

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = Path(path)
        self.dimension = dimension
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
            ):
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dimension,):
                    found[key] = vector
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store vectors in one transaction (all or none of them survive a crash).

        Raises:
            DiskFullError: no room on the disk for them.
        """
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
                )
        except sqlite3.Error as exc:
            if is_disk_full(exc):
                raise _disk_full(self.path.parent, f"while saving embeddings in {CACHE}", exc) from exc
            raise

    def batches(self, size: int = 5_000) -> Iterator[dict[str, np.ndarray]]:
        rows = self._db.execute("SELECT key, vector FROM vectors ORDER BY key")
        while found := rows.fetchmany(size):
            yield {key: np.frombuffer(blob, dtype=np.float32) for key, blob in found}

    def retain(self, keys: Iterable[str]) -> None:
        """Forget every vector whose key is not in ``keys``."""
        with self._db:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
            self._db.execute("DELETE FROM keep")
            self._db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", [(k,) for k in keys])
            self._db.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM keep)")

    def close(self) -> None:
        self._db.close()
