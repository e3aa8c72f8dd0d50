"""What every reader returns: raw blocks, the lines it removed (and why), limits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from kb.reading import cleaning

BlockKind = Literal["heading", "paragraph"]
#: What a paragraph is: running text, an item of a bulleted or numbered list, or a table row.
BlockRole = Literal["text", "item", "row"]


@dataclass(frozen=True)
class Raw:
    """A heading or paragraph as a reader found it, before assembling."""

    kind: BlockKind
    text: str
    page: int | None = None
    level: int = 0
    role: BlockRole = "text"


@dataclass(frozen=True)
class Removed:
    """Text of the file that is not in the document's passages, and the rule that removed it.

    ``rule`` is one of ``RULES`` (the documented cleaning rules); ``python ingest.py
    --explain FILE`` lists these.
    """

    text: str
    rule: str
    page: int | None = None


#: The documented cleaning rules: text removed by any other way is a bug.
RULES: dict[str, str] = {
    "running header/footer": "a line repeated at the top or bottom of most pages (PDF)",
    "page number": "a bare page number at the top or bottom of a page (PDF)",
    "boilerplate": "share buttons, 'read more', newsletter and cookie prompts",
    "navigation": "web page furniture: menus, footers, cookie banners, share boxes (HTML)",
    "code": "scripts, styles and embedded objects of a web page: code, not text (HTML)",
    "hidden": "elements a web page hides from readers (HTML hidden / aria-hidden)",
    "sample notice": "the 'Sample document: ...' disclaimer, kept as the document's notice",
    "title": "a heading repeating the document's title, kept as the title",
    "unreadable page": "a page of a damaged PDF that could not be read (the rest of the file is)",
    "table header": "the header of a table's first column: each row is named by its own first cell",
}


@dataclass(frozen=True)
class Limits:
    """Per-file limits a reader enforces itself (the size and time limits are the caller's)."""

    #: Largest total uncompressed size of a zip-based file (.docx).
    max_unpacked_bytes: int = 200 * 1024 * 1024
    #: Largest page count a PDF may claim.
    max_pages: int = 5000


@dataclass
class Reading:
    """A reader's result: the title it found, the page count, the blocks, what it removed."""

    title: str | None
    pages: int | None
    raw: list[Raw]
    removed: list[Removed] = field(default_factory=list)


def labelled_rows(rows: list[list[str]], header: bool, removed: list[Removed] | None = None) -> Iterator[str]:
    """Rows as ``cleaning.table_row_text`` sentences, the first row as labels if ``header``
    (its first cell, which labels no cell of a row, goes to ``removed``)."""
    labels = rows[0] if header and rows else None
    if labels and labels[0] and removed is not None:
        removed.append(Removed(labels[0], "table header"))
    for cells in rows[1:] if labels else rows:
        text = cleaning.table_row_text(labels, cells)
        if text:
            yield text
