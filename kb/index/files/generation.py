"""A generation in the index folder, open for reading: the manifest, the SQLite passage
store, the FAISS vectors and the BM25 index, loaded whole.

If ``CURRENT`` names a generation that is missing or damaged (a folder deleted or copied
by hand, a restore gone wrong), loading falls back to the newest other complete
generation built with the configured model, with a logged warning, so the site keeps
answering; the next ingest writes a new generation and points ``CURRENT`` at it. With
nothing to fall back on, loading raises ``IndexNotFoundError`` or ``IndexDamagedError``
(the app then builds a fresh index). A generation of another format or model is never
used as a fallback: ``IndexFormatError`` / ``IndexMismatchError`` say what to run.
"""


from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.errors import (
    IndexDamagedError,
    IndexNotFoundError,
    KBError,
)
from kb.index import base
from kb.index.base import (
    MIN_SENTENCE_WORDS,
    DocumentRecord,
    ScoringData,
    heading_text,
    pick_sentences,
)
from kb.index.files.folder import (
    CURRENT,
    GENERATIONS,
    GLOSSARY,
    HEADING_VECTORS,
    LEXICAL,
    MANIFEST,
    PASSAGES,
    SENTENCE_VECTORS,
    VECTORS,
    complete_generations,
    current_generation_name,
)
from kb.index.lexical import LexicalIndex
from kb.reading.chunking import Passage

logger = logging.getLogger(__name__)


class Generation(base.Generation):
    """One complete, read-only generation: manifest, passage store and vector index.

    Safe to share between threads: SQLite reads are serialized by a lock; the FAISS index
    is only searched.
    """

    def __init__(self, path: Path) -> None:
        from kb.index.files.vectors import all_vectors, load_vector_index, plan_from_manifest

        self.path = Path(path)
        self.name = self.path.name
        self.manifest: dict = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        #: The passage index's type and search parameters, as the ingest chose them.
        self.plan = plan_from_manifest(self.manifest.get("vector_index", "Flat"))
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

    @property
    def passage_count(self) -> int:
        return int(self.vectors.ntotal)

    @property
    def exact(self) -> bool:
        """True when the passage index searches exactly (else approximately)."""
        return self.plan.exact

    def nearest_passages(self, vector: np.ndarray, depth: int) -> np.ndarray:
        """Rows of the ``depth`` passages the vector index finds nearest (-1 pads)."""
        from kb.index.files.vectors import search_vectors

        return search_vectors(self.vectors, vector[None, :], depth)[1][0]

    def passage_vectors_at(self, rows: np.ndarray) -> np.ndarray:
        """The passage vectors of the given rows, (len(rows), d) float32."""
        from kb.index.files.vectors import vectors_at

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
        picked, offsets = pick_sentences(self.sentence_bounds, rows)
        return ScoringData(
            self.passage_vectors_at(rows),
            self.sentence_matrix[picked],
            offsets,
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


