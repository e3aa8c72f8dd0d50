"""Markdown -> blocks: the only markdown-it import. Headings, paragraphs, list items,
tables (labelled rows), code blocks; raw HTML blocks are read as text."""

from __future__ import annotations

from kb.reading import cleaning
from kb.reading.readers.base import Limits, Raw, Reading, Removed, labelled_rows
from kb.reading.readers.encoding import decode_text


def read(data: bytes, source: str, limits: Limits) -> Reading:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(decode_text(data, source))
    raw: list[Raw] = []
    removed: list[Removed] = []
    heading_level = 0
    lists = 0  # depth of bullet or ordered lists around the current token
    table: list[list[str]] | None = None
    row: list[str] | None = None
    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "heading_close":
            heading_level = 0
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        elif token.type == "table_open":
            table = []
        elif token.type == "table_close" and table is not None:
            # A Markdown table always has a header row.
            raw.extend(Raw("paragraph", text, None, 0, "row") for text in labelled_rows(table, True, removed))
            table = None
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            if table is not None and (any(row) or not table):
                table.append(row)
            row = None
        elif token.type == "inline":
            text = _markdown_inline_text(token)
            if row is not None:
                row.append(cleaning.clean_inline(text))
            elif heading_level:
                raw.append(Raw("heading", text, None, heading_level))
            else:
                raw.append(Raw("paragraph", text, None, 0, "item" if lists else "text"))
        elif token.type in ("fence", "code_block"):
            raw.append(Raw("paragraph", token.content))
        elif token.type == "html_block":
            from kb.reading.readers.html import html_text

            raw.append(Raw("paragraph", html_text(token.content)))
    title = next((b.text for b in raw if b.kind == "heading" and b.level == 1), None)
    return Reading(title, None, raw, removed)


def _markdown_inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)
