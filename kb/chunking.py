"""Document -> passages. Pure functions: no I/O, no models.

Passages never cross a section heading, break only between sentences (a sentence longer
than the budget is cut between words), repeat the last sentence of the previous passage
for context, and fit the model: the text that is embedded (title, section heading and
passage text) never exceeds ``max_tokens`` word pieces as counted by the model's own
tokenizer, which is passed in as ``count_tokens``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from kb.documents import Block, Document

#: Word pieces of a batch of texts, without the model's special tokens.
TokenCounter = Callable[[Sequence[str]], list[int]]

#: Bumped whenever a change here would split the same document differently; an ingest
#: re-reads every document when the index was built with another version.
CHUNKER_VERSION = 3

#: Tokens the model adds around every input ([CLS] and [SEP] for BERT-style models).
SPECIAL_TOKENS = 2

_ABBREVIATIONS = {
    "dr",
    "mr",
    "mrs",
    "ms",
    "prof",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "approx",
    "no",
    "fig",
    "inc",
    "ltd",
    "jr",
    "sr",
    "mt",
    "min",
    "max",
    "a.m",
    "p.m",
    "ca",
    "cf",
    "al",
}
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"“'(\[]?[A-Z0-9•*])")


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
    if text.startswith(context[-1]):  # a question heading already opens the text
        context.pop()
    return "\n".join([*context, text])


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    page: int | None
    tokens: int
    glue: bool = False  # a question: keep it in the same passage as what follows
    opens_paragraph: bool = False


def split_document(
    document: Document,
    count_tokens: TokenCounter,
    max_tokens: int = 200,
    overlap_sentences: int = 1,
) -> list[Passage]:
    """Split a document into passages.

    Args:
        document: the document, as read by ``kb.documents.read_document``.
        count_tokens: the model tokenizer's counter (no special tokens).
        max_tokens: most word pieces in a passage's embedding text, special tokens included.
        overlap_sentences: sentences repeated at the start of the next passage in a section.

    Returns:
        Passages in document order, with ids unique within the document.
    """
    if max_tokens < 32:
        raise ValueError(f"max_tokens of {max_tokens} is too small to hold a sentence; use 64 or more.")
    passages: list[Passage] = []
    for heading, paragraphs in _sections(document.blocks):
        section = heading.text if heading else None
        budget = max_tokens - SPECIAL_TOKENS - count_tokens([embedding_text(document.title, section, "")])[0]
        if heading is not None and heading.text.endswith("?"):
            budget += count_tokens([section])[0]  # the question is in the text, not the context
        budget = max(budget, 16)
        units = _units(document, heading, paragraphs, count_tokens, budget)
        for group in _pack(units, budget, overlap_sentences):
            start, end = group[0].start, group[-1].end
            passages.append(
                Passage(
                    id="",
                    source=document.source,
                    title=document.title,
                    page=group[0].page,
                    section=section,
                    start=start,
                    end=end,
                    text=document.text[start:end],
                    sentences=tuple((u.start, u.end) for u in group),
                )
            )
    return _with_ids(passages)


def _sections(blocks: Sequence[Block]) -> Iterator[tuple[Block | None, list[Block]]]:
    heading: Block | None = None
    paragraphs: list[Block] = []
    for block in blocks:
        if block.kind == "heading":
            if paragraphs:
                yield heading, paragraphs
            heading, paragraphs = block, []
        else:
            paragraphs.append(block)
    if paragraphs:
        yield heading, paragraphs


def _units(
    document: Document,
    heading: Block | None,
    paragraphs: list[Block],
    count_tokens: TokenCounter,
    budget: int,
) -> list[_Unit]:
    """Sentences (with their token counts), and a question heading as the first unit."""
    spans: list[tuple[int, int, int | None, bool, bool]] = []
    if heading is not None and heading.text.endswith("?"):
        spans.append((heading.start, heading.end, heading.page, True, True))
    for block in paragraphs:
        sentences = list(split_sentences(block.text))
        is_question = block.text.rstrip().endswith("?") and len(block.text.split()) <= 30
        for i, (s, e) in enumerate(sentences):
            glue = is_question and i == len(sentences) - 1
            spans.append((block.start + s, block.start + e, block.page, glue, i == 0))
    counts = count_tokens([document.text[s:e] for s, e, *_ in spans])
    units: list[_Unit] = []
    for (s, e, page, glue, opens), n in zip(spans, counts, strict=True):
        if n <= budget:
            units.append(_Unit(s, e, page, n, glue, opens))
        else:
            pieces = _split_long(document.text, s, e, page, count_tokens, budget)
            pieces[0] = _Unit(pieces[0].start, pieces[0].end, page, pieces[0].tokens, glue, opens)
            units.extend(pieces)
    return units


def split_sentences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence in ``text``; lines of a multi-line block split too."""
    pos = 0
    for line in re.finditer(r"[^\n]+", text):
        line_start = line.start()
        pos = line_start
        for match in _SENTENCE_BREAK.finditer(line.group()):
            before = line.group()[: match.start()].rsplit(None, 1)
            last_word = before[-1].rstrip(".").lower() if before else ""
            if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
                continue
            end = line_start + match.start()
            yield pos, _rstrip_end(text, pos, end)
            pos = line_start + match.end()
        end = line.end()
        if pos < end:
            yield pos, _rstrip_end(text, pos, end)


def _rstrip_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


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
    return [_cap_word(text, u, count_tokens, budget) for u in units]


def _cap_word(text: str, unit: _Unit, count_tokens: TokenCounter, budget: int) -> _Unit:
    """A run that is one enormous word (a URL, a hash) is cut by characters until it fits."""
    end = unit.end
    tokens = count_tokens([text[unit.start : end]])[0]
    while tokens > budget and end - unit.start > 1:
        end = unit.start + (end - unit.start) * budget // (tokens + 1)
        end = max(end, unit.start + 1)
        tokens = count_tokens([text[unit.start : end]])[0]
    return _Unit(unit.start, end, unit.page, tokens, unit.glue)


def _pack(units: list[_Unit], budget: int, overlap: int) -> Iterator[list[_Unit]]:
    """Greedy packing of units into groups of at most ``budget`` tokens.

    A new paragraph starts a new passage once the current one is half full, so passages
    follow the author's paragraphs (one topic each) instead of running several together,
    which blurs what a passage is about for both the model and keyword search.
    """
    current: list[_Unit] = []
    for unit in units:
        size = sum(u.tokens for u in current)
        if current and unit.opens_paragraph and size >= budget // 2 and not current[-1].glue:
            yield current
            current = []
        elif current and size + unit.tokens > budget:
            carried: list[_Unit] = []
            while len(current) > 1 and current[-1].glue:
                carried.insert(0, current.pop())
            yield current
            repeat = current[-overlap:] if overlap and len(current) > overlap and not carried else []
            current = repeat + carried
            while current and sum(u.tokens for u in current) + unit.tokens > budget:
                current.pop(0)
        current.append(unit)
    if current:
        yield current


def _with_ids(passages: list[Passage]) -> list[Passage]:
    seen: dict[object, int] = {}
    out = []
    for p in passages:
        key = p.page
        seen[key] = seen.get(key, 0) + 1
        suffix = f"p{p.page}-{seen[key]}" if p.page is not None else str(seen[key])
        out.append(dataclasses.replace(p, id=f"{p.source}#{suffix}"))
    return out
