"""The ingest report as people read it: the command line, the app's console and the staff
page show the same text. Every file of the documents folder that is not in the index is
named with its reason: FAILED (a document that could not be read) or SKIPPED (a link, a
hidden file, a type that is not read). Hidden folders, such as ``.removed/`` where the staff
page puts removed documents, are not listed."""

from __future__ import annotations

from kb.config import Settings
from kb.index import index_location
from kb.ingest import IngestReport


def format_report(report: IngestReport, settings: Settings) -> str:
    lines = [
        f"Index {index_location(settings)} updated from {settings.documents_dir}/ "
        f"(generation {report.generation}).",
        f"  documents: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged, {len(report.failed)} failed, "
        f"{len(report.skipped)} skipped",
        f"  passages:  {report.passages} in the index; embedded in this run: {report.embedded} "
        f"passages and {report.embedded_sentences} sentences",
        f"  time:      {report.seconds:.1f} s",
    ]
    for failure in report.failed:
        kept = " (its previous version stays in the index)" if failure.kept_previous else ""
        lines.append(f"  FAILED {failure.source}: {failure.reason}{kept}")
    for skip in report.skipped:
        lines.append(f"  SKIPPED {skip.source}: {skip.reason}")
    return "\n".join(lines)
