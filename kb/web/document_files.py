"""The documents folder as the app serves it (``served_path``: the one check every route
that opens a document by name makes), and the staff's actions on it: add or replace a
document, remove one, restore a removed one, and the state of every file against the index.
Actions on one document run one after another (``DocumentActions``): a restore pressed while
the removal is still being ingested waits for it, then is ingested in turn.

File names are sanitized (no folders, no traversal, no hidden names), types and sizes are
limited, and writes are atomic, so a failed upload never leaves half a file. Removed
documents are moved to ``documents/.removed/`` (hidden from the ingester), not deleted, so
a removal can be undone.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cachetools import LRUCache

from kb.errors import DocumentError, KBError
from kb.index.base import DocumentRecord
from kb.ingest.report import plain_reason
from kb.reading import signatures
from kb.reading.documents import DOCUMENT_TYPES, file_sha256, scan_documents

REMOVED = ".removed"


def served_path(documents_dir: Path, source: str) -> Path | None:
    """The file ``source`` names, if the app may serve it: inside ``documents_dir`` once
    links are followed, no hidden part (".removed/", ".env"), a type the ingester reads,
    a regular file. None otherwise (also for names no file can have)."""
    documents_dir = Path(documents_dir).resolve()
    try:
        # resolve() follows symlinks, so one inside documents/ that points out is outside.
        path = (documents_dir / source).resolve()
        if not path.is_relative_to(documents_dir):
            return None
        if any(part.startswith(".") for part in path.relative_to(documents_dir).parts):
            return None
        if path.suffix.lower() not in DOCUMENT_TYPES or not path.is_file():
            return None
    except (OSError, ValueError):  # a NUL byte, a name too long, a symlink loop
        return None
    return path


def safe_name(name: str) -> str:
    """A plain file name from an uploaded name: no folders, no control characters, no
    leading dots, only letters, digits, spaces and . - _ ( ) ,

    Raises:
        KBError: nothing usable is left, or the type is not one the ingester reads.
    """
    base = Path(str(name).replace("\\", "/")).name
    base = unicodedata.normalize("NFKC", base)
    base = re.sub(r"[^\w.\- (),]+", "_", base).strip(" ._")
    base = re.sub(r"\s+", " ", base)[:120]
    suffix = Path(base).suffix.lower()
    if not Path(base).stem:
        raise KBError(f"The file name {name!r} has nothing usable left; rename the file and upload it again.")
    if suffix not in DOCUMENT_TYPES:
        kinds = ", ".join(sorted(DOCUMENT_TYPES))
        raise KBError(f"{base}: files of type {suffix or '(none)'} are not accepted; upload one of {kinds}.")
    return Path(base).stem + suffix


def add_document(documents_dir: Path, uploaded: Path, name: str, max_bytes: int) -> tuple[Path, bool]:
    """Copy an uploaded file into the documents folder under a safe name.

    Returns:
        (the new file's path, True if it replaced a document of the same name).

    Raises:
        KBError: bad name or type, empty or too large, or its content is not its type (a
            program renamed .pdf): refused before anything is saved.
    """
    target_name = safe_name(name)
    size = Path(uploaded).stat().st_size
    if size == 0:
        raise KBError(f"{target_name} is empty (0 bytes); upload the full document.")
    if size > max_bytes:
        raise KBError(
            f"{target_name} is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit; split it."
        )
    with open(uploaded, "rb") as file:
        wrong = signatures.mismatch(file.read(signatures.HEAD_BYTES), DOCUMENT_TYPES[Path(target_name).suffix])
    if wrong:
        raise KBError(wrong)
    documents_dir = Path(documents_dir).resolve()
    target = documents_dir / target_name
    if target.parent != documents_dir:  # safe_name makes this impossible; keep it so
        raise KBError(f"{name!r} would be saved outside the documents folder.")
    replaced = target.exists()
    partial = documents_dir / f".{target_name}.uploading"
    shutil.copyfile(uploaded, partial)
    os.replace(partial, target)
    return target, replaced


def remove_document(documents_dir: Path, source: str) -> Path:
    """Move a document out of the ingester's sight into ``documents/.removed/``.

    Returns:
        Where the file now is.

    Raises:
        KBError: no such document in the documents folder.
    """
    documents_dir = Path(documents_dir).resolve()
    path = (documents_dir / source).resolve()
    if not path.is_relative_to(documents_dir) or not path.is_file() or REMOVED in path.parts:
        raise KBError(f"There is no document {source!r} in the documents folder.")
    trash = documents_dir / REMOVED
    trash.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    moved = trash / f"{stamp}-{path.name}"
    os.replace(path, moved)
    return moved


_STAMPED = re.compile(r"^\d{8}T\d{6}-(.+)$")


def restore_document(documents_dir: Path, removed: str) -> Path:
    """Put a removed document back where it was (``removed`` is its name in ``.removed/``).

    Returns:
        The document's path in the documents folder again.

    Raises:
        KBError: no such removed document, or a document of that name is there now.
    """
    documents_dir = Path(documents_dir).resolve()
    trash = documents_dir / REMOVED
    path = (trash / removed).resolve()
    found = _STAMPED.match(removed or "")
    if not found or path.parent != trash or not path.is_file():
        raise KBError(f"There is no removed document {removed!r} to restore.")
    target = documents_dir / found.group(1)
    if target.exists():
        raise KBError(
            f"A document named {target.name} is in the folder now; remove or rename it before restoring this one."
        )
    os.replace(path, target)
    return target


def removed_source(removed: str) -> str | None:
    """The name a removed document had in the documents folder (``removed`` is its name in
    ``.removed/``), or None for a name no removal gives."""
    found = _STAMPED.match(removed or "")
    return found.group(1) if found else None


# --- one action at a time on each document --------------------------------------------------

Doing = Literal["removing", "restoring"]


@dataclass(eq=False)
class Action:
    """One staff action on one document, waiting for its turn or under way."""

    source: str  # the document's name in the documents folder
    doing: Doing


class DocumentActions:
    """Staff actions on one document run in the order they were asked for, each until the
    index agrees (its re-ingest switched in): a restore asked for while the removal is still
    being ingested waits for it. Actions on different documents do not wait for each other.

    ``doing()`` says what each document with actions in hand will be once they are done (its
    newest action), for its row: "Removing…" or "Restoring…" until the index agrees.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._queues: dict[str, list[Action]] = {}

    def queue(self, source: str, doing: Doing) -> Action:
        """Ask for an action; ``start`` it, and ``end`` it whatever happens (try/finally)."""
        action = Action(source, doing)
        with self._changed:
            self._queues.setdefault(source, []).append(action)
        return action

    def start(self, action: Action, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) until every earlier action on its document has
        ended. True when it is this action's turn."""
        with self._changed:
            return self._changed.wait_for(lambda: self._queues[action.source][0] is action, timeout)

    def end(self, action: Action) -> None:
        with self._changed:
            queue = self._queues.get(action.source, [])
            if action in queue:
                queue.remove(action)
            if not queue:
                self._queues.pop(action.source, None)
            self._changed.notify_all()

    def doing(self) -> dict[str, Doing]:
        with self._changed:
            return {source: queue[-1].doing for source, queue in self._queues.items()}


# --- every file's state ---------------------------------------------------------------------

State = Literal["indexed", "changed", "new", "failed", "skipped", "missing", "removed", "removing", "restoring"]

#: What each state means, as the staff page says it.
STATE_LABELS: dict[str, str] = {
    "indexed": "Indexed",
    "changed": "Changed since the last ingest",
    "new": "New: not ingested yet",
    "failed": "Failed",
    "skipped": "Not read",
    "missing": "Gone from the folder: leaves the search at the next ingest",
    "removed": "Removed",
    "removing": "Removing…",
    "restoring": "Restoring…",
}

#: A row's mark: new or changed since the last ingest, or added or changed by it.
Mark = Literal["new", "changed"]


@dataclass(frozen=True)
class FileStatus:
    """One row of the staff page's table."""

    source: str  # the path in documents/ (for a removed file: the name it had there)
    state: State
    reason: str | None  # why it failed or is not read; what removing it means
    title: str | None
    kind: str | None
    pages: int | None
    passages: int | None
    size: int | None  # bytes
    changed_at: str | None  # when the file was added or last changed (UTC, ISO 8601)
    removed_name: str | None = None  # its name in .removed/, to restore it
    mark: Mark | None = None  # new or changed: not ingested yet, or by the last ingest


_SHAS: LRUCache = LRUCache(maxsize=20_000)


def _sha(path: Path, stat: os.stat_result) -> str:
    """The file's SHA-256, remembered while its size and time stay the same."""
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SHAS:
        _SHAS[key] = file_sha256(path)
    return _SHAS[key]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=0).isoformat()


