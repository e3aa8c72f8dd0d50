"""Search at scale: the whole ``KnowledgeBase.answer`` over generated index generations of
100,000 and 1,000,000 passages.

    python bench/bench_search_scale.py [--sizes 100000,1000000] [--quick] [--queries 200]

bench/bench_scale.py timed FAISS and BM25 alone; this times what a question costs end to
end at those sizes: the query rewrite, the real model's encode of the real evaluation
questions, the vector index's and BM25's candidates, every signal on them, fusion, the
passage fetch from SQLite, and the warning-sign check. Each generation is written by the
project's own writer (``store.write_generation`` with the indexes ``kb.ingest`` builds) and
opened by ``KnowledgeBase``, so the path measured is the served one. Only the vectors are
generated (encoding a million passages would take hours): mixtures of the built index's
real vectors, as bench/bench_scale.py makes them. Vectors and text are unrelated, so the
answers are meaningless; their cost is what is measured. Sampled from the built index in
index/ (run ``python ingest.py`` first; this script does it if index/ is empty).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.answers import eval_questions, timed_answers  # noqa: E402
from bench.bench_scale import GENERATOR, NOISE, log, mixtures, real_generation, rss_bytes  # noqa: E402
from bench.corpus import DOCUMENTS, Prose  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.embedding import Embedder  # noqa: E402
from kb.index import files as store  # noqa: E402
from kb.index.files import vectors as kv  # noqa: E402
from kb.index.lexical import LexicalIndex  # noqa: E402
from kb.ingest import manifest_for  # noqa: E402
from kb.reading.chunking import Passage  # noqa: E402
from kb.search import CANDIDATES, PARTS, KnowledgeBase  # noqa: E402

COMMAND = "python bench/bench_search_scale.py"
#: The issue's target at 1,000,000 passages.
TARGET_P95_MS = 60.0
TARGET_RECALL = 0.98
PASSAGES_PER_DOCUMENT = 20
#: Sentences per passage, drawn uniformly: 5 on average (the shipped passages hold 4.3).
SENTENCES_PER_PASSAGE = (4, 6)
#: Generated sentences kept for passages: this long, so five make about 120 words.
SENTENCE_WORDS = (14, 35)
POOL = 100_000
#: Share of passages that open with a question, as FAQ passages do.
QUESTION_SHARE = 0.125
#: Vectors generated, added or scanned at a time.
CHUNK = 100_000
WARM_UP = 10


# --- text ------------------------------------------------------------------------------------


def sentence_pool(rng: random.Random) -> tuple[list[str], int]:
    """New sentences in the shipped documents' words (bench/corpus.py's Markov chain):
    the questions first, then ``POOL`` statements of ``SENTENCE_WORDS`` words; and how
    many questions lead the list."""
    prose = Prose(DOCUMENTS, rng)
    questions = [q for q in (prose.sentence(question=True) for _ in range(2_000)) if q]
    low, high = SENTENCE_WORDS
    statements: list[str] = []
    while len(statements) < POOL:
        s = prose.sentence()
        if low <= len(s.split()) <= high:
            statements.append(s)
    return questions + statements, len(questions)


class GeneratedPassages(Sequence[Passage]):
    """``n`` passages of generated text in documents of ``PASSAGES_PER_DOCUMENT``, built on
    demand from a few arrays: a million ``Passage`` objects held at once would take ~2 GB
    the writer does not need (it reads passages one by one)."""

    def __init__(self, n: int, pool: list[str], questions: int, prose_rng: random.Random) -> None:
        rng = np.random.default_rng(n)
        low, high = SENTENCES_PER_PASSAGE
        counts = rng.integers(low, high + 1, size=n)
        self.first = np.append(0, np.cumsum(counts)).astype(np.int64)
        self.picks = rng.integers(questions, len(pool), size=int(self.first[-1]), dtype=np.int32)
        asks = np.flatnonzero(rng.random(n) < QUESTION_SHARE)
        self.picks[self.first[asks]] = rng.integers(0, questions, size=len(asks), dtype=np.int32)
        self.pool = pool
        widths = np.array([len(s) for s in pool], dtype=np.int64)
        # A passage is its sentences joined by spaces; passages of a document by blank lines.
        lengths = np.add.reduceat(widths[self.picks], self.first[:-1]) + counts - 1
        step = lengths + 2
        before = np.cumsum(step) - step
        self.starts = before - before[(np.arange(n) // PASSAGES_PER_DOCUMENT) * PASSAGES_PER_DOCUMENT]
        documents = -(-n // PASSAGES_PER_DOCUMENT)
        prose = Prose(DOCUMENTS, prose_rng)
        headings = [prose.heading() for _ in range(500)]
        self.sources = [f"handout-{d + 1:07d}.md" for d in range(documents)]
        self.titles = [prose.title(d + 1) for d in range(documents)]
        self.sections = [prose_rng.choice(headings) for _ in range(documents)]
        self.size = np.zeros(documents, dtype=np.int64)
        np.maximum.at(self.size, np.arange(n) // PASSAGES_PER_DOCUMENT, self.starts + lengths)

    def __len__(self) -> int:
        return len(self.first) - 1

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        document, number = divmod(row, PASSAGES_PER_DOCUMENT)
        texts = [self.pool[i] for i in self.picks[self.first[row] : self.first[row + 1]]]
        start = at = int(self.starts[row])
        spans = []
        for text in texts:
            spans.append((at, at + len(text)))
            at += len(text) + 1
        source = self.sources[document]
        return Passage(
            f"{source}#{number + 1}",
            source,
            self.titles[document],
            None,
            self.sections[document],
            start,
            at - 1,
            " ".join(texts),
            tuple(spans),
        )

    def records(self) -> list[store.DocumentRecord]:
        n, now = len(self), store.now_iso()
        return [
            store.DocumentRecord(
                source,
                title,
                "md",
                None,
                hashlib.sha256(source.encode()).hexdigest(),
                int(size),
                min(PASSAGES_PER_DOCUMENT, n - d * PASSAGES_PER_DOCUMENT),
                now,
            )
            for d, (source, title, size) in enumerate(zip(self.sources, self.titles, self.size, strict=True))
        ]


# --- building a generation -------------------------------------------------------------------


def file_backed(index, path: Path):
    """The same flat index, saved to ``path`` and mapped back from it.

    The writer reads the new generation back whole to check it while the caller still holds
    the indexes it was given; at a million passages two copies of the 5-million sentence
    vectors (7.7 GB each) would not fit beside everything else. A mapped copy lives in the
    OS file cache, which the kernel can drop, so only the read-back copy takes memory.
    """
    import faiss  # the only faiss use outside kb/index/files/vectors.py: load_vector_index cannot map

    kv.save_vector_index(index, path)
    del index
    gc.collect()
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)


def build(
    size: int, settings: Settings, embedder: Embedder, base: np.ndarray, text: tuple, work: Path
) -> dict:
    """Write a generation of ``size`` passages into ``settings.index_dir``; seconds per part."""
    row: dict = {"n": size}
    seconds = row["build"] = {}
    t = time.perf_counter()
    passages = GeneratedPassages(size, *text, random.Random(size))
    texts = [p.embedding_text for p in passages]
    seconds["text"] = time.perf_counter() - t
    row["documents"], row["sentences"] = len(passages.sources), int(passages.first[-1])
    sample = range(min(size, 10_000))
    row["words"] = sum(len(passages[i].text.split()) for i in sample) / len(sample)
    log(f"{size:,}: text for {size:,} passages, {row['sentences']:,} sentences in {seconds['text']:.0f} s")

    t = time.perf_counter()
    lexical = LexicalIndex.build(texts)
    seconds["bm25"] = time.perf_counter() - t
    del texts
    gc.collect()
    log(f"{size:,}: BM25 built in {seconds['bm25']:.0f} s")

    rng = np.random.default_rng(size)
    t = time.perf_counter()
    vectors = mixtures(base, size, rng)
    seconds["generate vectors"] = time.perf_counter() - t
    plan = kv.plan_index(size, settings.vector_index)
    row["plan"] = plan
    t = time.perf_counter()
    vector_index = kv.build_vector_index(vectors, plan)
    seconds["passage index"] = time.perf_counter() - t
    del vectors
    log(
        f"{size:,}: passage index {plan.factory} {plan.search_params} built in {seconds['passage index']:.0f} s"
    )

    # Sentence vectors, added a chunk at a time (what build_vector_index does for "Flat"
    # in one call) so the whole matrix never exists twice.
    t = time.perf_counter()
    made = 0.0
    sentence_index = None
    for start in range(0, row["sentences"], CHUNK):
        began = time.perf_counter()
        chunk = mixtures(base, min(CHUNK, row["sentences"] - start), rng)
        made += time.perf_counter() - began
        if sentence_index is None:
            sentence_index = kv.build_vector_index(chunk, "Flat")
        else:
            sentence_index.add(chunk)
    seconds["generate vectors"] += made
    seconds["sentence index"] = time.perf_counter() - t - made
    sentence_index = file_backed(sentence_index, work / "sentences-build.faiss")
    heading_index = kv.build_vector_index(mixtures(base, row["documents"], rng), "Flat")
    log(f"{size:,}: sentence index ({row['sentences']:,}) in {seconds['sentence index']:.0f} s")

    records = passages.records()
    manifest = manifest_for(settings, embedder, records, size, plan.to_manifest())
    glossary = settings.glossary.read_text(encoding="utf-8") if settings.glossary.is_file() else None
    t = time.perf_counter()
    name = store.write_generation(
        settings.index_dir,
        manifest,
        records,
        passages,
        vector_index,
        sentence_index,
        heading_index,
        lexical,
        glossary,
    )
    seconds["write_generation"] = time.perf_counter() - t
    log(f"{size:,}: generation written in {seconds['write_generation']:.0f} s")
    folder = settings.index_dir / store.GENERATIONS / name
    row["disk"] = {
        part.name: (sum(f.stat().st_size for f in part.rglob("*")) if part.is_dir() else part.stat().st_size)
        for part in folder.iterdir()
    }
    (work / "sentences-build.faiss").unlink()
    return row


# --- measuring -------------------------------------------------------------------------------


def status(field: str) -> int:
    """A /proc/self/status figure in bytes (VmRSS, VmHWM, RssAnon, ...)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def measure(row: dict, settings: Settings, embedder: Embedder, asked: list[str]) -> None:
    """Load the generation, answer every question, and check the vector index's recall."""
    gc.collect()
    row["rss_before"] = rss_bytes()
    t = time.perf_counter()
    kb = KnowledgeBase(settings, embedder)
    row["load_s"] = time.perf_counter() - t
    row["rss_after"] = rss_bytes()
    # The urgent line is found once per generation (at warm-up, and when the app switches
    # to a new one); timed here on its own, so no timed answer waits for it.
    t = time.perf_counter()
    kb.urgent_contact()
    row["urgent_s"] = time.perf_counter() - t
    log(f"{row['n']:,}: loaded in {row['load_s']:.1f} s, urgent-line scan {row['urgent_s']} s")

    kb.warm_up()
    for q in asked[:WARM_UP]:
        kb.answer(q, 5)
    totals, parts = timed_answers(kb, asked)
    row["total"], row["parts"] = totals, parts
    log(
        f"{row['n']:,}: answer p50 {np.percentile(totals, 50):.1f} ms, p95 {np.percentile(totals, 95):.1f} ms"
    )

    generation = kb.generation
    found = np.stack([kb.explain(q, 5).vector for q in dict.fromkeys(asked)])
    depth = max(CANDIDATES, 4 * 5)  # what _candidates asks the index for at k=5
    exact = exact_nearest(generation, found, depth)
    top10 = np.take_along_axis(exact[1], np.argsort(-exact[0], axis=1)[:, :10], axis=1)
    near10 = np.stack([generation.nearest_passages(v, 10) for v in found])
    near = np.stack([generation.nearest_passages(v, depth) for v in found])
    row["recall10"] = overlap(near10, top10)
    row["recall_depth"] = (depth, overlap(near, exact[1]))
    log(f"{row['n']:,}: recall@10 {row['recall10']:.3f}, recall@{depth} {row['recall_depth'][1]:.3f}")
    row["hwm"] = status("VmHWM")
    generation.close()
    del kb, generation
    gc.collect()


