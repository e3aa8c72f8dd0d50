"""Ingest and search figures over the shipped documents, printed as a table.

    python bench/bench_ingest.py [--documents documents] [--queries 50]

Builds a fresh index in a temporary folder (full ingest), re-ingests with no change, then
times queries in each search mode; the dense-only mode is the baseline the others are
compared with, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.load import QUESTIONS  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.documents import find_documents, read_document  # noqa: E402
from kb.embedding import Embedder  # noqa: E402
from kb.ingest import ingest  # noqa: E402
from kb.search import KnowledgeBase  # noqa: E402

#: The first ten of the load test's questions, so both benchmarks time the same queries.
QUERIES = QUESTIONS[:10]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=Path, default=Path("documents"))
    parser.add_argument("--queries", type=int, default=50, help="timed queries per mode")
    args = parser.parse_args()

    files = find_documents(args.documents)
    words = sum(read_document(p, args.documents).words for p in files)
    t = time.perf_counter()
    embedder = Embedder()
    load_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(documents_dir=args.documents, index_dir=Path(tmp) / "index")
        full = ingest(settings, embedder=embedder)
        again = ingest(settings, embedder=embedder)
        texts = full.passages + full.embedded_sentences
        print(
            f"corpus: {len(files)} documents, {words:,} words, {full.passages} passages, "
            f"{full.embedded_sentences} sentences"
        )
        print(f"model load:            {load_s:6.1f} s")
        print(
            f"full ingest:           {full.seconds:6.1f} s  ({full.passages / full.seconds:.1f} passages/s; "
            f"{texts / full.seconds:.1f} embedded texts/s incl. sentences)"
        )
        print(
            f"no-change re-ingest:   {again.seconds:6.1f} s  (embedded {again.embedded} passages, "
            f"{again.embedded_sentences} sentences)"
        )
        baseline = None
        for mode in ("dense", "lexical", "hybrid"):
            kb = KnowledgeBase(settings.with_changes(search_mode=mode), embedder)
            kb.search(QUERIES[0], 5)  # warm up
            times = []
            for i in range(args.queries):
                t = time.perf_counter()
                kb.answer(QUERIES[i % len(QUERIES)], 5)
                times.append((time.perf_counter() - t) * 1000)
            median = statistics.median(times)
            baseline = baseline or median
            p95 = sorted(times)[int(0.95 * (len(times) - 1))]
            print(
                f"answer(k=5) {mode:8s}  median {median:6.1f} ms  p95 {p95:6.1f} ms  "
                f"({median / baseline:.2f}x dense)"
            )


if __name__ == "__main__":
    main()
