"""The passage in its document: the page a result card's link opens.

``GET /view/<source>?passage=<id>`` is a standalone page (no gradio, nothing from another
site): the document's title, and the passage marked where the document has it, scrolled to
by the link's ``#passage``. The link carries the question (``&q=...``), so "Back to the
questions" opens the public page at ``/?q=...``, which asks it again: the results the
reader came from. A PDF shows the page (or pages, when the passage runs on over a
page break) as an image from ``GET /view-page/<source>?page=N``, with the passage's lines
marked by rectangles over it and its text below for screen readers; HTML, Markdown, text and
Word documents show their text as the ingester read it, with the passage in ``<mark>``.

Every route opens a document only through ``document_files.served_path``, as /files does,
and every piece of document text is escaped here. The page runs no script, and its
Content-Security-Policy lets it load only what this app serves. A passage that cannot be
placed in the document is still shown, with a note; an unknown document or passage is a 404
page that says so.
"""

from __future__ import annotations

import logging
import threading
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from cachetools import LRUCache
from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, HTMLResponse, Response

from kb.errors import IndexUnavailableError, KBError
from kb.reading.chunking import Passage
from kb.reading.documents import Document, Limits, read_document
from kb.web import alignment, pdf_pages
from kb.web.document_files import served_path
from kb.web.render import ask_url, file_url
from kb.web.startup import LOADING_WAIT

if TYPE_CHECKING:
    from kb.config import Settings
    from kb.search import KnowledgeBase
    from kb.web.startup import Knowledge

logger = logging.getLogger(__name__)

CSS_FILE = Path(__file__).parent / "viewer.css"
CSS_URL = "/view-assets/viewer.css"

#: The page loads only what this app serves, runs no inline code and cannot be framed elsewhere.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

#: Pages a passage is followed onto after the one it starts on.
MAX_PAGES = 3

NOT_MARKED = "The passage could not be found on the page, so it is not marked; its text is below."


def page_url(source: str, page: int) -> str:
    return f"/view-page/{quote(source)}?page={page}"


