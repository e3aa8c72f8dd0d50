"""Query -> ranked passages. ``KnowledgeBase.search`` is the one search function the app,
the API and evaluators call.

The knowledge base holds the generation in service; ``refresh()`` switches to a newer one
written by an ingest (in this process or another). Searches already running keep the
generation they started with, so a switch never fails a request.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb import triage
from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import KBError, QueryError
from kb.index import open_backend
from kb.index.base import Generation
from kb.query import Rewrite, nearest, rewrite
from kb.store import DocumentRecord


@dataclass(frozen=True)
class Hit:
    """One ranked passage. ``score`` is what ranks it: higher is a better answer, and at
    or above ``Settings.min_score`` the passage is taken to answer the question."""

    rank: int
    score: float
    passage_id: str
    text: str
    source: str
    title: str
    page: int | None
    section: str | None
    start: int
    end: int
    #: The sentence of the passage nearest to the query: the best answer in it.
    highlight: str = ""


@dataclass(frozen=True)
class Answer:
    """What the app and the API show for one question."""

    question: str
    answered: bool  # False when the documents do not cover the question
    urgent: bool  # True when the question describes warning signs after a treatment
    message: str  # one or two sentences for the person who asked
    took_ms: float
    hits: list[Hit]
    warning_signs: list[str]
    urgent_contact: triage.UrgentContact | None
    #: Words added to the question for the search: glossary terms, spelling fixes.
    searched_for: tuple[str, ...] = ()
    #: Milliseconds spent in each part of the answer (see ``PARTS``), for the benchmarks.
    parts: dict[str, float] = field(default_factory=dict)


#: The parts of an answer, timed in ``Answer.parts``: the query rewrite (glossary, spelling),
#: the model's encode, the vector search (passage and sentence cosines), BM25, fusion and
#: ranking, fetching the passages and their best sentence, and the warning-sign check.
PARTS = ("rewrite", "encode", "vectors", "bm25", "fusion", "fetch", "triage")

#: A collection larger than ``Settings.full_scan_passages`` has only candidates scored on
#: every signal: the vector index's nearest and BM25's best, this many of each (or 4k).
CANDIDATES = 100


NOT_COVERED = (
    "The clinic's documents don't cover this question. Try asking in other words, or contact "
    "the clinic directly."
)


class KnowledgeBase:
    """A loaded model and index generation, ready to search."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """Load the index generation in service and the model it was built with.

        If CURRENT names a missing or damaged generation, the newest other complete one is
        loaded instead, with a logged warning (the files backend, ``store.open_current``).

        Raises:
            IndexNotFoundError: nothing has been ingested into ``settings.index_dir``.
            IndexDamagedError: the generation in CURRENT is unreadable and no other can serve.
            IndexMismatchError: the index was built with another model.
        """
        self.settings = settings
        self.backend = open_backend(settings)
        try:
            generation = self.backend.open_current(settings.model)
        except KBError:
            self.backend.close()
            raise
        try:
            self.rules = _load_rules(settings.warning_signs)
        except KBError:
            generation.close()
            self.backend.close()
            raise
        self.embedder = embedder or Embedder.for_settings(settings)
        self._generation = generation
        self._swap = threading.Lock()

    @property
    def generation(self) -> Generation:
        return self._generation

    def documents(self) -> list[DocumentRecord]:
        return self._generation.documents()

    def urgent_contact(self) -> triage.UrgentContact | None:
        """The urgent line stated in the documents of the generation in service."""
        generation = self._generation
        if getattr(generation, "_urgent", None) is None:
            texts = generation.texts_mentioning("urgent") + generation.texts_mentioning("emergency")
            generation._urgent = (triage.find_urgent_contact(texts),)
        return generation._urgent[0]

    def answer(self, query: str, k: int = 5) -> Answer:
        """Search, then decide whether the documents cover the question and whether it
        describes warning signs. The one call behind the page and the API.

        Raises:
            QueryError: as ``search``.
        """
        clock = _Clock()
        ranking = self.explain(query, k, clock)
        hits = ranking.hits
        question = query.strip()
        answered = bool(hits) and hits[0].score >= self.settings.min_score
        signs = self.rules.matched_signs(question)
        if not signs and self.rules.urgent_examples:
            fresh = ranking.query.added and self.settings.expand_dense
            vector = self.embedder.encode_query(question) if fresh else ranking.vector
            example, similarity = self._nearest_example(vector)
            if similarity >= self.settings.warning_example_similarity:
                signs = self.rules.warning_signs(question, example)
        contact = self.urgent_contact() if signs else None
        clock.lap("triage")
        parts = []
        if signs:
            call = f"{contact.text}." if contact else "the clinic's urgent line."
            parts.append(
                f"Your question mentions warning signs ({', '.join(signs)}). Contact the clinic now: "
                f"{call} In an emergency, call your local emergency number."
            )
        parts.append(
            "These passages from the clinic's documents match your question best."
            if answered
            else NOT_COVERED
        )
        return Answer(
            question,
            answered,
            bool(signs),
            " ".join(parts),
            clock.total(),
            hits,
            signs,
            contact,
            ranking.query.added,
            clock.parts,
        )

    def _nearest_example(self, vector: np.ndarray) -> tuple[str, float]:
        """The warning-sign example question nearest in meaning to the query vector, and
        its cosine similarity."""
        rules = self.rules
        examples = [*rules.urgent_examples, *rules.calm_examples]
        cached = getattr(self, "_examples", None)
        if cached is None or cached[0] is not rules:
            cached = (rules, self.embedder.encode_passages(examples))
            self._examples = cached
        similarities = cached[1] @ vector
        best = int(np.argmax(similarities))
        return examples[best], float(similarities[best])

    def warm_up(self) -> None:
        """Do once, before the first visitor, what the first question would otherwise wait
        for: the example questions' vectors, the keyword statistics, the model's first call."""
        self.answer("How long does the redness last?", 1)
        self._nearest_example(self.embedder.encode_query("warm up"))
        self.urgent_contact()  # read from the documents once per generation

    def configured(self, **changes: object) -> KnowledgeBase:
        """The same loaded model and generation, searched with some settings changed (to
        compare configurations without loading anything twice)."""
        other = object.__new__(KnowledgeBase)
        other.__dict__.update(self.__dict__)
        other.settings = self.settings.with_changes(**changes)
        return other

    def refresh(self, name: str | None = None) -> bool:
        """Switch to the generation named in CURRENT (or ``name``) if it is not the one in
        service. True if switched. ``kb.watcher.IndexWatcher`` calls this in a running app.

        Raises:
            IndexNotFoundError, IndexDamagedError, IndexMismatchError: that generation cannot
                be served; the one in service stays.
        """
        name = name or self.backend.current_name()
        if name is None or name == self._generation.name:
            return False
        with self._swap:
            if name == self._generation.name:
                return False
            fresh = self.backend.open_generation(name)
            try:
                self.backend.check_compatible(fresh.manifest, self.settings.model)
            except Exception:
                fresh.close()
                raise
            # The old generation is not closed: searches begun on it may still be reading.
            # It is freed when the last of them drops its reference.
            self._generation = fresh
        # Staff edit the rules and re-ingest: a new generation is the moment to re-read them.
        # A broken file keeps the rules in service (the error is raised once, to be logged).
        self.rules = _load_rules(self.settings.warning_signs)
        self.urgent_contact()  # now, not on the first warning-sign question
        return True

    def validate(self, query: object, k: object) -> tuple[str, int]:
        """The query, stripped, and k, or a QueryError that says what to change."""
        if not isinstance(query, str) or not query.strip():
            raise QueryError("Type a question first, for example: How long does the redness last?")
        query = query.strip()
        limit = self.settings.max_query_chars
        if len(query) > limit:
            raise QueryError(
                f"The question is {len(query):,} characters long; the limit is {limit:,}. "
                "Ask a shorter question."
            )
        if isinstance(k, float) and k.is_integer():
            k = int(k)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.settings.max_k:
            raise QueryError(f"k must be a whole number from 1 to {self.settings.max_k}; got {k!r}.")
        return query, k

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` passages that best answer the query, best first.

        Each passage is scored on four signals of how well it answers the query: the
        cosine of the query to the passage, to its best statement sentence and to its
        question sentences (an FAQ question that echoes the query), and the share of the
        query's keywords it matches (BM25 over the best attainable). The score is their
        weighted sum (``Settings`` weights), so a hit's ``score`` is what ranks it and what
        the answered / not-covered decision reads. ``highlight`` is the statement
        sentence nearest the query.

        Raises:
            QueryError: the query is empty or too long, or k is out of range.
        """
        return self.explain(query, k).hits

    def explain(self, query: str, k: int = 5, clock: _Clock | None = None) -> Ranking:
        """``search``, with the query as searched and each signal of each hit."""
        clock = clock or _Clock()
        query, k = self.validate(query, k)
        generation = self._generation  # one generation for the whole search
        searched, vector, signals = self._signals(query, generation, clock, _needed(self.settings), k)
        scores = combine(signals, self.settings)
        best = np.argsort(-scores, kind="stable")[:k].tolist()
        rows = [signals.row(i) for i in best]
        clock.lap("fusion")
        hits = []
        for rank, (i, p) in enumerate(zip(best, generation.passages_at(rows), strict=True), start=1):
            highlight = p.sentence_texts()[signals.best_sentence(i)] if p.sentences else p.text
            hits.append(
                Hit(
                    rank,
                    float(scores[i]),
                    p.id,
                    p.text,
                    p.source,
                    p.title,
                    p.page,
                    p.section,
                    p.start,
                    p.end,
                    highlight,
                )
            )
        clock.lap("fetch")
        return Ranking(searched, vector, hits, {signals.row(i): signals.at(i) for i in best})

    def signals(self, query: str) -> Signals:
        """Every signal of every passage for the query (for tuning the weights)."""
        generation = self._generation
        return self._signals(self.validate(query, 1)[0], generation, _Clock(), SIGNAL_NAMES, None)[2]

    def _signals(
        self, query: str, generation: Generation, clock: _Clock, needed: tuple[str, ...], k: int | None
    ) -> tuple[Rewrite, np.ndarray, Signals]:
        searched = self.rewrite(query, generation)
        clock.lap("rewrite")
        vector = self.embedder.encode_query(searched.expanded if self.settings.expand_dense else query)
        clock.lap("encode")
        if k is not None and generation.exact and generation.passage_count <= self.settings.full_scan_passages:
            k = None  # small enough to score every passage (an approximate index keeps no matrix to scan)
        return searched, vector, _signals(generation, vector, searched.expanded, clock, needed, k)

    def rewrite(self, query: str, generation: Generation | None = None) -> Rewrite:
        """The query with the glossary's document words and spelling fixes added."""
        from kb import lexical

        generation = generation or self._generation
        index = generation.lexical

        def correct(word: str) -> str | None:
            found = nearest(lexical.stem(word), index.vocabulary())
            return index.surface.get(found, found) if found else None

        return rewrite(
            query,
            generation.glossary if self.settings.use_glossary else (),
            known=lambda w: index.knows(lexical.stem(w)),
            correct=correct if self.settings.spelling else None,
            words=lexical.words,
        )


