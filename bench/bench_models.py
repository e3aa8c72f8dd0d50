"""The embedding models side by side on the shipped documents: what each costs to ingest,
to answer and to hold in memory (quality per collection is evaluate.py's, docs/QUALITY.md).

    python bench/bench_models.py [--models all-MiniLM-L6-v2,all-mpnet-base-v2] [--queries 300]

Each model runs in a process of its own, one after the other, on a fresh copy of the
documents with its ONNX export already made (the export, once per machine, is timed apart):
the full ingest, then every evaluation question answered once after a warm-up (k=5), then
the process's peak resident memory. Ratios are against the first model, measured in the
same run. A model whose packages are not installed is skipped with the command that
installs it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COMMAND = "python bench/bench_models.py"
MODELS = ("all-MiniLM-L6-v2", "all-mpnet-base-v2")


def child(model: str, queries: int) -> dict:
    """Measure one model in this process; returns the figures."""
    from bench.answers import eval_questions, percentile, timed_answers
    from kb.config import Settings
    from kb.embedding import Embedder
    from kb.errors import KBError
    from kb.ingest import ingest
    from kb.search import KnowledgeBase

    try:
        began = time.perf_counter()
        embedder = Embedder(model)
        embedder.load()  # unpacks a packaged model and exports it to ONNX the first time
        loaded = time.perf_counter() - began
    except KBError as exc:
        return {"model": model, "skipped": str(exc)}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shutil.copytree(ROOT / "documents", base / "documents")
        settings = Settings(documents_dir=base / "documents", index_dir=base / "index", model=model)
        began = time.perf_counter()
        report = ingest(settings, embedder=embedder)
        ingest_s = time.perf_counter() - began
        kb = KnowledgeBase(settings, embedder)
        kb.warm_up()
        asked = eval_questions(queries)
        totals, parts = timed_answers(kb, asked)
    return {
        "model": model,
        "dimension": embedder.dimension,
        "backend": embedder.backend,
        "load_s": loaded,
        "ingest_s": ingest_s,
        "texts": report.embedded + report.embedded_sentences,
        "answer_p50": percentile(totals, 50),
        "answer_p95": percentile(totals, 95),
        "encode_p50": percentile(parts["encode"], 50),
        "encode_p95": percentile(parts["encode"], 95),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="bench_models.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="100 questions")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    queries = 100 if args.quick else args.queries
    if args.child:
        print(json.dumps(child(args.child, queries)))
        return ""
    results = []
    for model in args.models.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--child", model, "--queries", str(queries)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    lines = [
        "## Embedding models",
        "",
        f"`{COMMAND} --models {args.models} --queries {queries}`: the shipped documents, "
        f"{queries} evaluation questions answered in process (k=5) after a warm-up.",
        "",
        "| model | dimension | first load (unpack, ONNX export) s | full ingest s | texts embedded | answer p50 / p95 ms "
        "| encode p50 / p95 ms | peak memory MB | ingest, answer p95, memory vs the first |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    first = next((r for r in results if "skipped" not in r), None)
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['model']} | skipped: {r['skipped']} | | | | | | | |")
            continue
        ratio = (
            f"{r['ingest_s'] / first['ingest_s']:.1f}x, {r['answer_p95'] / first['answer_p95']:.1f}x, "
            f"{r['rss_mb'] / first['rss_mb']:.1f}x"
        )
        lines.append(
            f"| {r['model']} | {r['dimension']} | {r['load_s']:.1f} | {r['ingest_s']:.1f} | {r['texts']:,} | "
            f"{r['answer_p50']:.1f} / {r['answer_p95']:.1f} | {r['encode_p50']:.1f} / {r['encode_p95']:.1f} | "
            f"{r['rss_mb']:.0f} | {ratio} |"
        )
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    main()
