"""Warning signs in a question, and the clinic's urgent contact from its own documents.

The rules live in a plain-text file clinic staff can read and extend (``warning-signs.txt``;
its header explains the format): each warning sign is a list of phrases matched against
the question's words. A question that only asks about a symptom ("What are the signs of
infection?") is told apart from one that describes it ("my chin has green pus") by the
file's [asking] and [describing] phrases. False alarms are cheap here (a notice to call),
missed ones are not, so the rules lean towards matching.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.search.query import similar

#: Up to this many other words may stand where a phrase says "..".
GAP_WORDS = 6
#: Words this long match with one letter wrong ("blistres"); shorter ones collide with
#: everyday words ("swell" and "smell", "infect" and "inject", "sweats" and "sweaty").
FUZZY_LETTERS = 7
_ASKING, _DESCRIBING = "asking", "describing"
_URGENT_EXAMPLES, _CALM_EXAMPLES = "urgent examples", "not urgent examples"
#: Texts whose warning signs each set of rules remembers.
_NAMED_CACHE = 20_000
#: The notice's name for a warning sign found by likeness to an example alone.
UNNAMED_SIGN = "symptoms that need a check"


@dataclass(frozen=True, eq=False)  # identity: hashed on every lookup of matches' cache
class _Word:
    options: tuple[str, ...]
    prefix: bool  # "blister*": any ending

    # Every question is checked against every phrase, and the fuzzy comparison is the
    # cost: remembered per (phrase word, question word), since questions share most words.
    @functools.lru_cache(maxsize=1 << 16)  # noqa: B019 - the rules live as long as the app
    def matches(self, word: str) -> bool:
        for option in self.options:
            if self.prefix:
                if word.startswith(option) or (
                    len(option) >= FUZZY_LETTERS and similar(word[: len(option)], option)
                ):
                    return True
            elif word == option or (len(option) >= FUZZY_LETTERS and similar(word, option)):
                return True
        return False


#: A phrase: words, with None where ".." allows a gap.
Phrase = tuple[_Word | None, ...]


@dataclass(frozen=True)
class WarningRules:
    """Named warning signs, each a list of phrases, and the asking / describing phrases."""

    signs: tuple[tuple[str, tuple[Phrase, ...]], ...]
    asking: tuple[Phrase, ...] = ()
    describing: tuple[Phrase, ...] = ()
    #: Questions that describe warning signs, and questions that only mention symptoms.
    urgent_examples: tuple[str, ...] = ()
    calm_examples: tuple[str, ...] = ()

    def warning_signs(self, question: str, nearest_example: str | None = None) -> list[str]:
        """Names of the warning signs the question describes; empty if none.

        Args:
            nearest_example: the example question nearest in meaning, if the caller has a
                model to tell; when it is an urgent example, the question is urgent even
                if no phrase matched, under the example's sign names.
        """
        found = self.matched_signs(question)
        if not found and nearest_example is not None and nearest_example in self.urgent_examples:
            found = self.matched_signs(nearest_example) or [UNNAMED_SIGN]
        return found

    def named_signs(self, text: str) -> list[str]:
        """Names of the warning signs whose phrases occur in ``text``, asked about or not."""
        words = question_words(text)
        return [name for name, phrases in self.signs if any(_match(p, words) for p in phrases)]

    def named_in_document(self, text: str) -> list[str]:
        """``named_signs`` of a document's sentence, as it is spelled: only the phrases
        whose first word is in it are tried, and each text is remembered, since the same
        sentences come back answer after answer (a question's own words may be misspelled,
        so ``named_signs`` tries every phrase)."""
        cache = self.__dict__.setdefault("_named", {})
        found = cache.get(text)
        if found is None:
            words = question_words(text)
            exact, prefixes, phrases = self._first_words()
            present = set(words)
            tried = set().union(*(exact.get(w, ()) for w in present))
            tried |= {i for option, ids in prefixes if any(w.startswith(option) for w in present) for i in ids}
            found = list(dict.fromkeys(phrases[i][0] for i in sorted(tried) if _match(phrases[i][1], words)))
            if len(cache) >= _NAMED_CACHE:
                cache.clear()
            cache[text] = found
        return list(found)

    def _first_words(self):
        """(exact first word -> phrase numbers, [(prefix, phrase numbers)], [(sign, phrase)])."""
        index = self.__dict__.get("_first")
        if index is None:
            phrases = [(name, phrase) for name, group in self.signs for phrase in group if phrase]
            exact: dict[str, set[int]] = {}
            prefixes: dict[str, set[int]] = {}
            for i, (_, phrase) in enumerate(phrases):
                first = phrase[0]
                options = first.options if first is not None else ("",)
                for option in options:
                    target = prefixes if first is None or first.prefix else exact
                    target.setdefault(option, set()).add(i)
            index = (exact, list(prefixes.items()), phrases)
            self.__dict__["_first"] = index
        return index

    def matched_signs(self, question: str) -> list[str]:
        """Names of the warning signs the rules' phrases find in the question."""
        words = question_words(question)
        found = self.named_signs(question)
        asks = found and any(_match(p, words) for p in self.asking)
        if asks and not any(_match(p, words) for p in self.describing):
            return []  # asks about a symptom, describes none
        return found


