"""The patient's words -> the documents' words: a clinic-editable glossary, spelling
variants and misspellings. Pure functions apart from rapidfuzz; the only rapidfuzz import.

A glossary file has one entry per line, the words patients use on the left and what the
documents call it on the right::

    # brand names
    accutane, roaccutane = isotretinoin
    fraxel = non-ablative fractional laser
    put to sleep, general anaesthetic = anaesthesia

A query that contains a left-hand term (whole words, any case) is searched with the
right-hand words added; the answer shows what was added ("searched for: isotretinoin").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: Most unknown words of one query that are looked up for a spelling fix.
MAX_FIXES = 8

#: Glossary entries: (patient terms, document words).
Glossary = tuple[tuple[tuple[str, ...], str], ...]


def parse_glossary(text: str, where: str = "glossary") -> Glossary:
    """Entries of a glossary file.

    Raises:
        ValueError: a line is not ``terms = words``; the message names the line.
    """
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        left, sep, right = line.partition("=")
        terms = tuple(t.strip().lower() for t in left.split(",") if t.strip())
        right = " ".join(right.split())
        if not sep or not terms or not right:
            raise ValueError(
                f"{where}, line {number}: expected 'patient words = document words', "
                f"e.g. 'accutane, roaccutane = isotretinoin'; got {raw.strip()!r}."
            )
        entries.append((terms, right))
    return tuple(entries)


def load_glossary(path: Path | None) -> Glossary:
    """The glossary at ``path``; empty when there is none."""
    if path is None or not Path(path).is_file():
        return ()
    return parse_glossary(Path(path).read_text(encoding="utf-8-sig"), str(path))


@dataclass(frozen=True)
class Rewrite:
    """A query as searched: the original text plus words added for the documents."""

    text: str
    added: tuple[str, ...] = field(default=())  # glossary words and corrected spellings

    @property
    def expanded(self) -> str:
        return " ".join([self.text, *self.added])

    @property
    def new_words(self) -> tuple[str, ...]:
        """What was added that the question does not already say: "makeup" for "make-up"
        is searched for, but "Also searched for: makeup" would tell the user nothing."""
        said = {w.lower() for w in re.findall(r"\w+", self.text)}
        return tuple(a for a in self.added if not {w.lower() for w in re.findall(r"\w+", a)} <= said)


def _term_pattern(term: str) -> re.Pattern[str]:
    # Hyphens, spaces or nothing between words and between letters and digits: "co2",
    # "co-2" and "co 2" are one term, and so are "retin-a" and "retin a".
    parts = [re.escape(p) for p in re.findall(r"[^\W\d_]+|\d+|[^\w\s-]", term)]
    return re.compile(r"(?<!\w)" + r"[\s-]?".join(parts) + r"(?!\w)", re.IGNORECASE)


def apply_glossary(query: str, glossary: Glossary) -> list[str]:
    """Document words for every glossary term the query contains, in glossary order."""
    added: list[str] = []
    for terms, words in glossary:
        if any(_term_pattern(t).search(query) for t in terms) and words not in added:
            added.append(words)
    return added


def joined_variants(query: str) -> list[str]:
    """ "co-2" -> "co2", "non ablative" stays, "re-surfacing" -> "resurfacing": words a
    hyphen or a space split apart, written together."""
    return [a + b for a, b in re.findall(r"\b(\w+)-(\w+)\b", query)]


def rewrite(
    query: str,
    glossary: Glossary = (),
    known: Callable[[str], bool] | None = None,
    correct: Callable[[str], str | None] | None = None,
    words: Callable[[str], list[str]] | None = None,
) -> Rewrite:
    """The query with glossary words, joined hyphen variants and spelling corrections added.

    Args:
        known: whether the documents contain a word (by the index's own normalisation).
        correct: the documents' word nearest to an unknown one, or None.
        words: the index's word splitter.
    """
    added = apply_glossary(query, glossary)
    if known is not None and words is not None:
        for variant in joined_variants(query):
            if known(variant) and variant not in added:
                added.append(variant)
        glossary_terms = {t for terms, _ in glossary for t in terms}
        unknown = [
            w
            for w in dict.fromkeys(words(query))
            if len(w) >= 5 and not w.isdigit() and not known(w) and w not in glossary_terms
        ]
        # A long rambling question is not worth a slow one: the first few unknown words
        # are the likeliest misspellings of what it is about.
        if unknown:  # "shouldn't" reaches the index as "shouldn": as real as its whole
            contracted = {
                token.split("'")[0]
                for token in re.findall(r"\w+'\w+", query.lower().replace("’", "'"))
                if zipf(token) >= REAL_WORD_ZIPF
            }
            unknown = [w for w in unknown if w not in contracted]
        for word in unknown[:MAX_FIXES]:
            fixed = split_compound(word, known) or (correct(word) if correct is not None else None)
            if fixed and fixed not in added and likely_fix(word, fixed):
                added.append(fixed)
    return Rewrite(query, tuple(added))


#: A word seen at least this often in English (Zipf scale: 3 is once per million words,
#: the 5,000th commonest word is 4.2) is a word: it is never corrected or split.
REAL_WORD_ZIPF = 3.0
#: Below that, a word is corrected only to one at least this much commoner (1.5 on the Zipf
#: scale is about 30 times), or when English does not know it at all.
COMMONER_BY = 1.5


def zipf(word: str) -> float:
    """How common ``word`` is in English: log10 of its frequency per billion words (wordfreq),
    0 for a word it has never seen."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def likely_fix(word: str, fix: str) -> bool:
    """Whether ``fix`` is a likely correction of ``word``: the word is not a real word
    ("warts" and "thanks" are, and stay) and the fix is much commoner, or the word is no
    English at all ("rednes")."""
    seen = zipf(word)
    if seen >= REAL_WORD_ZIPF:
        return False
    return seen == 0.0 or min(zipf(part) for part in fix.split()) - seen >= COMMONER_BY


def split_compound(word: str, known: Callable[[str], bool]) -> str | None:
    """ "skincare" -> "skin care": an unknown word written as two known ones run together."""
    for cut in range(3, len(word) - 2):
        if known(word[:cut]) and known(word[cut:]):
            return f"{word[:cut]} {word[cut:]}"
    return None


def nearest(word: str, vocabulary: Iterable[str] | Vocabulary, max_distance: int | None = None) -> str | None:
    """The vocabulary word within a small edit distance of ``word`` (1 for words of up to 7
    letters, 2 beyond), the closest and then the first; None if there is none."""
    limit = max_distance if max_distance is not None else (1 if len(word) <= 7 else 2)
    if not isinstance(vocabulary, Vocabulary):
        vocabulary = Vocabulary(vocabulary)
    return vocabulary.nearest(word, limit)


class Vocabulary:
    """Words grouped by length for spelling fixes: a word is compared only with the words
    whose length is within the edit distance, since no other can be that close (a million
    passages' vocabulary is scanned in a fraction of the time, with the same answer)."""

    def __init__(self, words: Iterable[str]) -> None:
        self._by_length: dict[int, tuple[list[str], list[int]]] = {}
        for order, word in enumerate(words):
            found, orders = self._by_length.setdefault(len(word), ([], []))
            found.append(word)
            orders.append(order)

    def nearest(self, word: str, limit: int) -> str | None:
        """The closest word within ``limit`` edits; on a tie, the first in the given order."""
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        best: tuple[int, int, str] | None = None  # (distance, order, word)
        for length in range(len(word) - limit, len(word) + limit + 1):
            if length not in self._by_length:
                continue
            found, orders = self._by_length[length]
            hit = process.extractOne(word, found, scorer=DamerauLevenshtein.distance, score_cutoff=limit)
            if hit and (best is None or (hit[1], orders[hit[2]]) < best[:2]):
                best = (hit[1], orders[hit[2]], hit[0])
        return best[2] if best else None


def similar(a: str, b: str) -> bool:
    """The two words differ by at most one letter (added, dropped, changed or swapped)."""
    from rapidfuzz.distance import DamerauLevenshtein

    return DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1
