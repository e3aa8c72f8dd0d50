"""Build or update the index from the documents folder.

    python ingest.py                      # add new, re-embed changed, drop deleted documents
    python ingest.py --rebuild            # re-read every document
    python ingest.py --documents D --index I --model PATH
    python ingest.py --explain documents/faq.md   # how one file reads, and what cleaning removed
    python ingest.py --worker             # with KB_DATABASE_URL: help every ingest on that database

Exit codes: 0 all documents ingested; 1 the index was updated but some documents failed
(each is listed with its reason); 2 nothing was done (bad arguments, missing documents
folder, model or index problem); 3 another ingest is running on the same index.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kb.config import ENV_VARS, Settings
from kb.embedding import Embedder
from kb.errors import IngestLockedError, KBError
from kb.index import index_location
from kb.ingest import ingest, serve
from kb.ingest.progress import ConsoleProgress, log_warnings_only
from kb.ingest.report import format_report
from kb.quality.golden import golden_summary
from kb.reading.documents import explain_file
from kb.search import KnowledgeBase

EXIT_OK, EXIT_SOME_FAILED, EXIT_NOTHING_DONE, EXIT_LOCKED = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ingest.py",
        description="Read the clinic's documents and build (or update) the search index.",
        epilog="Exit codes: 0 all documents ingested; 1 index updated but some documents "
        "failed; 2 nothing done (bad arguments, missing folder, model or index problem); "
        "3 another ingest is running. Environment: " + ", ".join(ENV_VARS) + ".",
    )
    parser.add_argument("--documents", type=Path, help="folder of source documents (default: documents/)")
    parser.add_argument("--index", type=Path, help="folder of the built index (default: index/)")
    parser.add_argument(
        "--model",
        help="sentence-transformers model name or local path (default: the bundled all-MiniLM-L6-v2)",
    )
    parser.add_argument("--vector-index", help="FAISS index type, e.g. Flat, HNSW32 (default: Flat)")
    parser.add_argument("--passage-tokens", type=int, help="largest passage in word pieces (default: 200)")
    parser.add_argument(
        "--rebuild", action="store_true", help="re-read every document instead of only changed ones"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar; print only the summary")
    parser.add_argument(
        "--no-golden",
        action="store_true",
        help="skip asking the golden questions after an ingest that changed something",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="be an ingest worker: do a share of every ingest run on the same database (KB_DATABASE_URL), "
        "on this machine or another, until stopped",
    )
    parser.add_argument(
        "--idle-exit",
        type=float,
        metavar="SECONDS",
        help="with --worker: stop after this many seconds with nothing to do",
    )
    parser.add_argument(
        "--explain",
        type=Path,
        metavar="FILE",
        help="show how FILE reads (its blocks, and each line cleaning removed with the rule); builds nothing",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_warnings_only()
    try:
        settings = Settings.from_env(
            documents_dir=args.documents,
            index_dir=args.index,
            model=args.model,
            vector_index=args.vector_index,
            passage_tokens=args.passage_tokens,
        )
        settings = settings.for_writing()
        if args.explain is not None:
            print(explain_file(args.explain, settings))
            return EXIT_OK
        embedder = Embedder.for_settings(settings)
        if args.worker:
            embedder.load()  # before saying ready: the first claimed item should not wait for it
            print(f"Ingest worker ready: {index_location(settings)}", flush=True)
            done = serve(settings, embedder, args.idle_exit)
            print(f"Ingest worker stopped after {done} work items.", flush=True)
            return EXIT_OK
        with ConsoleProgress(enabled=not args.quiet) as progress:
            report = ingest(settings, embedder=embedder, rebuild=args.rebuild, progress=progress)
    except IngestLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except (KBError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOTHING_DONE
    print(format_report(report, settings))
    if not args.no_golden and (report.added or report.changed or report.removed):
        print(golden_summary(KnowledgeBase(settings, embedder)))
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
