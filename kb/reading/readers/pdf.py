"""PDF -> blocks: the only pypdf import.

pypdf reads the file (non-strict, so it mends what it can); when it cannot find the
cross-reference table (a missing ``startxref``, a file cut short), the objects are found by
scanning the bytes and the table is rebuilt, as PDF viewers do. Encrypted files open with
the empty password (forms are often "protected" that way), RC4 or AES (the ``cryptography``
package). Each page's text runs, with their position, font and size, go to
``kb.reading.readers.pdf_layout``; a page that cannot be read is skipped, not the document.

pypdf reports what it mends through the ``logging`` module (logger "pypdf"); the entry
scripts decide whether people see that.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Sequence

from kb.errors import DocumentError
from kb.reading import cleaning
from kb.reading.readers.base import Limits, Reading, Removed
from kb.reading.readers.pdf_layout import Run, layout_blocks, text_blocks

logger = logging.getLogger(__name__)

_PLACEHOLDER_TITLES = {"untitled", "anonymous", "notitle", "title", "document"}

#: Exceptions pypdf raises on a malformed file (it does not wrap all of them in PdfReadError).
_DAMAGED = (ValueError, KeyError, TypeError, IndexError, AttributeError, AssertionError, LookupError)


def read(data: bytes, source: str, limits: Limits) -> Reading:
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    damaged = (PdfReadError, *_DAMAGED)
    try:
        reader, repaired = _open(data)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("password required")
        count = len(reader.pages)
    except FileNotDecryptedError as exc:
        raise DocumentError(
            f"{source}: the PDF is password-protected. Save an unprotected copy (open it, "
            "Print → Save as PDF) and upload that."
        ) from exc
    except DependencyError as exc:
        raise DocumentError(
            f"{source}: the PDF needs a library this installation lacks ({exc}). "
            "Install the project's dependencies again (pip install -e .) and re-ingest."
        ) from exc
    except damaged as exc:
        raise DocumentError(
            f"{source}: is not a readable PDF ({type(exc).__name__}: {exc}). The file may be damaged "
            "or only partly downloaded; export it again from the original and upload that."
        ) from exc
    if count > limits.max_pages:
        raise DocumentError(
            f"{source}: the PDF claims {count} pages, over the limit of {limits.max_pages}. "
            "Split it into smaller documents, or export it again if it is damaged."
        )
    pages: list[tuple[str, list[Run]]] = []
    unreadable: list[int] = []
    for number in range(count):
        try:
            pages.append(_read_page(reader.pages[number]))
        except damaged:
            unreadable.append(number + 1)
            pages.append(("", []))
    if count == 0:
        raise DocumentError(f"{source}: the PDF has no pages. Export it again from the original.")
    if len(unreadable) == count:
        raise DocumentError(
            f"{source}: none of its {count} pages could be read; the file is damaged. "
            "Export it again from the original and upload that."
        )
    if unreadable:
        logger.warning("%s: pages %s could not be read and were skipped", source, unreadable)
    if not any(text.strip() for text, _ in pages) and repaired:
        raise DocumentError(
            f"{source}: is damaged (cut short, or its cross-reference table is broken) and no text "
            "could be recovered from it. Export it again from the original and upload that."
        )
    if not any(text.strip() for text, _ in pages):
        raise DocumentError(
            f"{source}: no text layer — it looks like a scanned image. Run it through OCR "
            "(e.g. save it as a searchable PDF) and upload that."
        )
    reading = Reading(None, count, [])
    if repaired:  # in a damaged file an empty page is more likely lost than blank
        unreadable = sorted({*unreadable, *(n for n, (text, _) in enumerate(pages, 1) if not text.strip())})
    reading.removed += [Removed(f"(page {n}: unreadable, skipped)", "unreadable page", n) for n in unreadable]
    if any(run.font for _, runs in pages for run in runs):
        reading.raw = layout_blocks([runs for _, runs in pages], reading.removed)
    else:  # no font information: fall back to the text alone
        reading.raw = text_blocks([text.splitlines() for text, _ in pages], reading.removed)
    reading.title = _title(reader, reading, source)
    return reading


def _open(data: bytes):
    """(reader, repaired): a PdfReader on the bytes as they are or, failing that, with a
    rebuilt xref table, using the file's catalog or, when its page tree is lost, a new one."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return _usable(PdfReader(io.BytesIO(data), strict=False)), False
    except (PdfReadError, *_DAMAGED) as exc:
        logger.info("rebuilding the cross-reference table after: %s", exc)
        repaired = _rebuild_xref(data)
        if repaired is None:
            raise
        try:
            return _usable(PdfReader(io.BytesIO(repaired), strict=False)), True
        except (PdfReadError, *_DAMAGED):
            repaired = _rebuild_xref(data, new_catalog=True)
            if repaired is None:
                raise exc from None
            return PdfReader(io.BytesIO(repaired), strict=False), True


def _usable(reader):
    """The reader, once its catalog and page tree are found (an encrypted file's are read
    after decrypting)."""
    if not reader.is_encrypted:
        _ = len(reader.pages)
    return reader


