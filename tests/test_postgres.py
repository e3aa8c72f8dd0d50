"""The Postgres backend on a real server: the same answers as the files backend, a read-only
app role, several app servers on one database, and the database failing under the app."""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
from conftest import ROOT, new_schema, on_postgres
from gradio_client import Client, handle_file
from test_app import STAFF, RunningApp, free_port

from kb.config import Settings
from kb.errors import IndexUnavailableError, KBError
from kb.golden_questions import load_questions
from kb.index.postgres.local import APP_USER, INGEST_USER, LocalPostgres
from kb.ingest import ingest
from kb.quality import evaluation
from kb.search import KnowledgeBase

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg_shipped(postgres: LocalPostgres, shipped_index: Settings, embedder) -> Settings:
    """The shipped documents ingested into Postgres (as the ingest role); the app role's settings."""
    writer = on_postgres(shipped_index, postgres)
    report = ingest(writer, embedder=embedder)
    assert report.ok, report.failed
    return writer.with_changes(database_url=postgres.url(APP_USER))


def test_postgres_answers_every_evaluation_question_as_the_files_backend(
    pg_shipped: Settings, shipped_index: Settings, embedder
) -> None:
    on_files, on_pg = KnowledgeBase(shipped_index, embedder), KnowledgeBase(pg_shipped, embedder)
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    assert len(questions) > 300
    reordered = []
    for question in questions:
        a, b = on_files.answer(question.question, 10), on_pg.answer(question.question, 10)
        # Sentence vectors are half precision in Postgres: a score moves by about 1e-5, which
        # may reorder two hits that were tied to that precision, and nothing else.
        assert [h.score for h in b.hits] == pytest.approx([h.score for h in a.hits], abs=1e-4), question.question
        if [(h.passage_id, h.highlight) for h in b.hits] != [(h.passage_id, h.highlight) for h in a.hits]:
            reordered.append(question.question)
        assert (b.answered, b.urgent, b.searched_for) == (a.answered, a.urgent, a.searched_for)
    assert len(reordered) <= len(questions) // 100, reordered
    for split in ("dev", "test"):
        asked = [q for q in questions if q.split == split]
        assert evaluation.figures(evaluation.run(on_pg, asked)) == evaluation.figures(evaluation.run(on_files, asked))
    assert on_pg.generation.lexical.stems() == on_files.generation.lexical.stems()

    def same(records):  # ingested at another moment
        return [dataclasses.replace(r, ingested_at="") for r in records]

    assert same(on_pg.documents()) == same(on_files.documents())


def test_a_large_collection_is_searched_by_hnsw_candidates(
    postgres: LocalPostgres, shipped_index: Settings, embedder
) -> None:
    # Scored by candidates from the HNSW index, as a collection past full_scan_passages is.
    writer = on_postgres(shipped_index, postgres).with_changes(full_scan_passages=10)
    ingest(writer, embedder=embedder)
    kb = KnowledgeBase(writer, embedder)
    assert kb.generation.manifest["vector_index"]["factory"] == "hnsw" and not kb.generation.exact
    on_files = KnowledgeBase(shipped_index.with_changes(full_scan_passages=10), embedder)
    same = 0
    questions = [q for q in load_questions(ROOT / "eval" / "questions.jsonl") if q.split == "dev"]
    for question in questions:
        a, b = on_files.search(question.question, 5), kb.search(question.question, 5)
        same += [h.passage_id for h in a] == [h.passage_id for h in b]
    assert same >= 0.97 * len(questions)


