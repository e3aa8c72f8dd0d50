"""HTML -> blocks: the only BeautifulSoup import.

The page is decoded by its byte-order mark, then its declared ``<meta charset>``, then by
guessing (``kb.reading.readers.encoding``). The content is the page's ``<main>`` (or ``<article>``,
or ``<body>``); page furniture (menus, footers, cookie banners, share boxes), code (scripts,
styles, iframes, embedded objects) and hidden elements are removed and listed. Nesting
deeper than ``MAX_DEPTH`` is read as running text, so a page nested 5,000 deep is read, not
a RecursionError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kb.errors import DocumentError
from kb.reading import cleaning
from kb.reading.readers.base import BlockRole, Limits, Raw, Reading, Removed, labelled_rows
from kb.reading.readers.encoding import decode_html

#: Elements below this depth are read as the text of their ancestor at this depth.
MAX_DEPTH = 100

#: Tags whose content is code or an embedded object, never text.
_HTML_CODE = ["script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed"]
#: Tags of page furniture.
_HTML_FURNITURE = ["nav", "aside", "footer", "form", "button", "select", "input", "dialog"]
_HTML_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "address",
    "details",
    "summary",
    "body",
    "html",
    "hr",
    "caption",
    "center",
}
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
#: class or id words of page furniture ("consent" is not one: a clinic's consent text is content).
_HTML_NOISE_ATTR = (
    r"(^|[-_ ])(share|sharing|social|cookies?|banner|breadcrumbs?|newsletter|comments?|sidebar"
    r"|popup|modal|advert|ads|promo|related|menu|navbar|skip)([-_ ]|$)"
)


def read(data: bytes, source: str, limits: Limits) -> Reading:
    from bs4 import BeautifulSoup
    from bs4.exceptions import ParserRejectedMarkup

    try:
        soup = BeautifulSoup(decode_html(data, source), "html.parser")
    except ParserRejectedMarkup as exc:
        raise DocumentError(
            f"{source}: the page's markup could not be parsed ({str(exc).splitlines()[-1].strip()}). "
            "Open it in a browser, save it again (or save it as PDF) and upload that."
        ) from None
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    root = soup.find("main") or soup.find("article") or soup.body or soup
    removed = _outside(root)
    noise_attr = re.compile(_HTML_NOISE_ATTR, re.I)
    furniture = _HTML_FURNITURE + ([] if root.name in ("main", "article") else ["header"])
    doomed = [(tag, "code") for tag in root.find_all(_HTML_CODE)]
    doomed += [(tag, "navigation") for tag in root.find_all(furniture)]
    for tag in root.find_all(True):
        classes = " ".join(tag.get("class") or [])
        if (
            noise_attr.search(classes)
            or noise_attr.search(tag.get("id") or "")
            or tag.get("role") in ("navigation", "banner", "contentinfo")
        ):
            doomed.append((tag, "navigation"))
        if tag.get("hidden") is not None or tag.get("aria-hidden") == "true":
            doomed.append((tag, "hidden"))
    for tag, rule in doomed:
        if not tag.decomposed:
            text = cleaning.clean_inline(tag.get_text(" "))
            if text:
                removed.append(Removed(text, rule))
            tag.decompose()
    raw = list(_walk_html(root, removed))
    h1 = next((b.text for b in raw if b.kind == "heading" and b.level == 1), None)
    return Reading(h1 or title, None, raw, removed)


def _outside(root) -> list[Removed]:
    """The body's text outside the content root (a page's menus and footers around <main>)."""
    removed: list[Removed] = []
    node = root
    while node is not None and node.name not in ("body", "html", "[document]"):
        for sibling in [*node.previous_siblings, *node.next_siblings]:
            text = cleaning.clean_inline(sibling.get_text(" ") if hasattr(sibling, "get_text") else "")
            if text and getattr(sibling, "name", None) not in ("head", "title"):
                removed.append(Removed(text, "code" if sibling.name in _HTML_CODE else "navigation"))
        node = node.parent
    return removed


def html_text(fragment: str) -> str:
    """The text of an HTML fragment (raw HTML inside Markdown), without code."""
    from bs4 import BeautifulSoup
    from bs4.exceptions import ParserRejectedMarkup

    try:
        soup = BeautifulSoup(fragment, "html.parser")
    except ParserRejectedMarkup:
        return fragment  # not markup after all: its text as written
    for tag in soup.find_all(_HTML_CODE):
        tag.decompose()
    return soup.get_text(" ")


def _walk_html(node, removed: list[Removed], role: BlockRole = "text", depth: int = 0) -> Iterator[Raw]:
    from bs4 import Comment, NavigableString, Tag

    inline: list[str] = []

    def flush() -> Iterator[Raw]:
        text = cleaning.clean_inline("".join(inline))
        inline.clear()
        if text:
            yield Raw("paragraph", text, None, 0, role)

    structure = list(_HTML_BLOCKS) + ["table"] + list(_HTML_HEADINGS)
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            inline.append(str(child))
        elif not isinstance(child, Tag):
            continue
        elif depth >= MAX_DEPTH:
            inline.append(" " + child.get_text(" ") + " ")  # too deep for structure: its text
        elif child.name in _HTML_HEADINGS:
            yield from flush()
            yield Raw("heading", child.get_text(" ", strip=True), None, _HTML_HEADINGS[child.name])
        elif child.name == "table":
            yield from flush()
            yield from _html_table(child, removed)
        elif child.name == "br":
            inline.append(" ")
        elif child.name in _HTML_BLOCKS or child.find(structure):
            yield from flush()
            yield from _walk_html(child, removed, "item" if child.name == "li" else role, depth + 1)
        else:
            inline.append(child.get_text())
    yield from flush()


def _html_table(table, removed: list[Removed]) -> Iterator[Raw]:
    """The caption, then each row as a labelled sentence; the first row is the header when
    all its cells are ``th``."""
    caption = table.find("caption")
    if caption is not None:
        yield Raw("paragraph", caption.get_text(" ", strip=True))
    rows = [row for row in table.find_all("tr") if row.find_parent("table") is table]
    cells = [
        [
            cleaning.clean_inline(c.get_text(" ", strip=True))
            for c in row.find_all(["th", "td"], recursive=False)
        ]
        for row in rows
    ]
    header = bool(rows) and all(c.name == "th" for c in rows[0].find_all(["th", "td"], recursive=False))
    for text in labelled_rows([row for row in cells if any(row)], header and any(cells[0]), removed):
        yield Raw("paragraph", text, None, 0, "row")
