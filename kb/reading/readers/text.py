"""Plain text -> blocks. Paragraphs are separated by blank lines; a short line set apart
(underlined, in capitals, or short and capitalised) is a heading. The first line is the
title only when it reads as a heading; a file that opens with a sentence is titled by its
file name, and the sentence stays in the text."""

from __future__ import annotations

from kb.reading import cleaning
from kb.reading.readers.base import Limits, Raw, Reading, Removed
from kb.reading.readers.encoding import decode_text


def read(data: bytes, source: str, limits: Limits) -> Reading:
    lines = decode_text(data, source).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    raw: list[Raw] = []
    removed: list[Removed] = []
    paragraph: list[str] = []

    def flush() -> None:
        if not paragraph:
            return
        if len(paragraph) == 1 and cleaning.looks_like_heading(paragraph[0]):
            raw.append(Raw("heading", paragraph[0], None, 2))
        else:
            raw.append(Raw("paragraph", cleaning.join_lines(paragraph)))
        paragraph.clear()

    for i, line in enumerate(lines):
        stripped = line.strip()
        underline = i + 1 < len(lines) and _is_underline(lines[i + 1]) and stripped
        if not stripped or _is_underline(line) or cleaning.is_boilerplate(stripped):
            if stripped and not _is_underline(line):
                removed.append(Removed(cleaning.clean_inline(stripped), "boilerplate"))
            flush()
        elif underline or (stripped.isupper() and cleaning.looks_like_heading(stripped)):
            flush()
            raw.append(Raw("heading", stripped, None, 1 if underline and "=" in lines[i + 1] else 2))
        else:
            if cleaning.is_bullet(stripped):
                flush()
            paragraph.append(stripped)
    flush()
    return Reading(_text_title(lines), None, raw, removed)


def _text_title(lines: list[str]) -> str | None:
    """The first line when it reads as a heading, or the first lines run together when a
    file opens with several heading lines (say the clinic's name, then the document's)."""
    head: list[str] = []
    for line in lines:
        stripped = cleaning.clean_inline(line)
        if not stripped:
            if head:
                break
            continue
        if not cleaning.looks_like_heading(stripped):
            break
        head.append(stripped)
    if not head:
        return None
    return " — ".join(_unshout(part) for part in head[:3])


def _unshout(text: str) -> str:
    """'BOOKING AND CANCELLATION POLICY' -> 'Booking and Cancellation Policy'."""
    if not text.isupper():
        return text
    small = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
    words = text.lower().split()
    return " ".join(w if i and w in small else w[:1].upper() + w[1:] for i, w in enumerate(words))


def _is_underline(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= 3 and set(stripped) <= {"=", "-", "_", "~", "*"}