def add_viewer_routes(server: FastAPI, settings: Settings, knowledge: Knowledge) -> None:
    """Add /view/..., /view-page/... and the viewer's stylesheet to ``server`` (before any
    mount at "/", which would otherwise take these paths). ``knowledge(timeout)`` gives the
    knowledge base once it is loaded (kb.web.server)."""
    documents_dir = Path(settings.documents_dir).resolve()
    texts = _DocumentTexts(settings)

    @server.get(CSS_URL, include_in_schema=False)
    def viewer_css() -> FileResponse:
        return FileResponse(CSS_FILE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @server.get("/view/{source:path}", include_in_schema=False)
    def view(source: str, passage: str = "", q: str = "") -> HTMLResponse:
        back = ask_url(q[: settings.max_query_chars])
        path = served_path(documents_dir, source)
        if path is None:
            return not_found("There is no such document.", back)
        try:
            kb = knowledge(LOADING_WAIT)
        except IndexUnavailableError as exc:  # starting, or the database is away
            body = f'<p class="note">{escape(str(exc))}</p>'
            return _page("Try again in a moment", "", body, status=503, back=back)
        found = find_passage(kb, source, passage)
        if found is None:
            return not_found(
                "This passage is not in the clinic's documents any more (they may have been "
                "updated since the search). Ask your question again.",
                back,
            )
        title = next((d.title for d in kb.documents() if d.source == source), found.title)
        if path.suffix.lower() == ".pdf":
            body = _pdf_body(path, source, found)
        else:
            body = _text_body(texts.read(path), source, found)
        return _page(title, source, body, back=back)

    @server.get("/view-page/{source:path}", include_in_schema=False)
    def view_page(source: str, page: int = Query(1, ge=1, le=100_000)) -> Response:
        path = served_path(documents_dir, source)
        if path is None or path.suffix.lower() != ".pdf":
            return Response("No such document.", status_code=404, media_type="text/plain")
        try:
            png = pdf_pages.page_png(path, page)
        except pdf_pages.PageNotFound as exc:
            return Response(str(exc), status_code=404, media_type="text/plain")
        return Response(
            png,
            media_type="image/png",
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )


def find_passage(kb: KnowledgeBase, source: str, passage_id: str) -> Passage | None:
    """The passage of ``source`` with that id in the generation in service."""
    if not passage_id.startswith(source + "#"):
        return None
    return next((p for p in kb.generation.passages_of(source) if p.id == passage_id), None)


class _DocumentTexts:
    """Documents read as the ingester reads them, the last few kept (keyed by size and time
    of change, so a replaced file is read again)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache: LRUCache = LRUCache(maxsize=8)
        self.lock = threading.Lock()

    def read(self, path: Path) -> Document | str:
        """The document, or why it cannot be read now."""
        info = path.stat()
        key = (str(path), info.st_size, info.st_mtime_ns)
        with self.lock:
            cached = self.cache.get(key)
        if cached is not None:
            return cached
        try:
            document = read_document(
                path,
                Path(self.settings.documents_dir).resolve(),
                self.settings.max_document_bytes,
                limits=Limits(max_unpacked_bytes=self.settings.max_unpacked_bytes),
            )
        except KBError as exc:
            return str(exc)
        with self.lock:
            self.cache[key] = document
        return document


# --- HTML -------------------------------------------------------------------------------


def _page(title: str, source: str, body: str, status: int = 200, back: str = "/") -> HTMLResponse:
    original = f' · <a href="{escape(file_url(source))}">Open the original file</a>' if source else ""
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Clinic knowledge base</title>"
        f'<link rel="stylesheet" href="{CSS_URL}"></head><body>'
        f'<nav class="top"><a href="{escape(back)}">Back to the questions</a>{original}</nav>'
        f"<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def not_found(message: str, back: str = "/") -> HTMLResponse:
    return _page("Not found", "", f'<p class="note">{escape(message)}</p>', status=404, back=back)


def _where(passage: Passage) -> str:
    parts = [f"page {passage.page}"] if passage.page else []
    if passage.section:
        parts.append(escape(passage.section))
    return f" ({', '.join(parts)})" if parts else ""


def _intro(passage: Passage, marked: bool) -> str:
    if not marked:
        return f'<p class="note" role="note">{NOT_MARKED}</p>'
    return (
        f'<p class="intro">The passage from your search{_where(passage)} is highlighted. '
        '<a href="#passage">Go to the passage</a></p>'
    )


def _passage_text(passage: Passage, anchor: bool) -> str:
    """The passage's own text, escaped: for screen readers beside a page image, and the
    place the link goes to when the passage could not be marked."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in passage.text.split("\n\n") if p.strip())
    anchor_id = ' id="passage" tabindex="-1"' if anchor else ""
    return (
        f'<section class="passage-text" aria-labelledby="passage-heading"{anchor_id}>'
        f'<h2 id="passage-heading">The passage{_where(passage)}</h2>'
        f"<blockquote>{paragraphs}</blockquote></section>"
    )


def _pdf_body(path: Path, source: str, passage: Passage) -> str:
    first = passage.page or 1
    try:
        pages = [pdf_pages.page_text(path, first)]
        for number in range(first + 1, min(first + MAX_PAGES, pages[0].pages + 1)):
            pages.append(pdf_pages.page_text(path, number))
    except pdf_pages.PageNotFound as exc:
        logger.warning("Viewer: %s", exc)
        return _intro(passage, False) + _passage_text(passage, True)
    placements = alignment.place_across(passage.text, [p.text for p in pages])
    if pages[0].rotated:  # boxes on a turned page would be drawn in the wrong place
        placements = []
    figures: list[str] = []
    anchored = False
    for offset, placement in enumerate(placements or [None]):
        page = pages[offset]
        boxes = pdf_pages.line_boxes(page, placement.spans) if placement else []
        rects = []
        for box in boxes:
            anchor = "" if anchored else ' id="passage"'
            anchored = True
            rects.append(
                f'<rect{anchor} x="{box.left:.1f}" y="{box.top:.1f}" '
                f'width="{box.width:.1f}" height="{box.height:.1f}" rx="1.5"></rect>'
            )
        number = first + offset
        scale = pdf_pages.scale(page.width, page.height)
        figures.append(
            f'<figure class="pdf-page" aria-labelledby="page-{number}">'
            f'<figcaption id="page-{number}">Page {number} of {page.pages}</figcaption>'
            '<div class="sheet">'
            f'<img src="{escape(page_url(source, number))}" width="{round(page.width * scale)}" '
            f'height="{round(page.height * scale)}" alt="Page {number} of the document, as printed">'
            f'<svg class="marks" viewBox="0 0 {page.width:.1f} {page.height:.1f}" '
            f'preserveAspectRatio="none" aria-hidden="true">{"".join(rects)}</svg>'
            "</div></figure>"
        )
    return _intro(passage, anchored) + "".join(figures) + _passage_text(passage, not anchored)


def _text_body(document: Document | str, source: str, passage: Passage) -> str:
    if isinstance(document, str):  # it cannot be read now: the passage alone
        logger.warning("Viewer: %s", document)
        return _intro(passage, False) + _passage_text(passage, True)
    if document.text[passage.start : passage.end] == passage.text:
        spans: tuple[tuple[int, int], ...] = ((passage.start, passage.end),)
    else:  # the document changed since it was indexed: look for the passage's words
        placement = alignment.place(passage.text, document.text)
        spans = placement.spans if placement else ()
    if not spans:
        return _intro(passage, False) + _document_html(document, ()) + _passage_text(passage, True)
    return _intro(passage, True) + _document_html(document, spans)


def _document_html(document: Document, spans: tuple[tuple[int, int], ...]) -> str:
    """The document's blocks as headings and paragraphs, escaped, with the parts inside
    ``spans`` (offsets into ``document.text``) in <mark>; the first mark is #passage."""
    out = ['<article class="document">']
    anchored = False
    # The document's top heading level sits under the page's h1.
    top = min((b.level for b in document.blocks if b.kind == "heading"), default=1)
    for block in document.blocks:
        pieces, at = [], block.start
        for start, end in spans:
            start, end = max(start, block.start), min(end, block.end)
            if start >= end:
                continue
            pieces.append(escape(document.text[at:start]))
            anchor = "" if anchored else ' id="passage"'
            anchored = True
            pieces.append(f"<mark{anchor}>{escape(document.text[start:end])}</mark>")
            at = end
        pieces.append(escape(document.text[at : block.end]))
        inner = "".join(pieces).replace("\n", "<br>")
        if block.kind == "heading":
            level = min(2 + max(block.level - top, 0), 6)
            out.append(f"<h{level}>{inner}</h{level}>")
        else:
            out.append(f'<p class="{block.role}">{inner}</p>')
    out.append("</article>")
    return "".join(out)
