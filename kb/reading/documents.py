"""Find and read source files into Documents.

``scan_documents`` walks the documents folder without following links: a symbolic link,
to a file or a folder, inside the folder or out of it, is never read (it is listed as
skipped), so nothing outside the folder can be indexed. Folders whose name starts with "."
(``.removed/``, the staff's trash) are not entered and not listed; hidden files (".DS_Store",
Word's "~$" lock files) and files of other types are listed as skipped.

``read_document`` opens one file (again refusing a link, and a path that resolves outside
the folder), checks its size before reading it, reads it with the reader for its format
(``kb.reading.readers``, one module per format) under a time limit, then ``_assemble`` cleans the
reader's blocks, drops boilerplate, sets the sample-document notice aside and lays the rest
end to end into one text, so every block, and later every passage, is an exact slice of
``Document.text``. What cleaning removed is kept in ``Document.removed`` with the rule that
removed it (``kb.reading.readers.base.RULES``); ``explain`` lists it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import signal
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kb.config import Settings
from kb.errors import DocumentError
from kb.reading import cleaning
from kb.reading.readers import READERS
from kb.reading.readers.base import RULES, BlockKind, BlockRole, Limits, Raw, Removed
from kb.reading.readers.encoding import decode_text

__all__ = [
    "DOCUMENT_TYPES",
    "READER_VERSION",
    "RULES",
    "Block",
    "Document",
    "Limits",
    "Removed",
    "Skipped",
    "decode_text",
    "explain",
    "explain_file",
    "find_documents",
    "read_document",
    "scan_documents",
]

#: Bumped whenever a reader change would read the same file differently; an ingest re-reads
#: every document when the index was built by another version.
READER_VERSION = 4

#: File suffix -> document type. The ingester reads exactly these.
DOCUMENT_TYPES: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}

#: Files are opened without following a link, and without waiting on a pipe put in their place.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

#: A paragraph longer than this (a 2 MB file on one line) is split into blocks of at most
#: this many characters, at a sentence end where there is one, else between words.
MAX_BLOCK_CHARS = 10_000
#: A title longer than this is cut (at a word) with "…": it is context for every passage.
MAX_TITLE_CHARS = 150


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph; ``text == document.text[start:end]``."""

    kind: BlockKind
    text: str
    start: int
    end: int
    page: int | None = None
    level: int = 0
    role: BlockRole = "text"


@dataclass(frozen=True)
class Document:
    """One source file, read and cleaned."""

    source: str  # path relative to the documents folder, with forward slashes
    title: str
    kind: str  # a value of DOCUMENT_TYPES
    pages: int | None  # page count for paged formats (PDF), else None
    text: str
    blocks: tuple[Block, ...]
    #: The document's "Sample document: ..." disclaimer, kept out of ``text`` and ``blocks``.
    notice: str | None = None
    #: Text of the file left out of ``text``, each with the cleaning rule that removed it.
    removed: tuple[Removed, ...] = ()

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class Skipped:
    """A file in the documents folder that is not read, and why."""

    source: str
    reason: str


# --- finding ---------------------------------------------------------------------------


def scan_documents(documents_dir: Path) -> tuple[list[Path], list[Skipped]]:
    """Files to read under ``documents_dir`` (sorted) and the files skipped, with reasons.

    Links are never followed and hidden folders never entered, so the walk ends (no link
    loops) and stays inside the folder.

    Raises:
        DocumentError: the folder does not exist.
    """
    documents_dir = Path(documents_dir)
    if not documents_dir.is_dir():
        raise DocumentError(
            f"The documents folder {documents_dir} does not exist. "
            "Create it and put the clinic's PDF, Word, HTML, Markdown or text files in it."
        )
    found: list[Path] = []
    skipped: list[Skipped] = []
    supported = ", ".join(sorted(DOCUMENT_TYPES))
    stack = [documents_dir]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            skipped.append(
                Skipped(source_name(folder, documents_dir) + "/", f"could not be listed ({exc.strerror}).")
            )
            continue
        for entry in entries:
            path = Path(entry.path)
            source = source_name(path, documents_dir)
            hidden = entry.name.startswith((".", "~$"))
            if entry.is_symlink():
                skipped.append(
                    Skipped(
                        source,
                        "is a link (shortcut) to another place; links are never followed, so that "
                        "nothing outside the documents folder is read. Copy the document itself in.",
                    )
                )
            elif entry.is_dir(follow_symlinks=False):
                if not hidden:
                    stack.append(path)
            elif hidden:
                skipped.append(
                    Skipped(source, "is a hidden or temporary file (its name starts with '.' or '~$').")
                )
            elif not entry.is_file(follow_symlinks=False):
                skipped.append(Skipped(source, "is not a regular file (a device, pipe or socket)."))
            elif path.suffix.lower() not in DOCUMENT_TYPES:
                skipped.append(
                    Skipped(
                        source,
                        f"files of type {path.suffix or '(none)'} are not read; "
                        f"save it as one of {supported}.",
                    )
                )
            else:
                found.append(path)
    return sorted(found), sorted(skipped, key=lambda s: s.source)


