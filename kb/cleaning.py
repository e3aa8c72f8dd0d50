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
