"""Ingest speed against the model's own: the shipped documents and a generated corpus.

    python bench/bench_ingest.py                  # shipped + 2,000 generated documents
    python bench/bench_ingest.py --quick          # shipped + 200 generated documents
    python bench/bench_ingest.py --documents 500 --no-quality

For each corpus: a full ingest into a temporary index folder, timed by stage (read and
chunk, embed, write); then the model alone on exactly the texts that ingest embedded
(passages, sentences, headings, each group in one go, longest texts batched together), in
the same run, so the ratio of the two is fair whatever else the machine is doing. Then the
achieved GFLOP/s of the embedding against the two cores' peak, a no-change re-ingest from
the shell (and whether it imported torch), and, on the shipped documents, search quality
with and without the per-sentence vectors beside what they cost.

FLOPs of one text padded to n tokens, for a BERT encoder of L layers, hidden size h and
feed-forward size f (multiply-add = 2 FLOPs; embeddings, layer norms, softmax, GELU and
pooling, together under 2%, left out):

    L * (2*n*(4*h*h + 2*h*f)  +  4*n*n*h)
         Q, K, V, output and     scores Q.K^T and their
         the two FFN matrices    weighted sum of V

all-MiniLM-L6-v2: L=6, h=384, f=1536, about 21 MFLOP per token plus attention. A batch costs
its size times the FLOPs of its longest text (as padded), counted for batches of 32 texts
sorted by token count, as both the ingest and the raw run make them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.corpus import generate_corpus  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.embedding import Embedder, resolve_model  # noqa: E402
from kb.golden_questions import load_questions  # noqa: E402
from kb.index import files as store  # noqa: E402
from kb.ingest import ingest  # noqa: E402

BATCH = 32
GROUPS = ("passages", "sentences", "headings")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the machine and the model --------------------------------------------------------


@dataclass(frozen=True)
class Peak:
    cores: int
    mhz: float
    flops_per_cycle: int  # per core
    note: str

    @property
    def gflops(self) -> float:
        return self.cores * self.mhz / 1000 * self.flops_per_cycle


def machine_peak() -> Peak:
    """FP32 peak of the cores this process may use, from /proc/cpuinfo.

    AVX2 with FMA: one 256-bit FMA is 8 lanes x 2 FLOPs = 16 FP32 FLOPs per cycle per FMA
    unit. AMD Zen 2/3/4 and Intel since Haswell have two FMA units per core: 32 per cycle.
    """
    info = Path("/proc/cpuinfo").read_text()
    mhz = (
        statistics.mean(float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", info))
        if "MHz" in info
        else 0.0
    )
    flags = set(re.search(r"flags\s*:\s*(.*)", info).group(1).split()) if "flags" in info else set()
    model = (re.search(r"model name\s*:\s*(.*)", info) or re.search("(.*)", "unknown CPU")).group(1).strip()
    cores = len(os.sched_getaffinity(0))
    if "avx512f" in flags:
        per_cycle, isa = 64, "AVX-512 + FMA, 2 units x 32"
    elif "avx2" in flags and "fma" in flags:
        per_cycle, isa = 32, "AVX2 + FMA, 2 FMA units x 16"
    else:
        per_cycle, isa = 8, "SSE, 2 units x 4 (no FMA)"
    note = f"{cores} x {model} at {mhz:.0f} MHz (/proc/cpuinfo, no turbo assumed), {isa} FP32 FLOPs/cycle"
    return Peak(cores, mhz, per_cycle, note)


@dataclass(frozen=True)
class Shape:
    layers: int
    hidden: int
    intermediate: int

    def flops(self, n: int) -> float:
        """FLOPs of one text padded to ``n`` tokens (see the module docstring)."""
        h, f = self.hidden, self.intermediate
        return self.layers * (2 * n * (4 * h * h + 2 * h * f) + 4 * n * n * h)


def model_shape(model: str) -> Shape:
    config = json.loads((Path(resolve_model(model)) / "config.json").read_text())
    return Shape(config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"])


def token_lengths(embedder: Embedder, texts: list[str]) -> list[int]:
    """Tokens the model sees per text: word pieces, [CLS] and [SEP], cut at its limit."""
    return [min(n + 2, embedder.max_tokens) for n in embedder.count_tokens(texts)]


def batches(lengths: list[int], size: int = BATCH) -> list[list[int]]:
    """Row numbers in batches of ``size``, longest first: how the ingest and the raw run batch."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + size] for i in range(0, len(order), size)]


