"""The index folder: a CURRENT that names a missing, damaged or incompatible generation,
generations that must read back whole before they are switched in, and full disks."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import DiskFullError, IndexDamagedError, IndexNotFoundError, KBError
from kb.index import files as store
from kb.ingest import ingest
from kb.search import KnowledgeBase
from kb.web.watcher import IndexWatcher

MISSING = "20991231T000000.000000-gone00"


def _generation_dir(settings: Settings, name: str | None = None) -> Path:
    return settings.index_dir / store.GENERATIONS / (name or store.current_generation_name(settings.index_dir))


def _point_current_at(settings: Settings, name: str) -> None:
    (settings.index_dir / store.CURRENT).write_text(name + "\n", encoding="utf-8")


def _unservable(settings: Settings, how: str) -> str:
    """A generation CURRENT may name that cannot be served, made as it happens for real."""
    if how == "missing":
        return MISSING
    copy = settings.index_dir / store.GENERATIONS / "20991231T000000.000000-copy00"
    shutil.copytree(_generation_dir(settings), copy)
    if how == "damaged":  # a vector file cut short, as by a disk that filled up
        with open(copy / store.VECTORS, "r+b") as f:
            f.truncate(100)
    elif how == "another model":
        manifest = json.loads((copy / store.MANIFEST).read_text(encoding="utf-8"))
        (copy / store.MANIFEST).write_text(json.dumps({**manifest, "model": "/models/other"}), encoding="utf-8")
    return copy.name


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "kb.web.watcher" and r.levelno >= logging.ERROR]


def _count_refreshes(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    calls: list[str | None] = []
    real = kb.refresh

    def counted(name: str | None = None) -> bool:
        calls.append(name)
        return real(name)

    monkeypatch.setattr(kb, "refresh", counted)
    return calls


def test_the_watcher_tries_a_missing_generation_once_then_switches_to_the_next(
    built: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = KnowledgeBase(built, embedder)
    serving = kb.generation.name
    calls = _count_refreshes(kb, monkeypatch)
    watcher = IndexWatcher(kb, every=0.02).start()
    try:
        _point_current_at(built, MISSING)
        time.sleep(0.5)  # some 25 polls
        assert calls == [MISSING]
        [record] = _errors(caplog)
        message = record.getMessage()
        assert MISSING in message and serving in message and "python ingest.py" in message
        assert kb.generation.name == serving and watcher.refused == MISSING
        assert kb.search("When is the clinic open on Saturday?", 1)[0].source == "hours.txt"

        # Staff run the ingest: CURRENT names a good generation again, and it is taken.
        (built.documents_dir / "parking.txt").write_text(
            "Parking\n\nThe basement car park is free for patients of the clinic.", encoding="utf-8"
        )
        fresh = ingest(built, embedder=embedder).generation
        deadline = time.monotonic() + 20
        while kb.generation.name != fresh and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.stop()
    assert kb.generation.name == fresh and watcher.refused is None
    assert calls == [MISSING, fresh] and len(_errors(caplog)) == 1
    assert kb.search("Is the car park free?", 1)[0].source == "parking.txt"


@pytest.mark.parametrize("how", ["damaged", "another model"])
def test_the_watcher_refuses_an_unservable_generation_once(
    how: str, built: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = KnowledgeBase(built, embedder)
    serving = kb.generation.name
    calls = _count_refreshes(kb, monkeypatch)
    watcher = IndexWatcher(kb)
    bad = _unservable(built, how)
    _point_current_at(built, bad)
    assert [watcher.check() for _ in range(5)] == [False] * 5
    assert calls == [bad] and len(_errors(caplog)) == 1 and kb.generation.name == serving
    assert {"damaged": "could not be loaded", "another model": "was built with the model"}[how] in (
        _errors(caplog)[0].getMessage()
    )
    # CURRENT named back to the generation in service: nothing to do, nothing logged.
    _point_current_at(built, serving)
    assert not watcher.check() and len(_errors(caplog)) == 1


@pytest.mark.parametrize("how", ["missing", "damaged"])
def test_start_up_falls_back_to_the_newest_complete_generation(
    how: str, built: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    older = store.current_generation_name(built.index_dir)
    (built.documents_dir / "hours.txt").write_text("Hours\n\nOpen every day from 7 am.", encoding="utf-8")
    newer = ingest(built, embedder=embedder).generation
    if how == "missing":  # the generation folder deleted by hand
        shutil.rmtree(_generation_dir(built, newer))
    else:
        (_generation_dir(built, newer) / store.PASSAGES).write_bytes(b"not a database")
    with caplog.at_level(logging.WARNING, logger="kb.index.files.generation"):
        kb = KnowledgeBase(built, embedder)
    assert kb.generation.name == older
    [warning] = [r for r in caplog.records if r.name == "kb.index.files.generation"]
    assert newer in warning.getMessage() and older in warning.getMessage()
    assert "python ingest.py" in warning.getMessage()
    assert kb.search("When is the clinic open on Saturday?", 1)[0].source == "hours.txt"
    # With nothing to fall back on (the older generation gone too, or built with another
    # model, whose vectors must never answer), the error says what to run (app.py then
    # builds an index).
    if how == "missing":
        shutil.rmtree(_generation_dir(built, older))
    else:
        path = _generation_dir(built, older) / store.MANIFEST
        manifest = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**manifest, "model": "/models/other"}), encoding="utf-8")
    with pytest.raises((IndexNotFoundError, IndexDamagedError), match="python ingest.py"):
        KnowledgeBase(built, embedder)
    # The next ingest writes a new generation, names it, and clears the way.
    report = ingest(built, embedder=embedder)
    assert report.ok and KnowledgeBase(built, embedder).generation.name == report.generation


def test_a_generation_that_reads_back_short_is_never_switched_in(
    built: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAISS reports a failed final flush only on stderr: the file is short, no exception."""
    from kb.index.files import vectors

    before = store.current_generation_name(built.index_dir)
    real = vectors.save_vector_index

    def short_write(index, path: Path) -> None:
        real(index, path)
        if path.name == store.SENTENCE_VECTORS:
            with open(path, "r+b") as f:
                f.truncate(path.stat().st_size - 1536)  # the last vector lost

    monkeypatch.setattr(vectors, "save_vector_index", short_write)
    (built.documents_dir / "new.txt").write_text("Gift cards\n\nGift cards are sold at the desk.", encoding="utf-8")
    with pytest.raises(IndexDamagedError, match="did not read back|read back incomplete"):
        ingest(built, embedder=embedder)
    assert store.current_generation_name(built.index_dir) == before
    assert not [p for p in (built.index_dir / store.GENERATIONS).iterdir() if p.name != before]
    assert KnowledgeBase(built, embedder).generation.name == before


