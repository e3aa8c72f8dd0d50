"""The index interface's contract, kept by every backend (files, and Postgres on a real
server): what is written reads back whole, the switch is atomic, a failed write leaves the
generation in service, old generations are pruned, one ingest at a time, and the embedding
cache, votes and golden-question history are shared."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kb.config import Settings
from kb.errors import IndexDamagedError, IngestLockedError
from kb.index import lexical, open_backend
from kb.index.base import Cosines, NewGeneration
from kb.ingest import ingest
from kb.search import KnowledgeBase

pytestmark = pytest.mark.slow


@pytest.fixture
def backend(backend_settings: Settings):
    found = open_backend(backend_settings)
    yield found
    found.close()


def _ingested(backend_settings: Settings, embedder) -> Settings:
    report = ingest(backend_settings, embedder=embedder)
    assert report.ok, report.failed
    return backend_settings


def test_a_written_generation_reads_back_whole(backend_settings: Settings, backend, embedder) -> None:
    _ingested(backend_settings, embedder)
    generation = backend.open_generation()
    try:
        assert [d.source for d in generation.documents()] == ["aftercare.pdf", "faq.md", "hours.txt"]
        everything = []
        for d in generation.documents():
            mine = generation.passages_of(d.source)
            assert len(mine) == d.passages and all(p.source == d.source for p in mine)
            everything += mine
        rows = list(range(generation.passage_count))
        in_rows = generation.passages_at(rows)
        assert sorted(p.id for p in in_rows) == sorted(p.id for p in everything)
        assert generation.passages_at([2, 0]) == [in_rows[2], in_rows[0]]
        assert any(source == "aftercare.pdf" for source, _ in generation.texts_mentioning("FEVER"))

        whole = generation.scoring_data(None)
        assert whole.passage_vectors.shape == (len(rows), embedder.dimension)
        assert len(whole.sentence_vectors) == whole.offsets[-1] == sum(len(p.sentences) for p in in_rows)
        picked = np.array([1, 3])
        part = generation.scoring_data(picked)
        assert np.allclose(part.passage_vectors, whole.passage_vectors[picked])
        first = whole.sentence_vectors[whole.offsets[1] : whole.offsets[2]]
        assert np.allclose(part.sentence_vectors[part.offsets[0] : part.offsets[1]], first)
        assert np.allclose(
            part.heading_vectors[part.heading_of], whole.heading_vectors[whole.heading_of[picked]]
        )

        query = embedder.encode_query("Does the laser hurt?")
        assert generation.nearest_passages(query, 2)[0] == int(np.argmax(whole.passage_vectors @ query))

        # BM25 exactly as bm25s scores the same texts.
        texts = [p.embedding_text for p in in_rows]
        reference = lexical.LexicalIndex.build(texts)
        stems = lexical.query_stems("numbing cream before the laser laser, fever")
        assert np.array_equal(generation.lexical.scores(stems), reference.scores(stems))
        assert np.array_equal(generation.lexical.scores(stems[:2]), reference.scores(stems[:2]))  # kept ones
        assert generation.lexical.attainable(stems + ["zzzz"]) == pytest.approx(
            reference.attainable(stems + ["zzzz"])
        )
        assert generation.lexical.knows("numb") and not generation.lexical.knows("zzzz")
    finally:
        generation.close()


def test_the_switch_names_the_new_generation_and_old_ones_are_pruned(
    backend_settings: Settings, backend, embedder
) -> None:
    names = []
    for n in range(3):
        (backend_settings.documents_dir / f"note-{n}.txt").write_text(
            f"Note {n}\n\nThe clinic's car park has {n + 10} spaces for patients on weekdays.\n",
            encoding="utf-8",
        )
        names.append(_ingested(backend_settings, embedder) and backend.current_name())
    assert len(set(names)) == 3
    assert backend.current_name() == names[-1]
    assert backend.generation_names() == names[-2:]  # the one in service and the one before
    kb = KnowledgeBase(backend_settings, embedder)
    assert kb.generation.name == names[-1]
    assert any(h.source == "note-2.txt" for h in kb.search("How many car park spaces?", 5))


def test_a_failed_write_leaves_the_generation_in_service(
    backend_settings: Settings, backend, embedder
) -> None:
    _ingested(backend_settings, embedder)
    before, kept = backend.current_name(), backend.generation_names()
    generation = backend.open_generation()
    passages = generation.passages_at(range(generation.passage_count))
    data = generation.scoring_data(None)
    new = NewGeneration(
        {**generation.manifest},
        generation.documents(),
        passages,
        data.passage_vectors,
        data.sentence_vectors[:-1],  # one sentence vector short: the write must not go through
        data.heading_vectors,
        backend.plan_index(len(passages), "auto"),
    )
    generation.close()
    with pytest.raises((IndexDamagedError, ValueError)):
        backend.write_generation(new)
    assert backend.current_name() == before
    assert backend.generation_names() == kept
    assert backend.remove_leftovers() == []  # nothing half-written to clean up
    # ... and the same generation, whole, goes through.
    name = backend.write_generation(dataclasses.replace(new, sentence_vectors=data.sentence_vectors))
    assert backend.current_name() == name != before


def test_one_ingest_at_a_time(backend_settings: Settings, backend) -> None:
    other = open_backend(backend_settings)
    try:
        with backend.ingest_lock():
            locked = pytest.raises(IngestLockedError, match="Another ingest is running")
            with locked, other.ingest_lock():
                pass
        with other.ingest_lock():  # released when the first one finished
            pass
    finally:
        other.close()


def test_the_embedding_cache_is_shared_and_pruned(backend_settings: Settings, backend) -> None:
    vectors = {f"key-{i}": np.full(4, i, dtype=np.float32) for i in range(3)}
    first = backend.embedding_cache(4)
    first.put_many(vectors)
    first.put_many({"key-0": vectors["key-0"]})  # stored twice (two workers): still one
    second = open_backend(backend_settings).embedding_cache(4)
    found = second.get_many(["key-0", "key-2", "missing"])
    assert set(found) == {"key-0", "key-2"} and np.array_equal(found["key-2"], vectors["key-2"])
    second.retain(["key-1"])
    assert set(first.get_many(list(vectors))) == {"key-1"}
    assert first.get_many(["key-1"])["key-1"].shape == (4,)
    assert open_backend(backend_settings).embedding_cache(8).get_many(["key-1"]) == {}  # another dimension
    assert [set(b) for b in first.batches(size=1)] == [{"key-1"}]
    first.close()
    second.close()


def test_votes_are_kept_newest_first(backend_settings: Settings, backend) -> None:
    votes = backend.feedback()
    votes.record("Does it hurt?", "faq.md#1", "helpful")
    votes.record("  Parking?  ", "hours.txt#0", "not helpful")
    assert [(v.question, v.vote) for v in votes.recent()] == [
        ("Parking?", "not helpful"),
        ("Does it hurt?", "helpful"),
    ]
    with pytest.raises(Exception, match="vote must be one of"):
        votes.record("q", "p", "meh")


def test_the_question_log_keeps_masked_questions_their_votes_and_forgets_old_ones(
    backend_settings: Settings, backend
) -> None:
    from kb.index.questions import LoggedQuestion

    log = backend.question_log()
    asked = [
        LoggedQuestion("Do you do tattoo removal? call me 07700 900123", "2026-01-02T10:00:00+00:00", "page", "not_covered", False),
        LoggedQuestion("How long is the redness?", "2026-03-01T09:00:00+00:00", "api", "covered", False, ("faq.md#1", "faq.md#2")),
        LoggedQuestion("pus and a fever, mail me at ann@example.org", "2026-03-02T09:00:00+00:00", "mcp", "covered", True, ("aftercare.pdf#4",)),
    ]  # fmt: skip
    log.record(asked)
    found = log.entries("2026-01-01")
    assert [e.question for e in found] == [
        "Do you do tattoo removal? call me [phone]",
        "How long is the redness?",
        "pus and a fever, mail me at [email]",
    ]
    assert [(e.door, e.reason, e.urgent) for e in found] == [
        ("page", "not_covered", False), ("api", "covered", False), ("mcp", "covered", True)
    ]  # fmt: skip
    assert found[1].passages == ("faq.md#1", "faq.md#2") and found[1].vote is None
    # A vote lands on the latest asking of that question that showed that passage.
    assert log.add_vote("How long is the redness?", "faq.md#2", "not helpful")
    assert not log.add_vote("How long is the redness?", "other.md#9", "helpful")
    assert log.add_vote("pus and a fever, mail me at ann@example.org", "aftercare.pdf#4", "helpful")  # masked alike
    assert [e.vote for e in log.entries("2026-01-01")] == [None, "not helpful", "helpful"]
    assert [e.question for e in log.entries("2026-03-01", "2026-03-02")] == ["How long is the redness?"]
    # Staff's answer to a group: its entries are marked, and stay.
    log.set_handled([found[0].id], "fine")
    assert [e.handled for e in log.entries("2026-01-01")] == ["fine", None, None]
    with pytest.raises(ValueError, match="handled must be one of"):
        log.set_handled([found[0].id], "deleted")
    # Retention: what is older than the cut is gone, from every reader.
    assert log.forget_before("2026-03-01") == 1
    other = open_backend(backend_settings)
    try:
        assert len(other.question_log().entries("2000")) == 2
    finally:
        other.close()
    assert log.forget_all() == 2 and log.entries("2000") == []
    log.close()


def test_staff_golden_questions_are_kept_with_the_collection(backend_settings: Settings, backend) -> None:
    assert backend.golden_questions() == []  # before anything was ever written
    first = {"id": "staff-1", "question": "how much is botox", "split": "dev", "kind": "near", "answers": []}
    second = {
        "id": "staff-2", "question": "can i wear makeup", "split": "dev",
        "answers": [{"source": "faq.md", "contains": "Mineral makeup"}],
    }  # fmt: skip
    backend.save_golden(first)
    backend.save_golden(second)
    backend.save_golden({**first, "question": "how much is botox?"})  # replaced, by its id
    other = open_backend(backend_settings)  # as another app server sees them
    try:
        assert [q["question"] for q in other.golden_questions()] in (
            ["can i wear makeup", "how much is botox?"],
            ["how much is botox?", "can i wear makeup"],
        )
        assert other.remove_golden("staff-1") and not other.remove_golden("staff-1")
    finally:
        other.close()
    assert backend.golden_questions() == [second]


@pytest.mark.parametrize("log", ["golden", "ingests"])
def test_history_logs_are_shared_and_read_newest_first(backend_settings: Settings, backend, log: str) -> None:
    assert backend.history(log) == []  # before anything was ever written
    backend.append_history(log, {"generation": "g1", "recall_at_3": 0.9})
    backend.append_history(log, {"generation": "g2", "recall_at_3": 0.8, "in_top3": ["q1", "q7"]})
    other = open_backend(backend_settings)  # as another ingest or app server sees them
    try:
        assert [c["generation"] for c in other.history(log, 5)] == ["g2", "g1"]
        assert other.history(log) == [{"generation": "g2", "recall_at_3": 0.8, "in_top3": ["q1", "q7"]}]
        assert other.history("golden" if log == "ingests" else "ingests") == []  # each log its own
    finally:
        other.close()


def test_cosines_are_the_vectors_cosines_wherever_computed(backend_settings: Settings, embedder) -> None:
    # No passage mirrored in memory: Postgres computes the cosines in the database.
    settings = _ingested(backend_settings.with_changes(full_scan_passages=0), embedder)
    generation = open_backend(settings).open_generation()
    query = embedder.encode_query("How long until I can wear makeup?")
    for rows in (None, np.array([0, 2, 3]), np.array([3, 1])):
        found, expected = generation.cosines(query, rows), Cosines.of(generation.scoring_data(rows), query)
        for name in ("passage", "sentence", "heading"):
            assert np.allclose(getattr(found, name), getattr(expected, name), atol=1e-5), name
        for name in ("offsets", "is_statement", "is_question"):
            assert np.array_equal(getattr(found, name), getattr(expected, name)), name
    generation.close()


def test_many_processes_may_start_on_a_new_collection_at_once(backend_settings: Settings) -> None:
    """An ingest and its workers starting together each make the shared tables if missing."""
    from concurrent.futures import ThreadPoolExecutor

    def start(_: int) -> int:
        backend = open_backend(backend_settings)
        try:
            with backend.ingest_lock():
                pass
            cache = backend.embedding_cache(4)
            cache.close()
            return 1
        except IngestLockedError:
            return 1  # another one held the lock at that moment: fine
        finally:
            backend.close()

    with ThreadPoolExecutor(6) as pool:
        assert sum(pool.map(start, range(12))) == 12


def _open_shared_stores(settings: Settings, rounds: int, ready, done) -> None:
    """One process of a clinic's starting workers: open the shared stores of ``rounds`` new
    collections, each at the same moment as the other processes."""
    try:
        for round in range(rounds):
            fresh = settings.with_changes(
                index_dir=settings.index_dir / f"new-{round}", pg_schema=f"new{round}"
            )
            backend = open_backend(fresh)
            try:
                ready.wait(60)
                backend.embedding_cache(4).close()
                backend.feedback().recent(1)
            finally:
                backend.close()
        done.put("ok")
    except Exception as exc:  # reported to the test, which shows it
        done.put(f"{type(exc).__name__}: {exc}")


def test_eight_processes_may_open_a_new_collection_at_once(backend_settings: Settings) -> None:
    """Two workers of a clinic starting together on a new index folder must both start
    (it once failed now and then with "database is locked" while switching SQLite to WAL)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, done = context.Barrier(8), context.Queue()
    processes = [
        context.Process(target=_open_shared_stores, args=(backend_settings, 10, ready, done))
        for _ in range(8)
    ]
    for process in processes:
        process.start()
    outcomes = [done.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
    assert outcomes == ["ok"] * 8