def test_the_app_role_reads_and_votes_but_cannot_write(pg_shipped: Settings, postgres: LocalPostgres) -> None:
    schema = pg_shipped.pg_schema
    with psycopg.connect(postgres.url(APP_USER), autocommit=True) as conn:
        generation = conn.execute(f"SELECT schema_name FROM {schema}.generations LIMIT 1").fetchone()[0]
        assert conn.execute(f"SELECT count(*) FROM {generation}.passages").fetchone()[0] > 100
        conn.execute(f"INSERT INTO {schema}.votes (question, passage_id, vote, at) VALUES ('q', 'p', 'helpful', 'now')")
        for statement in (
            f"INSERT INTO {generation}.passages (row, id, source, title, start, end_, text, heading, embedding) "
            "SELECT row + 100000, id, source, title, start, end_, text, heading, embedding FROM "
            f"{generation}.passages LIMIT 1",
            f"UPDATE {generation}.passages SET text = 'changed'",
            f"DELETE FROM {generation}.sentences",
            f"UPDATE {schema}.pointer SET switched_at = now()",
            f"DELETE FROM {schema}.generations",
            f"UPDATE {schema}.votes SET vote = 'helpful'",
            f"DELETE FROM {schema}.votes",
            f"DELETE FROM {schema}.embeddings",
            f"INSERT INTO {schema}.golden_checks (record) VALUES ('{{}}')",
            f"TRUNCATE {generation}.terms",
            f"DROP TABLE {generation}.headings",
            f"CREATE TABLE {schema}.mine (x int)",
            f"CREATE SCHEMA {schema}_mine",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    with pytest.raises(KBError, match="may not write the index"):
        ingest(pg_shipped, rebuild=True)


def test_a_wrong_password_or_a_server_that_is_down_never_shows_the_password(
    postgres: LocalPostgres, settings: Settings, tmp_path: Path
) -> None:
    wrong = postgres.url(APP_USER).replace(postgres.password(APP_USER), "Wr0ng-Secret-9z")
    with pytest.raises(KBError, match="refused the sign-in") as refused:
        KnowledgeBase(settings.with_changes(database_url=wrong))
    down = postgres.url(APP_USER).replace(f":{postgres.port}/", f":{free_port()}/")
    with pytest.raises(IndexUnavailableError, match="unavailable for a moment") as unavailable:
        KnowledgeBase(settings.with_changes(database_url=down))
    for text in (str(refused.value), str(unavailable.value), repr(settings.with_changes(database_url=down))):
        assert "Wr0ng-Secret-9z" not in text and postgres.password(APP_USER) not in text
    # The app started on a database that is down says so, and exits with a code.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KB_DATABASE_URL": down}
    started = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--port", str(free_port()), "--index", str(tmp_path / "index")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 2
    assert "cannot be reached" in started.stderr and postgres.password(APP_USER) not in started.stderr + started.stdout


# --- a database of their own: app servers sharing it, and the database failing -------------


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory):
    server = LocalPostgres(tmp_path_factory.mktemp("own-postgres") / "server").start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
def group(own_server: LocalPostgres, shipped_index: Settings, embedder, tmp_path_factory: pytest.TempPathFactory):
    """Two app servers on one database, each with a documents folder of its own copy."""
    schema = new_schema()
    base = tmp_path_factory.mktemp("group")
    documents = base / "documents"
    shutil.copytree(shipped_index.documents_dir, documents)
    writer = Settings(documents_dir=documents, index_dir=base / "index-a").with_changes(
        database_url=own_server.url(INGEST_USER), pg_schema=schema
    )
    assert ingest(writer, embedder=embedder).ok
    env = {
        "KB_DATABASE_URL": own_server.url(APP_USER),
        "KB_INGEST_DATABASE_URL": own_server.url(INGEST_USER),
        "KB_PG_SCHEMA": schema,
        "KB_SEARCHES_PER_MINUTE": "0",  # the load below comes from one address, as no visitor's does
    }
    apps = [
        RunningApp(Settings(documents_dir=documents, index_dir=base / f"index-{n}"), env=env) for n in ("a", "b")
    ]
    yield writer, apps
    for app in apps:
        app.stop()


