"""Query -> ranked passages. ``KnowledgeBase.search`` is the one search function the app,
the API and evaluators call.

The knowledge base holds the generation in service; ``refresh()`` switches to a newer one
written by an ingest (in this process or another). Searches already running keep the
generation they started with, so a switch never fails a request.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import KBError, QueryError
from kb.golden_questions import questions_from, questions_in
from kb.index import open_backend
from kb.index.base import DocumentRecord, Generation
from kb.search import coverage, smalltalk, triage
from kb.search.query import (
    REAL_WORD_ZIPF,
    Glossary,
    Rewrite,
    Vocabulary,
    nearest,
    parse_glossary,
    rewrite,
    zipf,
)
from kb.search.ranking import SIGNAL_NAMES, Clock, Signals, combine, needed_signals, signals_for


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
    #: The sentence of the passage nearest to the query: the best answer in it (for a
    #: question that describes warning signs, its sentence about them, where it has one).
    highlight: str = ""
    #: How sure the search is that this passage answers the question, 0..1: the answer's
    #: confidence for the first, never more than the card above it for the others.
    match: float = 0.0
    #: What a card says of it: "Strong match", "Good match", "Weak match", or "Not an answer"
    #: (every passage of a question the documents do not cover).
    label: str = ""


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
    #: Why it is (not) answered: "covered", "not_covered" or "small_talk" (a greeting,
    #: thanks, an emoji…: a friendly reply and no passages).
    reason: str = "covered"
    #: How sure the search is that the documents cover the question, 0..1 (the model's
    #: probability; with ``Settings.decline`` "score", the best hit's score).
    confidence: float = 0.0


#: The parts of an answer, timed in ``Answer.parts``: the query rewrite (glossary, spelling),
#: the model's encode, the vector search (passage and sentence cosines), BM25, fusion and
#: ranking, fetching the passages and their best sentence, and the warning-sign check.
PARTS = ("rewrite", "encode", "vectors", "bm25", "fusion", "fetch", "triage")

NOT_COVERED = "The clinic's documents don't cover this question."


class KnowledgeBase:
    """A loaded model and index generation, ready to search."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """Load the index generation in service and the model it was built with.

        If CURRENT names a missing or damaged generation, the newest other complete one is
        loaded instead, with a logged warning (the files backend, ``kb.index.files.generation.open_current``).

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
        self._decline_model = coverage.NotCovered.load(settings.model)
        self._swap = threading.Lock()
        self._examples_lock = threading.Lock()
        self._example_cache: dict[tuple[str, ...], np.ndarray] = {}
        self._example_vectors_kept: tuple[tuple[str, ...], np.ndarray | None] = ((), None)

    @property
    def generation(self) -> Generation:
        return self._generation

    def documents(self) -> list[DocumentRecord]:
        return self._generation.documents()

    def urgent_contact(self) -> triage.UrgentContact | None:
        """The urgent line stated in the documents of the generation in service."""
        return _urgent_contact(self._generation)

    def answer(self, query: str, k: int = 5, leave_out: bool = False) -> Answer:
        """Search, then decide whether the documents cover the question and whether it
        describes warning signs. The one call behind the page and the API.

        The decision reads the first ``coverage.DEPTH`` hits whatever ``k`` is, so asking
        for more or fewer passages never changes it. ``leave_out``: the question does not
        count as its own example (a golden question asked of the index it is an example for).

        Raises:
            QueryError: as ``search``.
        """
        clock = Clock()
        if smalltalk.is_small_talk(self.validate(query, k)[0]):
            return self._small_talk(query.strip(), clock)
        ranking = self.explain(query, max(k, coverage.DEPTH), clock)
        question = query.strip()
        confidence, answered, matches = self._covered(question, ranking, k, leave_out)
        rules = self.rules  # one set of rules for the whole answer, even if a refresh swaps them
        signs = rules.matched_signs(question)
        if not signs and rules.urgent_examples:
            fresh = ranking.query.added and self.settings.expand_dense
            vector = self.embedder.encode_query(question) if fresh else ranking.vector
            example, similarity = self._nearest_example(rules, vector)
            if similarity >= self.settings.warning_example_similarity:
                signs = rules.warning_signs(question, example)
        contact = self.urgent_contact() if signs else None
        hits = [
            dataclasses.replace(
                hit,
                highlight=self._warning_highlight(rules, hit, ranking) if signs else hit.highlight,
                match=match,
                label=self.match_label(match, answered),
            )
            for hit, match in zip(ranking.hits[:k], matches, strict=True)
        ]
        clock.lap("triage")
        parts = []
        if signs:
            call = f"{contact.text}." if contact else "the clinic's urgent line."
            parts.append(
                f"Your question mentions warning signs ({', '.join(signs)}). Contact the clinic now: "
                f"{call} In an emergency, call your local emergency number."
            )
        if answered:
            parts.append("These passages from the clinic's documents match your question best.")
        else:
            booking = _booking_contact(self._generation)
            parts.append(
                f"{NOT_COVERED} Ask the clinic: {booking.text}."
                if booking
                else f"{NOT_COVERED} Try other words, or contact the clinic directly."
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
            ranking.query.new_words,
            clock.parts,
            "covered" if answered else "not_covered",
            confidence,
        )

    @property
    def decline_model(self) -> coverage.NotCovered | None:
        """The model that decides "not covered", or None when the best score decides."""
        return self._decline_model if self.settings.decline == "model" else None

    def _covered(
        self, question: str, ranking: Ranking, k: int, leave_out: bool = False
    ) -> tuple[float, bool, list[float]]:
        """How sure the search is that the documents cover the question, the decision, and
        the first ``k`` hits' matches: the confidence for the first hit; for each later one,
        the chance that the documents cover the question and that passage answers it, never
        above the hit before it."""
        hits = ranking.hits[:k]
        if not hits:
            return 0.0, False, []
        model = self.decline_model
        if model is None:  # the best score decides; a hit's match is its score
            scores = np.minimum.accumulate([h.score for h in hits]).tolist()
            return hits[0].score, hits[0].score >= self.settings.min_score, scores
        values = self.coverage_features(question, ranking, leave_out)
        confidence = model.probability(values)
        matches = [confidence]
        words = self._question_words(ranking)
        for hit, row in zip(hits[1:], ranking.rows[1:k], strict=True):
            alone = coverage.passage_features(words, hit, {row: ranking.signals[row]}, self._generation, hits[0].score)
            matches.append(min(matches[-1], confidence * model.answers(alone)))
        return confidence, confidence >= model.threshold, matches

    def match_label(self, match: float, answered: bool) -> str:
        """What a card says of a passage with this match, in an answer answered or not."""
        if not answered:
            return "Not an answer"
        model = self.decline_model
        threshold, strong = (model.threshold, model.strong) if model else (self.settings.min_score, self.settings.min_score + 0.1)
        if match >= strong:
            return "Strong match"
        return "Good match" if match >= threshold else "Weak match"

    @staticmethod
    def _question_words(ranking: Ranking) -> list[str]:
        from kb.index import lexical

        return lexical.words(ranking.query.expanded)

    def coverage_features(self, question: str, ranking: Ranking, leave_out: bool = False) -> dict[str, float]:
        """The not-covered model's inputs for an answer, from its first ``coverage.DEPTH``
        hits (``leave_out``: the question does not count as its own example)."""
        examples = self.examples()
        likeness = examples.likeness(ranking.vector, question if leave_out else None)
        hits = ranking.hits[: coverage.DEPTH]
        signals = {row: ranking.signals[row] for row in ranking.rows[: coverage.DEPTH]}
        return coverage.features(self._question_words(ranking), hits, signals, self._generation, likeness)

    def examples(self, generation: Generation | None = None) -> coverage.Examples:
        """The collection's examples of covered and not-covered questions (kept with the
        generation): the subjects' questions its documents discuss, those of other services
        they never name, and its golden dev questions when they belong to it."""
        generation = generation or self._generation
        return _once(generation, "examples", lambda: self._build_examples(generation))

    def _build_examples(self, generation: Generation) -> coverage.Examples:
        subjects = coverage.load_subjects()
        recorded = generation.manifest.get("subjects") or {}
        if recorded.get("fingerprint") == coverage.subjects_fingerprint(subjects):
            mentions = recorded["mentions"]
        else:  # built by an older version or with other subjects: looked up now
            mentions = coverage.mentions_in(generation, subjects)
        texts, covered = coverage.example_questions(mentions, subjects)
        staff = questions_from(self.backend.golden_questions())
        golden_texts, golden_covered = coverage.golden_examples(
            questions_in(self.settings.golden_questions), {d.source for d in generation.documents()}, staff
        )
        texts, covered = texts + golden_texts, covered + golden_covered
        if not texts:
            return coverage.Examples.empty(self.embedder.dimension)
        key = tuple(texts)
        with self._examples_lock:  # embedded once (and kept on disk), whatever the generation
            if self._example_vectors_kept[0] != key:
                self._example_vectors_kept = (key, self.embedder.encode_kept(texts))
            vectors = self._example_vectors_kept[1]
        return coverage.Examples(key, vectors, np.array(covered, dtype=bool))

    def _warning_highlight(self, rules: triage.WarningRules, hit: Hit, ranking: Ranking) -> str:
        """For a question that describes warning signs: the hit's sentence about them,
        nearest the question first; in a passage with none, its highlight unless that
        reassures ("…is expected"), then its nearest sentence that does not."""
        sentences = ranking.sentences.get(ranking.rows[hit.rank - 1])
        if not sentences:
            return hit.highlight
        texts, cosines = sentences
        order = sorted(range(len(texts)), key=lambda i: -cosines[i])
        found = triage.warning_sentence(rules, texts, order)
        if found is not None:
            return texts[found]
        if not triage.reassures(hit.highlight):
            return hit.highlight
        calm = next((i for i in order if not triage.reassures(texts[i])), None)
        return texts[calm] if calm is not None else hit.highlight

    def _small_talk(self, question: str, clock: Clock) -> Answer:
        examples = " ".join(f"“{q}”" for q in smalltalk.EXAMPLE_QUESTIONS[:3])
        return Answer(
            question, False, False, smalltalk.REPLY + examples, clock.total(), [], [], None, reason="small_talk"
        )

    def _nearest_example(self, rules: triage.WarningRules, vector: np.ndarray) -> tuple[str, float]:
        """The warning-sign example question nearest in meaning to the query vector, and
        its cosine similarity."""
        examples = (*rules.urgent_examples, *rules.calm_examples)
        similarities = self._example_vectors(examples) @ vector
        best = int(np.argmax(similarities))
        return examples[best], float(similarities[best])

    def _example_vectors(self, examples: tuple[str, ...]) -> np.ndarray:
        """The example questions' vectors, embedded once per set of examples: a refresh that
        re-reads unchanged rules embeds nothing, and searches arriving together wait for one
        embedding instead of each making its own."""
        with self._examples_lock:
            if examples not in self._example_cache:
                if len(self._example_cache) >= 2:  # the rules in service and the ones before
                    self._example_cache.pop(next(iter(self._example_cache)))
                self._example_cache[examples] = self.embedder.encode_passages(list(examples))
            return self._example_cache[examples]

    def warm_up(self) -> None:
        """Do once, before the first visitor, what the first question would otherwise wait
        for: the example questions' vectors, the keyword statistics, the model's first call."""
        self._generation.lexical.warm()
        self.answer("How long does the redness last?", 1)
        self._nearest_example(self.rules, self.embedder.encode_query("warm up"))
        self.urgent_contact()  # read from the documents once per generation
        _booking_contact(self._generation)
        self.examples(self._generation)

    def configured(self, **changes: object) -> KnowledgeBase:
        """The same loaded model and generation, searched with some settings changed (to
        compare configurations without loading anything twice)."""
        other = object.__new__(KnowledgeBase)
        other.__dict__.update(self.__dict__)
        other.settings = self.settings.with_changes(**changes)
        return other

    def refresh(self, name: str | None = None) -> bool:
        """Switch to the generation named in CURRENT (or ``name``) if it is not the one in
        service. True if switched. ``kb.web.watcher.IndexWatcher`` calls this in a running app.

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
            # What a generation's first searches would each build, built once here while
            # the old generation still serves: a switch never stalls the searches in flight.
            _glossary(fresh)
            _vocabulary(fresh)
            _urgent_contact(fresh)
            _booking_contact(fresh)
            self.examples(fresh)
            fresh.lexical.warm()
            # The old generation is not closed: searches begun on it may still be reading.
            # It is freed when the last of them drops its reference.
            self._generation = fresh
        # Staff edit the rules and re-ingest: a new generation is the moment to re-read them.
        # A broken file keeps the rules in service (the error is raised once, to be logged).
        rules = _load_rules(self.settings.warning_signs)
        self._example_vectors((*rules.urgent_examples, *rules.calm_examples))  # here, not in a search
        self.rules = rules
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

    def explain(self, query: str, k: int = 5, clock: Clock | None = None) -> Ranking:
        """``search``, with the query as searched and each signal of each hit."""
        clock = clock or Clock()
        query, k = self.validate(query, k)
        generation = self._generation  # one generation for the whole search
        searched, vector, signals = self._signals(query, generation, clock, needed_signals(self.settings), k)
        scores = combine(signals, self.settings)
        best = np.argsort(-scores, kind="stable")[:k].tolist()
        rows = [signals.row(i) for i in best]
        clock.lap("fusion")
        hits = []
        passages = generation.passages_at(rows)
        words = coverage.query_weights(searched.expanded)
        for rank, (i, p) in enumerate(zip(best, passages, strict=True), start=1):
            texts = p.sentence_texts()
            highlight = texts[signals.highlight(i, texts, words)] if p.sentences else p.text
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
        sentences = {
            row: (p.sentence_texts(), signals.statements[signals.offsets[i] : signals.offsets[i + 1]])
            for i, row, p in zip(best, rows, passages, strict=True)
        }
        return Ranking(searched, vector, hits, {signals.row(i): signals.at(i) for i in best}, rows, sentences)

    def signals(self, query: str) -> Signals:
        """Every signal of every passage for the query (for tuning the weights)."""
        generation = self._generation
        return self._signals(self.validate(query, 1)[0], generation, Clock(), SIGNAL_NAMES, None)[2]

    def _signals(
        self, query: str, generation: Generation, clock: Clock, needed: tuple[str, ...], k: int | None
    ) -> tuple[Rewrite, np.ndarray, Signals]:
        searched = self.rewrite(query, generation)
        clock.lap("rewrite")
        vector = self.embedder.encode_query(searched.expanded if self.settings.expand_dense else query)
        clock.lap("encode")
        if k is not None and generation.exact and generation.passage_count <= self.settings.full_scan_passages:
            k = None  # small enough to score every passage (an approximate index keeps no matrix to scan)
        return searched, vector, signals_for(generation, vector, searched.expanded, clock, needed, k)

    def rewrite(self, query: str, generation: Generation | None = None) -> Rewrite:
        """The query with the glossary's document words and spelling fixes added."""
        from kb.index import lexical

        generation = generation or self._generation
        index = generation.lexical
        vocabulary = _vocabulary(generation)

        def correct(word: str) -> str | None:
            stem = lexical.stem(word)
            if stem != word and zipf(stem) >= REAL_WORD_ZIPF:
                return None  # built on a real word ("presentable" on "present"): no misspelling
            found = nearest(stem, vocabulary)
            return index.surface.get(found, found) if found else None

        return rewrite(
            query,
            _glossary(generation) if self.settings.use_glossary else (),
            known=lambda w: index.knows(lexical.stem(w)),
            correct=correct if self.settings.spelling else None,
            words=lexical.words,
        )