def _load_rules(path: Path) -> triage.WarningRules:
    try:
        return triage.load_rules(path)
    except FileNotFoundError:
        raise KBError(
            f"The warning-sign rules file {path} is missing. Restore warning-signs.txt from the "
            "project, or point KB_WARNING_SIGNS at the clinic's own copy."
        ) from None
    except ValueError as exc:
        raise KBError(f"{exc} Fix the warning-sign rules file and restart or re-ingest.") from None


@dataclass(frozen=True)
class Ranking:
    """A search with its workings: the query as searched and the signals behind each hit."""

    query: Rewrite
    vector: np.ndarray  # the query's vector, (dimension,) float32
    hits: list[Hit]
    signals: dict[int, dict[str, float]]  # passage row -> signal -> value


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

    def row(self, i: int) -> int:
        """The passage row at position ``i``."""
        return int(self.rows[i]) if self.rows is not None else int(i)

    def best_sentence(self, i: int) -> int:
        """Index within the passage at position ``i`` of its statement sentence nearest the
        query (the first, on a tie; the first sentence when it has no statement)."""
        mine = self.statements[self.offsets[i] : self.offsets[i + 1]]
        return int(np.argmax(mine)) if len(mine) else 0

    def at(self, i: int) -> dict[str, float]:
        return {name: float(getattr(self, name)[i]) for name in SIGNAL_NAMES}