def folder_status(
    documents_dir: Path, records: list[DocumentRecord], last_ingest: dict | None, removed_limit: int = 50
) -> list[FileStatus]:
    """Every file of the documents folder against the index in service, then the latest
    removed documents (newest first, at most ``removed_limit``).

    ``last_ingest`` (the newest "ingests" history record) tells which files failed and why.
    """
    documents_dir = Path(documents_dir)
    indexed = {r.source: r for r in records}
    ingest = last_ingest or {}
    failed = {f["source"]: f for f in ingest.get("failed", [])}
    failed_at = ingest.get("at") or ""
    try:
        files, skipped = scan_documents(documents_dir)
    except DocumentError:
        files, skipped = [], []
    rows: list[FileStatus] = []
    for path in files:
        source = path.relative_to(documents_dir).as_posix()
        record = indexed.pop(source, None)
        try:
            stat = path.stat()
            sha = _sha(path, stat)
        except OSError as exc:
            rows.append(FileStatus(source, "failed", f"It cannot be opened ({exc.strerror}).", *[None] * 6))
            continue
        changed_at = _iso(stat.st_mtime)
        if source in failed and changed_at <= failed_at:
            failure = failed[source]
            kept = " Its previous version is still searchable." if failure.get("kept_previous") else ""
            state, reason = "failed", plain_reason(failure["reason"]) + kept
        elif record is None:
            state, reason = "new", None
        else:
            state, reason = ("indexed" if record.sha256 == sha else "changed"), None
        rows.append(
            FileStatus(
                source,
                state,
                reason,
                record.title if record else None,
                record.kind if record else path.suffix.lower().lstrip("."),
                record.pages if record else None,
                record.passages if record else None,
                stat.st_size,
                changed_at,
            )
        )
    for skip in skipped:
        rows.append(FileStatus(skip.source, "skipped", skip.reason, *[None] * 6))
    for record in indexed.values():  # in the index, gone from the folder
        rows.append(
            FileStatus(
                record.source,
                "missing",
                None,
                record.title,
                record.kind,
                record.pages,
                record.passages,
                record.size,
                None,
            )
        )
    added, changed = set(ingest.get("added", [])), set(ingest.get("changed", []))
    rows = [replace(r, mark=_mark(r, added, changed)) for r in rows]
    rows.sort(key=lambda r: r.source.lower())
    return rows + _removed(documents_dir, removed_limit)


