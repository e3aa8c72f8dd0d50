"""Query -> ranked passages. ``KnowledgeBase.search`` is the one search function the app,
the API and evaluators call.

The knowledge base holds the generation in service; ``refresh()`` switches to a newer one
written by an ingest (in this process or another). Searches already running keep the
generation they started with, so a switch never fails a request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kb import store
from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import QueryError


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
        """The ``k`` passages nearest to the query, best first.

        Raises:
            QueryError: the query is empty or too long, or k is out of range.
        """
        from kb.vectors import search_vectors

        query, k = self.validate(query, k)
        generation = self._generation  # one generation for the whole search
        vector = self.embedder.encode_query(query)
        scores, rows = search_vectors(generation.vectors, vector[None, :], k)
        passages = generation.passages_at(rows[0].tolist())
        return [
            Hit(rank, float(score), p.id, p.text, p.source, p.title, p.page, p.section, p.start, p.end)
            for rank, (score, p) in enumerate(zip(scores[0], passages, strict=True), start=1)
        ]
