"""Crashes with the index in Postgres: real ingests SIGKILLed at each point of the write,
and the connection cut during one. A generation is written and switched in one transaction,
so after every kill the pointer names a complete generation (the old one or the new one),
no half-written generation is visible anywhere, and a re-run finishes the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from conftest import new_schema
from test_crash import CHILD, FRESH, NEW, NEW_QUESTION, OLD, _write_documents

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import IndexUnavailableError
from kb.index import open_backend
from kb.index.postgres import writer
from kb.index.postgres.local import INGEST_USER, LocalPostgres
from kb.ingest import ingest
from kb.search import KnowledgeBase

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# name: (how the child dies, which generation must be in service afterwards)
KILL_POINTS: dict[str, tuple[dict, str]] = {
    "reading documents": ({"target": "progress", "stage": "read", "nth": 1}, OLD),
    "embedding, after a cache write": (
        {"target": "kb.index.postgres.caches.PostgresEmbeddingCache.put_many", "when": "after", "nth": 1},
        OLD,
    ),
    "writing, rows copied, before the keyword postings": (
        {"target": "kb.index.postgres.writer._copy_terms", "when": "before", "nth": 1},
        OLD,
    ),
    "writing, counted back, before the switch": (
        {"target": "kb.index.postgres.writer._check_counts", "when": "after", "nth": 1},
        OLD,
    ),
    "just after the switch committed": ({"target": "kb.index.postgres.writer.write", "when": "after", "nth": 1}, FRESH),
    "pruning": ({"target": "kb.index.postgres.PostgresBackend.prune", "when": "before", "nth": 1}, FRESH),
}


@pytest.fixture(scope="module")
def crash_runs(postgres: LocalPostgres, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> dict:
    """Each kill point on a collection of its own with two generations in it."""
    base = tmp_path_factory.mktemp("pg-crash")
    jobs, runs = [], {}
    for number, (name, (spec, _)) in enumerate(KILL_POINTS.items()):
        folder = base / f"job{number}"
        settings = Settings(documents_dir=folder / "documents", index_dir=folder / "index", batch_size=1)
        settings = settings.with_changes(database_url=postgres.url(INGEST_USER), pg_schema=new_schema())
        _write_documents(settings.documents_dir)
        ingest(settings, embedder=embedder)
        old = ingest(settings, embedder=embedder, rebuild=True).generation
        (settings.documents_dir / NEW[0]).write_text(NEW[1], encoding="utf-8")
        jobs.append(
            {"name": name, "log": str(folder / "log.txt"), "kind": "kill", "index": str(settings.index_dir)}
            | {"documents": str(settings.documents_dir), "database_url": settings.database_url}
            | {"pg_schema": settings.pg_schema, **spec}
        )
        runs[name] = {"folder": folder, "settings": settings, "old": old, "cache": _cache_rows(settings)}
    plan = base / "plan.json"
    plan.write_text(json.dumps(jobs), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(CHILD), str(plan)], capture_output=True, text=True, timeout=540, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
            runs[result["job"]].update(result)
    return runs


def _cache_rows(settings: Settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM {settings.pg_schema}.embeddings").fetchone()[0]


def _assert_nothing_half_written(settings: Settings) -> None:
    """Every generation row is complete, and every generation schema has its row."""
    backend = open_backend(settings)
    with psycopg.connect(settings.database_url) as conn:
        schemas = {
            r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname ~ %s", (f"^{settings.pg_schema}_g",))
        }
        recorded = {r[0]: r[1] for r in conn.execute(f"SELECT schema_name, name FROM {settings.pg_schema}.generations")}
    assert schemas == set(recorded)
    for name in recorded.values():
        generation = backend.open_generation(name)
        rows = generation.passages_at(range(generation.passage_count))
        documents = {d.source for d in generation.documents()}
        assert {p.source for p in rows} == documents == set(generation.manifest["documents"])
        assert generation.manifest["counts"] == {"documents": len(documents), "passages": len(rows)}
        assert generation.lexical.size == len(rows)
        assert len(generation.scoring_data(None).sentence_vectors) == sum(len(p.sentences) for p in rows)
    backend.close()


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_kill_leaves_a_complete_index_and_a_rerun_finishes(point: str, crash_runs: dict, embedder: Embedder) -> None:
    run = crash_runs[point]
    assert run.get("signal") == signal.SIGKILL, f"not killed at its point ({run}):\n{Path(run['folder'] / 'log.txt').read_text()}"
    settings: Settings = run["settings"]
    _, expected = KILL_POINTS[point]
    backend = open_backend(settings)
    current = backend.current_name()
    assert (current == run["old"]) == (expected == OLD), current
    _assert_nothing_half_written(settings)
    if point == "embedding, after a cache write":
        assert _cache_rows(settings) > run["cache"]  # the work done before the kill is kept
    kb = KnowledgeBase(settings, embedder)
    assert ("parking.md" in {d.source for d in kb.documents()}) == (expected == FRESH)
    assert kb.search("When is the clinic open on Saturday?", 1)[0].source == "hours.txt"

    report = ingest(settings, embedder=embedder)
    assert report.ok
    assert (report.added if expected == OLD else report.unchanged).count("parking.md") == 1
    _assert_nothing_half_written(settings)
    assert len(backend.generation_names()) <= 2  # pruned
    assert kb.refresh() == (expected == OLD)
    assert kb.search(NEW_QUESTION, 1)[0].source == "parking.md"
    backend.close()


def test_a_connection_cut_during_the_write_keeps_the_index_in_service(
    postgres: LocalPostgres, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(documents_dir=tmp_path / "documents", index_dir=tmp_path / "index")
    settings = settings.with_changes(database_url=postgres.url(INGEST_USER), pg_schema=new_schema())
    _write_documents(settings.documents_dir)
    old = ingest(settings, embedder=embedder).generation
    (settings.documents_dir / NEW[0]).write_text(NEW[1], encoding="utf-8")
    real = writer._check_counts

    def cut(conn, *args):  # the server ends this session, as a network cut or a restart would
        with psycopg.connect(postgres.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        return real(conn, *args)

    monkeypatch.setattr(writer, "_check_counts", cut)
    with pytest.raises(IndexUnavailableError, match="cannot be reached") as failed:
        ingest(settings, embedder=embedder)
    assert postgres.password(INGEST_USER) not in str(failed.value)
    assert open_backend(settings).current_name() == old
    _assert_nothing_half_written(settings)
    monkeypatch.setattr(writer, "_check_counts", real)
    report = ingest(settings, embedder=embedder)  # the re-run finishes the job
    assert report.added == ["parking.md"] and report.embedded == 0  # its vectors were kept
    assert KnowledgeBase(settings, embedder).search(NEW_QUESTION, 1)[0].source == "parking.md"
