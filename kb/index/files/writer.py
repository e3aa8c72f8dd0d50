"""Writing a generation into the index folder: every part written under ``.partial``, read
back whole, synced, renamed into place, then named in ``CURRENT`` (folder.py has the
invariant each step keeps).

A full disk fails the write with ``DiskFullError`` (a KBError the CLI turns into exit
code 2); the partial folder is removed and ``CURRENT`` is untouched.
"""


from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from kb.errors import (
    DiskFullError,
    IndexDamagedError,
)
from kb.index.base import (
    FORMAT_VERSION,
    DocumentRecord,
    heading_texts,
    new_generation_name,
    sentence_table,
)
from kb.index.files.folder import (
    CURRENT,
    CURRENT_TMP,
    GENERATIONS,
    GLOSSARY,
    HEADING_VECTORS,
    LEXICAL,
    MANIFEST,
    PARTIAL,
    PASSAGES,
    SENTENCE_VECTORS,
    VECTORS,
    fsync_dir,
    switch_current,
)
from kb.index.files.generation import Generation
from kb.index.lexical import LexicalIndex
from kb.reading.chunking import Passage

#: errno values that mean "no room to write": a full disk, a full quota, a file size limit.
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)

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
    partial = root / (name + PARTIAL)
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
        fsync_dir(partial)
        os.rename(partial, root / name)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if is_disk_full(exc):
            raise disk_full_error(index_dir, "while writing the new index", exc) from exc
        raise
    fsync_dir(root)
    try:
        switch_current(index_dir, name)
    except OSError as exc:
        # The complete generation stays on disk, unnamed; the next ingest prunes it.
        (index_dir / CURRENT_TMP).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(index_dir, f"while naming the new index in {CURRENT}", exc) from exc
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
    from kb.index.files.vectors import save_vector_index

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


def disk_full_error(index_dir: Path, doing: str, exc: BaseException) -> DiskFullError:
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


