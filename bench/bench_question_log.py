"""The question log's cost: ``answer`` with the log on against off, in process, and 32
clients on the plain route with the log on, the log's size as it grows.

    python bench/bench_question_log.py [--queries 300] [--seconds 15] [--clients 32]

Builds an index of the shipped documents in a temporary folder. In process, every
evaluation question is answered in rounds that alternate the log off and on (an answer
plus ``QuestionRecorder.asked``, the call each door makes), so both see the same noise;
the baseline is the log off, in the same run. Through HTTP, the real app runs on a
loopback port with the search limit off (``KB_SEARCHES_PER_MINUTE=0``) and the log on;
the log's file is measured every few seconds while the clients run. Loopback only; every
run is bounded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.answers import eval_questions, percentile  # noqa: E402
from bench.load import QUESTIONS, run_load  # noqa: E402
from bench.shipped import shipped_index  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.index.files.questions import QuestionStore  # noqa: E402
from kb.search import KnowledgeBase  # noqa: E402
from kb.web.question_log import QuestionRecorder  # noqa: E402

COMMAND = "python bench/bench_question_log.py"


def in_process(kb: KnowledgeBase, asked: list[str], rounds: int = 6) -> list[str]:
    for q in QUESTIONS:
        kb.answer(q, 5)  # warm-up
    folder = Path(tempfile.mkdtemp(prefix="kb-log-"))
    recorder = QuestionRecorder(lambda: QuestionStore(folder / "questions.sqlite"), days=90)
    times: dict[str, list[float]] = {"off": [], "on": []}
    part = max(1, len(asked) // rounds)
    for n in range(rounds):
        for mode in ("off", "on") if n % 2 == 0 else ("on", "off"):
            for q in asked[n * part : (n + 1) * part]:
                began = time.perf_counter()
                answer = kb.answer(q, 5)
                if mode == "on":
                    recorder.asked(answer, "api")
                times[mode].append((time.perf_counter() - began) * 1000)
    recorder.stop()
    stored = QuestionStore(folder / "questions.sqlite").entries("2000")
    off_p50, off_p95 = percentile(times["off"], 50), percentile(times["off"], 95)
    lines = [
        f"{len(times['on'])} answers each way, k=5, in {rounds} alternating rounds.",
        "",
        "| log | p50 ms | p95 ms | p95 / log off |",
        "|---|---|---|---|",
        f"| off (baseline) | {off_p50:.2f} | {off_p95:.2f} | 1.00 |",
        f"| on | {percentile(times['on'], 50):.2f} | {percentile(times['on'], 95):.2f} | "
        f"{percentile(times['on'], 95) / off_p95:.2f} |",
        "",
        f"Entries written: {len(stored)} of {len(times['on'])}; dropped {recorder.dropped}, failed {recorder.failed}.",
    ]
    return lines


def log_bytes(index_dir: Path) -> int:
    """The log's database as a reader sees it (its pages, journal included, times the page
    size): what it grows by, apart from the journal's preallocated few megabytes."""
    import sqlite3

    with sqlite3.connect(index_dir / "questions.sqlite") as db:
        return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]


def through_http(settings: Settings, clients: int, seconds: float) -> list[str]:
    from test_app import RunningApp  # the launcher the tests use

    app = RunningApp(settings, staff=False, env={"KB_SEARCHES_PER_MINUTE": "0", "KB_QUESTION_LOG": "on"})
    samples: list[tuple[float, int, int]] = []
    done = threading.Event()

    def watch() -> None:
        began = time.monotonic()
        while not done.wait(seconds / 5):
            store = QuestionStore(settings.index_dir / "questions.sqlite")
            samples.append((time.monotonic() - began, len(store.entries("2000")), log_bytes(settings.index_dir)))
            store.close()

    try:
        run_load(app.url, clients=4, seconds=2, kind="plain")  # warm up
        before = len(QuestionStore(settings.index_dir / "questions.sqlite").entries("2000"))
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        result = run_load(app.url, clients=clients, seconds=seconds, kind="plain")
        done.set()
        watcher.join()
        time.sleep(2)  # the writer's last batch
        store = QuestionStore(settings.index_dir / "questions.sqlite")
        after = len(store.entries("2000"))
        store.close()
        size = log_bytes(settings.index_dir)
    finally:
        app.stop()
    on_disk = sum(p.stat().st_size for p in settings.index_dir.glob("questions.sqlite*"))
    logged = after - before
    lines = [
        f"{clients} clients, {seconds:g} s, `GET /api/search`: {result.requests} requests, "
        f"{result.throughput:.1f}/s, p95 {result.percentile(95):.1f} ms, **{len(result.failures)} failed**, "
        f"{result.busy} busy; {logged} questions logged.",
        "",
        "| seconds | entries | log bytes (its pages) | bytes per entry |",
        "|---|---|---|---|",
        *(f"| {t:.0f} | {n} | {b:,} | {b / n:.0f} |" for t, n, b in samples if n),
        f"| end | {after} | {size:,} | {size / max(after, 1):.0f} |",
        "",
        f"On disk after the app stopped: {on_disk:,} bytes (the database and its journal).",
    ]
    return lines


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=300, help="questions answered each way in process")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="100 questions, 5 s of load")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries, args.seconds = 100, 5.0
    with shipped_index("question-log") as settings:
        local = in_process(KnowledgeBase(settings), eval_questions(args.queries))
        print("question log: HTTP …", file=sys.stderr)
        remote = through_http(settings, args.clients, args.seconds)
    section = "\n".join(
        [
            "## The question log",
            "",
            f"`{COMMAND}`",
            "",
            "### In process: `answer` with the log off and on",
            "",
            *local,
            "",
            f"### Through HTTP, the log on, {args.clients} clients",
            "",
            *remote,
            "",
        ]
    )
    print(section)
    return section


if __name__ == "__main__":
    main()
