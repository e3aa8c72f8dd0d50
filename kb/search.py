"""Query -> ranked passages. ``KnowledgeBase.search`` is the one search function the app,
the API and evaluators call.

The knowledge base holds the generation in service; ``refresh()`` switches to a newer one
written by an ingest (in this process or another). Searches already running keep the
generation they started with, so a switch never fails a request.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from kb import store, triage
from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import QueryError

#: Shorter sentences ("Yes.", "Cash") match too many questions to rank passages by.
MIN_SENTENCE_WORDS = 4


@dataclass(frozen=True)
class Hit:
    """One ranked passage. ``score`` is the cosine similarity of query and passage."""

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


NOT_COVERED = (
    "The clinic's documents don't cover this question. Try asking in other words, or contact "
    "the clinic directly."
)


class KnowledgeBase:
    """A loaded model and index generation, ready to search."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """Load the index generation in service and the model it was built with.

        Raises:
            IndexNotFoundError: nothing has been ingested into ``settings.index_dir``.
            IndexMismatchError: the index was built with another model.
        """
        self.settings = settings
        generation = store.open_generation(settings.index_dir)
        try:
            store.check_compatible(generation.manifest, settings.model, settings.index_dir)
        except Exception:
            generation.close()
            raise
        self.embedder = embedder or Embedder(settings.model)
        self._generation = generation
        self._swap = threading.Lock()

    @property
    def generation(self) -> store.Generation:
        return self._generation

    def documents(self) -> list[store.DocumentRecord]:
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
        started = time.perf_counter()
        hits = self.search(query, k)
        question = query.strip()
        answered = bool(hits) and hits[0].score >= self.settings.min_score
        signs = triage.warning_signs(question)
        contact = self.urgent_contact() if signs else None
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
        took = (time.perf_counter() - started) * 1000
        return Answer(question, answered, bool(signs), " ".join(parts), took, hits, signs, contact)

    def refresh(self) -> bool:
        """Switch to the generation named in CURRENT if it is newer. True if switched."""
        name = store.current_generation_name(self.settings.index_dir)
        if name is None or name == self._generation.name:
            return False
        with self._swap:
            if name == self._generation.name:
                return False
            fresh = store.open_generation(self.settings.index_dir, name)
            try:
                store.check_compatible(fresh.manifest, self.settings.model, self.settings.index_dir)
            except Exception:
                fresh.close()
                raise
            # The old generation is not closed: searches begun on it may still be reading.
            # It is freed when the last of them drops its reference.
            self._generation = fresh
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

        Three rankings are fused by reciprocal rank: passages by their vector, passages by
        their best sentence's vector, and passages by BM25 keywords. Each hit's ``score`` is
        the cosine similarity of the query to the passage or to its best sentence, whichever
        is higher; ``highlight`` is that sentence.

        Raises:
            QueryError: the query is empty or too long, or k is out of range.
        """
        from kb.vectors import search_vectors, vectors_at

        query, k = self.validate(query, k)
        generation = self._generation  # one generation for the whole search
        mode = self.settings.search_mode
        n = max(k, self.settings.candidates)
        vector = self.embedder.encode_query(query)
        rankings: list[list[int]] = []
        cosine: dict[int, float] = {}
        if mode in ("hybrid", "dense"):
            scores, rows = search_vectors(generation.vectors, vector[None, :], n)
            rankings.append(rows[0].tolist())
            cosine.update(zip(rows[0].tolist(), scores[0].tolist(), strict=True))
            rankings.append(self._rank_by_sentence(generation, vector, n))
        if mode in ("hybrid", "lexical"):
            rankings.append(generation.lexical.search(query, n)[1].tolist())
        best = fuse(rankings, self.settings.rrf_k)[:k]
        unscored = [row for row in best if row not in cosine]
        if unscored:
            extra = vectors_at(generation.vectors, unscored) @ vector
            cosine.update(zip(unscored, extra.tolist(), strict=True))
        hits = []
        for rank, (row, p) in enumerate(zip(best, generation.passages_at(best), strict=True), start=1):
            sentence, sentence_score = _best_sentence(generation, row, p, vector)
            score = max(cosine[row], sentence_score)
            hits.append(
                Hit(rank, score, p.id, p.text, p.source, p.title, p.page, p.section, p.start, p.end, sentence)
            )
        return hits

    @staticmethod
    def _rank_by_sentence(generation: store.Generation, vector, n: int) -> list[int]:
        """Passages ranked by their best sentence: one precise sentence ("It typically takes
        3-4 sessions") is found even when the rest of its passage is about other things.
        Sentences under four words are too vague to rank on."""
        from kb.vectors import search_vectors

        _, rows = search_vectors(generation.sentence_vectors, vector[None, :], n * 3)
        ranking: dict[int, None] = {}  # insertion-ordered set
        for row in rows[0].tolist():
            if generation.sentence_words[row] >= MIN_SENTENCE_WORDS:
                ranking.setdefault(int(generation.sentence_passage[row]))
        return list(ranking)[:n]


def _best_sentence(generation: store.Generation, row: int, passage, vector) -> tuple[str, float]:
    """The passage's sentence that best answers the query, and the best sentence score.

    The score counts every sentence (an FAQ question that echoes the query is strong
    evidence the passage covers it); the highlight skips questions when the passage has
    other sentences, since the answer is what the reader wants marked.
    """
    from kb.vectors import vectors_at

    texts = passage.sentence_texts()
    # Sentences are stored in passage order, so one passage's rows are contiguous.
    first = int(np.searchsorted(generation.sentence_passage, row, side="left"))
    rows = [first + i for i, t in enumerate(texts) if len(t.split()) >= MIN_SENTENCE_WORDS]
    if not rows:
        return (texts[0] if texts else passage.text), -1.0
    scores = vectors_at(generation.sentence_vectors, rows) @ vector
    answers = [i for i, r in enumerate(rows) if not texts[r - first].rstrip().endswith("?")] or list(
        range(len(rows))
    )
    best = max(answers, key=lambda i: scores[i])
    return texts[rows[best] - first], float(scores.max())


def fuse(rankings: list[list[int]], rrf_k: int = 60) -> list[int]:
    """Reciprocal rank fusion: rows ordered by the sum of 1 / (rrf_k + rank) over rankings.

    Ties keep the order of first appearance, so a single ranking comes back unchanged.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(scores, key=lambda row: -scores[row])
