"""Every passage's signals for a question, and the score they make together.

A small collection has every passage scored; a large one only the candidates the vector
index and BM25 find (``CANDIDATES`` of each). The signals are cosines of the question's
vector to the passage, its best statement sentence, its question sentences and its
heading, and BM25 over the best attainable for the question's words; ``combine`` weighs
them as the settings say.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from kb.config import Settings
from kb.index.base import Generation

#: A collection larger than ``Settings.full_scan_passages`` has only candidates scored on
#: every signal: the vector index's nearest and BM25's best, this many of each (or 4k).
CANDIDATES = 100


#: Every signal a passage is scored on.
SIGNAL_NAMES = ("passage", "sentence", "question", "heading", "lexical")


@dataclass(frozen=True)
class Signals:
    """Each signal for the passages scored: float32 arrays aligned with ``rows``.

    A small collection has every passage scored (``rows`` is None: position i is passage
    row i); a large one only the candidates the vector index and BM25 found. A signal no
    weight reads is left at zero.
    """

    rows: np.ndarray | None  # passage row of each position; None = every row, in order
    passage: np.ndarray  # cosine of query and passage
    sentence: np.ndarray  # best cosine of query and a statement sentence of the passage
    question: np.ndarray  # best cosine of query and a question sentence (0 if none)
    heading: np.ndarray  # cosine of query and the passage's title and section heading
    lexical: np.ndarray  # BM25 over the best attainable for the query, in [0, 1]
    statements: np.ndarray  # cosine of query and each statement sentence of those passages, else -1
    offsets: np.ndarray  # statements[offsets[i]:offsets[i + 1]] are position i's sentences
    known_words: int = 0  # distinct query stems the collection knows

    def row(self, i: int) -> int:
        """The passage row at position ``i``."""
        return int(self.rows[i]) if self.rows is not None else int(i)

    def best_sentence(self, i: int) -> int:
        """Index within the passage at position ``i`` of its statement sentence nearest the
        query (the first, on a tie; the first sentence when it has no statement)."""
        mine = self.statements[self.offsets[i] : self.offsets[i + 1]]
        return int(np.argmax(mine)) if len(mine) else 0

    def highlight(self, i: int, texts: list[str], words: dict[str, float]) -> int:
        """Index within the passage at position ``i`` of the sentence to mark. Sentences are
        scored in their window (the sentence before and after), so the best window's own
        sentence may sit next to the answer: of it and its two neighbours, the one holding
        most of the query's words (``words``: stem -> weight), the window's own on a tie."""
        best = self.best_sentence(i)
        mine = self.statements[self.offsets[i] : self.offsets[i + 1]]
        near = [j for j in (best, best - 1, best + 1) if 0 <= j < len(texts) and (j == best or mine[j] > -1)]

        def held(j: int) -> float:
            from kb.index import lexical

            stems = {lexical.stem(w) for w in lexical.words(texts[j])}
            return sum(weight for stem, weight in words.items() if stem in stems)

        return max(near, key=lambda j: (round(held(j), 6), j == best))

    def at(self, i: int) -> dict[str, float]:
        return {name: float(getattr(self, name)[i]) for name in SIGNAL_NAMES}


def needed_signals(settings: Settings) -> tuple[str, ...]:
    """The signals the configured search mode reads."""
    mode = settings.search_mode
    if mode == "dense":
        return ("passage",)
    if mode == "lexical":
        return ("lexical",)
    if mode == "rrf":
        return ("passage", "sentence", "lexical")
    return tuple(name for name in SIGNAL_NAMES if getattr(settings, f"weight_{name}"))


def combine(signals: Signals, settings: Settings) -> np.ndarray:
    """The score of every passage scored under the configured search mode."""
    mode = settings.search_mode
    if mode == "dense":
        return signals.passage
    if mode == "lexical":
        return signals.lexical
    if mode == "rrf":
        return _rrf_scores(signals, settings.rrf_k)
    lexical = keyword_weight(settings.weight_lexical, settings.lexical_full_length, signals.known_words)
    return (
        (settings.weight_passage + settings.weight_lexical - lexical) * signals.passage
        + settings.weight_sentence * signals.sentence
        + settings.weight_question * signals.question
        + settings.weight_heading * signals.heading
        + lexical * signals.lexical
    )


def keyword_weight(weight: float, full_length: int, known_words: int) -> float:
    """The keyword (BM25) weight for a question with ``known_words`` words the collection
    knows: ``weight`` up to ``full_length`` words (0: always), then shrinking by the square
    root of the excess; what it loses goes to the passage cosine."""
    if not full_length or known_words <= full_length:
        return weight
    return weight * (full_length / known_words) ** 0.5


def signals_for(
    generation: Generation,
    vector: np.ndarray,
    text: str,
    clock: Clock,
    needed: tuple[str, ...] = SIGNAL_NAMES,
    k: int | None = None,
) -> Signals:
    """The signals of every passage (a small collection, or ``k`` None) or of the
    candidates the vector index and BM25 find for the query (``k`` decides how many)."""
    from kb.index import lexical

    stems = lexical.query_stems(text)
    known_words = len({s for s in stems if generation.lexical.knows(s)})
    full = k is None
    keyword = np.zeros(generation.passage_count, dtype=np.float32)
    if "lexical" in needed or not full:
        attainable = generation.lexical.attainable(stems)
        if attainable > 0:
            keyword = generation.lexical.scores(stems) / attainable
    clock.lap("bm25")
    rows = None if full else _candidates(generation, vector, keyword, k)
    if rows is None and not generation.exact:  # every row of an approximate index
        rows = np.arange(generation.passage_count)
    if rows is not None:
        keyword = keyword[rows]
    found = generation.cosines(vector, rows)
    n = len(found.passage)
    passage = found.passage
    question = heading = np.zeros(n, dtype=np.float32)
    # Sentences are always scored: the best one is the highlight, whatever the weights.
    cosines = found.sentence
    owner = np.repeat(np.arange(n), np.diff(found.offsets))
    statements = np.where(found.is_statement, cosines, -1.0).astype(np.float32)
    best = np.full(n, -1.0, dtype=np.float32)
    if len(cosines):
        np.maximum.at(best, owner, statements)
        if "question" in needed:
            question = np.zeros(n, dtype=np.float32)
            np.maximum.at(question, owner, np.where(found.is_question, cosines, 0.0).astype(np.float32))
    sentence = np.where(best < 0, passage, best)  # no statement: the passage stands in
    if "heading" in needed:
        heading = found.heading
    clock.lap("vectors")
    return Signals(
        rows, passage, sentence.astype(np.float32), question, heading, keyword, statements, found.offsets, known_words
    )


def _candidates(generation: Generation, vector: np.ndarray, keyword: np.ndarray, k: int) -> np.ndarray:
    """Passage rows worth the fine ranking: the vector index's nearest (exact or
    approximate, as the plan chose) and BM25's best, ``max(CANDIDATES, 4k)`` of each, in
    ascending row order."""
    depth = max(CANDIDATES, 4 * k)
    nearest = generation.nearest_passages(vector, depth)
    lexical = top_positive(keyword, depth)
    return np.unique(np.concatenate([nearest[nearest >= 0], lexical]).astype(np.int64))


def top_positive(values: np.ndarray, depth: int) -> np.ndarray:
    """The positions of the ``depth`` largest positive values (ties broken arbitrarily).

    A full partial sort of a million scores takes ~10 ms; a threshold taken from a 1%
    sample first keeps a few hundred of them, and is exact: when at least ``depth`` values
    reach the threshold, the largest ``depth`` are all among them (otherwise it falls back
    to all positive values)."""
    if depth <= 0 or len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    kept = np.zeros(0, dtype=np.int64)
    sample = values[:: _SAMPLE_STEP]
    if len(values) > 20 * _SAMPLE_STEP:
        wanted = min(len(sample), 4 * depth * len(sample) // len(values) + 1)
        threshold = np.partition(sample, len(sample) - wanted)[len(sample) - wanted]
        if threshold > 0:
            kept = np.flatnonzero(values >= threshold)
    if len(kept) < depth:
        kept = np.flatnonzero(values > 0)
    if len(kept) > depth:
        kept = kept[np.argpartition(-values[kept], depth - 1)[:depth]]
    return kept.astype(np.int64)


#: Every how many scores ``top_positive`` samples.
_SAMPLE_STEP = 97


class Clock:
    """Milliseconds per part of one answer (``Answer.parts``)."""

    def __init__(self) -> None:
        self.started = self._last = time.perf_counter()
        self.parts: dict[str, float] = {}

    def lap(self, part: str) -> None:
        now = time.perf_counter()
        self.parts[part] = self.parts.get(part, 0.0) + (now - self._last) * 1000
        self._last = now

    def total(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def _rrf_scores(signals: Signals, rrf_k: int) -> np.ndarray:
    """Reciprocal rank fusion of the passage, sentence and keyword rankings (this
    project's first fusion, kept for comparison): 1 / (rrf_k + rank), summed."""
    total = np.zeros(len(signals.passage), dtype=np.float64)
    for values in (signals.passage, signals.sentence, signals.lexical):
        order = np.argsort(-values, kind="stable")
        ranks = np.empty(len(values), dtype=np.float64)
        ranks[order] = np.arange(1, len(values) + 1)
        total += np.where(values > 0, 1.0 / (rrf_k + ranks), 0.0)
    return total