def padded_flops(shape: Shape, lengths: list[int]) -> tuple[float, float]:
    """(FLOPs as batched, padding included; FLOPs of the texts alone)."""
    padded = sum(len(b) * shape.flops(max(lengths[i] for i in b)) for b in batches(lengths))
    return padded, sum(shape.flops(n) for n in lengths)


# --- one corpus -------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    documents: int = 0
    failed: int = 0
    texts: dict[str, list[str]] = field(default_factory=dict)  # group -> texts embedded
    stages: dict[str, float] = field(default_factory=dict)  # read, embed, write
    total: float = 0.0
    raw: dict[str, float] = field(default_factory=dict)  # group -> seconds, model alone
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds: embed stage, model alone
    flops: tuple[float, float] = (0.0, 0.0)
    reingest: float = 0.0
    reingest_torch: bool | None = None
    reingest_out: str = ""
    sizes: dict[str, int] = field(default_factory=dict)  # index file -> bytes

    @property
    def embedded(self) -> int:
        return sum(len(t) for t in self.texts.values())

    @property
    def raw_seconds(self) -> float:
        return sum(self.raw.values())


class Stages:
    """Progress callback that notes when each stage of the ingest starts and ends."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # process CPU seconds when the embed stage began, ended

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage == "embed" or (stage == "write" and "write" not in self.first):
            self.cpu.setdefault("embed", time.process_time())
        if stage == "write" and "write" not in self.first:
            self.cpu["write"] = time.process_time()
        self.first.setdefault(stage, now)
        self.last[stage] = now

    def split(self, end: float) -> dict[str, float]:
        """Seconds of each stage; every moment of the ingest belongs to one of them."""
        read_end = self.last.get("read", self.start)
        write_start = self.first.get("write", end)
        return {"read": read_end - self.start, "embed": write_start - read_end, "write": end - write_start}


def measure(name: str, documents: Path, embedder: Embedder, workdir: Path) -> tuple[Run, Settings]:
    run = Run(name)
    settings = Settings(
        documents_dir=documents, index_dir=workdir / f"index-{name}", glossary=ROOT / "glossary.txt"
    )
    log(f"[{name}] full ingest of {documents} ...")
    stages = Stages()
    report = ingest(settings, embedder=embedder, progress=stages)
    end = time.perf_counter()
    run.stages, run.total = stages.split(end), end - stages.start
    run.cpu["embed"] = stages.cpu.get("write", 0.0) - stages.cpu.get("embed", 0.0)
    run.documents, run.failed = report.documents, len(report.failed)
    run.texts = embedded_texts(settings.index_dir)
    if sum(len(t) for t in run.texts.values()) != report.embedded + report.embedded_sentences:
        log(
            f"[{name}] note: {report.embedded + report.embedded_sentences} texts embedded, {run.embedded} distinct"
        )
    generation = store.open_generation(settings.index_dir)
    run.sizes = {p.name: p.stat().st_size for p in generation.path.iterdir() if p.is_file()}
    generation.close()
    log(f"[{name}] {run.total:.1f} s; the model alone on the same {run.embedded} texts ...")
    cpu = time.process_time()
    for group in GROUPS:
        run.raw[group] = raw_encode(embedder, run.texts[group])
    run.cpu["raw"] = time.process_time() - cpu
    lengths = token_lengths(embedder, [t for g in GROUPS for t in run.texts[g]])
    run.flops = padded_flops(model_shape(settings.model), lengths)
    log(f"[{name}] model alone {run.raw_seconds:.1f} s; no-change re-ingest from the shell ...")
    run.reingest, run.reingest_torch, run.reingest_out = reingest(settings)
    return run, settings


def embedded_texts(index_dir: Path) -> dict[str, list[str]]:
    """The distinct texts an ingest embedded, by group, as ``kb.ingest`` gathers them (a
    sentence that is also a heading, say, is embedded once, in its first group)."""
    generation = store.open_generation(index_dir)
    try:
        passages = generation.passages_at(range(generation.passage_count))
    finally:
        generation.close()
    groups = {
        "passages": [p.embedding_text for p in passages],
        "sentences": store.sentence_windows(passages),
        "headings": store.heading_texts(passages),
    }
    seen: set[str] = set()
    out = {}
    for group in GROUPS:
        out[group] = [t for t in dict.fromkeys(groups[group]) if t not in seen]
        seen.update(out[group])
    return out


def raw_encode(embedder: Embedder, texts: list[str]) -> float:
    """Seconds the model alone takes for ``texts``, batched 32 at a time by token count.

    On sentence-transformers that is its own ``encode`` in one call (it sorts by length
    itself); on ONNX Runtime, the backend's model call per batch, in the order above.
    """
    if not texts:
        return 0.0
    model = embedder._model  # the backend itself, past the Embedder's own batching
    started = time.perf_counter()
    if hasattr(model, "_st") or hasattr(model, "tokenizer"):
        st = getattr(model, "_st", model)
        st.encode(
            texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    else:
        for batch in batches(token_lengths(embedder, texts)):
            model.encode([texts[i] for i in batch])
    return time.perf_counter() - started


def reingest(settings: Settings) -> tuple[float, bool | None, str]:
    """Wall seconds of ``python ingest.py`` with nothing changed, whether it imported torch,
    and its summary line."""
    script = (
        "import sys, ingest; "
        f"code = ingest.main(['--documents', {str(settings.documents_dir)!r}, '--index', "
        f"{str(settings.index_dir)!r}, '--quiet', '--no-golden']); "
        "print('exit', code, 'torch', 'torch' in sys.modules)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=900,
    )
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    torch = None
    if lines and lines[-1].startswith("exit"):
        torch = lines[-1].endswith("True")
    summary = next((line for line in lines if "unchanged" in line), lines[0] if lines else done.stderr[-200:])
    return seconds, torch, summary.strip()


# --- quality with and without the per-sentence vectors -----------------------------------


def quality(settings: Settings, embedder: Embedder, run: Run) -> str:
    """R@1, R@3 and MRR@10 of the clinic set (dev and test) for the sentence-vector options,
    beside the share of the embedding they cost."""
    from kb.quality import evaluation
    from kb.search import KnowledgeBase

    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    base = KnowledgeBase(settings, embedder)
    generation = base.generation
    passages = generation.passages_at(range(generation.passage_count))
    counts = np.array([len(p.sentences) for p in passages])
    tables = {
        split: evaluation.signal_table(base, [q for q in questions if q.split == split])
        for split in ("dev", "test")
    }
    today = {n: getattr(settings, f"weight_{n}") for n in evaluation.SIGNALS}
    no_sentences = {**today, "sentence": 0.0, "question": 0.0}
    # Re-balanced on dev only: the passage and keyword weights, in steps of 0.05.
    grid = [{**no_sentences, "passage": p / 100, "lexical": 1 - p / 100} for p in range(20, 85, 5)]
    rebalanced = max(grid, key=lambda w: evaluation.table_figures(tables["dev"], w)["MRR"])
    options = [
        ("all signals (today)", today, None, 1.0),
        ("no sentence vectors (weights 0)", no_sentences, None, 0.0),
        (
            f"no sentence vectors, re-balanced on dev (passage {rebalanced['passage']:.2f}, "
            f"keyword {rebalanced['lexical']:.2f})",
            rebalanced,
            None,
            0.0,
        ),
    ]
    for least in (2, 3):
        kept = counts >= least
        share = counts[kept].sum() / max(counts.sum(), 1)
        options.append((f"sentence vectors only in passages of {least}+ sentences", today, kept, share))
    seconds = {g: run.raw[g] for g in GROUPS}
    total = sum(seconds.values())
    lines = [
        "| option | sentence vectors | share of encode s | dev R@1 | dev R@3 | dev MRR | test R@1 | test R@3 | test MRR |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, weights, kept, share in options:
        cells = []
        for split in ("dev", "test"):
            table = tables[split]
            if kept is not None:
                # A passage without sentence vectors: its sentence signal is the passage's
                # own cosine, as when it has no statement (kb.search).
                signals = dict(table.signals)
                signals["sentence"] = np.where(kept[None, :], signals["sentence"], signals["passage"])
                signals["question"] = np.where(kept[None, :], signals["question"], 0.0)
                table = evaluation.SignalTable(signals, table.relevant, table.answerable, table.groups)
            f = evaluation.table_figures(table, weights)
            cells += [f"{f['R@1']:.3f}", f"{f['R@3']:.3f}", f"{f['MRR']:.3f}"]
        n = round(share * counts.sum())
        cost = share * seconds["sentences"] / total if total else 0.0
        lines.append(f"| {label} | {n:,} | {cost:.0%} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + highlights(base, [q for q in questions if q.kind == "answerable"])


def highlights(kb, questions) -> str:
    """How often the highlighted sentence of a right first hit holds the labelled answer:
    the sentence nearest the query by sentence vectors (today) against two choices that
    need no sentence vectors."""
    from kb.quality import evaluation

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z0-9]+", evaluation.normalize(text)))

    def holds(sentence: str, answer) -> bool:
        want = words(answer.contains)
        return len(want & words(sentence)) >= 0.5 * len(want)

    tally = {"sentence vectors (today)": 0, "most query words": 0, "first sentence": 0}
    judged = 0
    for q in questions:
        hit = kb.search(q.question, 1)[0]
        answer = next((a for a in q.answers if evaluation.matches(hit, a)), None)
        if answer is None:
            continue
        judged += 1
        sentences = [t for t in _sentences(hit) if len(t.split()) >= 4] or [hit.text]
        asked = words(q.question)
        lexical = max(sentences, key=lambda t: len(asked & words(t)))
        for name, pick in (
            ("sentence vectors (today)", hit.highlight),
            ("most query words", lexical),
            ("first sentence", sentences[0]),
        ):
            tally[name] += holds(pick, answer)
    cells = " | ".join(f"{name} {n / max(judged, 1):.2f}" for name, n in tally.items())
    return f"Highlight holds the labelled answer, over {judged} right first hits: {cells}."


def _sentences(hit) -> list[str]:
    from kb.reading.chunking import split_sentences

    return [hit.text[a:b] for a, b in split_sentences(hit.text)]


# --- the report ---------------------------------------------------------------------------


def tables(runs: list[Run], peak: Peak) -> str:
    out = [
        "| corpus | documents | passages | sentences | headings | texts embedded | read+chunk s | embed s "
        "| write s | ingest s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        t, s = r.texts, r.stages
        out.append(
            f"| {r.name} | {r.documents:,} | {len(t['passages']):,} | {len(t['sentences']):,} | "
            f"{len(t['headings']):,} | {r.embedded:,} | {s['read']:.1f} | {s['embed']:.1f} | "
            f"{s['write']:.1f} | {r.total:.1f} |"
        )
    out += [
        "",
        "| corpus | embed stage texts/s | whole ingest texts/s | model alone texts/s | embed / model "
        "| whole / model | embed / model, CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        embed, whole, raw = r.embedded / r.stages["embed"], r.embedded / r.total, r.embedded / r.raw_seconds
        by_cpu = r.cpu["raw"] / r.cpu["embed"] if r.cpu.get("embed") else float("nan")
        out.append(
            f"| {r.name} | {embed:.1f} | {whole:.1f} | {raw:.1f} | **{embed / raw:.2f}** | {whole / raw:.2f} "
            f"| {by_cpu:.2f} ({r.cpu['embed']:.0f} / {r.cpu['raw']:.0f} s) |"
        )
    out += [
        "",
        "Wall-clock ratios move with whatever else the shared machine runs; the CPU-second "
        "ratio (this process's CPU time, model alone over embed stage) does not.",
    ]
    out += [
        "",
        f"Peak: {peak.note} = **{peak.gflops:.0f} GFLOP/s**.",
        "",
        "| corpus | GFLOP as batched | of it padding | GFLOP/s embed stage | GFLOP/s model alone | share of peak |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        padded, useful = r.flops
        stage, raw = padded / r.stages["embed"] / 1e9, padded / r.raw_seconds / 1e9
        out.append(
            f"| {r.name} | {padded / 1e9:,.0f} | {1 - useful / padded:.1%} | {stage:.1f} | {raw:.1f} | "
            f"{stage / peak.gflops:.0%} |"
        )
    out += [
        "",
        "Cost split, the model alone on each group (seconds of encode):",
        "",
        "| corpus | passages (n, s) | sentences (n, s) | headings (n, s) | sentences' share |",
        "|---|---|---|---|---|",
    ]
    for r in runs:
        cells = [f"{len(r.texts[g]):,}, {r.raw[g]:.1f} s" for g in GROUPS]
        out.append(f"| {r.name} | " + " | ".join(cells) + f" | {r.raw['sentences'] / r.raw_seconds:.0%} |")
    out += [
        "",
        "Index on disk (sentence vectors are stored once, in sentences.faiss; the SQLite "
        "embedding cache keeps a copy of every vector):",
        "",
        "| corpus | vectors.faiss | sentences.faiss | headings.faiss | passages.sqlite |",
        "|---|---|---|---|---|",
    ]
    for r in runs:
        mb = [
            r.sizes.get(n, 0) / 2**20
            for n in ("vectors.faiss", "sentences.faiss", "headings.faiss", "passages.sqlite")
        ]
        out.append(f"| {r.name} | " + " | ".join(f"{m:.1f} MB" for m in mb) + " |")
    out += [
        "",
        "No-change re-ingest, `python ingest.py --documents … --index … --quiet --no-golden` in a fresh process:",
        "",
        "| corpus | wall s | torch imported | summary |",
        "|---|---|---|---|",
    ]
    for r in runs:
        out.append(f"| {r.name} | {r.reingest:.1f} | {r.reingest_torch} | {r.reingest_out} |")
    return "\n".join(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/bench_ingest.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000, help="generated documents (default 2000)")
    parser.add_argument("--quick", action="store_true", help="200 generated documents")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated corpus")
    parser.add_argument("--shipped", type=Path, default=ROOT / "documents", help="the shipped documents")
    parser.add_argument("--no-quality", action="store_true", help="skip the search-quality comparison")
    return parser


def main(argv: list[str] | None = None) -> str:
    args = build_parser().parse_args(argv)
    count = 200 if args.quick else args.documents
    command = "python bench/bench_ingest.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    embedder = Embedder().load()
    backend = getattr(embedder, "backend", "torch")
    peak = machine_peak()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        shipped, shipped_settings = measure("shipped", args.shipped, embedder, work)
        log(f"generating {count} documents (seed {args.seed}) ...")
        t = time.perf_counter()
        generate_corpus(work / "corpus", count, args.seed)
        generated_s = time.perf_counter() - t
        generated, _ = measure(f"generated {count}", work / "corpus", embedder, work)
        runs = [shipped, generated]
        section = [
            "## Ingest",
            "",
            f"`{command.strip()}` ({time.strftime('%Y-%m-%d')}, {embedder.model_id} on {backend}, "
            f"batches of {BATCH}; the generated corpus took {generated_s:.0f} s to write and is "
            "not timed). The model-alone figures are from the same run, on the same texts.",
            "",
            tables(runs, peak),
        ]
        log("\n".join(section))  # kept even if the quality comparison below fails
        if not args.no_quality:
            log("search quality with and without sentence vectors (shipped documents) ...")
            section += [
                "",
                "Per-sentence vectors: quality on the clinic set (weights as configured; dev and test, "
                "answerable questions) beside their share of the shipped documents' encode seconds:",
                "",
                quality(shipped_settings, embedder, shipped),
            ]
    section += ["", f"The whole benchmark ran {time.perf_counter() - started:.0f} s."]
    text = "\n".join(section) + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main()