def find_documents(documents_dir: Path) -> list[Path]:
    """Every file ``scan_documents`` would read, sorted."""
    return scan_documents(documents_dir)[0]


def source_name(path: Path, documents_dir: Path) -> str:
    return Path(path).relative_to(documents_dir).as_posix()


def file_sha256(path: Path) -> str:
    """The file's SHA-256; like ``read_document`` it never opens a link (nor waits on a pipe)."""
    digest = hashlib.sha256()
    with os.fdopen(os.open(path, _OPEN_FLAGS), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- reading ---------------------------------------------------------------------------


def read_document(
    path: Path,
    documents_dir: Path,
    max_bytes: int | None = None,
    *,
    limits: Limits | None = None,
    max_seconds: float | None = None,
) -> Document:
    """Read one file into a Document.

    Args:
        path: the file, inside ``documents_dir``.
        documents_dir: the documents folder; nothing outside it is read.
        max_bytes: largest file accepted, checked before the file is read.
        limits: limits the readers enforce (unpacked size of a .docx, page count).
        max_seconds: reading time limit. It is enforced only in the main thread (with
            SIGALRM; the previous handler and timer are restored); in other threads the
            caller bounds the time, e.g. by reading in a worker process.

    Raises:
        DocumentError: the file is a link or outside the folder, of an unsupported type,
            too large, empty, corrupt, encrypted, has no text layer, is text in an unknown
            encoding, or took too long. The message names the file and says what to do.
        Exception: anything else is a fault in a reader (the ingest reports it per file).
    """
    path = Path(path)
    source = source_name(path, documents_dir)
    kind = DOCUMENT_TYPES.get(path.suffix.lower())
    if kind is None:
        supported = ", ".join(sorted(DOCUMENT_TYPES))
        raise DocumentError(
            f"{source}: files of type {path.suffix or '(none)'} are not read; use one of {supported}."
        )
    data = _read_bytes(path, documents_dir, source, max_bytes)
    reader = READERS[kind]
    try:
        with _time_limit(max_seconds):
            reading = reader(data, source, limits or Limits())
    except _ReadTimeout:
        raise DocumentError(
            f"{source}: took longer than {max_seconds:g} s to read, and was stopped. Save a simpler "
            "copy (fewer pages, or split it), or raise KB_MAX_READ_SECONDS, and ingest again."
        ) from None
    except RecursionError:
        raise DocumentError(
            f"{source}: is nested too deeply to read. Save a simpler copy (e.g. print it to PDF) "
            "and ingest that."
        ) from None
    except MemoryError:
        raise DocumentError(
            f"{source}: ran out of memory while reading. Split it into smaller documents."
        ) from None
    document = _assemble(source, reading.title or _title_from_name(path), kind, reading.pages, reading.raw)
    removed = (*reading.removed, *document.removed)
    document = dataclasses.replace(document, removed=removed)
    if not document.text.strip():
        if removed:
            raise DocumentError(
                f"{source}: holds nothing but page furniture, boilerplate or a sample notice "
                f"({len(removed)} lines removed; ingest.py --explain lists them). Check that it is "
                "the right file."
            )
        raise DocumentError(f"{source}: no text was found in the file. Check that it is not blank.")
    return document


def _read_bytes(path: Path, documents_dir: Path, source: str, max_bytes: int | None) -> bytes:
    """The file's bytes, refusing links, a path that resolves outside ``documents_dir`` and
    files over ``max_bytes`` (by the open file's size, and by what is read)."""
    root = os.path.realpath(documents_dir)
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root or os.path.islink(path):
        raise DocumentError(
            f"{source}: is a link to a place outside the documents folder; it was not read. "
            "Copy the document itself into the folder."
        )
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise DocumentError(f"{source}: could not be opened ({exc.strerror}).") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(f"{source}: is not a regular file; it was not read.")
        if max_bytes is not None and info.st_size > max_bytes:
            raise DocumentError(too_large(source, info.st_size, max_bytes))
        data = f.read() if max_bytes is None else f.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:  # it grew while being read
        raise DocumentError(too_large(source, len(data), max_bytes))
    if not data:
        raise DocumentError(f"{source}: the file is empty (0 bytes). Replace it with the full document.")
    return data


def too_large(source: str, size: int, max_bytes: int) -> str:
    return (
        f"{source}: the file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit "
        "(KB_MAX_DOCUMENT_BYTES). Split it into smaller documents."
    )


class _ReadTimeout(BaseException):
    """Raised by the alarm; a BaseException so the libraries' ``except Exception`` blocks
    (pypdf mends damaged files that way) cannot swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise _ReadTimeout in the block after ``seconds``, in the main thread only.

    An outer timer that would fire sooner (pytest-timeout's, say) is left alone; otherwise
    it is re-armed afterwards with the time it had left.
    """
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield
        return
    armed = True

    def alarm(signum, frame) -> None:
        if armed:
            raise _ReadTimeout

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 0.001))