#: A sentence that tells the reader to act: call, come in, seek care.
_ACT = re.compile(
    r"\b(call|phone|contact|ring|seek|come in|get in touch|emergency|urgent(?:ly)?|immediately|right away|"
    r"straight away|promptly|not normal|abnormal|warning signs?|signs? of infection)\b",
    re.IGNORECASE,
)
#: A sentence that reassures: what it names is to be expected.
_REASSURING = re.compile(r"\b(expected|normal|common|usual|typical|harmless|nothing to worry)\b", re.IGNORECASE)
_NOT_REASSURING = re.compile(
    r"\b(not|isn'?t|aren'?t|never|no longer|un)\s*(?:\w+\s+)?(expected|normal|common|usual|typical)\b|\babnormal\b",
    re.IGNORECASE,
)


def warning_sentence(rules: WarningRules, sentences: Sequence[str], order: Sequence[int]) -> int | None:
    """Of a passage's sentences, the one to mark for a question that describes warning
    signs: among those that name a warning sign and do not reassure ("Clear oozing during
    the first few days is expected"), one that also says to call or seek help first, then
    the nearest the question (``order``: sentence indexes, nearest first). None when the
    passage names no warning sign (``KnowledgeBase`` then marks its nearest sentence that
    does not reassure)."""
    naming = [i for i in order if rules.named_in_document(sentences[i]) and not reassures(sentences[i])]
    acting = [i for i in naming if _ACT.search(sentences[i])]
    return (acting or naming or [None])[0]


def reassures(sentence: str) -> bool:
    """Whether a sentence says what it names is to be expected ("…is normal"), not the
    opposite ("…is not normal")."""
    return bool(_REASSURING.search(sentence)) and not _NOT_REASSURING.search(sentence)


