"""Where a passage lies in a text it was read from: pure functions, no I/O.

A passage is the reader's text after cleaning and chunking, so it may differ from the page
text a viewer shows: spaces and line breaks, words re-joined across a hyphenated line break,
ligatures ("ﬁ"), a running footer dropped between two pages, a table row written as a
labelled sentence ("Fractional CO2 — main healing: 5–7 days"). Both sides are compared by
their letters and digits only (NFKC, casefolded), with a map back to the original
characters. The whole passage is looked for first; failing that, it is covered greedily by
the longest runs of it that the text holds, so the part of a passage on this page is found
when the rest is on the next one, and a label the page does not repeat is skipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: Runs shorter than this (letters and digits) are too common to place a passage by.
MIN_RUN = 12
#: Share of the passage's letters and digits that must be found for it to count as placed.
MIN_COVERAGE = 0.5
#: A next page counts when it holds at least this share of what is left of the passage.
NEXT_PAGE_SHARE = 0.3
#: How far past the piece before it (in letters and digits) a short piece is looked for.
NEAR = 60
#: Where a passage's pieces part: sentence and clause ends, a table row's " — " and ": ".
_PIECE_BREAK = re.compile(r"\s[—–]\s|[.;:!?](?=\s)|\n")


@dataclass(frozen=True)
class Placement:
    """Where a passage (or the part of it on one page) is in a text."""

    #: Spans (start, end) of the text's own characters, in order, merged where only spaces
    #: and punctuation lie between them.
    spans: tuple[tuple[int, int], ...]
    #: Letters and digits of the passage found in the text, and how many it has.
    found: int
    length: int
    #: Where in the passage the part not found at the end begins (len(passage) when the
    #: passage ends here): what a next page may hold.
    rest: int

    @property
    def coverage(self) -> float:
        """Share of the passage's letters and digits found, 0 to 1."""
        return self.found / self.length if self.length else 0.0


def normalize(text: str) -> tuple[str, list[int]]:
    """``text``'s letters and digits, NFKC-normalized and casefolded, and for each of them
    the index of the character of ``text`` it came from."""
    out: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        if char.isascii():
            if char.isalnum():
                out.append(char.lower())
                origin.append(i)
            continue
        for c in unicodedata.normalize("NFKC", char).casefold():
            if c.isalnum():
                out.append(c)
                origin.append(i)
    return "".join(out), origin


def place(passage: str, text: str, min_coverage: float = MIN_COVERAGE) -> Placement | None:
    """Where ``passage`` is in ``text``, or None when less than ``min_coverage`` of its
    letters and digits are found there (or the passage has none)."""
    needle, needle_origin = normalize(passage)
    haystack, origin = normalize(text)
    if not needle:
        return None
    at = haystack.find(needle)
    # Runs as (needle start, haystack start, length).
    runs = [(0, at, len(needle))] if at >= 0 else _in_order(_cover(passage, haystack))
    found = sum(length for _, _, length in runs)
    if not runs or found < min_coverage * len(needle) or found == 0:
        return None
    last = max(n + length for n, _, length in runs)
    rest = needle_origin[last] if last < len(needle) else len(passage)
    spans = _to_text([(h, h + length) for _, h, length in runs], origin)
    return Placement(spans, found, len(needle), rest)


def place_across(
    passage: str, pages: Sequence[str], min_coverage: float = MIN_COVERAGE
) -> list[Placement | None]:
    """Where ``passage`` is on consecutive pages, the first being the page it starts on:
    the part found on one page, then what follows it on the next, while the next page
    holds a good part of what is left (a passage runs on over a page break).

    Returns:
        One placement (None: nothing of it there) per page, as far as the passage goes;
        empty when less than ``min_coverage`` of it is found in all.
    """
    length = len(normalize(passage)[0])
    placements: list[Placement | None] = []
    offset = 0
    for i, page in enumerate(pages):
        rest = passage[offset:]
        if i and len(normalize(rest)[0]) < MIN_RUN:
            break
        placement = place(rest, page, min_coverage=0.0 if i == 0 else NEXT_PAGE_SHARE)
        if placement is None and i:
            break
        placements.append(placement)
        if placement is not None:
            offset += placement.rest
    found = sum(p.found for p in placements if p is not None)
    if found < min_coverage * max(length, 1):
        return []
    return placements


