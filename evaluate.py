"""Measure search quality on every collection, for every configuration side by side: the
shipped sample documents, real clinic collections (``../shared/clinic-collections``) and
BEIR benchmarks (SciFact, NFCorpus), through the same ingest and search as the app.

    python evaluate.py                                   # sample, medspa, dermatology: dev and test
    python evaluate.py --beir                            # and SciFact, NFCorpus (first run: an hour)
    python evaluate.py --collections medspa --configs "hybrid;dense" --split test --failures
    python evaluate.py --questions my.jsonl --documents my-docs/   # a collection of your own
    python evaluate.py --fit-decline                     # fit the not-covered model on every dev split
    python evaluate.py --tune                            # the hybrid weights, across collections' dev

Indexes are built in a cache folder (default .cache/eval/<collection>) and updated
incrementally, so only the first run embeds everything. With KB_DATABASE_URL set they are
built in Postgres instead (a schema per collection), taking the vectors the files backend
embedded. Choose on dev, report test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from kb.config import Settings  # noqa: E402
from kb.embedding import Embedder  # noqa: E402
from kb.index import copy_embeddings, index_location, open_backend  # noqa: E402
from kb.index.files import FilesBackend  # noqa: E402
from kb.ingest import ingest  # noqa: E402
from kb.ingest.progress import log_warnings_only  # noqa: E402
from kb.quality import beir, evaluation  # noqa: E402
from kb.quality.collections import BEIR, CLINIC, Collection, beir_folder, clinic_collection, load_collection  # noqa: E402
from kb.search import KnowledgeBase  # noqa: E402

ROOT = Path(__file__).resolve().parent
WARNING_SIGNS = ROOT / "eval" / "warning_signs.jsonl"

#: Configurations compared: name -> settings changed from the defaults.
CONFIGS: dict[str, dict[str, object]] = {
    "hybrid": {},
    "dense": {"search_mode": "dense"},
    "lexical": {"search_mode": "lexical"},
    "rrf (first recipe)": {"search_mode": "rrf", "spelling": False},
    "hybrid, no spelling": {"spelling": False},
    "hybrid, no glossary": {"use_glossary": False},
    "hybrid, glossary words given to the model too": {"expand_dense": True},
    "hybrid, declined by the best score alone": {"decline": "score"},
    "hybrid, keyword weight shrinking past 12 words": {"lexical_full_length": 12},
    "hybrid, weights before issue 21 (0.5 passage, 0.1 sentence, 0.4 keywords)": {
        "weight_passage": 0.5,
        "weight_sentence": 0.1,
        "weight_lexical": 0.4,
    },
    "hybrid, sentences embedded alone": {"sentence_window": 0},
    "hybrid before issue 21 (sentences alone, 0.5 passage, 0.1 sentence, 0.4 keywords)": {
        "sentence_window": 0,
        "weight_passage": 0.5,
        "weight_sentence": 0.1,
        "weight_lexical": 0.4,
    },
}
#: Settings that change what is ingested: a configuration with one is searched in an index
#: of its own, built beside the collection's.
INGEST_SETTINGS = ("sentence_window",)
#: What each table compares by default: the chosen search and the two it fuses.
DEFAULT_CONFIGS = ("hybrid", "dense", "lexical")
#: k values whose answers must agree on "answered".
K_VALUES = (1, 5, 20)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evaluate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--collections",
        help="comma-separated, from: " + ", ".join(CLINIC + BEIR) + " (default: the clinic ones available)",
    )
    parser.add_argument("--questions", type=Path, help="a collection of your own: its questions (JSONL)")
    parser.add_argument("--documents", type=Path, help="... and its documents folder")
    parser.add_argument(
        "--shared", type=Path, default=ROOT.parent / "shared", help="where the shared collections are"
    )
    parser.add_argument("--glossary", type=Path, default=ROOT / "glossary.txt")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "eval", help="where indexes are kept")
    parser.add_argument("--model", help="embedding model (a local sentence-transformers folder)")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--configs", help='"all", or semicolon-separated names from: ' + "; ".join(CONFIGS))
    parser.add_argument("--beir", action="store_true", help="add SciFact and NFCorpus (when in --shared)")
    parser.add_argument("--scifact", type=Path, help="a BEIR SciFact folder (as --beir, for this one)")
    parser.add_argument("--nfcorpus", type=Path, help="a BEIR NFCorpus folder (as --beir, for this one)")
    parser.add_argument("--failures", action="store_true", help="list the questions each config misses")
    parser.add_argument(
        "--fit-decline",
        action="store_true",
        help="fit the not-covered model on every clinic collection's dev split, write kb/search/not_covered.json",
    )
    parser.add_argument(
        "--tune", action="store_true", help="search the hybrid weights on every collection's dev split"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_warnings_only()
    names = (
        list(CONFIGS)
        if args.configs == "all"
        else args.configs.split(";")
        if args.configs
        else list(DEFAULT_CONFIGS)
    )
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        print(f"error: unknown configuration {unknown}; choose from {', '.join(CONFIGS)}", file=sys.stderr)
        return 2
    try:
        clinic, beirs = chosen_collections(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    embedder = Embedder(args.model) if args.model else Embedder()
    if args.tune:
        return tune(args, clinic, embedder)
    if args.fit_decline:
        return fit_decline(args, clinic, embedder)
    splits = ["dev", "test"] if args.split == "all" else [args.split]
    loaded = {
        c.name: Loaded(c, collection_kb(c, args, embedder), load_collection(c), args, embedder)
        for c in clinic
    }
    for name, entry in loaded.items():
        for qid, expected in evaluation.missing_labels(entry.kb, entry.questions):
            print(
                f"warning: {name} {qid}: {expected.contains!r} is in no passage of {expected.source}",
                file=sys.stderr,
            )
    if loaded:
        print(collections_line(loaded))
        for split in splits:
            print(clinic_table(loaded, names, split, args.failures))
        print(k_line(loaded, names[0]))
        if "sample" in loaded:
            print(warning_table(loaded["sample"].kb, splits, loaded["sample"].questions))
    for name, folder in beirs.items():
        print(beir_table(name, folder, "test", args.cache, embedder, names))
    return 0


def chosen_collections(args: argparse.Namespace) -> tuple[list[Collection], dict[str, Path]]:
    """The clinic collections to measure (those available, by default) and BEIR folders."""
    if args.questions or args.documents:
        if not (args.questions and args.documents):
            raise ValueError("--questions and --documents go together")
        return [Collection("custom", args.documents, args.questions)], {}
    wanted = args.collections.split(",") if args.collections else list(CLINIC)
    clinic = []
    beirs: dict[str, Path] = {}
    for name in wanted:
        if name in BEIR:
            beirs[name] = beir_folder(name, args.shared)
            continue
        collection = clinic_collection(name, args.shared)
        if collection.available:
            clinic.append(collection)
        elif args.collections:
            raise ValueError(f"the {name} collection is not in {collection.documents.parent}")
    if args.beir:
        beirs.update({name: beir_folder(name, args.shared) for name in BEIR})
    if args.scifact:
        beirs["scifact"] = args.scifact
    if args.nfcorpus:
        beirs["nfcorpus"] = args.nfcorpus
    return clinic, {n: f for n, f in beirs.items() if (f / "corpus.jsonl").is_file()}


class Loaded:
    """A collection, its knowledge base and questions, and the knowledge bases of the
    configurations that ingest it otherwise (built on first use)."""

    def __init__(
        self, collection: Collection, kb: KnowledgeBase, questions, args, embedder: Embedder
    ) -> None:
        self.collection, self.kb, self.questions = collection, kb, questions
        self._args, self._embedder = args, embedder
        self._variants: dict[tuple, KnowledgeBase] = {}
        self._listed: set[str] | None = None

    def configured(self, name: str) -> KnowledgeBase:
        changes = CONFIGS[name]
        ingested = {k: v for k, v in changes.items() if k in INGEST_SETTINGS}
        searched = {k: v for k, v in changes.items() if k not in INGEST_SETTINGS}
        if not ingested:
            return self.kb.configured(**searched)
        key = tuple(sorted(ingested.items()))
        if key not in self._variants:
            self._variants[key] = collection_kb(self.collection, self._args, self._embedder, **ingested)
        return self._variants[key].configured(**searched)

    def in_list_items(self) -> set[str]:
        """Ids of the answerable questions whose every labelled answer lies in one list item."""
        if self._listed is None:
            self._listed = evaluation.answered_in_list_items(self.questions, self.collection.documents)
        return self._listed


def collections_line(loaded: dict) -> str:
    parts = [
        f"{name}: {v.kb.generation.passage_count} passages from {len(v.kb.documents())} documents, "
        f"{len(v.questions)} questions"
        for name, v in loaded.items()
    ]
    return "Collections: " + "; ".join(parts) + "\n"


def clinic_table(loaded: dict, names: list[str], split: str, failures: bool) -> str:
    """A table per collection, a row per configuration; then their macro average, and the
    questions answered only in list items."""
    header = [
        "| configuration | answerable | R@1 | R@3 | R@5 | MRR@10 | nDCG@10 | covered declined "
        "| near declined | far declined | small talk |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    tables: dict[str, list[str]] = {collection: [] for collection in loaded}
    averages, listed_rows, notes = [], [], []
    for name in names:
        figures = {}
        for collection, entry in loaded.items():
            chosen = [q for q in entry.questions if q.split == split]
            outcomes = evaluation.run(entry.configured(name), chosen)
            figures[collection] = evaluation.figures(outcomes)
            tables[collection].append(row(name, figures[collection]))
            listed = entry.in_list_items()
            listed_rows.append(
                group_row(
                    name, collection, evaluation.figures(o for o in outcomes if o.question.id in listed)
                )
            )
            if failures:
                notes += failure_lines(name, collection, outcomes)
        averages.append(row(name, macro(figures.values())))
    lines = [
        f"### {split}",
        "",
        "Declined at the not-covered model's own threshold (fit on the dev splits of every collection).",
    ]
    for collection, rows in tables.items():
        lines += ["", f"#### {collection}", "", *header, *rows]
    if len(loaded) > 1:
        lines += ["", "#### macro average (each collection counts the same)", "", *header, *averages]
    lines += [
        "",
        "#### Questions whose every labelled answer is one item of a list",
        "",
        "| configuration | collection | questions | R@3 | MRR@10 |",
        "|---|---|---|---|---|",
        *listed_rows,
    ]
    return "\n".join(lines + notes) + "\n"


def failure_lines(name: str, collection: str, outcomes) -> list[str]:
    missed = [o for o in outcomes if o.question.kind == "answerable" and (o.rank or 99) > 3]
    missed += [o for o in outcomes if o.question.kind == "answerable" and not o.answered]
    missed += [o for o in outcomes if o.question.kind in ("near", "far") and o.answered]
    return [f"\n{name}, {collection}: missed (not in the top 3, declined, or not declined)"] + [
        f"  [{o.question.id}] {o.question.kind} {o.question.question[:120]!r} -> {o.top} "
        f"(rank {o.rank}, answered {o.answered}, confidence {o.confidence:.2f})"
        for o in dict.fromkeys(missed)
    ]


def group_row(name: str, collection: str, f: evaluation.Figures) -> str:
    if not f.answerable:
        return f"| {name} | {collection} | 0 | — | — |"
    return f"| {name} | {collection} | {f.answerable} | {f.recall[3]:.3f} | {f.mrr:.3f} |"


def row(name: str, f: evaluation.Figures) -> str:
    def cell(value: float | None) -> str:
        return "—" if value is None or math.isnan(value) else f"{value:.3f}"

    return (
        f"| {name} | {f.answerable} | {cell(f.recall.get(1))} | {cell(f.recall.get(3))} | "
        f"{cell(f.recall.get(5))} | {cell(f.mrr)} | {cell(f.ndcg)} | {cell(f.wrongly_declined)} | "
        f"{cell(f.declined_near if f.unanswerable else math.nan)} | "
        f"{cell(f.declined_far if f.unanswerable else math.nan)} | {cell(f.small_talk if f.chat else math.nan)} |"
    )


def macro(figures) -> evaluation.Figures:
    """The unweighted mean of each figure over collections: each clinic counts the same."""
    figures = list(figures)

    def mean(values) -> float:
        values = [v for v in values if v is not None and not math.isnan(v)]
        return sum(values) / len(values) if values else math.nan

    out = evaluation.Figures(
        sum(f.answerable for f in figures),
        sum(f.unanswerable for f in figures),
        chat=sum(f.chat for f in figures),
    )
    out.recall = {k: mean(f.recall.get(k) for f in figures) for k in (1, 3, 5)}
    for field in ("mrr", "ndcg", "wrongly_declined", "declined_near", "declined_far"):
        setattr(out, field, mean(getattr(f, field) for f in figures))
    out.small_talk = mean(f.small_talk for f in figures if f.chat)
    return out


def k_line(loaded: dict, name: str) -> str:
    """How many questions get another "answered" with another k (should be none)."""
    parts = []
    for collection, entry in loaded.items():
        configured, questions = entry.configured(name), entry.questions
        changed = sum(
            len({configured.answer(q.question, k, leave_out=True).answered for k in K_VALUES}) > 1
            for q in questions
        )
        parts.append(f"{collection} {changed} of {len(questions)}")
    return (
        f"Questions whose 'answered' changes with k = {', '.join(map(str, K_VALUES))} ({name}): "
        + "; ".join(parts)
        + "\n"
    )


def warning_table(kb: KnowledgeBase, splits: list[str], questions) -> str:
    lines = [
        "### Warning signs: the urgent flag (sample documents)",
        "",
        "Questions: the warning-sign set's, plus the sample set's (none urgent), as in real traffic.",
        "",
        "| split | questions | urgent | recall | precision | false alarms | cards of the urgent answers "
        "| marking a warning-sign sentence | marking a reassuring one |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split in splits:
        f = evaluation.warning_figures(kb, WARNING_SIGNS, split, questions)
        lines.append(
            f"| {split} | {f['n']} | {f['urgent']} | {f['recall']:.3f} | {f['precision']:.3f} | {f['false alarms']} "
            f"| {f['cards']} | {f['cards naming a warning sign']} | {f['cards reassuring']} |"
        )
    return "\n".join(lines) + "\n"


def beir_table(
    title: str, folder: Path, split: str, cache: Path, embedder: Embedder, names: list[str]
) -> str:
    kb, data = beir_kb(title.lower(), folder, split, cache, embedder)
    lines = [
        f"### BEIR {title} ({split}): {len(data.queries)} queries, {kb.generation.passage_count} "
        f"passages from {len(kb.documents())} abstracts ({index_location(kb.settings)})",
        "",
        "| configuration | nDCG@10 | R@50 |",
        "|---|---|---|",
    ]
    variants: dict[tuple, KnowledgeBase] = {(): kb}
    for name in names:
        ingested = tuple(sorted((k, v) for k, v in CONFIGS[name].items() if k in INGEST_SETTINGS))
        if ingested not in variants:
            variants[ingested] = beir_kb(title.lower(), folder, split, cache, embedder, **dict(ingested))[0]
        searched = {k: v for k, v in CONFIGS[name].items() if k not in INGEST_SETTINGS}
        result = beir.evaluate(variants[ingested].configured(**searched), data)
        lines.append(f"| {name} | {result['nDCG@10']:.3f} | {result['R@50']:.3f} |")
    return "\n".join(lines) + "\n"


def collection_kb(
    collection: Collection, args: argparse.Namespace, embedder: Embedder, **ingested: object
) -> KnowledgeBase:
    """The collection ingested in its own cache folder (``ingested``: settings it is ingested
    with, in a folder of their own). The sample set's questions are its golden questions
    (shipped with it); other collections have none, as a new clinic has none."""
    suffix = "".join(f"-{k}-{v}" for k, v in sorted(ingested.items()))
    settings = Settings(
        documents_dir=collection.documents,
        index_dir=args.cache / _index_name(collection.name + suffix, embedder),
        glossary=args.glossary,
        golden_questions=collection.questions
        if collection.name == "sample"
        else args.cache / "no-golden-questions",
        model=embedder.model_id,
        **ingested,
    )
    return _built(settings, (collection.name + suffix).replace("-", "_"), embedder)


def beir_kb(
    name: str, folder: Path, split: str, cache: Path, embedder: Embedder, **ingested: object
) -> tuple[KnowledgeBase, beir.BeirSet]:
    data = beir.load_beir(folder, split)
    home = cache / f"{name}-{beir.corpus_fingerprint(data.corpus)}"
    beir.write_corpus(data.corpus, home / "documents")
    suffix = "".join(f"-{k}-{v}" for k, v in sorted(ingested.items()))
    settings = Settings(
        documents_dir=home / "documents",
        index_dir=home / _index_name("index" + suffix, embedder),
        glossary=home / "none",
        golden_questions=home / "none",
        model=embedder.model_id,
        **ingested,
    )
    return _built(settings, (name + suffix).replace("-", "_"), embedder), data


def _built(settings: Settings, name: str, embedder: Embedder) -> KnowledgeBase:
    """The collection ingested (incrementally) where KB_(INGEST_)DATABASE_URL says: the index folder
    in the cache, or a schema of its own in Postgres (``eval_<name>``). A Postgres ingest
    first takes the vectors the files backend already embedded for it, so the slow
    embedding happens once for both backends."""
    database = Settings.from_env().for_writing().database_url  # it writes the collections
    if database:
        files = FilesBackend(settings)
        settings = settings.with_changes(database_url=database, pg_schema=f"eval_{name}")
        if files.current_name() is not None:
            copy_embeddings(files, open_backend(settings), embedder.dimension)
    ingest(settings, embedder=embedder)
    return KnowledgeBase(settings, embedder)


def _index_name(base: str, embedder: Embedder) -> str:
    """One index folder per collection and model, so comparing models rebuilds nothing."""
    if embedder.model_id == Settings().model:
        return base
    return f"{base}-{hashlib.sha256(embedder.model_id.encode()).hexdigest()[:8]}"


def fit_decline(args: argparse.Namespace, clinic: list[Collection], embedder: Embedder) -> int:
    """Fit the not-covered model on the dev splits of the clinic collections; print the
    record, leave-one-collection-out included."""
    from kb.quality import decline

    tables = {}
    for collection in clinic:
        kb = collection_kb(collection, args, embedder)
        tables[collection.name] = decline.feature_table(kb, load_collection(collection))
    record = decline.fit(tables, embedder.model_id)
    print(json.dumps(record, indent=2))
    return 0


def weight_grid(step: float) -> list[dict[str, float]]:
    """Every weighting of the signals in steps of ``step`` that sums to one."""
    n = round(1 / step)

    def split(total: int, parts: int):
        if parts == 1:
            yield (total,)
            return
        for first in range(total + 1):
            for rest in split(total - first, parts - 1):
                yield (first, *rest)

    names = evaluation.SIGNALS
    return [{name: u * step for name, u in zip(names, units, strict=True)} for units in split(n, len(names))]


def tune(args: argparse.Namespace, clinic: list[Collection], embedder: Embedder) -> int:
    """Print the weightings with the best mean MRR@10 over the collections' dev splits (each
    collection counts the same), with the worst collection's beside it."""
    tables = {}
    for collection in clinic:
        kb = collection_kb(collection, args, embedder)
        dev = [q for q in load_collection(collection) if q.split == "dev" and q.kind != "small_talk"]
        tables[collection.name] = evaluation.signal_table(kb, dev)
    results = []
    for weights in weight_grid(0.1):
        full = Settings().lexical_full_length
        figures = {name: evaluation.table_figures(t, weights, full_length=full) for name, t in tables.items()}
        mrrs = [f["MRR"] for f in figures.values()]
        results.append((sum(mrrs) / len(mrrs), min(mrrs), weights, figures))
    results.sort(key=lambda r: (-r[0], -r[1]))
    print(
        "| weights ("
        + ", ".join(evaluation.SIGNALS)
        + ") | mean MRR | worst MRR | "
        + " | ".join(f"{name} MRR, R@3" for name in tables)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(tables))
    singles = [r for r in results if max(r[2].values()) == 1.0]
    for mean, worst, weights, figures in results[:15] + singles:
        cells = " | ".join(f"{f['MRR']:.3f}, {f['R@3']:.3f}" for f in figures.values())
        print(f"| {', '.join(f'{w:.1f}' for w in weights.values())} | {mean:.3f} | {worst:.3f} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
