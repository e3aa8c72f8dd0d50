"""Document -> passages. Pure functions: no I/O, no models.

Passages never cross a section heading, break only between sentences (a sentence longer
than the budget is cut between words), repeat the last sentence of the previous passage
for context, and fit the model: the text that is embedded (title, section heading and
passage text) never exceeds ``max_tokens`` word pieces as counted by the model's own
tokenizer, which is passed in as ``count_tokens``.

A question stays with its answer, and a list with the sentence that leads into it ("Bring
these:"); a list or table that fits the budget is not cut. A table row is one sentence.
Sentences are found by sentencex (imported here only).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import sentencex

from kb.reading.documents import Block, Document

#: Word pieces of a batch of texts, without the model's special tokens.
TokenCounter = Callable[[Sequence[str]], list[int]]

#: Bumped whenever a change here would split the same document differently; an ingest
#: re-reads every document when the index was built with another version.
CHUNKER_VERSION = 6

#: Tokens the model adds around every input ([CLS] and [SEP] for BERT-style models).
SPECIAL_TOKENS = 2

#: A "sentence" that starts like this continues the one before: the splitter broke after an
#: abbreviation it does not know ("every 2 hrs. outdoors", "Mon.–Fri. from 8:00").
_CONTINUATION = re.compile(r"^[a-z,;:)\]}–—-]")


@dataclass(frozen=True)
class Passage:
    """A piece of a document small enough to embed; ``text == document.text[start:end]``."""

    id: str  # stable and readable: "aftercare.pdf#p3-2", "faq.md#7"
    source: str
    title: str
    page: int | None
    section: str | None
    start: int
    end: int
    text: str
    #: (start, end) of each sentence, as offsets into the document text.
    sentences: tuple[tuple[int, int], ...] = ()

    def sentence_texts(self) -> list[str]:
        return [self.text[s - self.start : e - self.start] for s, e in self.sentences]

    @property
    def embedding_text(self) -> str:
        """What the model sees: the title and section give a short passage its context."""
        return embedding_text(self.title, self.section, self.text)


def embedding_text(title: str, section: str | None, text: str) -> str:
    context = [title] if not section or section == title else [title, section]
    # A question heading already opens the text (after its part's heading, if any).
    if text.startswith(context[-1]) or context[-1] in text.split("\n\n", 2)[:2]:
        context.pop()
    return "\n".join([*context, text])


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    page: int | None
    tokens: int
    glue: bool = False  # a question or a list's lead-in: keep it in the passage with what follows
    opens_paragraph: bool = False
    group: int = 0  # a list (with its lead-in) or a table: kept whole in one passage if it fits


def split_document(
    document: Document,
    count_tokens: TokenCounter,
    max_tokens: int = 200,
    overlap_sentences: int = 1,
) -> list[Passage]:
    """Split a document into passages.

    Args:
        document: the document, as read by ``kb.reading.documents.read_document``.
        count_tokens: the model tokenizer's counter (no special tokens).
        max_tokens: most word pieces in a passage's embedding text, special tokens included.
        overlap_sentences: sentences repeated at the start of the next passage in a section.

    Returns:
        Passages in document order, with ids unique within the document.
    """
    if max_tokens < 32:
        raise ValueError(f"max_tokens of {max_tokens} is too small to hold a sentence; use 64 or more.")
    passages: list[Passage] = []
    # Title and section are context for every passage: each may take a quarter of the model's
    # window, so the text keeps at least half. A longer heading reads as text; a longer
    # title is shortened in the passages (the document keeps it whole).
    context = max_tokens // 4
    title = _shorten(document.title, count_tokens, context)
    for heading, paragraphs in _sections(document.blocks, count_tokens, context):
        section = heading.text if heading else None
        budget = max_tokens - SPECIAL_TOKENS - count_tokens([embedding_text(title, section, "")])[0]
        if heading is not None and heading.text.endswith("?"):
            budget += count_tokens([section])[0]  # the question is in the text, not the context
        budget = max(budget, 1)
        units = _units(document, heading, paragraphs, count_tokens, budget)
        for group in _pack(units, budget, overlap_sentences):
            start, end = group[0].start, group[-1].end
            passages.append(
                Passage(
                    id="",
                    source=document.source,
                    title=title,
                    page=group[0].page,
                    section=section,
                    start=start,
                    end=end,
                    text=document.text[start:end],
                    sentences=tuple((u.start, u.end) for u in group),
                )
            )
    passages = _merge_fragments(passages, document, count_tokens, max_tokens)
    return _with_ids(passages)


#: A passage of fewer words that is no sentence, or stands before any heading (a subtitle,
#: a byline), says too little to be found by itself: it joins the passage after it (or
#: before it, at the end). A short FAQ entry under its own heading stays as it is.
FRAGMENT_WORDS = 12


def _fragment(passage: Passage) -> bool:
    if len(passage.text.split()) >= FRAGMENT_WORDS:
        return False
    return passage.section is None or not passage.text.rstrip().endswith((".", "?", "!", ":"))


def _merge_fragments(
    passages: list[Passage], document: Document, count_tokens: TokenCounter, max_tokens: int
) -> list[Passage]:
    out: list[Passage] = []
    pending: Passage | None = None
    for i, passage in enumerate(passages):
        if pending is not None:
            merged = _join(pending, passage, document, passage.section)
            if _fits(merged, count_tokens, max_tokens):
                passage = merged
            else:
                out.append(pending)
            pending = None
        # (By position: a fragment merged into the last passage is no longer that object.)
        if _fragment(passage) and i < len(passages) - 1:
            pending = passage
            continue
        out.append(passage)
    if len(out) > 1 and _fragment(out[-1]):
        merged = _join(out[-2], out[-1], document, out[-2].section)
        if out[-2].page == out[-1].page and _fits(merged, count_tokens, max_tokens):
            out[-2:] = [merged]
    return out


def _join(first: Passage, second: Passage, document: Document, section: str | None) -> Passage:
    start, lead = first.start, ()
    if first.section is not None and first.section != section:
        # The first passage's heading is no longer its section: it becomes text, so it
        # stays searchable.
        heading = next(
            (
                b
                for b in reversed(document.blocks)
                if b.kind == "heading" and b.text == first.section and b.end <= first.start
            ),
            None,
        )
        if heading is not None and (heading.start, heading.end) not in first.sentences:
            start, lead = heading.start, ((heading.start, heading.end),)
    return dataclasses.replace(
        first,
        section=section,
        start=start,
        end=second.end,
        text=document.text[start : second.end],
        sentences=lead + first.sentences + tuple(s for s in second.sentences if s not in first.sentences),
    )


def _fits(passage: Passage, count_tokens: TokenCounter, max_tokens: int) -> bool:
    return count_tokens([passage.embedding_text])[0] + SPECIAL_TOKENS <= max_tokens


def _sections(
    blocks: Sequence[Block], count_tokens: TokenCounter, longest: int
) -> Iterator[tuple[Block | None, list[Block]]]:
    """(heading, paragraphs) of each section. A heading with nothing under it (a part title
    over its sub-sections, or the last line) is a section of its own with itself as text:
    it becomes a fragment that joins the passage next to it, so its words stay searchable.
    A heading of more than ``longest`` tokens is a paragraph."""
    heading: Block | None = None
    paragraphs: list[Block] = []
    for block in blocks:
        if block.kind == "heading" and count_tokens([block.text])[0] <= longest:
            if paragraphs:
                yield heading, paragraphs
            elif heading is not None:
                yield None, [heading]
            heading, paragraphs = block, []
        else:
            paragraphs.append(block)
    if paragraphs:
        yield heading, paragraphs
    elif heading is not None:
        yield None, [heading]


def _shorten(text: str, count_tokens: TokenCounter, most: int) -> str:
    """``text`` cut (at a word where it can) to at most ``most`` tokens, with "…"."""
    if count_tokens([text])[0] <= most:
        return text
    end = len(text)
    while end > 1 and count_tokens([text[:end] + "…"])[0] > most:
        end = max(min(end - 1, end * most // (count_tokens([text[:end]])[0] + 1)), 1)
    cut = text[:end].rsplit(" ", 1)[0] if " " in text[:end] else text[:end]
    return cut.rstrip() + "…"


def _units(
    document: Document,
    heading: Block | None,
    paragraphs: list[Block],
    count_tokens: TokenCounter,
    budget: int,
) -> list[_Unit]:
    """Sentences (with their token counts), and a question heading as the first unit.

    A table row is one unit. A list's items (or a table's rows) and the sentence ending in
    ":" that leads into them share a group, and the lead-in is glue.
    """
    groups = _list_groups(paragraphs)
    spans: list[tuple[int, int, int | None, bool, bool, int]] = []
    if heading is not None and heading.text.endswith("?"):
        spans.append((heading.start, heading.end, heading.page, True, True, 0))
    for index, block in enumerate(paragraphs):
        # A table row reads as one statement, whatever punctuation its cells hold.
        sentences = [(0, len(block.text))] if block.role == "row" else list(split_sentences(block.text))
        is_question = block.text.rstrip().endswith("?") and len(block.text.split()) <= 30
        group, lead_in = groups.get(index, (0, False))
        for i, (s, e) in enumerate(sentences):
            last = i == len(sentences) - 1
            glue = (is_question or lead_in) and last
            in_group = group if not lead_in or last else 0
            spans.append((block.start + s, block.start + e, block.page, glue, i == 0, in_group))
    counts = count_tokens([document.text[s:e] for s, e, *_ in spans])
    units: list[_Unit] = []
    for (s, e, page, glue, opens, group), n in zip(spans, counts, strict=True):
        if n <= budget:
            units.append(_Unit(s, e, page, n, glue, opens, group))
        else:
            pieces = _split_long(document.text, s, e, page, count_tokens, budget)
            pieces = [dataclasses.replace(p, group=group) for p in pieces]
            pieces[0] = dataclasses.replace(pieces[0], glue=glue, opens_paragraph=opens)
            units.extend(pieces)
    return units


def _list_groups(paragraphs: list[Block]) -> dict[int, tuple[int, bool]]:
    """Paragraph index -> (group number, is the lead-in) for runs of list items or table
    rows, each with the paragraph before it when that ends with ":" ("Bring these:")."""
    groups: dict[int, tuple[int, bool]] = {}
    number, i = 0, 0
    while i < len(paragraphs):
        role = paragraphs[i].role
        if role == "text":
            i += 1
            continue
        number += 1
        before = paragraphs[i - 1] if i else None
        if before is not None and before.role == "text" and before.text.rstrip().endswith(":"):
            groups[i - 1] = (number, True)
        while i < len(paragraphs) and paragraphs[i].role == role:
            groups[i] = (number, False)
            i += 1
    return groups


def split_sentences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence in ``text``; lines of a multi-line block split too.

    sentencex finds the boundaries (it knows "U.S.", "Dr.", "e.g.", "(ext. 4)", "5 p.m.",
    decimals); a piece that starts in lower case is joined back to the sentence before it.
    """
    for line in re.finditer(r"[^\n]+", text):
        spans: list[tuple[int, int]] = []
        for boundary in sentencex.get_sentence_boundaries("en", line.group()):
            start, end = _strip(line.group(), boundary["start_index"], boundary["end_index"])
            if start >= end:
                continue
            if spans and _CONTINUATION.match(line.group()[start:end]):
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        for start, end in spans:
            yield line.start() + start, line.start() + end


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(
    text: str, start: int, end: int, page: int | None, count_tokens: TokenCounter, budget: int
) -> list[_Unit]:
    """Cut a sentence longer than the budget into runs of whole words that fit."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    counts = count_tokens([text[s:e] for s, e in words])
    units: list[_Unit] = []
    run_start, run_tokens, run_end = words[0][0], 0, words[0][0]
    for (s, e), n in zip(words, counts, strict=True):
        n = min(n, budget)  # a single absurd "word" is cut by the tokenizer budget below
        if run_tokens and run_tokens + n > budget:
            units.append(_Unit(run_start, run_end, page, run_tokens))
            run_start, run_tokens = s, 0
        run_tokens += n
        run_end = e
    units.append(_Unit(run_start, run_end, page, run_tokens))
    return [piece for u in units for piece in _cut_word(text, u, count_tokens, budget)]


def _cut_word(text: str, unit: _Unit, count_tokens: TokenCounter, budget: int) -> list[_Unit]:
    """A run that is one enormous word (a URL, a hash) is cut by characters into pieces
    that fit; every character stays in some piece."""
    pieces: list[_Unit] = []
    start = unit.start
    while start < unit.end:
        end = unit.end
        tokens = count_tokens([text[start:end]])[0]
        while tokens > budget and end - start > 1:
            end = start + max((end - start) * budget // (tokens + 1), 1)
            tokens = count_tokens([text[start:end]])[0]
        pieces.append(dataclasses.replace(unit, start=start, end=end, tokens=tokens))
        start = end
    return pieces


def _pack(units: list[_Unit], budget: int, overlap: int) -> Iterator[list[_Unit]]:
    """Greedy packing of units into groups of at most ``budget`` tokens.

    A new paragraph starts a new passage once the current one is half full, so passages
    follow the author's paragraphs (one topic each) instead of running several together,
    which blurs what a passage is about for both the model and keyword search. A list or
    table that fits the budget starts a new passage rather than being cut.
    """
    group_tokens: dict[int, int] = {}
    for unit in units:
        group_tokens[unit.group] = group_tokens.get(unit.group, 0) + unit.tokens
    current: list[_Unit] = []
    whole = 0  # the group kept whole in the current passage
    for unit in units:
        if unit.group and not (current and current[-1].group == unit.group):
            current, closed, whole = _open_group(current, unit.group, group_tokens[unit.group], budget)
            if closed:
                yield closed
        size = sum(u.tokens for u in current)
        if whole and unit.group == whole and current and current[-1].group == whole:
            pass  # inside a list that fits: never cut, whatever its paragraphs
        elif current and unit.opens_paragraph and size >= budget // 2 and not current[-1].glue:
            yield current
            current = []
        elif current and size + unit.tokens > budget:
            carried = _glue_tail(current)
            if len(carried) == len(current):
                carried = carried[1:]
            current = current[: len(current) - len(carried)]
            yield current
            if carried and sum(u.tokens for u in carried) + unit.tokens > budget:
                yield carried  # glue that cannot go on with the unit stands alone, never lost
                carried = []
            repeat = current[-overlap:] if overlap and len(current) > overlap and not carried else []
            current = repeat + carried
            while current and sum(u.tokens for u in current) + unit.tokens > budget:
                current.pop(0)
        current.append(unit)
    if current:
        yield current


def _open_group(
    current: list[_Unit], group: int, tokens: int, budget: int
) -> tuple[list[_Unit], list[_Unit] | None, int]:
    """Make room for a group of ``tokens`` about to start.

    Returns (current, closed, whole): the passage to go on with, the passage closed to make
    room (None if none was), and the group number if the group will be kept whole, else 0.
    When the group does not fit after the passage so far, that passage is closed and its
    glue (a lead-in, a question) moves on with the group.
    """
    if sum(u.tokens for u in current) + tokens <= budget:
        return current, None, group
    tail = _glue_tail(current)
    if len(tail) < len(current) and sum(u.tokens for u in tail) + tokens <= budget:
        return tail, current[: len(current) - len(tail)], group
    return current, None, 0


def _glue_tail(current: list[_Unit]) -> list[_Unit]:
    """The glue units (a question, a lead-in) at the end of ``current``."""
    n = len(current)
    while n and current[n - 1].glue:
        n -= 1
    return current[n:]


def _with_ids(passages: list[Passage]) -> list[Passage]:
    seen: dict[object, int] = {}
    out = []
    for p in passages:
        key = p.page
        seen[key] = seen.get(key, 0) + 1
        suffix = f"p{p.page}-{seen[key]}" if p.page is not None else str(seen[key])
        out.append(dataclasses.replace(p, id=f"{p.source}#{suffix}"))
    return out
