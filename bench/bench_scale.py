"""How the vector and keyword indexes scale: 10k, 100k and 1M passages on one machine.

    python bench/bench_scale.py [--sizes 10000,100000,1000000] [--quick] [--queries 200]

The figures ``kb.index.files.vectors.plan_index`` was tuned from (its threshold for exact search and
its IVF parameters) and docs/SCALING.md quotes. For each size it builds exact ("Flat") and
approximate indexes (IVF-Flat, IVF-SQ8, HNSW) over generated vectors shaped like the real
ones, and times single queries at k=10 and k=100; then BM25 over generated text, and the
memory sentence vectors would need. Vectors and text are generated from the built index in
index/ (run ``python ingest.py`` first; this script does it if index/ is empty).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kb.index import files as store  # noqa: E402
from kb.index.files import vectors as kv  # noqa: E402
from kb.index.lexical import LexicalIndex, query_stems  # noqa: E402

#: Recall@10 against exact search that an approximate index must reach.
TARGET_RECALL = 0.98
NPROBES = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
EF_SEARCHES = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384)
#: HNSW builds above this many vectors are skipped (see the note printed with the results).
HNSW_UP_TO = 100_000
#: Sentence vectors the real index keeps per passage (1,160 sentences over 236 passages).
SENTENCES_PER_PASSAGE = 5
GENERATOR = (
    "Each vector is a random mixture of 2 or 3 real vectors (the {base} passage and "
    "sentence vectors of the built index), weights from a flat Dirichlet, plus Gaussian "
    "noise of norm {noise} per vector, then L2-normalized: a continuum of topics with "
    "cluster structure like real text, neither separable nor one blob. Queries are "
    "{queries} fresh mixtures drawn the same way (none is in the index)."
)
NOISE = 0.35


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------


def real_generation(index_dir: Path) -> store.Generation:
    """The built index, building it first when there is none."""
    try:
        return store.open_generation(index_dir)
    except Exception:  # no index yet (or a stale one): build it the way a user would
        log(f"no usable index in {index_dir}/: running ingest.py (about 40 s)")
        subprocess.run([sys.executable, str(ROOT / "ingest.py")], cwd=ROOT, check=True)
        return store.open_generation(index_dir)


def mixtures(base: np.ndarray, n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors, each a Dirichlet mixture of 2-3 rows of ``base`` plus noise."""
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        picks = rng.integers(0, len(base), size=(m, 3))
        weights = rng.dirichlet(np.ones(3), size=m).astype(np.float32)
        weights[rng.random(m) < 0.5, 2] = 0.0  # half of them mix two vectors, not three
        block = np.einsum("mk,mkd->md", weights, base[picks])
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        noise = rng.standard_normal(block.shape, dtype=np.float32)
        block += NOISE * noise / np.linalg.norm(noise, axis=1, keepdims=True)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def passage_texts(sentences: list[str], n: int, rng: random.Random, words: int = 120) -> list[str]:
    """``n`` passages of about ``words`` words: real sentences of the shipped documents
    drawn at random and strung together."""
    lengths = [len(s.split()) for s in sentences]
    texts = []
    for _ in range(n):
        parts, count = [], 0
        while count < words:
            i = rng.randrange(len(sentences))
            parts.append(sentences[i])
            count += lengths[i]
        texts.append(" ".join(parts))
    return texts


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# --- measuring -----------------------------------------------------------------------------


def latencies(index, queries: np.ndarray, k: int, count: int) -> tuple[float, float, float]:
    """p50, p95, p99 milliseconds of ``count`` single-query searches."""
    kv.search_vectors(index, queries[:1], k)  # warm up
    times = []
    for i in range(count):
        q = queries[i % len(queries)][None, :]
        t = time.perf_counter()
        kv.search_vectors(index, q, k)
        times.append((time.perf_counter() - t) * 1000)
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def recall_at_10(index, queries: np.ndarray, truth: np.ndarray) -> float:
    _, rows = kv.search_vectors(index, queries, 10)
    return float(np.mean([len(set(r) & set(t)) / 10 for r, t in zip(rows, truth, strict=True)]))