def exact_nearest(
    generation: store.Generation, queries: np.ndarray, depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the ``depth`` passages nearest each query by exact search, in no
    order: every stored vector scanned, ``CHUNK`` rows at a time."""
    m, n = len(queries), generation.passage_count
    scores = np.zeros((m, 0), dtype=np.float32)
    rows = np.zeros((m, 0), dtype=np.int64)
    for start in range(0, n, CHUNK):
        at = np.arange(start, min(start + CHUNK, n))
        block = queries @ generation.passage_vectors_at(at).T
        take = min(depth, block.shape[1])
        best = np.argpartition(-block, take - 1, axis=1)[:, :take]
        scores = np.concatenate([scores, np.take_along_axis(block, best, axis=1)], axis=1)
        rows = np.concatenate([rows, at[best]], axis=1)
        if scores.shape[1] > depth:
            keep = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
            scores, rows = np.take_along_axis(scores, keep, axis=1), np.take_along_axis(rows, keep, axis=1)
    return scores, rows


def overlap(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


# --- report ----------------------------------------------------------------------------------


def _mb(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def _ms(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in np.percentile(values, [50, 95, 99]))


def report(command: str, rows: list[dict], asked: int, generator: str, backend: str, seconds: float) -> str:
    steps = ["text", "bm25", "generate vectors", "passage index", "sentence index", "write_generation"]
    names = " | ".join(f"{r['n']:,}" for r in rows)
    lines = [
        "## Search at scale",
        "",
        f"`{command}` (ran {seconds / 60:.1f} min on {os.cpu_count()} cores, a shared machine; "
        f"peak RSS {_mb(max(r['hwm'] for r in rows))} MB)",
        "",
        "Each size is a generation written by `store.write_generation` with the indexes "
        "`kb.ingest` builds (the passage index as `plan_index` chooses it, sentence and heading "
        "vectors flat, BM25 over the embedding texts) and opened by `KnowledgeBase`. Text: "
        f"documents of {PASSAGES_PER_DOCUMENT} passages under one heading each, each passage "
        f"{SENTENCES_PER_PASSAGE[0]} to {SENTENCES_PER_PASSAGE[1]} sentences of "
        f"{SENTENCE_WORDS[0]}-{SENTENCE_WORDS[1]} words drawn from {POOL:,} new sentences that "
        "bench/corpus.py's Markov chain wrote in the shipped documents' words "
        f"({QUESTION_SHARE:.1%} of passages open with a question). Vectors: {generator} One "
        "vector per passage, per sentence and per document heading; they bear no relation to "
        "the text, so the answers mean nothing and only their cost is measured.",
        "",
        f"Questions: {asked} evaluation questions (eval/questions.jsonl), encoded by the real "
        f"model on {backend} inside `answer`, after `warm_up()` and {WARM_UP} untimed answers; "
        "FAISS and the model use their default threads, as the app does.",
        "",
        "### Build, seconds",
        "",
        "`write_generation` is the SQLite passage store, saving every index, reading the whole "
        "generation back to check it, and fsync. Generating vectors stands in for the model's "
        "encode, which a real ingest spends hours on at these sizes.",
        "",
        "| passages | documents | sentences | words/passage | " + " | ".join(steps) + " | on disk MB |",
        "|---:|---:|---:|---:|" + "---:|" * len(steps) + "---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['documents']:,} | {r['sentences']:,} | {r['words']:.0f} | "
            + " | ".join(f"{r['build'][s]:.1f}" for s in steps)
            + f" | {_mb(sum(r['disk'].values()))} |"
        )
    parts = sorted({p for r in rows for p in r["disk"]})
    lines += [
        "",
        "On disk, MB: "
        + "; ".join(f"{r['n']:,}: " + ", ".join(f"{p} {_mb(r['disk'][p])}" for p in parts) for r in rows),
        "",
        "### Load and memory",
        "",
        "Load: `KnowledgeBase(settings, embedder)` with the model already loaded (its files were "
        "just written, so they came from the OS cache). RSS: the process before and after. The "
        "urgent-line scan runs once per generation, at warm-up and when the app switches to a new "
        "generation (`urgent_contact`: a LIKE over every passage's text, then the urgent-line "
        "pattern around each urgent word of the passages found).",
        "",
        "| passages | passage index | load s | RSS before MB | RSS after MB | generation MB | urgent-line scan s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        plan = r["plan"]
        params = ", ".join(f"{k} {v}" for k, v in plan.params)
        lines.append(
            f"| {r['n']:,} | {plan.factory}{f' ({params})' if params else ''} | {r['load_s']:.1f} | "
            f"{_mb(r['rss_before'])} | {_mb(r['rss_after'])} | {_mb(r['rss_after'] - r['rss_before'])} | "
            + (f"{r['urgent_s']:.1f} |" if r["urgent_s"] is not None else "not run |")
        )
    lines += [
        "",
        "### `answer(question, k=5)`, ms: p50 / p95 / p99",
        "",
        f"| part | {names} |",
        "|---|" + "---|" * len(rows),
        "| **answer (took_ms)** | " + " | ".join(f"**{_ms(r['total'])}**" for r in rows) + " |",
    ]
    for p in PARTS:
        lines.append(f"| {p} | " + " | ".join(_ms(r["parts"][p]) for r in rows) + " |")
    lines += [
        "",
        "### Recall of the vector index against exact search",
        "",
        "The questions' vectors as `answer` searches with them (`explain(...).vector`); exact: "
        "every passage vector scanned. Recall@10: the index's 10 nearest against the true 10; "
        f"recall@{rows[0]['recall_depth'][0]}: its candidates for the fine ranking against the true "
        f"{rows[0]['recall_depth'][0]}.",
        "",
        f"| passages | passage index | recall@10 | recall@{rows[0]['recall_depth'][0]} |",
        "|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['plan'].factory} | {r['recall10']:.3f} | {r['recall_depth'][1]:.3f} |"
        )
    largest = max(rows, key=lambda r: r["n"])
    p95 = float(np.percentile(largest["total"], 95))
    met = p95 < TARGET_P95_MS and largest["recall10"] >= TARGET_RECALL
    lines += [
        "",
        f"Target at 1,000,000 passages: answer p95 < {TARGET_P95_MS:.0f} ms with recall@10 >= "
        f"{TARGET_RECALL}. At {largest['n']:,}: p95 {p95:.1f} ms, recall@10 {largest['recall10']:.3f}: "
        f"{'met' if met else 'not met'}.",
    ]
    return "\n".join(lines) + "\n"


def _settings(index_dir: Path) -> Settings:
    """Default settings on ``index_dir``, with the project's files found from any folder."""
    defaults = Settings()
    where = {
        name: ROOT / path
        for name in ("glossary", "warning_signs", "model_cache")
        if not (path := getattr(defaults, name)).is_absolute()
    }
    return Settings(index_dir=index_dir, **where)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="passage counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="20,000 and 100,000 passages")
    parser.add_argument("--queries", type=int, default=200, help="questions answered per size")
    parser.add_argument(
        "--index", type=Path, default=ROOT / "index", help="built index to sample vectors from"
    )
    args = parser.parse_args(argv)
    sizes = [20_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    command = (COMMAND + " " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    started = time.perf_counter()

    generation = real_generation(args.index)
    base = np.concatenate([generation.passage_matrix, generation.sentence_matrix]).astype(np.float32)
    generation.close()
    t = time.perf_counter()
    text = sentence_pool(random.Random(0))
    log(f"{len(text[0]):,} sentences ({text[1]} questions) generated in {time.perf_counter() - t:.0f} s")
    asked = eval_questions(args.queries)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-search-scale-") as tmp:
        work = Path(tmp)
        embedder = Embedder.for_settings(_settings(work))
        embedder.encode_query("load the model")
        for size in sizes:
            settings = _settings(work / f"index-{size}")
            row = build(size, settings, embedder, base, text, work)
            measure(row, settings, embedder, asked)
            rows.append(row)
            shutil.rmtree(settings.index_dir)
            gc.collect()
        backend = embedder.backend
    generator = GENERATOR.format(base=len(base), noise=NOISE, queries=0).rsplit(" Queries", 1)[0]
    out = report(command, rows, len(asked), generator, backend, time.perf_counter() - started)
    print(out)
    return out


if __name__ == "__main__":
    main()