def _serves(app: RunningApp, question: str, source: str, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # Generous: under 32 clients a request waits its turn on two cores.
        found = httpx.get(app.url + "api/search", params={"q": question, "k": 3}, timeout=60)
        if found.status_code == 200 and any(p["source"] == source for p in found.json()["passages"]):
            return True
        time.sleep(0.5)
    return False


def test_a_staff_reingest_on_one_app_server_is_served_by_both(
    group, own_server: LocalPostgres, tmp_path: Path
) -> None:
    writer, (first, second) = group
    leaflet = tmp_path / "gift-vouchers.md"
    leaflet.write_text(
        "# Gift Vouchers\n\nGift vouchers for any treatment are sold at the front desk and are valid "
        "for twelve months from the date of purchase.\n",
        encoding="utf-8",
    )
    staff = Client(first.url + "staff/", auth=STAFF, verbose=False)
    assert "Added gift-vouchers.md" in staff.predict([handle_file(str(leaflet))], api_name="/upload")
    report = staff.predict(api_name="/reingest")
    assert "Added: gift-vouchers.md." in report and "Could not be read" not in report
    assert "postgresql://" not in report  # the staff page names no server
    assert own_server.password(INGEST_USER) not in report and own_server.password(APP_USER) not in report
    # The golden questions were asked of the new index, and their figures kept in the database
    # (by the re-ingest's worker: the app's role may not write them).
    assert "test questions, " in report and "found their answer in the top 3" in report, report
    with psycopg.connect(own_server.url(INGEST_USER)) as conn:
        kept = conn.execute(f"SELECT record FROM {writer.pg_schema}.golden_checks").fetchall()
    assert len(kept) == 1 and kept[0][0]["questions"] > 50
    for app in (first, second):
        assert _serves(app, "How long is a gift voucher valid?", "gift-vouchers.md"), app.read_log()


def test_searches_on_both_servers_never_fail_while_an_ingest_switches(group) -> None:
    writer, apps = group
    errors: list[str] = []
    took: list[float] = []
    answers = 0
    stop = threading.Event()

    asked = ["sunscreen after the laser", "How long does the redness last?", "Can I wear makeup after?",
             "parking", "Does it hurt?", "When are you open on Saturday?", "peeling skin day 3"]  # fmt: skip

    def keep_searching(app: RunningApp, n: int) -> None:
        nonlocal answers
        deadline = time.monotonic() + 300  # bounded, on loopback
        with httpx.Client(timeout=60) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                began = time.perf_counter()
                got = client.get(app.url + "api/search", params={"q": asked[n % len(asked)], "k": 3})
                took.append((time.perf_counter() - began) * 1000)
                if got.status_code != 200:
                    errors.append(f"{got.status_code} {got.text[:200]}")
                answers += 1
                n += 1

    # 32 clients, 16 on each app server, asking without pause while the re-ingest switches in.
    searchers = [threading.Thread(target=keep_searching, args=(app, n)) for app in apps for n in range(16)]
    for searcher in searchers:
        searcher.start()
    try:
        (writer.documents_dir / "bicycles.md").write_text(
            "# Bicycles\n\nBicycle racks for patients are in the courtyard behind the clinic.\n", encoding="utf-8"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT), "KB_DATABASE_URL": writer.database_url, "KB_PG_SCHEMA": writer.pg_schema}
        done = subprocess.run(
            [sys.executable, str(ROOT / "ingest.py"), "--quiet", "--no-golden", "--documents", str(writer.documents_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert writer.database_url not in done.stdout + done.stderr
        for app in apps:
            assert _serves(app, "Where can I leave my bicycle?", "bicycles.md", seconds=120)
    finally:
        stop.set()
        for searcher in searchers:
            searcher.join(timeout=60)
    assert errors == [] and answers > 0
    print(f"{answers} searches by 32 clients during the switch, p50 / max {statistics.median(took):.0f} / {max(took):.0f} ms")


def test_the_database_going_away_gives_503_and_the_app_recovers_by_itself(
    group, own_server: LocalPostgres, embedder
) -> None:
    writer, (first, _) = group
    reader = writer.with_changes(database_url=own_server.url(APP_USER))
    kb = KnowledgeBase(reader, embedder)
    before = kb.answer("How long does the redness last?")
    assert before.answered
    own_server.kill()
    try:
        began = time.monotonic()
        with pytest.raises(IndexUnavailableError, match="unavailable for a moment"):
            kb.answer("How long does the redness last?")
        assert time.monotonic() - began < 30  # bounded: never a hang
        got = httpx.get(first.url + "api/search", params={"q": "redness", "k": 3}, timeout=60)
        assert got.status_code == 503 and "unavailable for a moment" in got.json()["detail"]
        assert own_server.password(APP_USER) not in got.text
        client = Client(first.url, verbose=False)
        with pytest.raises(Exception, match="unavailable for a moment"):
            client.predict("redness", 3, api_name="/search")
    finally:
        own_server.start()
    deadline, answered = time.monotonic() + 30, False
    while not answered and time.monotonic() < deadline:
        try:
            answered = kb.answer("How long does the redness last?").answered
        except IndexUnavailableError:
            time.sleep(0.5)
    assert answered
    assert _serves(first, "How long does the redness last?", before.hits[0].source, seconds=30)
    assert "Traceback" not in first.read_log()


def test_a_server_whose_generation_was_pruned_says_try_again_and_switches(
    postgres: LocalPostgres, shipped_index: Settings, embedder, tmp_path: Path
) -> None:
    """A server that has not switched (it lagged, or could not open the new generation) while
    two ingests replaced its generation and pruned it: 503 "try again", then it switches."""
    shutil.copytree(shipped_index.documents_dir, tmp_path / "documents")
    writer = on_postgres(Settings(documents_dir=tmp_path / "documents", index_dir=tmp_path / "index"), postgres)
    assert ingest(writer, embedder=embedder).ok
    lagging = KnowledgeBase(writer.with_changes(database_url=postgres.url(APP_USER)), embedder)
    assert lagging.answer("How long does the redness last?").answered
    for n in (1, 2):
        (writer.documents_dir / "note.md").write_text(f"# Note\n\nThe lift is serviced every {n} months.\n")
        assert ingest(writer, embedder=embedder).ok
    with pytest.raises(IndexUnavailableError, match="replaced and removed.*try again"):
        lagging.answer("How long does the redness last?")
    assert lagging.refresh() and lagging.answer("How long does the redness last?").answered


def test_the_postings_kept_in_memory_are_bounded_least_recently_used_first() -> None:
    from kb.index.postgres.generation import _PostingsCache

    def postings(n: int) -> tuple[np.ndarray, np.ndarray]:  # 8 bytes a row
        return np.arange(n, dtype=np.int32), np.ones(n, dtype=np.float32)

    cache = _PostingsCache(limit=800)
    cache.put("laser", postings(40))
    cache.put("skin", postings(40))
    assert cache.get_many({"laser", "peel"}).keys() == {"laser"}  # laser is now the most recent
    cache.put("redness", postings(40))  # 960 bytes: skin, the least recent, goes
    assert cache.get_many({"laser", "skin", "redness"}).keys() == {"laser", "redness"} and cache.size == 640
    cache.put("the", postings(200))  # bigger than the whole cache: never kept
    assert cache.get_many({"the"}) == {} and cache.size == 640


def test_a_new_generation_is_read_into_memory_before_it_serves(
    postgres: LocalPostgres, shipped_index: Settings, embedder
) -> None:
    from kb.index import open_backend
    from kb.index.postgres.writer import prewarm

    writer = on_postgres(shipped_index, postgres).with_changes(full_scan_passages=10)  # with HNSW
    ingest(writer, embedder=embedder)
    schema = open_backend(writer).open_generation().schema
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")

        def in_memory() -> dict[str, int]:
            return dict(
                conn.execute(
                    "SELECT c.relname, count(b.bufferid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "LEFT JOIN pg_buffercache b ON b.relfilenode = pg_relation_filenode(c.oid) "
                    "AND b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "WHERE n.nspname = %s AND c.relkind IN ('r', 'i') GROUP BY c.relname",
                    (schema,),
                ).fetchall()
            )

        relations = [r for (r,) in conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'i')", (schema,)
        ).fetchall()]
        for relation in relations:  # as after a restart, or a write that bypassed shared buffers
            conn.execute("SELECT pg_buffercache_evict_relation(%s::regclass)", (relation,))
        assert not any(in_memory().values())
        assert prewarm(conn, schema) > 0
        found = in_memory()
        hnsw = next(name for name in found if name.endswith("embedding_idx"))
        for name in ("passages", "sentences", "headings", "passages_pkey", hnsw):
            assert found[name] > 0, name
        assert found["terms"] == 0  # postings are read (and kept) by the app servers, when asked
