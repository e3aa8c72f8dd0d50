"""Query latency: ``answer`` in process, split into its parts, then through HTTP at 1, 8
and 32 concurrent clients.

    python bench/bench_query.py [--queries 300] [--seconds 15] [--clients 1,8,32]

Builds an index of the shipped documents in a temporary folder. In process, every
evaluation question (patients' wording, both splits) is answered once after a warm-up;
the baseline is the model's own encode of the same questions, measured in the same run,
so "x encode" says how many model calls an answer costs. Through HTTP, the real app
runs on a loopback port with its default settings; each client count is measured three
ways (bench/load.py): gradio_client (what API users run), gradio's REST API called with
plain HTTP (the server's share without the client library's cost), and the app's plain
JSON route ``GET /api/search`` (no gradio queue or event stream). The baseline there is
the in-process p95. Loopback only; every run is bounded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.answers import eval_questions, percentile, timed_answers  # noqa: E402
from bench.load import QUESTIONS, run_load  # noqa: E402
from bench.shipped import shipped_index  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.search import KnowledgeBase  # noqa: E402

COMMAND = "python bench/bench_query.py"
#: The ways a program calls the search over HTTP (bench/load.py).
KINDS = {
    "gradio_client": "gradio_client `/search`",
    "rest": "gradio REST `/gradio_api/call/search`",
    "plain": "plain JSON `GET /api/search`",
}


def in_process(kb: KnowledgeBase, asked: list[str]) -> tuple[list[str], dict]:
    for q in QUESTIONS:
        kb.answer(q, 5)  # warm-up: caches, the model's first calls
    encode = []
    for q in asked:
        began = time.perf_counter()
        kb.embedder.encode_query(q)
        encode.append((time.perf_counter() - began) * 1000)
    totals, parts = timed_answers(kb, asked)
    base = percentile(encode, 50)
    lines = [
        f"{len(asked)} questions, k=5, shipped documents ({kb.generation.passage_count} passages); "
        f"the model runs on {kb.embedder.backend}.",
        "",
        "| part | p50 ms | p95 ms | p99 ms | mean ms |",
        "|---|---|---|---|---|",
    ]
    for name, values in [("answer (total)", totals), *parts.items(), ("model encode alone (baseline)", encode)]:
        lines.append(
            f"| {name} | {percentile(values, 50):.2f} | {percentile(values, 95):.2f} | "
            f"{percentile(values, 99):.2f} | {sum(values) / len(values):.2f} |"
        )
    lines += [
        "",
        f"`answer` p50 is {percentile(totals, 50) / base:.2f}x one model encode (p50 {base:.2f} ms); "
        f"p95 {percentile(totals, 95):.2f} ms.",
    ]
    return lines, {"p50": percentile(totals, 50), "p95": percentile(totals, 95)}


def through_http(settings: Settings, clients: list[int], seconds: float, inproc_p95: float) -> list[str]:
    from test_app import RunningApp  # the launcher the tests use

    app = RunningApp(settings, staff=False, env={"KB_SEARCHES_PER_MINUTE": "0"})
    lines = [
        "| client | clients | requests | requests/s | x one client | p50 ms | p95 ms | p99 ms | "
        "p95 / in-process p95 | failed | busy |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    try:
        for kind, label in KINDS.items():
            run_load(app.url, clients=4, seconds=2, kind=kind)  # warm up
            one = None
            for n in clients:
                r = run_load(app.url, clients=n, seconds=seconds, kind=kind)
                one = one or r.throughput
                print(f"  {kind} x{n}: {r.summary()}", file=sys.stderr)
                lines.append(
                    f"| {label} | {n} | {r.requests} | "
                    f"{r.throughput:.1f} | {r.throughput / one:.2f} | {r.percentile(50):.1f} | "
                    f"{r.percentile(95):.1f} | {r.percentile(99):.1f} | "
                    f"{r.percentile(95) / inproc_p95:.1f}x | {len(r.failures)} | {r.busy} |"
                )
    finally:
        app.stop()
    return lines


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=300, help="questions answered in process")
    parser.add_argument("--seconds", type=float, default=15.0, help="load per HTTP measurement")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--quick", action="store_true", help="100 questions, 5 s per HTTP measurement")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries, args.seconds = 100, 5.0
    with shipped_index("query") as settings:
        kb = KnowledgeBase(settings)
        local, figures = in_process(kb, eval_questions(args.queries))
        print("query: HTTP …", file=sys.stderr)
        remote = through_http(settings, [int(c) for c in args.clients.split(",")], args.seconds, figures["p95"])
    section = "\n".join(
        [
            "## Query latency",
            "",
            f"`{COMMAND}{' --quick' if args.quick else ''}`",
            "",
            "### In process (`KnowledgeBase.answer`, the server's own `took_ms`)",
            "",
            *local,
            "",
            f"### Through HTTP, {args.seconds:g} s per row (the app and the clients share the two cores)",
            "",
            *remote,
            "",
        ]
    )
    print(section)
    return section


if __name__ == "__main__":
    main()