def _once(generation: Generation, key: str, build):
    """``build()``, made once per generation and kept with it."""
    derived = generation.derived
    if key not in derived:
        derived[key] = build()
    return derived[key]


def _glossary(generation: Generation) -> Glossary:
    """The rules of the glossary kept with the generation (parsed once per generation)."""
    text = generation.glossary_text
    return _once(
        generation, "glossary", lambda: parse_glossary(text, "the index's copy of the glossary") if text else ()
    )


def _urgent_contact(generation: Generation) -> triage.UrgentContact | None:
    """The urgent line stated in the generation's documents (found once per generation)."""
    return _once(generation, "urgent", lambda: triage.find_urgent_contact(_mentioning(generation, "urgent", "emergency")))


def _booking_contact(generation: Generation) -> triage.UrgentContact | None:
    """The line for bookings and questions stated in the documents (found once per generation)."""
    return _once(generation, "booking", lambda: triage.find_booking_contact(_mentioning(generation, "reception", "booking")))


def _mentioning(generation: Generation, *words: str) -> list[tuple[str, str]]:
    return [found for word in words for found in generation.texts_mentioning(word)]


def _vocabulary(generation: Generation) -> Vocabulary:
    """Every stem the generation knows, grouped for spelling fixes (built once per generation)."""
    return _once(generation, "vocabulary", lambda: Vocabulary(generation.lexical.stems()))


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
    rows: list[int] = field(default_factory=list)  # passage row of each hit
    #: passage row -> (its sentences, their cosines to the query; -1 for a non-statement)
    sentences: dict[int, tuple[list[str], np.ndarray]] = field(default_factory=dict)