def _mark(row: FileStatus, added: set[str], changed: set[str]) -> Mark | None:
    if row.state in ("new", "changed"):
        return row.state
    if row.state == "indexed" and row.source in added:
        return "new"
    if row.state == "indexed" and row.source in changed:
        return "changed"
    return None


def with_actions(rows: list[FileStatus], doing: dict[str, Doing]) -> list[FileStatus]:
    """The rows with each document that has actions in hand shown as "removing" or
    "restoring" (a row of its own if the folder and the index have none for it now); its
    removed copies lose their Restore button meanwhile."""
    if not doing:
        return rows
    out, seen = [], set()
    for row in rows:
        if row.source in doing and row.state == "removed":
            out.append(replace(row, removed_name=None))
        elif row.source in doing:
            out.append(replace(row, state=doing[row.source], reason=None, mark=None))
            seen.add(row.source)
        else:
            out.append(row)
    extra = [
        FileStatus(source, state, None, None, DOCUMENT_TYPES.get(Path(source).suffix.lower()), *[None] * 4)
        for source, state in doing.items()
        if source not in seen
    ]
    live = [r for r in out if r.state != "removed"]
    return sorted(live + extra, key=lambda r: r.source.lower()) + [r for r in out if r.state == "removed"]


def _removed(documents_dir: Path, limit: int) -> list[FileStatus]:
    try:
        entries = [e for e in os.scandir(documents_dir / REMOVED) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []
    rows = []
    for entry in sorted(entries, key=lambda e: e.name, reverse=True)[:limit]:
        found = _STAMPED.match(entry.name)
        if not found:
            continue
        stamp = datetime.strptime(entry.name[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        size = entry.stat(follow_symlinks=False).st_size
        rows.append(
            FileStatus(
                found.group(1), "removed", None, None, DOCUMENT_TYPES.get(Path(found.group(1)).suffix.lower()),
                None, None, size, stamp.isoformat(), removed_name=entry.name,
            )
        )
    return rows