@pytest.mark.parametrize(
    ("exc", "full"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), True),
        (OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)), True),
        (OSError(errno.EFBIG, os.strerror(errno.EFBIG)), True),
        (OSError(errno.EACCES, os.strerror(errno.EACCES)), False),
        # What FAISS raises, word for word, when its write meets a file size limit.
        (
            RuntimeError(
                "Error in void faiss::write_index(const Index*, IOWriter*, int) at index_write.cpp:499: "
                "Error: 'ret == (size * 4)' failed: write error in /i/sentences.faiss: 20055 != 76800 "
                "(File too large)"
            ),
            True,
        ),
        (RuntimeError("Error: 'ret == (size * 4)' failed: write error (Bad file descriptor)"), False),
        (ValueError("No space left on device"), False),
    ],
)
def test_what_counts_as_a_full_disk(exc: BaseException, full: bool) -> None:
    assert store.is_disk_full(exc) is full


def test_a_full_disk_while_caching_embeddings_says_so(tmp_path: Path) -> None:
    cache = store.EmbeddingCache(tmp_path / store.CACHE, 384)
    cache.put_many({"a": np.ones(384, dtype=np.float32)})
    pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
    cache._db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own "database or disk is full"
    with pytest.raises(DiskFullError, match=r"^The disk is full \(.*while saving embeddings") as caught:
        cache.put_many({f"k{i}": np.ones(384, dtype=np.float32) for i in range(50)})
    assert isinstance(caught.value, KBError) and isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert cache.get_many(["a"])["a"].shape == (384,)  # what was stored before is intact
    cache.close()


def test_a_long_history_log_is_read_from_its_end(tmp_path: Path) -> None:
    """The newest records come back newest first across the file's read blocks, and a torn
    last line (a crash mid-write) is skipped."""
    from kb.index.files.checks import append_record, latest_records

    for n in range(3000):
        append_record(tmp_path, "ingests", {"n": n, "padding": "x" * 50})
    with open(tmp_path / "ingests.jsonl", "a", encoding="utf-8") as log:
        log.write('{"n": 3000, "pad')  # torn
    assert [r["n"] for r in latest_records(tmp_path, "ingests", 3)] == [2999, 2998, 2997]
    assert [r["n"] for r in latest_records(tmp_path, "ingests", 2000)] == list(range(2999, 999, -1))
    assert latest_records(tmp_path, "golden", 1) == []  # each log its own file