_OBJECT = re.compile(rb"(?<![\d])(\d{1,10})\s+(\d{1,5})\s+obj\b")
_CATALOG = re.compile(rb"/Type\s*/Catalog\b")
_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")
_ENCRYPT = re.compile(rb"/Encrypt\s+\d+\s+\d+\s+R")
_ID = re.compile(rb"/ID\s*\[[^\]]{0,200}\]")


def _rebuild_xref(data: bytes, new_catalog: bool = False) -> bytes | None:
    """The file with a new cross-reference table and trailer appended, built by scanning for
    "N G obj"; None when no object is found. Without a catalog (or with ``new_catalog``),
    one is made listing every page object found (pages of a file cut short keep what they
    still have)."""
    offsets: dict[int, tuple[int, int]] = {}
    starts = list(_OBJECT.finditer(data))
    catalog = None
    pages: list[int] = []
    for k, match in enumerate(starts):
        number, generation = int(match.group(1)), int(match.group(2))
        offsets[number] = (match.start(), generation)
        end = starts[k + 1].start() if k + 1 < len(starts) else len(data)
        head = data[match.end() : min(end, match.end() + 2048)]
        if _CATALOG.search(head):
            catalog = number
        elif _PAGE.search(head):
            pages.append(number)
    if not offsets:
        return None
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    out += b"endstream\nendobj\n"  # closes an object the cut left open; harmless otherwise
    size = max(offsets) + 1
    if catalog is None or new_catalog:
        if not pages:
            return None
        kids = b" ".join(b"%d 0 R" % n for n in pages)
        tree, catalog = size, size + 1
        for number, body in (
            (tree, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages))),
            (catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % tree),
        ):
            offsets[number] = (len(out), 0)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        size += 2
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        offset, generation = offsets.get(number, (0, 65535))
        out += b"%010d %05d %s \n" % (offset, generation, b"n" if number in offsets else b"f")
    # An encrypted file keeps its encryption dictionary and ID (the key is derived from both).
    extra = b"".join(
        matches[-1].group() + b" " for pattern in (_ENCRYPT, _ID) if (matches := list(pattern.finditer(data)))
    )
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (size, catalog, extra, xref)
    return bytes(out)


def _title(reader, reading: Reading, source: str) -> str | None:
    title = None
    try:
        title = (reader.metadata.title if reader.metadata else None) or None
    except Exception:  # broken metadata is not worth failing the document for
        logger.debug("unreadable PDF metadata in %s", source)
    if title is not None and not isinstance(title, str):
        title = None
    placeholder = bool(title) and cleaning.normalize_key(title) in _PLACEHOLDER_TITLES
    if placeholder:
        title = None  # what PDF writers put when nobody set a title: the file name will do
    if title is None:
        top = [b for b in reading.raw if b.kind == "heading" and b.level == 1]
        if len(top) == 1 and top[0].page == 1:  # one heading set larger than all others
            title = top[0].text
        elif not placeholder:
            title = next((b.text for b in reading.raw if b.kind == "heading"), None)
    return title


def _read_page(page) -> tuple[str, list[Run]]:
    """One pass over a page: pypdf's plain text (for the fallback) and its positioned runs."""
    runs: list[Run] = []
    widths: dict[int, dict[str, float] | None] = {}

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], font, size: float) -> None:
        if not text or not text.strip():
            return
        m = _matrix_product(tm, cm)
        em = abs(size) * (math.hypot(m[2], m[3]) or 1.0)
        glyphs = _glyph_widths(font, widths)
        name = str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1] if font else ""
        for k, part in enumerate(text.split("\n")):
            if part.strip():
                width = _em_width(part, glyphs) * abs(size) * (math.hypot(m[0], m[1]) or 1.0)
                runs.append(Run(part, m[4], m[5] - 1.2 * em * k, em, name, len(runs), width))

    text = page.extract_text(visitor_text=visit) or ""
    return text, runs


def _matrix_product(m: Sequence[float], n: Sequence[float]) -> list[float]:
    """m × n for PDF's 6-number affine matrices (text matrix × current transformation)."""
    return [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]


def _glyph_widths(font, cache: dict[int, dict[str, float] | None]) -> dict[str, float] | None:
    """Glyph widths (thousandths of an em) of a font resource, or None if pypdf cannot say."""
    if font is None:
        return None
    key = id(font)
    if key not in cache:
        try:
            # pypdf's own font model knows /Widths and the standard 14 fonts' metrics. It is
            # not public API, so any failure falls back to an average glyph width.
            from pypdf.generic._font import Font

            cache[key] = Font.from_font_resource(font).character_widths
        except Exception:
            cache[key] = None
    return cache[key]


def _em_width(text: str, glyphs: dict[str, float] | None) -> float:
    if not glyphs:
        return 0.5 * len(text)
    default = glyphs.get("default", 500)
    return sum(glyphs.get(ch, default) for ch in text) / 1000
