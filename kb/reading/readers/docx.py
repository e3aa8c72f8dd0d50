"""Word .docx -> blocks: the only python-docx import.

A .docx is a zip of XML parts, and python-docx loads every part into memory, so the zip is
checked first: its declared uncompressed sizes (zipfile never inflates an entry past the
size its header declares) must stay under ``Limits.max_unpacked_bytes``, and a large file
must not inflate more than ``MAX_RATIO`` times (a zip bomb: 545 KB that became 150 MB).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from kb.errors import DocumentError
from kb.reading import cleaning
from kb.reading.readers.base import Limits, Raw, Reading, Removed, labelled_rows

#: Most a .docx of more than ``_RATIO_FLOOR`` bytes unpacked may inflate; Word's own files
#: stay well under 20 (text XML compresses about tenfold, pictures not at all).
MAX_RATIO = 100
_RATIO_FLOOR = 10 * 1024 * 1024
MAX_ENTRIES = 10_000


def check_zip(data: bytes, source: str, limits: Limits) -> None:
    """Refuse what is not a zip, and zip bombs, before anything is inflated.

    Raises:
        DocumentError: not a zip, too many entries, too large unpacked, or too compressed.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise DocumentError(
            f"{source}: is not a Word .docx file (it is not a zip package: {exc}). If it is an old "
            ".doc or another format, open it in Word and save it as .docx."
        ) from None
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ENTRIES:
        raise DocumentError(
            f"{source}: the package holds {len(entries)} parts, more than a Word file ever has "
            f"({MAX_ENTRIES}). It was not read; open it in Word and save a fresh copy."
        )
    if unpacked > limits.max_unpacked_bytes:
        raise DocumentError(
            f"{source}: unpacks to {unpacked / 2**20:.0f} MiB, over the {limits.max_unpacked_bytes / 2**20:.0f} "
            "MiB limit (KB_MAX_UNPACKED_BYTES). It was not read; split the document, or remove "
            "large pictures from it."
        )
    if unpacked > _RATIO_FLOOR and unpacked > MAX_RATIO * max(len(data), 1):
        raise DocumentError(
            f"{source}: a {len(data) / 1024:.0f} KB file that unpacks to {unpacked / 2**20:.0f} MiB "
            f"(over {MAX_RATIO} times its size) looks like a zip bomb, not a Word document. "
            "It was not read; open the original in Word and save a fresh copy."
        )


def read(data: bytes, source: str, limits: Limits) -> Reading:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    check_zip(data, source, limits)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(
            f"{source}: is not a readable Word (.docx) file ({type(exc).__name__}). If it is an old "
            ".doc, save it as .docx; otherwise save a fresh copy and ingest again."
        ) from exc
    raw: list[Raw] = []
    removed: list[Removed] = []
    title = document.core_properties.title or None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            raw.extend(Raw("paragraph", row, None, 0, "row") for row in _table_rows(item, removed))
            continue
        style = (item.style.name if item.style is not None else "") or ""
        text = item.text
        if style == "Title":
            # The title paragraph is the document's title; kept as a heading, so it is in
            # the text when the file's properties name another title.
            title = title or cleaning.clean_inline(text) or None
            raw.append(Raw("heading", text, None, 1))
        elif style.startswith("Heading"):
            level = int(style.split()[-1]) if style.split()[-1].isdigit() else 1
            raw.append(Raw("heading", text, None, level))
        else:
            numbered = item._p.pPr is not None and item._p.pPr.numPr is not None
            role = "item" if style.startswith("List") or numbered else "text"
            raw.append(Raw("paragraph", text, None, 0, role))
    if title is None:
        title = next((b.text for b in raw if b.kind == "heading" and b.level == 1), None)
    return Reading(title, None, raw, removed)


def _table_rows(table, removed: list[Removed]) -> Iterator[str]:
    """A Word table's rows as labelled sentences; the first row is the header when it has
    two or more filled cells (a form's "label | blank" rows have no header)."""
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(cleaning.clean_inline(cell.text))
        rows.append(cells)
    yield from labelled_rows(rows, len(rows) >= 2 and sum(bool(c) for c in rows[0]) >= 2, removed)