def sweep(
    index, name: str, values: tuple[int, ...], queries, truth
) -> tuple[list[tuple[int, float]], int | None]:
    """Recall@10 for growing values of ``name``; stops at the first reaching the target."""
    seen: list[tuple[int, float]] = []
    for value in values:
        kv.set_search_params(index, {name: value})
        recall = recall_at_10(index, queries, truth)
        seen.append((value, recall))
        if recall >= TARGET_RECALL:
            return seen, value
    return seen, None


def measure_index(label: str, plan: kv.IndexPlan, data: np.ndarray, queries, truth, timed: int) -> dict:
    gc.collect()
    before = rss_bytes()
    t = time.perf_counter()
    kv.set_search_threads(os.cpu_count() or 1)  # builds use every core
    index = kv.build_vector_index(data, plan)
    build = time.perf_counter() - t
    kv.set_search_threads(THREADS)
    row = {
        "index": label,
        "build_s": build,
        "bytes": kv.index_bytes(index),
        "rss": rss_bytes() - before,
        "n": len(data),
    }
    if plan.exact:
        row.update(param="-", recall=recall_at_10(index, queries, truth), sweep=[])
    else:
        key = "nprobe" if "nprobe" in plan.search_params else "efSearch"
        values = NPROBES if key == "nprobe" else EF_SEARCHES
        seen, best = sweep(index, key, values, queries, truth)
        row["sweep"] = seen
        if plan.chosen_by == "auto":  # the plan's own value is what ingest will use
            best = plan.search_params[key]
        elif best is None:
            best = seen[-1][0]
        kv.set_search_params(index, {key: best})
        row.update(param=f"{key} {best}", recall=recall_at_10(index, queries, truth))
    row["k10"] = latencies(index, queries, 10, timed)
    row["k100"] = latencies(index, queries, 100, timed)
    log(
        f"  {label:22s} build {build:6.1f} s  {row['param']:12s} recall {row['recall']:.3f}  "
        f"p95 {row['k10'][1]:.2f} / {row['k100'][1]:.2f} ms"
    )
    del index
    return row


def best_threads(data: np.ndarray, queries: np.ndarray) -> tuple[int, dict[int, tuple[float, float]]]:
    """The FAISS thread count with the lowest single-query p50 (k=100) over exact search
    plus IVF search of ``data``: {threads: (exact ms, ivf ms)}."""
    kv.set_search_threads(os.cpu_count() or 1)
    indexes = [
        kv.build_vector_index(data, "Flat"),
        kv.build_vector_index(data, kv.approximate_plan(len(data))),
    ]
    found = {}
    for threads in (1, os.cpu_count() or 1):
        kv.set_search_threads(threads)
        found[threads] = tuple(latencies(index, queries, 100, 100)[0] for index in indexes)
    return min(found, key=lambda t: sum(found[t])), found


THREADS = 1
#: Vectors the thread count is chosen over.
THREAD_TEST_SIZE = 50_000


def vector_side(
    size: int, base: np.ndarray, queries: np.ndarray, timed: int
) -> tuple[list[dict], kv.IndexPlan]:
    rng = np.random.default_rng(size)
    t = time.perf_counter()
    data = mixtures(base, size, rng)
    log(f"{size:,} vectors generated in {time.perf_counter() - t:.1f} s")
    exact = kv.build_vector_index(data, "Flat")
    _, truth = kv.search_vectors(exact, queries, 10)
    del exact
    auto = kv.plan_index(size)
    approximate = auto if not auto.exact else kv.approximate_plan(size)
    nlist = int(re.search(r"IVF(\d+)", approximate.factory).group(1))
    plans = [
        ("Flat (exact)", kv.plan_index(size, "Flat")),
        (f"IVF{nlist},Flat (planned)", kv.IndexPlan(approximate.factory, approximate.params, exact=False)),
        (f"IVF{nlist},SQ8", kv.plan_index(size, f"IVF{nlist},SQ8")),
    ]
    if size <= HNSW_UP_TO:
        plans.append(("HNSW32", kv.plan_index(size, "HNSW32")))
    rows = []
    for label, plan in plans:
        # Exact search at 1M takes ~0.15 s a query: fewer timed queries keep the run short.
        rows.append(
            measure_index(
                label,
                plan,
                data,
                queries,
                truth,
                min(timed, 50) if plan.exact and size > HNSW_UP_TO else timed,
            )
        )
        gc.collect()
    return rows, auto


