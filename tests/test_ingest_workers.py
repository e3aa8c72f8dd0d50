"""Several ingest workers share one ingest through Postgres: documents and embedding batches
are claimed with FOR UPDATE SKIP LOCKED, vectors shared through the cache table. The result
equals one worker's, and a worker killed half way loses nothing."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

import numpy as np
import psycopg
import pytest
from conftest import ROOT, new_schema

from bench.corpus import generate_corpus
from kb.config import Settings
from kb.errors import KBError
from kb.index import open_backend
from kb.index.postgres.local import INGEST_USER, LocalPostgres
from kb.ingest import ingest, serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("worker-corpus") / "documents"
    generate_corpus(folder, documents=16, seed=11)
    return folder


@pytest.fixture(scope="module")
def alone(corpus: Path, postgres: LocalPostgres, embedder, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The corpus ingested by one process with no worker attached."""
    settings = _settings(corpus, postgres, tmp_path_factory.mktemp("alone"))
    report = ingest(settings, embedder=embedder)
    assert report.ok and report.documents == 16, report.failed
    return settings


def _settings(corpus: Path, postgres: LocalPostgres, folder: Path) -> Settings:
    return Settings(documents_dir=corpus, index_dir=folder / "index").with_changes(
        database_url=postgres.url(INGEST_USER), pg_schema=new_schema()
    )


class Worker:
    """``python ingest.py --worker`` in a process of its own, one thread, on the collection."""

    def __init__(self, settings: Settings) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KB_DATABASE_URL": settings.database_url,
            "KB_PG_SCHEMA": settings.pg_schema,
            "KB_EMBEDDING_THREADS": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "ingest.py"), "--worker", "--idle-exit", "20"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.name = f"{socket.gethostname()}:{self.process.pid}"
        first = self.process.stdout.readline()
        assert "Ingest worker ready" in first, first + self.process.stdout.read()

    def finish(self) -> str:
        out, _ = self.process.communicate(timeout=120)
        return out


def _same_generation(a: Settings, b: Settings) -> None:
    first, second = open_backend(a).open_generation(), open_backend(b).open_generation()

    def records(generation):
        return [dataclasses.replace(r, ingested_at="") for r in generation.documents()]

    assert records(first) == records(second)
    rows = range(first.passage_count)
    assert first.passage_count == second.passage_count and first.passages_at(rows) == second.passages_at(rows)
    x, y = first.scoring_data(None), second.scoring_data(None)
    for name in ("passage_vectors", "sentence_vectors", "heading_vectors"):
        assert np.allclose(getattr(x, name), getattr(y, name), atol=1e-5), name
    assert np.array_equal(x.offsets, y.offsets) and np.array_equal(x.is_statement, y.is_statement)
    stems = ["laser", "redness", "sunscreen"]
    assert np.allclose(first.lexical.scores(stems), second.lexical.scores(stems))


def test_two_workers_give_what_one_gives(corpus: Path, alone: Settings, postgres, embedder, tmp_path: Path) -> None:
    settings = _settings(corpus, postgres, tmp_path)
    worker = Worker(settings)
    report = ingest(settings, embedder=embedder)
    out = worker.finish()
    assert report.ok and report.documents == 16
    done = int(out.split("stopped after ")[1].split()[0])
    assert done > 0, out  # it did a share
    _same_generation(alone, settings)


def test_a_worker_killed_half_way_loses_nothing(corpus: Path, alone: Settings, postgres, embedder, tmp_path: Path) -> None:
    settings = _settings(corpus, postgres, tmp_path)
    worker = Worker(settings)
    reports: list = []
    coordinator = threading.Thread(target=lambda: reports.append(ingest(settings, embedder=embedder)))
    coordinator.start()
    claimed = False
    with psycopg.connect(postgres.url(INGEST_USER), autocommit=True) as conn:
        deadline = time.monotonic() + 300
        while not claimed and time.monotonic() < deadline and coordinator.is_alive():
            with suppress(psycopg.errors.UndefinedTable):  # before the ingest made its tables
                claimed = conn.execute(
                    f"SELECT count(*) FROM {settings.pg_schema}.ingest_claims c JOIN {settings.pg_schema}.ingest_jobs j "
                    "ON j.id = c.job WHERE j.kind = 'embed' AND c.worker = %s",
                    (worker.name,),
                ).fetchone()[0] > 0
            time.sleep(0.05)
    assert claimed, "the worker never claimed an embedding batch"
    os.kill(worker.process.pid, signal.SIGKILL)  # mid-batch: its transaction and lock go with it
    worker.finish()
    coordinator.join(timeout=600)
    assert reports and reports[0].ok and reports[0].documents == 16
    _same_generation(alone, settings)
    assert open_backend(settings).remove_leftovers() == []


def test_a_worker_needs_the_database(settings: Settings) -> None:
    with pytest.raises(KBError, match="set KB_DATABASE_URL"):
        serve(settings, idle_seconds=0)


_DYING_WORKER = """
import os, signal, sys
from kb.index.postgres.tasks import PostgresWorkQueue

def work(kind, job):
    def do(item):
        if item.meta.get("poison"):
            os.kill(os.getpid(), signal.SIGKILL)  # as a document that exhausts memory would
        return {"done": item.meta["n"]}
    return do if kind == "probe" else None

PostgresWorkQueue(sys.argv[1], sys.argv[2]).serve(work, idle_seconds=1)
"""


def test_a_document_that_kills_every_worker_is_given_up_on(postgres: LocalPostgres, tmp_path: Path) -> None:
    from kb.index.postgres.tasks import MAX_CLAIMS

    settings = _settings(tmp_path, postgres, tmp_path)
    backend = open_backend(settings)
    backend.work_queue()  # its tables
    s = settings.pg_schema
    with psycopg.connect(settings.database_url, autocommit=True) as coordinator:  # alive while the job runs
        job = coordinator.execute(
            f"INSERT INTO {s}.ingest_jobs (kind, settings, coordinator) VALUES ('probe', '{{}}', pg_backend_pid()) "
            "RETURNING id"
        ).fetchone()[0]
        for n, meta in enumerate(['{"n": 0, "poison": true}', '{"n": 1}']):
            coordinator.execute(f"INSERT INTO {s}.ingest_items (job, n, meta) VALUES (%s, %s, %s)", (job, n, meta))
        ends = []
        for _ in range(MAX_CLAIMS + 1):
            run = subprocess.run(
                [sys.executable, "-c", _DYING_WORKER, settings.database_url, s],
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=120,
            )
            ends.append(run.returncode)
        results = dict(coordinator.execute(f"SELECT n, result FROM {s}.ingest_items WHERE job = %s", (job,)).fetchall())
    # Each of the first workers died on the document; the next one gave it up with a reason
    # and went on with the rest.
    assert ends == [-signal.SIGKILL] * MAX_CLAIMS + [0], ends
    assert results == {0: {"error": f"the ingest worker stopped while working on it {MAX_CLAIMS} times"}, 1: {"done": 1}}
    backend.close()
