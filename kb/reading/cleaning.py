"""Pure text clean-up shared by the readers: no I/O, no third-party imports.

Readers turn files into lines or blocks; these functions decide what is a heading, what is
boilerplate (share buttons, running headers and footers, repeated titles) and how broken
lines are re-joined.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_SOFT_HYPHEN = "\u00ad"
#: Control characters and private-use glyphs (PDF bullet symbols often extract as these).
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd]")

#: Short lines that web pages and their PDF or text copies carry around the real content.
_BOILERPLATE = re.compile(
    r"""^(
        share\s+(this\s+(article|post|page|story)\s+)?(on|via|to|with)\s+[\w+.-]+
      | share\s+this(\s+(article|post|page|story))?
      | (like|liked|enjoy|enjoyed|love|loved)\s+this\s+(article|post|page|story)
      | (tweet|pin\s+it|print(\s+this\s+(page|article))?|email\s+this(\s+\w+)?)
      | (previous|next)\s+(post|article|story)
      | related\s+(posts|articles|stories)
      | you\s+(may|might)\s+also\s+like
      | read\s+more | back\s+to\s+top | skip\s+to\s+(main\s+)?content
      | (subscribe|sign\s+up)\s+(to|for)\s+(our\s+)?newsletter.*
      | follow\s+us(\s+on\s+[\w+.-]+)?
      | (accept|reject)\s+(all\s+)?cookies
    )[\s.!?:]*$""",
    re.IGNORECASE | re.VERBOSE,
)

_PAGE_NUMBER = re.compile(r"^(page\s+)?[-–—\s]*\d{1,4}(\s*(of|/)\s*\d{1,4})?[-–—\s]*$", re.I)
_BULLET = re.compile(r"^\s*([-*•●○▪■◦–]|\[[ xX]?\]|\d{1,2}[.)])\s+")
_SENTENCE_END = (".", "!", "?", ":", ";", '."', ".”", "?”", "!”", ".)")


def clean_inline(text: str) -> str:
    """Collapse runs of spaces (including odd Unicode spaces) and drop soft hyphens."""
    text = _JUNK.sub(" ", text.replace(_SOFT_HYPHEN, "").replace("\r", ""))
    return _SPACES.sub(" ", text).strip()


def join_lines(lines: Iterable[str]) -> str:
    """Join the wrapped lines of one paragraph, re-joining words hyphenated at a line break.

    ``"treat-" + "ment"`` becomes ``"treatment"``; a hyphen before a capital or a digit
    (``"CO2-" + "Laser"``) is kept, as it is more likely a real compound.
    """
    out = ""
    for raw in lines:
        line = clean_inline(raw)
        if not line:
            continue
        if not out:
            out = line
        elif re.search(r"[a-z]-$", out) and line[:1].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}"
    return out


def split_long(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut after a sentence end in the
    second half of a piece where there is one, else at a space, else anywhere; only the
    spaces at the cuts are lost.
    """
    pieces: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        ends = [m.end() for m in _SENTENCE_BREAK.finditer(window, limit // 2)]
        cut = ends[-1] if ends else window.rfind(" ", limit // 2) + 1 or limit
        piece, text = text[:cut].rstrip(), text[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if text:
        pieces.append(text)
    return pieces


_SENTENCE_BREAK = re.compile(r"[.!?。！？][\"”’)]?\s")


def is_boilerplate(text: str) -> bool:
    """True for share buttons, "Like this article?", newsletter prompts and the like."""
    text = clean_inline(text)
    return len(text) <= 80 and bool(_BOILERPLATE.match(text))


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(clean_inline(text)))


def is_bullet(text: str) -> bool:
    return bool(_BULLET.match(text))


def normalize_key(text: str) -> str:
    """Lower-case letters and digits only, for comparing titles and repeated lines."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def looks_like_heading(line: str) -> bool:
    """A short line that reads as a heading rather than as prose.

    Used for formats that carry no heading markup (PDF text layers, plain text): short, no
    sentence-ending punctuation except a question mark, starts with a capital or a number,
    not a list item, and either mostly capitalised words or a question.
    """
    line = clean_inline(line)
    words = line.split()
    if not 1 <= len(words) <= 12 or len(line) > 90:
        return False
    if is_bullet(line) and not re.match(r"^\d{1,2}[.)]\s+[A-Z]", line):
        return False
    if line.endswith((".", ",", ";", ":", "!", "”", '"')) or not (line[0].isupper() or line[0].isdigit()):
        return False
    if line.isupper() or line.endswith("?"):
        return True
    long_words = [w for w in words if sum(c.isalpha() for c in w) >= 4]
    capitalised = [w for w in long_words if w[0].isupper()]
    return len(words) <= 4 or len(capitalised) >= max(1, len(long_words) / 2)


#: Notices that a document is a sample or describes a fictional clinic (a disclaimer, not content).
_SAMPLE_NOTICE = re.compile(
    r"""^\W*(about\s+this\s+document\W+)?sample\s+document\b
      | \bthis\s+is\s+an?\s+(sample|fictional|demo|demonstration)\s+document\b
      | \bsample\s+document\s+of\s+a\s+fictional\b
      | \bfictional\s+(clinic|practice|company|business|organi[sz]ation|document|sample)\b""",
    re.IGNORECASE | re.VERBOSE,
)
#: "Urgent line (24 hours): 555-0199": a label and a number, a statement rather than a heading.
_LABEL_VALUE = re.compile(r":\s*[+(]?\d[\d\s().+/-]{3,}$")
#: Multi-level section numbers: "2.1 Aftercare", "3.2.1. Soaks".
_SECTION_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,2})+)\.?\s+[A-Z]")
#: What a bullet leaves when it is drawn apart from its item: a glyph, "1.", "a)".
_BULLET_MARK = re.compile(r"^([-*•●○▪■◦–]|\d{1,2}[.)]|[a-zA-Z][.)]|\(\w{1,3}\))$")


def is_sample_notice(text: str, max_words: int = 100) -> bool:
    """True for a short "Sample document: ..." / "fictional clinic" disclaimer paragraph."""
    text = clean_inline(text)
    return len(text.split()) <= max_words and bool(_SAMPLE_NOTICE.search(text))


def is_label_value(line: str) -> bool:
    """True for "Main phone: 555-0100" and the like: a label, a colon and a number."""
    return bool(_LABEL_VALUE.search(clean_inline(line)))


def section_number_depth(line: str) -> int:
    """2 for "2.1 Aftercare", 3 for "3.2.1 Soaks"; 0 when the line has no multi-level number."""
    match = _SECTION_NUMBER.match(clean_inline(line))
    return match.group(1).count(".") + 1 if match else 0


def is_bullet_mark(text: str) -> bool:
    """A bullet glyph (any symbol: •, ✓, ➤) or list number on its own; PDFs often draw it
    apart from the item."""
    text = clean_inline(text)
    return len(text) <= 2 and not any(ch.isalnum() for ch in text) or bool(_BULLET_MARK.match(text))


def table_row_text(header: Sequence[str] | None, cells: Sequence[str]) -> str:
    """One table row as a sentence that stands on its own, cells labelled by the header row:
    ``"Fractional CO2 — main healing: 5–7 days; redness: 2–4 weeks"``.

    Without a header the cells are listed: ``"Monday — 8:00–18:00"``.
    """
    cells = [clean_inline(c) for c in cells]
    labels = [clean_inline(h) for h in header] if header else []
    rest = []
    for i, cell in enumerate(cells[1:], start=1):
        if not cell:
            continue
        label = _label(labels[i]) if i < len(labels) else ""
        rest.append(f"{label}: {cell}" if label and normalize_key(label) != normalize_key(cell) else cell)
    first = cells[0] if cells else ""
    if not first and labels and labels[0] and rest:
        return "; ".join(rest)
    if not rest:
        return first
    return f"{first} — {'; '.join(rest)}" if first else "; ".join(rest)


def _label(header: str) -> str:
    """A header cell as a label inside a sentence: "Main healing" -> "main healing"; acronyms,
    names with inner capitals and numbers ("SPF", "Er:YAG", "CO2 laser") are kept."""
    first = header.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower() and first[1:].isalpha():
        return header[0].lower() + header[1:]
    return header


def ends_sentence(line: str) -> bool:
    return line.rstrip().endswith(_SENTENCE_END)


def running_lines(pages: Sequence[Sequence[str]], edge: int = 2) -> set[str]:
    """Keys of lines repeated at the top or bottom of many pages: running headers/footers.

    A line counts when, with its digits masked (so "Page 3" matches "Page 4"), it is among
    the first or last ``edge`` lines of at least half the pages (and of two or more pages).
    """
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        nonempty = [line for line in lines if line.strip()]
        edges = {_mask(line) for line in nonempty[:edge] + nonempty[-edge:]}
        counts.update(edges)
    needed = max(2, (len(pages) + 1) // 2)
    return {key for key, n in counts.items() if n >= needed and key}


def is_running_line(line: str, keys: set[str]) -> bool:
    return _mask(line) in keys


def _mask(line: str) -> str:
    return re.sub(r"\d+", "#", normalize_key(line))
