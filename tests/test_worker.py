"""The ingest worker process: it finishes, it can be cancelled, it is stopped when it uses
too much memory, and whatever happens to it the index in service stays whole."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kb.config import Settings
from kb.embedding import Embedder
from kb.index import files as store
from kb.ingest import FailedDocument, IngestReport
from kb.ingest.worker import IngestJob, report_from_json, report_to_json
from kb.search import KnowledgeBase

pytestmark = pytest.mark.slow


def test_the_report_survives_the_trip_between_processes() -> None:
    report = IngestReport(
        added=["a.txt"],
        failed=[FailedDocument("b.pdf", "is password-protected", True)],
        passages=3,
        seconds=1.5,
        generation="g1",
    )
    assert report_from_json(report_to_json(report)) == report


def test_a_job_builds_the_index_in_another_process(settings: Settings, embedder: Embedder) -> None:
    job = IngestJob(settings)
    assert job.wait(300) == "finished", job.describe()
    assert job.report is not None
    assert sorted(job.report.added) == ["aftercare.pdf", "faq.md", "hours.txt"]
    assert job.report.generation == store.current_generation_name(settings.index_dir)
    answer = KnowledgeBase(settings, embedder).answer("Is the clinic open on Sundays?", 3)
    assert answer.hits[0].source == "hours.txt"


def _assert_serves_the_first_index(settings: Settings, embedder: Embedder, generation: str) -> None:
    assert store.current_generation_name(settings.index_dir) == generation
    kb = KnowledgeBase(settings, embedder)
    assert "new.md" not in {d.source for d in kb.documents()}
    assert kb.answer("Is the clinic open on Sundays?", 3).hits[0].source == "hours.txt"


def test_a_cancelled_job_leaves_the_index_in_service(built: Settings, embedder: Embedder) -> None:
    first = store.current_generation_name(built.index_dir)
    (Path(built.documents_dir) / "new.md").write_text("# Gift cards\n\nGift cards are sold at the desk.\n")
    job = IngestJob(built)
    deadline = time.monotonic() + 120
    while job.progress.startswith("Starting") and time.monotonic() < deadline:
        time.sleep(0.05)  # cancel once the worker has loaded its model and begun the ingest
    assert job.cancel()
    assert job.wait(30) == "cancelled"
    assert "cancelled" in job.describe()
    assert not job.cancel()  # nothing left to stop
    _assert_serves_the_first_index(built, embedder, first)


def test_a_job_over_its_memory_limit_is_stopped(built: Settings, embedder: Embedder) -> None:
    first = store.current_generation_name(built.index_dir)
    (Path(built.documents_dir) / "new.md").write_text("# Gift cards\n\nGift cards are sold at the desk.\n")
    # Loading torch and the model alone takes several hundred MB.
    job = IngestJob(built, memory_limit_mb=120)
    assert job.wait(300) == "failed"
    assert "more than 120 MB of memory" in job.describe()
    _assert_serves_the_first_index(built, embedder, first)


def test_a_job_waits_for_no_other_ingest(built: Settings) -> None:
    with store.ingest_lock(built.index_dir):
        job = IngestJob(built)
        assert job.wait(300) == "failed"
    assert job.locked
    assert "Another ingest is running" in job.describe()
