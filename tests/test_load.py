"""Many visitors at once, while staff re-ingest: no request fails, the new index switches
in, and a full queue says "busy, try again" at once instead of hanging.

The run is short here (CI); bench/bench_load.py runs it longer and with other settings.
Latency percentiles are recorded in tests/artifacts/load.json, never asserted.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import ARTIFACTS
from gradio_client import Client
from test_app import STAFF, RunningApp, copy_of

from bench.load import run_load
from kb.config import Settings
from kb.index import files as store

#: The load runs from one address, as no real visitor does (its per-address limit is
#: tested in test_app.py).
NO_SEARCH_LIMIT = {"KB_SEARCHES_PER_MINUTE": "0"}

pytestmark = pytest.mark.slow

NEW_DOCUMENT = (
    "# Gift vouchers\n\nGift vouchers for any treatment are sold at the front desk and are valid "
    "for twelve months from the date of purchase.\n"
)


def test_32_clients_search_while_a_reingest_switches_in(
    shipped_index: Settings, tmp_path: Path
) -> None:
    settings = copy_of(shipped_index, tmp_path)
    app = RunningApp(settings, env=NO_SEARCH_LIMIT)
    try:
        first = store.current_generation_name(settings.index_dir)
        (settings.documents_dir / "gift-vouchers.md").write_text(NEW_DOCUMENT, encoding="utf-8")
        staff = Client(app.url + "staff/", auth=STAFF, verbose=False)
        reports: list[str] = []
        reingest = threading.Thread(
            target=lambda: reports.append(staff.predict(api_name="/reingest")), daemon=True
        )
        questions = ["Can I buy a gift voucher?", "How long is the redness after a CO2 laser?"]
        switched: list[float] = []

        def two_seconds_after_the_switch() -> bool:
            if not switched and store.current_generation_name(settings.index_dir) != first:
                switched.append(time.monotonic())
            return bool(switched) and time.monotonic() - switched[0] > 2

        started = time.monotonic()
        result = run_load(
            app.url,
            clients=32,
            seconds=3,
            until=two_seconds_after_the_switch,
            max_seconds=240,
            questions=questions,
            on_start=reingest.start,
        )
        reingest.join(240)  # the report waits for the golden questions, asked after the switch
        elapsed = time.monotonic() - started
        summary = {**result.summary(), "during_reingest": True, "wall_seconds": round(elapsed, 1)}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "load.json").write_text(json.dumps(summary, indent=2))
        print("load:", summary)

        assert switched, "the new index did not switch in within the load run"
        assert not reingest.is_alive(), "the re-ingest did not report"
        assert result.failures == [], result.failures[:5]
        assert result.busy == 0 and result.hung == 0  # 32 clients fit the default queue
        assert len(result.latencies) >= 32
        assert "Added: gift-vouchers.md." in reports[0]
        assert store.current_generation_name(settings.index_dir) != first
        # Answers came from the old index and then from the new one, never an error between.
        assert any("gift-vouchers.md" not in s for s in result.sources)
        assert any("gift-vouchers.md" in s for s in result.sources)
        after = Client(app.url, verbose=False).predict("Can I buy a gift voucher?", 3, api_name="/search")
        assert after["passages"][0]["source"] == "gift-vouchers.md"
    finally:
        app.stop()


def test_a_full_queue_answers_busy_at_once(shipped_index: Settings, tmp_path: Path) -> None:
    settings = copy_of(shipped_index, tmp_path)
    app = RunningApp(settings, env={**NO_SEARCH_LIMIT, "KB_QUEUE_CONCURRENCY": "1", "KB_QUEUE_SIZE": "2"})
    try:
        result = run_load(app.url, clients=16, seconds=4)
        assert result.busy > 0, result.summary()  # refused with "Queue is full! Please try again."
        assert result.failures == [] and result.hung == 0, result.failures[:5]
        assert result.latencies, "the requests that fit were served"
        # The app is still up and answering after the flood.
        assert httpx.get(app.url + "config", timeout=10).status_code == 200
    finally:
        app.stop()