def question_words(text: str) -> list[str]:
    """Lower-case words, apostrophes dropped ("can't" -> "cant")."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("’", ""))


def parse_rules(text: str, where: str = "warning signs") -> WarningRules:
    """Rules from the warning-signs file format (see the file's header).

    Raises:
        ValueError: a phrase before any [heading], or an empty heading; the line is named.
    """
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip().lower()
            if not current:
                raise ValueError(f"{where}, line {number}: a heading needs a name, e.g. [fever].")
            sections.setdefault(current, [])
            continue
        if current is None:
            raise ValueError(f"{where}, line {number}: {raw.strip()!r} comes before any [heading].")
        sections[current].append(line)
    urgent = tuple(sections.pop(_URGENT_EXAMPLES, []))
    calm = tuple(sections.pop(_CALM_EXAMPLES, []))
    if bool(urgent) != bool(calm):
        raise ValueError(f"{where}: give both [urgent examples] and [not urgent examples], or neither.")
    phrases = {name: tuple(_phrase(line.lower()) for line in lines) for name, lines in sections.items()}
    asking = phrases.pop(_ASKING, ())
    describing = phrases.pop(_DESCRIBING, ())
    return WarningRules(tuple(phrases.items()), asking, describing, urgent, calm)


def load_rules(path: Path) -> WarningRules:
    """Rules from a file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: as ``parse_rules``.
    """
    return parse_rules(Path(path).read_text(encoding="utf-8-sig"), str(path))


def _phrase(line: str) -> Phrase:
    out: list[_Word | None] = []
    for token in line.replace("..", " .. ").split():
        if token == "..":
            out.append(None)
            continue
        options = tuple(question_words(" ".join(o.rstrip("*") for o in token.split("/"))))
        out.append(_Word(options, token.endswith("*")))
    return tuple(out)


def _match(phrase: Phrase, words: list[str]) -> bool:
    """Whether the phrase's words occur in order, adjacent except where it has a gap."""

    def at(p: int, w: int) -> bool:
        if p == len(phrase):
            return True
        item = phrase[p]
        if item is None:
            return any(at(p + 1, w + skip) for skip in range(GAP_WORDS + 1) if w + skip <= len(words))
        return w < len(words) and item.matches(words[w]) and at(p + 1, w + 1)

    first = phrase[0]
    if first is None:
        return any(at(0, start) for start in range(len(words)))
    # Only where the first word matches can the phrase start (one cached lookup a word).
    return any(at(1, start + 1) for start in range(len(words)) if first.matches(words[start]))


_PHONE = r"\+?\d[\d\s().-]{5,}\d"
_URGENT_LINE = re.compile(
    rf"[^.\n]*\b(urgent|emergency|after[- ]hours|on[- ]call|24[- ]hours?)\b[^.\n]*?{_PHONE}[^.\n]*",
    re.IGNORECASE,
)


_URGENT_WORD = re.compile(r"\b(urgent|emergency|after[- ]hours|on[- ]call|24[- ]hours?)\b", re.IGNORECASE)
#: Characters around an urgent word in which its line is looked for.
_LINE_REACH = 300


_BOOKING = r"\b(reception|bookings?|appointments? line|main (?:phone|line|number))\b"
_BOOKING_WORD = re.compile(_BOOKING, re.IGNORECASE)
_BOOKING_LINE = re.compile(rf"[^.\n]*{_BOOKING}[^.\n]*?{_PHONE}[^.\n]*", re.IGNORECASE)


def _urgent_lines(text: str):
    return _lines(text, _URGENT_WORD, _URGENT_LINE)


def _lines(text: str, word_pattern: re.Pattern, line_pattern: re.Pattern):
    """The line matches in ``text``: the full pattern is tried only around each of its
    words, so a long passage costs one linear scan instead of the pattern's backtracking
    from every position (about 2 ms a passage; minutes over a million passages)."""
    done = 0
    for word in word_pattern.finditer(text):
        if word.start() < done:
            continue
        start = max(text.rfind(".", 0, word.start()), text.rfind("\n", 0, word.start()), word.start() - _LINE_REACH - 1) + 1
        found = line_pattern.match(text, start, word.end() + _LINE_REACH)
        if found:
            done = found.end()
            yield found.group(0)


@dataclass(frozen=True)
class UrgentContact:
    """A contact line as the clinic's documents state it: the urgent line, or the line for
    bookings and questions."""

    text: str  # e.g. "Urgent after-treatment line (24 hours, on-call nurse): 555-0199"
    source: str


def find_booking_contact(texts: list[tuple[str, str]]) -> UrgentContact | None:
    """The clinic's line for bookings and questions (not its urgent line) most often stated
    among (source, text) pairs, or None: where a question the documents don't cover goes."""

    def lines(text: str):
        return (line for line in _lines(text, _BOOKING_WORD, _BOOKING_LINE) if not _URGENT_WORD.search(line))

    return _most_stated(texts, lines)


def find_urgent_contact(texts: list[tuple[str, str]]) -> UrgentContact | None:
    """The most often stated urgent line among (source, text) pairs, or None."""
    return _most_stated(texts, _urgent_lines)


def _most_stated(texts: list[tuple[str, str]], lines) -> UrgentContact | None:
    """The line (found in each text by ``lines``) stated most often, or None.

    Clinics repeat their numbers in many documents; the line stated most often is the
    current one, and a single stale mention does not win.
    """
    counts: dict[str, int] = {}
    first_source: dict[str, str] = {}
    for source, text in texts:
        for found in lines(text):
            line = " ".join(found.split()).strip(" :;-–")
            counts[line] = counts.get(line, 0) + 1
            first_source.setdefault(line, source)
    if not counts:
        return None
    best = max(counts, key=lambda line: (counts[line], -len(line)))
    return UrgentContact(best, first_source[best])
