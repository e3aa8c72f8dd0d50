"""The ingest report as people read it: the command line, the app's console and the staff
page show the same text. Every file of the documents folder that is not in the index is
named with its reason: FAILED (a document that could not be read) or SKIPPED (a link, a
hidden file, a type that is not read). Hidden folders, such as ``.removed/`` where the staff
page puts removed documents, are not listed."""

from __future__ import annotations

import re

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


# --- for the staff page ------------------------------------------------------------------


def plain_report(ingest: dict, golden: list[dict], hide: tuple[str, ...] = ()) -> list[str]:
    """The last ingest as the staff page tells it, one sentence a line: what changed, what
    could not be read and why, and the golden questions against the time before.

    Args:
        ingest: the newest record of the backend's "ingests" history (an IngestReport's
            fields, ``unchanged`` as a count).
        golden: the newest records of its "golden" history, newest first; the first is
            used when it was taken on the ingest's generation, the next is "last time".
        hide: server folders to take out of reasons (staff need the file, not the path).
    """
    lines = [f"Last ingest: {_when(ingest.get('at'))}, took {ingest.get('seconds', 0):.0f} s."]
    for key, label in (("added", "Added"), ("changed", "Changed"), ("removed", "Taken out of the search")):
        if ingest.get(key):
            lines.append(f"{label}: {_names(ingest[key])}.")
    if ingest.get("unchanged"):
        lines.append(f"Unchanged: {_count(ingest['unchanged'], 'document')}.")
    for failure in ingest.get("failed", []):
        kept = " Its previous version is still searchable." if failure.get("kept_previous") else ""
        lines.append(f"Could not be read: {failure['source']}. {plain_reason(_without(failure['reason'], hide))}{kept}")
    for skip in ingest.get("skipped", []):
        lines.append(f"Not read: {skip['source']}. {plain_reason(_without(skip['reason'], hide))}")
    lines.append(
        f"The search now holds {_count(ingest.get('documents', 0), 'document')} "
        f"and {_count(ingest.get('passages', 0), 'passage')}."
    )
    now = golden[0] if golden and golden[0].get("generation") == ingest.get("generation") else None
    if now is None:
        lines.append("Test questions: not asked after this ingest.")
        return lines
    before = golden[1] if len(golden) > 1 else None
    lines.append(
        _golden_line(now, before, "recall_at_3", "answerable", "test questions", "found their answer in the top 3")
    )
    if now.get("unanswerable"):
        lines.append(
            _golden_line(
                now, before, "declined_off_topic", "unanswerable", "questions about other topics", 'were told "not covered"'
            )
        )
    if now.get("from_staff"):
        lines.append(
            f"{now['from_staff']} of the test questions {'was' if now['from_staff'] == 1 else 'were'} written "
            "from real questions on the Questions tab."
        )
    if before and now["recall_at_3"] < before["recall_at_3"] - 0.02:
        lines.append(
            "Warning: fewer test questions find their answer than last time. Check the new or "
            "changed documents: they may push the right answers out."
        )
    return lines


#: A library's exception in a reason: "(PdfStreamError: Stream has ended unexpectedly)",
#: "(BadZipFile)"; and the reader fault's "could not be read: ZeroDivisionError: ...".
_EXCEPTION = re.compile(r"\s*\((?:\w+\.)*[A-Z]\w*(?:Error|Exception|File|Warning)\b(?::.*?)?\)(?=\.|\s*$)")
_FAULT = re.compile(r"could not be read: (?:\w+\.)*[A-Z]\w*(?:Error|Exception)\b.*?\. (?=This is a fault)")
#: Reasons lose their "<file>: " at the start; these verbs then need their subject back.
_VERBS = ("is ", "looks ", "starts ", "could ", "has ", "was ")


def plain_reason(reason: str) -> str:
    """A failure's reason as the staff page says it: without the library's exception name
    (those are for the log and the command line), a sentence with its subject."""
    text = _FAULT.sub("could not be read: the reader stopped on it. ", reason)
    text = _EXCEPTION.sub("", text)
    return "It " + text if text.startswith(_VERBS) else text


def _golden_line(now: dict, before: dict | None, key: str, count: str, subject: str, what: str) -> str:
    """ "Of 187 test questions, 91% found their answer in the top 3 (last time 91%)." """
    asked = now.get(count) or now.get("questions", 0)
    last = f" (last time {before[key]:.0%})" if before and key in before else ""
    return f"Of {asked:,} {subject}, {now[key]:.0%} {what}{last}."


def _names(sources: list[str], shown: int = 8) -> str:
    more = f" and {len(sources) - shown} more" if len(sources) > shown else ""
    return ", ".join(sources[:shown]) + more


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _when(at: str | None) -> str:
    return (at or "unknown time").replace("T", " ").replace("+00:00", " UTC")


def _without(text: str, folders: tuple[str, ...]) -> str:
    for folder in folders:
        text = text.replace(folder.rstrip("/") + "/", "").replace(folder, "the folder")
    return text