def lexical_side(size: int, sentences: list[str], questions: list[str]) -> dict:
    texts = passage_texts(sentences, size, random.Random(size))
    words = sum(len(t.split()) for t in texts)
    gc.collect()
    before = rss_bytes()
    t = time.perf_counter()
    lexical = LexicalIndex.build(texts)
    build = time.perf_counter() - t
    rss = rss_bytes() - before
    with tempfile.TemporaryDirectory() as tmp:
        lexical.save(Path(tmp))
        saved = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    del texts
    stems = [query_stems(q) for q in questions]
    lexical.scores(stems[0])
    times = []
    for s in stems:
        t = time.perf_counter()
        lexical.scores(s)
        times.append((time.perf_counter() - t) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    log(f"  BM25 {size:,}: build {build:.1f} s, {saved / 2**20:.0f} MB saved, scores p95 {p95:.1f} ms")
    return {"n": size, "words": words, "build_s": build, "rss": rss, "saved": saved, "p50": p50, "p95": p95}


def sentence_storage(base: np.ndarray) -> dict[str, float]:
    """Bytes per stored sentence vector for float32, fp16 and SQ8, from built indexes."""
    sample = mixtures(base, 20_000, np.random.default_rng(1))
    return {
        name: kv.index_bytes(kv.build_vector_index(sample, factory)) / len(sample)
        for name, factory in (("float32", "Flat"), ("fp16", "SQfp16"), ("SQ8", "SQ8"))
    }


# --- report --------------------------------------------------------------------------------


def _ms(triple: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in triple)


def _mb(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def report(command: str, generator: str, threads, vector_rows, autos, lexical_rows, storage, seconds) -> str:
    chosen, found = threads
    lines = [
        "## Scale",
        "",
        f"`{command}` (ran {seconds / 60:.1f} min on {os.cpu_count()} cores)",
        "",
        f"Vectors: {generator}",
        "",
        "Text for BM25: passages of about 120 words made of the shipped documents' real "
        "sentences drawn at random (so the vocabulary is the clinic's; a real 1M-passage "
        "collection would have a larger one).",
        "",
        f"Search threads: single-query p50 (k=100) over {THREAD_TEST_SIZE:,} vectors, exact / IVF: "
        + ", ".join(f"{t} thread{'s' * (t > 1)} {a:.2f} / {b:.2f} ms" for t, (a, b) in found.items())
        + f"; latencies below use {chosen} (builds use all cores).",
        "",
        "### Vector indexes",
        "",
        "Latency: one query at a time, p50 / p95 / p99 ms. Recall@10 against exact search, "
        f"{TARGET_RECALL} wanted; the approximate rows use the smallest parameter reaching it "
        "(the auto row: the value `plan_index` chose). Bytes: the index as saved; RSS: the "
        "process's growth while building it.",
        "",
        "| passages | index | build s | bytes/passage | RSS MB | param | recall@10 | k=10 ms | k=100 ms |",
        "|---:|---|---:|---:|---:|---|---:|---|---|",
    ]
    for r in vector_rows:
        lines.append(
            f"| {r['n']:,} | {r['index']} | {r['build_s']:.1f} | {r['bytes'] / r['n']:,.0f} | {_mb(r['rss'])} "
            f"| {r['param']} | {r['recall']:.3f} | {_ms(r['k10'])} | {_ms(r['k100'])} |"
        )
    lines += ["", "Parameter sweeps (value: recall@10), stopped at the first reaching the target:", ""]
    for r in vector_rows:
        if r["sweep"]:
            lines.append(f"- {r['n']:,} {r['index']}: " + ", ".join(f"{v}: {x:.3f}" for v, x in r["sweep"]))
    flat = [r for r in vector_rows if r["index"] == "Flat (exact)"]
    if flat:
        big = max(flat, key=lambda r: r["n"])  # the largest size: least swayed by fixed costs
        per_k = big["k100"][1] / (big["n"] / 1000)
        lines += [
            "",
            f"Exact search p95 (k=100) at {big['n']:,} vectors costs {per_k:.3f} ms per 1,000, so it stays "
            f"under {kv.SEARCH_BUDGET_MS} ms up to about {kv.SEARCH_BUDGET_MS / per_k * 1000:,.0f} vectors; "
            f"`plan_index` searches exactly up to {kv.EXACT_UP_TO:,}.",
        ]
    largest = max(r["n"] for r in vector_rows)
    if largest > HNSW_UP_TO:
        hnsw = [r for r in vector_rows if r["index"] == "HNSW32"]
        note = ""
        if hnsw:
            h = max(hnsw, key=lambda r: r["n"])
            guess = h["build_s"] * (largest / h["n"]) * math.log(largest) / math.log(h["n"])
            note = (
                f" Its build took {h['build_s']:.0f} s at {h['n']:,}; n log n puts {largest:,} at "
                f"about {guess / 60:.0f} min on these cores."
            )
        lines += ["", f"HNSW is skipped above {HNSW_UP_TO:,} vectors to keep the run within budget.{note}"]
    lines += ["", "### What `plan_index` chose", "", "| passages | plan | reason |", "|---:|---|---|"]
    for n, plan in autos:
        params = ", ".join(f"{k} {v}" for k, v in plan.params) or "-"
        lines.append(f"| {n:,} | {plan.factory} ({params}) | {plan.reason} |")
    if not lexical_rows:
        lines += ["", "BM25 was skipped here (`--skip-lexical`); \"Search at scale\" builds and times it."]
    else:
        lines += [
            "",
            "### BM25 (kb.index.lexical)",
            "",
            "`LexicalIndex.build` time and size, and `scores()` (every passage's score) for 50 questions.",
            "",
            "| passages | words | build s | saved MB | RSS MB | scores p50 ms | scores p95 ms |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for r in lexical_rows:
        lines.append(
            f"| {r['n']:,} | {r['words']:,} | {r['build_s']:.1f} | {_mb(r['saved'])} | {_mb(r['rss'])} "
            f"| {r['p50']:.1f} | {r['p95']:.1f} |"
        )
    lines += [
        "",
        "### Sentence vectors",
        "",
        f"The index keeps about {SENTENCES_PER_PASSAGE} sentence vectors per passage. Bytes per "
        "vector measured from built flat indexes of 20,000 vectors: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in storage.items())
        + ".",
        "",
        "| passages | sentence vectors | " + " | ".join(f"{k} MB" for k in storage) + " |",
        "|---:|---:|" + "---:|" * len(storage),
    ]
    for n in sorted({r["n"] for r in vector_rows}):
        count = SENTENCES_PER_PASSAGE * n
        lines.append(f"| {n:,} | {count:,} | " + " | ".join(_mb(count * b) for b in storage.values()) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="passage counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="10k and 100k only")
    parser.add_argument("--queries", type=int, default=200, help="held-out queries for recall and timing")
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="built index to sample from")
    parser.add_argument("--skip-lexical", action="store_true", help="vectors only")
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    command = "python bench/bench_scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()

    generation = real_generation(args.index)
    base = np.concatenate([generation.passage_matrix, generation.sentence_matrix]).astype(np.float32)
    passages = generation.passages_at(range(generation.passage_count))
    generation.close()
    sentences = [s for p in passages for s in re.split(r"(?<=[.!?])\s+", p.text) if len(s.split()) >= 3]
    questions = [s for s in sentences if s.endswith("?")][:50] or sentences[:50]
    queries = mixtures(base, args.queries, np.random.default_rng(12345))
    generator = GENERATOR.format(base=len(base), noise=NOISE, queries=args.queries)

    THREADS, found = best_threads(mixtures(base, THREAD_TEST_SIZE, np.random.default_rng(7)), queries)
    kv.set_search_threads(THREADS)
    log(f"single-query p50 ms (exact, IVF) by thread count: {found}; using {THREADS}")
    vector_rows, autos, lexical_rows = [], [], []
    for size in sizes:
        rows, auto = vector_side(size, base, queries, timed=min(args.queries, 100))
        vector_rows += rows
        autos.append((size, auto))
        if not args.skip_lexical:
            lexical_rows.append(lexical_side(size, sentences, questions))
        gc.collect()
    storage = sentence_storage(base)
    out = report(
        command.strip(),
        generator,
        (THREADS, found),
        vector_rows,
        autos,
        lexical_rows,
        storage,
        time.perf_counter() - started,
    )
    print(out)
    return out


if __name__ == "__main__":
    main()