def _needed(settings: Settings) -> tuple[str, ...]:
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
    return (
        settings.weight_passage * signals.passage
        + settings.weight_sentence * signals.sentence
        + settings.weight_question * signals.question
        + settings.weight_heading * signals.heading
        + settings.weight_lexical * signals.lexical
    )


def _signals(
    generation: Generation,
    vector: np.ndarray,
    text: str,
    clock: _Clock,
    needed: tuple[str, ...] = SIGNAL_NAMES,
    k: int | None = None,
) -> Signals:
    """The signals of every passage (a small collection, or ``k`` None) or of the
    candidates the vector index and BM25 find for the query (``k`` decides how many)."""
    from kb import lexical

    stems = lexical.query_stems(text)
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
    data = generation.scoring_data(rows)
    n = len(data.passage_vectors)
    passage = (data.passage_vectors @ vector).astype(np.float32)
    question = heading = np.zeros(n, dtype=np.float32)
    # Sentences are always scored: the best one is the highlight, whatever the weights.
    cosines = data.sentence_vectors @ vector
    owner = np.repeat(np.arange(n), np.diff(data.offsets))
    statements = np.where(data.is_statement, cosines, -1.0).astype(np.float32)
    best = np.full(n, -1.0, dtype=np.float32)
    if len(cosines):
        np.maximum.at(best, owner, statements)
        if "question" in needed:
            question = np.zeros(n, dtype=np.float32)
            np.maximum.at(question, owner, np.where(data.is_question, cosines, 0.0).astype(np.float32))
    sentence = np.where(best < 0, passage, best)  # no statement: the passage stands in
    if "heading" in needed:
        heading = (data.heading_vectors @ vector)[data.heading_of].astype(np.float32)
    clock.lap("vectors")
    return Signals(rows, passage, sentence.astype(np.float32), question, heading, keyword, statements, data.offsets)


def _candidates(generation: Generation, vector: np.ndarray, keyword: np.ndarray, k: int) -> np.ndarray:
    """Passage rows worth the fine ranking: the vector index's nearest (exact or
    approximate, as the plan chose) and BM25's best, ``max(CANDIDATES, 4k)`` of each, in
    ascending row order."""
    depth = max(CANDIDATES, 4 * k)
    nearest = generation.nearest_passages(vector, depth)
    depth = min(depth, len(keyword))
    lexical = np.argpartition(-keyword, depth - 1)[:depth] if depth else np.zeros(0, np.int64)
    lexical = lexical[keyword[lexical] > 0]
    return np.unique(np.concatenate([nearest[nearest >= 0], lexical]).astype(np.int64))


class _Clock:
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
