"""Build or update the index from the documents folder.

    python ingest.py                      # add new, re-embed changed, drop deleted documents
    python ingest.py --rebuild            # re-read every document
    python ingest.py --documents D --index I --model PATH

Exit codes: 0 all documents ingested; 1 the index was updated but some documents failed
(each is listed with its reason); 2 nothing was done (bad arguments, missing documents
folder, model or index problem); 3 another ingest is running on the same index.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kb.config import ENV_VARS, Settings
from kb.errors import IngestLockedError, KBError
from kb.ingest import IngestReport, ingest

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(
            documents_dir=args.documents,
            index_dir=args.index,
            model=args.model,
            vector_index=args.vector_index,
            passage_tokens=args.passage_tokens,
        )
        with ConsoleProgress(enabled=not args.quiet) as progress:
            report = ingest(settings, rebuild=args.rebuild, progress=progress)
    except IngestLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except (KBError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOTHING_DONE
    print(format_report(report, settings))
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


def format_report(report: IngestReport, settings: Settings) -> str:
    lines = [
        f"Index {settings.index_dir}/ updated from {settings.documents_dir}/ "
        f"(generation {report.generation}).",
        f"  documents: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged, {len(report.failed)} failed",
        f"  passages:  {report.passages} in the index; embedded in this run: {report.embedded} "
        f"passages and {report.embedded_sentences} sentences",
        f"  time:      {report.seconds:.1f} s",
    ]
    for failure in report.failed:
        kept = " (its previous version stays in the index)" if failure.kept_previous else ""
        lines.append(f"  FAILED {failure.source}: {failure.reason}{kept}")
    return "\n".join(lines)


class ConsoleProgress:
    """A tqdm bar per stage, on stderr."""

    _LABELS = {
        "read": "Reading documents",
        "embed": "Embedding passages and sentences",
        "write": "Writing index",
    }

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar = None
        self._stage = None

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            from tqdm import tqdm

            self._close()
            self._stage = stage
            self._bar = tqdm(
                total=total, desc=self._LABELS.get(stage, stage), unit="", file=sys.stderr, leave=False
            )
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


if __name__ == "__main__":
    raise SystemExit(main())