def explain(path: Path, documents_dir: Path, **options: object) -> str:
    """A debug listing of how a file reads: its blocks, and every line cleaning removed with
    the rule that removed it (for ``python ingest.py --explain FILE``).

    Raises:
        DocumentError: as ``read_document``.
    """
    document = read_document(path, documents_dir, **options)
    lines = [
        f"{document.source}: {document.kind}, title {document.title!r}, "
        f"{document.pages or '-'} pages, {len(document.blocks)} blocks, {document.words} words",
    ]
    for block in document.blocks:
        page = f"p{block.page} " if block.page else ""
        label = f"{block.kind} {block.level}" if block.kind == "heading" else block.role
        lines.append(f"  {page}[{label}] {_short(block.text)}")
    if document.notice:
        lines.append(f"  notice: {_short(document.notice)}")
    lines.append(f"removed ({len(document.removed)}):")
    for item in document.removed:
        page = f"p{item.page} " if item.page else ""
        lines.append(f"  {page}[{item.rule}] {_short(item.text)}")
    return "\n".join(lines)


def explain_file(path: Path, settings: Settings) -> str:
    """``explain`` for a file named on the command line, read with the ingest's limits; a
    file outside the documents folder is read as if its own folder were that folder."""
    # Absolute, not resolved: read_document itself refuses links and what resolves outside.
    path = Path(os.path.abspath(path))
    folder = Path(os.path.abspath(settings.documents_dir))
    if not str(path).startswith(str(folder) + os.sep):
        folder = path.parent
    return explain(
        path,
        folder,
        max_bytes=settings.max_document_bytes,
        limits=Limits(max_unpacked_bytes=settings.max_unpacked_bytes),
        max_seconds=settings.max_read_seconds,
    )


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- assembling -------------------------------------------------------------------------


def _assemble(source: str, title: str, kind: str, pages: int | None, raw: list[Raw]) -> Document:
    title = cleaning.clean_inline(title)
    full_title = title
    if len(title) > MAX_TITLE_CHARS:
        cut = title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] or title[:MAX_TITLE_CHARS]
        title = cut + "…"
    title_key = cleaning.normalize_key(full_title) if title == full_title else None
    removed: list[Removed] = []
    kept: list[Raw] = []
    for item in raw:
        text = (
            item.text.strip()
            if item.kind == "paragraph" and "\n" in item.text
            else cleaning.clean_inline(item.text)
        )
        if not text:
            continue
        if cleaning.is_boilerplate(text):
            removed.append(Removed(text, "boilerplate", item.page))
            continue
        # A heading that repeats the title is the title; any other text stays, even when it
        # reads the same (a one-sentence document is a document).
        if item.kind == "heading" and title_key is not None and cleaning.normalize_key(text) == title_key:
            removed.append(Removed(text, "title", item.page))
            continue
        role = "item" if item.role == "text" and cleaning.is_bullet(text) else item.role
        for piece in cleaning.split_long(text, MAX_BLOCK_CHARS) if item.kind == "paragraph" else [text]:
            kept.append(Raw(item.kind, piece, item.page, item.level, role))
    kept, notices = _set_notice_aside(kept)
    notice = notices[0] if notices else None
    removed += [Removed(text, "sample notice") for text in notices]
    parts: list[str] = []
    blocks: list[Block] = []
    offset = 0
    for item in kept:
        if parts:
            offset += 2  # the "\n\n" separator
        blocks.append(
            Block(item.kind, item.text, offset, offset + len(item.text), item.page, item.level, item.role)
        )
        parts.append(item.text)
        offset += len(item.text)
    return Document(source, title, kind, pages, "\n\n".join(parts), tuple(blocks), notice, tuple(removed))


def _set_notice_aside(raw: list[Raw], head: int = 4, tail: int = 2) -> tuple[list[Raw], list[str]]:
    """Drop "Sample document: ..." notices from the first ``head`` and last ``tail``
    paragraphs; return the rest and the notices. A disclaimer is not content: indexed,
    it would answer every question about the clinic. Elsewhere in a document a paragraph
    that mentions a sample stays."""
    paragraphs = [i for i, item in enumerate(raw) if item.kind == "paragraph"]
    edges = set(paragraphs[:head] + paragraphs[-tail:])
    notices = [i for i in sorted(edges) if raw[i].role == "text" and cleaning.is_sample_notice(raw[i].text)]
    dropped = set(notices)
    return [item for i, item in enumerate(raw) if i not in dropped], [raw[i].text for i in notices]


def _title_from_name(path: Path) -> str:
    stem = path.stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:]
