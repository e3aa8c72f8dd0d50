"""Measure search quality: the clinic evaluation set and BEIR SciFact, through the same
ingest and search as the app, for every configuration side by side.

    python evaluate.py                          # clinic set, dev and test splits
    python evaluate.py --scifact ../shared/beir-scifact --nfcorpus ../shared/beir-nfcorpus
    python evaluate.py --configs hybrid,dense --split dev --failures

Indexes are built in a cache folder (default .cache/eval/) and updated incrementally, so
only the first run embeds everything (SciFact: about 20 minutes on two cores). With
KB_DATABASE_URL set they are built in Postgres instead (a schema per collection), taking
the vectors the files backend embedded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
from kb.quality import (
    beir,
    evaluation,  # noqa: E402
)
from kb.search import KnowledgeBase  # noqa: E402

ROOT = Path(__file__).resolve().parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"
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
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evaluate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="evaluation set (JSONL)")
    parser.add_argument("--documents", type=Path, default=ROOT / "documents")
    parser.add_argument("--glossary", type=Path, default=ROOT / "glossary.txt")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "eval", help="where indexes are kept")
    parser.add_argument("--model", help="embedding model (a local sentence-transformers folder)")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--configs", help="semicolon-separated names from: " + "; ".join(CONFIGS))
    parser.add_argument("--scifact", type=Path, help="a BEIR SciFact folder, e.g. ../shared/beir-scifact")
    parser.add_argument("--scifact-split", default="test")
    parser.add_argument("--nfcorpus", type=Path, help="a BEIR NFCorpus folder, e.g. ../shared/beir-nfcorpus")
    parser.add_argument("--nfcorpus-split", default="test")
    parser.add_argument("--no-clinic", action="store_true", help="skip the clinic evaluation set")
    parser.add_argument("--failures", action="store_true", help="list the questions each config misses")
    parser.add_argument(
        "--fit-decline",
        action="store_true",
        help="fit the not-covered model on the dev split and write kb/search/not_covered.json",
    )
    parser.add_argument(
        "--tune",
        action="store_true",
        help="search the hybrid weights on the dev split (and SciFact's train split with --scifact)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_warnings_only()
    names = args.configs.split(";") if args.configs else list(CONFIGS)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        print(f"error: unknown configuration {unknown}; choose from {', '.join(CONFIGS)}", file=sys.stderr)
        return 2
    embedder = Embedder(args.model) if args.model else Embedder()
    if args.tune:
        return tune(args, embedder)
    if args.fit_decline:
        from kb.quality import decline

        kb = clinic_kb(args, embedder)
        dev = [q for q in evaluation.load_questions(args.questions) if q.split == "dev"]
        print(json.dumps(decline.fit(kb, dev), indent=2))
        return 0
    if not args.no_clinic:
        kb = clinic_kb(args, embedder)
        questions = evaluation.load_questions(args.questions)
        missing = evaluation.missing_labels(kb, questions)
        for qid, expected in missing:
            print(
                f"warning: {qid}: {expected.contains!r} is in no passage of {expected.source}",
                file=sys.stderr,
            )
        splits = ["dev", "test"] if args.split == "all" else [args.split]
        print(
            f"Clinic set: {args.questions.name}, {kb.generation.passage_count} passages from {len(kb.documents())} documents\n"
        )
        for split in splits:
            chosen = [q for q in questions if q.split == split]
            dev = [q for q in questions if q.split == "dev"]
            print(clinic_table(kb, chosen, dev, names, split, args.failures))
        print(warning_table(kb, splits, questions))
    if args.scifact:
        print(beir_table("SciFact", args.scifact, args.scifact_split, args.cache, embedder, names))
    if args.nfcorpus:
        print(beir_table("NFCorpus", args.nfcorpus, args.nfcorpus_split, args.cache, embedder, names))
    return 0


def clinic_table(
    kb: KnowledgeBase, questions, dev_questions, names: list[str], split: str, failures: bool
) -> str:
    answerable = sum(q.kind == "answerable" for q in questions)
    lines = [
        f"### {split}: {answerable} answerable, {len(questions) - answerable} not covered by the documents",
        "",
        "Declines at the threshold set on dev to wrongly decline at most 5% of covered questions "
        "(the not-covered model's own, when it decides; its dev figures are in-sample: the golden "
        "dev questions are its examples).",
        "",
        "| configuration | R@1 | R@3 | R@5 | MRR@10 | nDCG@10 | threshold | off-topic declined (near, far) "
        "| covered declined | small talk |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    groups = [  # harder groups of the set, each row below the main table
        "| configuration | duration questions R@3, MRR@10 | long chatty messages R@3, MRR@10, "
        "covered declined, near declined |",
        "|---|---|---|",
    ]
    for name in names:
        configured = kb.configured(**CONFIGS[name])
        outcomes = evaluation.run(configured, questions)
        model = configured.decline_model
        if model is not None:  # its own threshold, set when it was fit on dev
            threshold = model.threshold
        else:
            dev = outcomes if split == "dev" else evaluation.run(configured, dev_questions)
            threshold = evaluation.calibrate(dev)
        f = evaluation.figures(evaluation.at_threshold(outcomes, threshold))
        lines.append(
            f"| {name} | {f.recall[1]:.3f} | {f.recall[3]:.3f} | {f.recall[5]:.3f} | {f.mrr:.3f} | "
            f"{f.ndcg:.3f} | {threshold:.3f} | {f.declined_off_topic:.2f} ({f.declined_near:.2f}, "
            f"{f.declined_far:.2f}) | {f.wrongly_declined:.2f} | {f.small_talk:.2f} |"
        )
        judged = evaluation.at_threshold(outcomes, threshold)
        timing = evaluation.figures(o for o in judged if o.question.style == "time")
        chatty = evaluation.figures(o for o in judged if o.question.style == "chatty")
        groups.append(
            f"| {name} | {timing.recall.get(3, 0):.3f}, {timing.mrr:.3f} | {chatty.recall.get(3, 0):.3f}, "
            f"{chatty.mrr:.3f}, {chatty.wrongly_declined:.2f}, {chatty.declined_near:.2f} |"
        )
        if failures:
            missed = [o for o in outcomes if o.question.kind == "answerable" and (o.rank or 99) > 3]
            notes.append(f"\n{name}: {len(missed)} answerable questions without an answer in the top 3")
            notes += [
                f"  [{o.question.id}] {o.question.question!r} -> {o.top} (rank {o.rank})" for o in missed
            ]
    by_type = evaluation.by_document_type(evaluation.run(kb.configured(**CONFIGS[names[0]]), questions))
    lines += ["", *groups]
    lines += [
        "",
        f"By document type ({names[0]}): "
        + "; ".join(f"{kind} R@3 {f.recall[3]:.2f} (n={f.answerable})" for kind, f in by_type.items()),
    ]
    return "\n".join(lines + notes) + "\n"


def warning_table(kb: KnowledgeBase, splits: list[str], questions) -> str:
    lines = [
        "### Warning signs: the urgent flag",
        "",
        "Questions: the warning-sign set's, plus the clinic set's (none urgent), as in real traffic.",
        "",
        "| split | questions | urgent | recall | precision | false alarms |",
        "|---|---|---|---|---|---|",
    ]
    for split in splits:
        f = evaluation.warning_figures(kb, WARNING_SIGNS, split, questions)
        lines.append(
            f"| {split} | {f['n']} | {f['urgent']} | {f['recall']:.3f} | {f['precision']:.3f} "
            f"| {f['false alarms']} |"
        )
    return "\n".join(lines) + "\n"


def beir_table(title: str, folder: Path, split: str, cache: Path, embedder: Embedder, names: list[str]) -> str:
    kb, data = beir_kb(title.lower(), folder, split, cache, embedder)
    lines = [
        f"### BEIR {title} ({split}): {len(data.queries)} queries, {kb.generation.passage_count} "
        f"passages from {len(kb.documents())} abstracts ({index_location(kb.settings)})",
        "",
        "| configuration | nDCG@10 | R@50 |",
        "|---|---|---|",
    ]
    for name in names:
        result = beir.evaluate(kb.configured(**CONFIGS[name]), data)
        lines.append(f"| {name} | {result['nDCG@10']:.3f} | {result['R@50']:.3f} |")
    return "\n".join(lines) + "\n"


def clinic_kb(args: argparse.Namespace, embedder: Embedder) -> KnowledgeBase:
    settings = Settings(
        documents_dir=args.documents,
        index_dir=args.cache / _index_name("clinic", embedder),
        glossary=args.glossary,
        model=embedder.model_id,
    )
    return _built(settings, "clinic", embedder)


def beir_kb(
    name: str, folder: Path, split: str, cache: Path, embedder: Embedder
) -> tuple[KnowledgeBase, beir.BeirSet]:
    data = beir.load_beir(folder, split)
    home = cache / f"{name}-{beir.corpus_fingerprint(data.corpus)}"
    beir.write_corpus(data.corpus, home / "documents")
    settings = Settings(
        documents_dir=home / "documents",
        index_dir=home / _index_name("index", embedder),
        glossary=home / "none",
        model=embedder.model_id,
    )
    return _built(settings, name, embedder), data


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
    """One index folder per model, so comparing models rebuilds nothing."""
    if embedder.model_id == Settings().model:
        return base
    return f"{base}-{hashlib.sha256(embedder.model_id.encode()).hexdigest()[:8]}"


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


def tune(args: argparse.Namespace, embedder: Embedder) -> int:
    """Print the weightings that do best on the dev split (and SciFact train), by MRR@10."""
    tables = {}
    if not args.no_clinic:
        kb = clinic_kb(args, embedder)
        dev = [q for q in evaluation.load_questions(args.questions) if q.split == "dev"]
        tables["clinic dev"] = evaluation.signal_table(kb, dev)
    if args.scifact:
        kb, data = beir_kb("scifact", args.scifact, "train", args.cache, embedder)
        tables["scifact train"] = beir.signal_table(kb, data)
    results = []
    for weights in weight_grid(0.1 if args.scifact else 0.05):
        full = Settings().lexical_full_length
        figures = {name: evaluation.table_figures(t, weights, full_length=full) for name, t in tables.items()}
        objective = sum(f["MRR"] for f in figures.values()) / len(figures)
        results.append((objective, weights, figures))
    results.sort(key=lambda r: -r[0])
    singles = [r for r in results if max(r[1].values()) == 1.0]
    print(
        "| weights ("
        + ", ".join(evaluation.SIGNALS)
        + ") | mean MRR | "
        + " | ".join(f"{name} MRR, R@1, R@3" for name in tables)
        + " |"
    )
    print("|---|---|" + "---|" * len(tables))
    for objective, weights, figures in results[:15] + singles:
        cells = " | ".join(f"{f['MRR']:.3f}, {f['R@1']:.3f}, {f['R@3']:.3f}" for f in figures.values())
        print(f"| {', '.join(f'{w:.2f}' for w in weights.values())} | {objective:.3f} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
