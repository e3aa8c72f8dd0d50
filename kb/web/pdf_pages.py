"""PDF pages for the viewer: a page as a PNG, its text, and boxes around its characters.
The only pypdfium2 import (pdfium, bundled in the wheel).

pdfium is not thread-safe, and the app answers requests in a thread pool: every call into
it holds ``_PDFIUM`` (the caches have their own lock). Rendered pages are kept in a cache
bounded in bytes, keyed by the file's size and modification time so a replaced document is
drawn again.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cachetools import LRUCache

T = TypeVar("T")

_PDFIUM = threading.Lock()
_CACHES = threading.Lock()

#: Longest side of a rendered page, in pixels: sharp on a phone, a few hundred KB at most.
MAX_SIDE = 1600
#: Rendered pages kept, in bytes of PNG.
CACHE_BYTES = 64 * 2**20

_rendered: LRUCache = LRUCache(maxsize=CACHE_BYTES, getsizeof=len)
_texts: LRUCache = LRUCache(maxsize=64)


class PageNotFound(LookupError):
    """The file has no such page, or cannot be opened as a PDF."""


@dataclass(frozen=True)
class Box:
    """A rectangle on a page, in PDF points from the page's top-left corner."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class PageText:
    """A page's text as pdfium reads it, one box per character (None for the spaces and
    line breaks pdfium adds between runs), and the page's size in points."""

    text: str
    boxes: tuple[Box | None, ...]
    width: float
    height: float
    pages: int
    #: The page is turned (/Rotate): its boxes are not drawn over the image.
    rotated: bool


def _key(path: Path, page: int) -> tuple[str, int, int, int]:
    info = path.stat()
    return str(path), info.st_size, info.st_mtime_ns, page


def page_png(path: Path, page: int) -> bytes:
    """Page ``page`` (1-based) as a PNG whose longest side is at most MAX_SIDE pixels.

    Raises:
        PageNotFound: no such page, or not a PDF pdfium can open.
    """

    def render() -> bytes:
        import pypdfium2 as pdfium

        try:
            image = _on_page(path, page, _draw)
        except pdfium.PdfiumError as exc:
            raise PageNotFound(f"Page {page} of {path.name} cannot be drawn ({exc}).") from None
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", optimize=True)  # outside pdfium's lock
        return buffer.getvalue()

    return _cached(_rendered, _key(path, page), render, keep=lambda data: len(data) <= CACHE_BYTES // 8)


def page_text(path: Path, page: int) -> PageText:
    """Page ``page``'s (1-based) characters and their boxes.

    Raises:
        PageNotFound: no such page, or not a PDF pdfium can open.
    """
    return _cached(_texts, _key(path, page), lambda: _on_page(path, page, _read_text))


def _cached(cache: LRUCache, key: tuple, make: Callable[[], T], keep: Callable[[T], bool] = lambda _: True) -> T:
    with _CACHES:
        cached = cache.get(key)
    if cached is not None:
        return cached
    value = make()
    if keep(value):
        with _CACHES:
            cache[key] = value
    return value


def _on_page(path: Path, page: int, work: Callable[[object, object], T]) -> T:
    """``work(pdf, sheet)`` on the page, holding pdfium's lock; both are closed after."""
    with _PDFIUM:
        pdf = _open(path, page)
        try:
            sheet = pdf[page - 1]
            try:
                return work(pdf, sheet)
            finally:
                sheet.close()
        finally:
            pdf.close()


def scale(width: float, height: float) -> float:
    """Pixels per PDF point of a page drawn by ``page_png``: at most 2, the longest side at
    most MAX_SIDE."""
    return min(2.0, MAX_SIDE / max(width, height, 1.0))


def _draw(pdf, sheet):
    return sheet.render(scale=scale(*sheet.get_size()), may_draw_forms=True).to_pil()


def _read_text(pdf, sheet) -> PageText:
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = sheet.get_cropbox()
    rotated = sheet.get_rotation() != 0
    textpage = sheet.get_textpage()
    chars: list[str] = []
    boxes: list[Box | None] = []
    try:
        for i in range(textpage.count_chars()):
            # Char by char, so the text's indices are the boxes' indices (get_text_range
            # may insert or drop characters).
            chars.append(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i) or 0xFFFD))
            if pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1:
                boxes.append(None)
                continue
            x0, y0, x1, y1 = textpage.get_charbox(i, loose=True)
            boxes.append(Box(x0 - left, top - y1, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None)
    finally:
        textpage.close()
    return PageText("".join(chars), tuple(boxes), right - left, top - bottom, len(pdf), rotated)


def _open(path: Path, page: int):
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise PageNotFound(f"{path.name} cannot be opened as a PDF ({exc}).") from None
    if not 1 <= page <= len(pdf):
        count = len(pdf)
        pdf.close()
        raise PageNotFound(f"{path.name} has {count} pages; there is no page {page}.")
    return pdf


def line_boxes(page: PageText, spans: tuple[tuple[int, int], ...]) -> list[Box]:
    """One box per line of text the spans (indices into ``page.text``) cover: the union of
    the boxes of their characters, a new box where a character starts a new line."""
    out: list[Box] = []
    for start, end in spans:
        current: list[float] | None = None  # left, top, right, bottom
        for box in page.boxes[start:end]:
            if box is None:
                continue
            right, bottom = box.left + box.width, box.top + box.height
            if current is not None and _same_line(current, box):
                current = [
                    min(current[0], box.left),
                    min(current[1], box.top),
                    max(current[2], right),
                    max(current[3], bottom),
                ]
                continue
            if current is not None:
                out.append(_as_box(current))
            current = [box.left, box.top, right, bottom]
        if current is not None:
            out.append(_as_box(current))
    return out


def _same_line(current: list[float], box: Box) -> bool:
    """The box overlaps the line's height by half, and does not go back to its start."""
    overlap = min(current[3], box.top + box.height) - max(current[1], box.top)
    return overlap > 0.5 * min(current[3] - current[1], box.height) and box.left >= current[0] - 1


def _as_box(edges: list[float]) -> Box:
    left, top, right, bottom = edges
    return Box(left, top, right - left, bottom - top)