def _cover(passage: str, haystack: str) -> list[tuple[int, int, int]]:
    """Runs (needle start, haystack start, length) holding the pieces of ``passage``
    between its punctuation, in order: a piece found just after the one before it is taken
    whatever its length (a table cell, "7–14 days"); a piece found nowhere near is covered
    by the longest runs of it of at least MIN_RUN letters found further on. Nothing is
    looked for behind the piece before: a table row's labels ("typical sessions: ...") are
    printed once, in the header above, and would mark the header instead of the row."""
    runs: list[tuple[int, int, int]] = []
    i, cursor = 0, None
    for piece in _PIECE_BREAK.split(passage):
        needle, _ = normalize(piece)
        if not needle:
            continue
        at = -1 if cursor is None else haystack.find(needle, cursor, cursor + len(needle) + NEAR)
        if at >= 0:
            runs.append((i, at, len(needle)))
            cursor = at + len(needle)
        elif len(needle) >= MIN_RUN:
            for n, h, length in _cover_piece(needle, haystack, cursor or 0):
                runs.append((i + n, h, length))
                cursor = h + length
        i += len(needle)
    return runs


def _cover_piece(needle: str, haystack: str, cursor: int) -> list[tuple[int, int, int]]:
    """Runs of at least MIN_RUN letters covering ``needle`` greedily from its start, each
    found at or after ``cursor`` and after the one before it."""
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i <= len(needle) - MIN_RUN:
        length, at = _longest_prefix(needle, i, haystack, cursor)
        if length >= MIN_RUN:
            runs.append((i, at, length))
            i += length
            cursor = at + length
        else:
            i += 1  # a character the text lacks here (a label, the next page's part)
    return runs


def _in_order(runs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The runs that keep the passage's order in the text, as many letters as possible: a
    piece found out of order is a phrase the passage shares with another part of the page."""
    if not runs:
        return []
    # Runs are in needle order; keep the heaviest chain whose haystack starts increase.
    best = [length for _, _, length in runs]
    before = [-1] * len(runs)
    for j, (_, h, length) in enumerate(runs):
        for i in range(j):
            if runs[i][1] < h and best[i] + length > best[j]:
                best[j], before[j] = best[i] + length, i
    j = max(range(len(runs)), key=best.__getitem__)
    chain = []
    while j >= 0:
        chain.append(runs[j])
        j = before[j]
    return chain[::-1]


def _longest_prefix(needle: str, i: int, haystack: str, cursor: int) -> tuple[int, int]:
    """The longest prefix of ``needle[i:]`` in ``haystack`` at or after ``cursor``, as
    (length, position); (0, -1) when not even MIN_RUN characters are."""
    # A prefix that occurs has every shorter prefix occurring too: binary search its length.
    low, high, best = MIN_RUN, len(needle) - i, (0, -1)
    while low <= high:
        mid = (low + high) // 2
        piece = needle[i : i + mid]
        at = haystack.find(piece, cursor)
        if at >= 0:
            best = (mid, at)
            low = mid + 1
        else:
            high = mid - 1
    return best


def _to_text(runs: list[tuple[int, int]], origin: list[int]) -> tuple[tuple[int, int], ...]:
    """Normalized runs as spans of the original text, sorted and merged where they touch."""
    spans: list[list[int]] = []
    for start, end in sorted(runs):
        first, last = origin[start], origin[end - 1] + 1
        if spans and start <= spans[-1][2]:  # the runs touch: one span
            spans[-1][1] = max(spans[-1][1], last)
            spans[-1][2] = max(spans[-1][2], end)
        else:
            spans.append([first, last, end])
    return tuple((first, last) for first, last, _ in spans)
