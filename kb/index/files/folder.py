"""The index folder on disk: its layout, the ``CURRENT`` pointer, pruning, leftovers and
the ingest lock.

Layout::

    index/
      CURRENT              name of the generation in service (replaced atomically)
      generations/<name>/  manifest.json, passages.sqlite, vectors.faiss (one vector per
                           passage), sentences.faiss (one per sentence), headings.faiss,
                           lexical/ (BM25), glossary.txt
      embeddings.sqlite    vector cache keyed by model + embedding text hash (cache.py)
      ingest.lock          held by the one ingest allowed at a time
      feedback.sqlite      visitors' votes (votes.py), kept across generations
      questions.sqlite     the question log, masked (questions.py), kept KB_QUESTION_DAYS
      golden-questions.jsonl  golden questions staff wrote from real questions (golden.py)

A generation is written under ``generations/<name>.partial``, read back and checked,
synced, renamed, and only then named in ``CURRENT`` (writer.py); a crash at any moment
leaves the previous generation in service. Loaders read ``CURRENT`` and never see a
half-written generation (generation.py). The invariant every step keeps: a folder in
``generations/`` without the ``.partial`` suffix is complete. Pruning renames a generation
to ``.partial`` before deleting it, so a crash mid-delete leaves a leftover, never a
half-deleted "complete" generation. Leftovers (``.partial`` folders, ``CURRENT.tmp``) are
removed by the next ingest, under the lock, before it writes anything; a write that fails
removes its own.
"""


from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import (
    IngestLockedError,
)

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
PARTIAL = ".partial"
CURRENT_TMP = f"{CURRENT}.tmp"
def current_generation_name(index_dir: Path) -> str | None:
    try:
        name = (Path(index_dir) / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def switch_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / CURRENT_TMP
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    fsync_dir(index_dir)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        doomed = root / (name + PARTIAL)
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
            if path.name.endswith(PARTIAL):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(f"{GENERATIONS}/{path.name}")
    tmp = index_dir / CURRENT_TMP
    if tmp.exists():
        tmp.unlink()
        removed.append(CURRENT_TMP)
    return removed


def complete_generations(index_dir: Path) -> list[str]:
    """Names of the generation folders that are complete (renamed into place), oldest first."""
    root = Path(index_dir) / GENERATIONS
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name.endswith(PARTIAL) and (p / MANIFEST).exists()
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


