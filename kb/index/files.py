"""The default backend: one folder on one machine (``kb.store``): FAISS vectors, a bm25s
keyword index and a SQLite passage store per generation, ``CURRENT`` switched by one
rename, a file lock, the embedding cache and the votes in SQLite beside them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb import store
from kb.config import Settings
from kb.index.base import IndexBackend, NewGeneration
from kb.vectors import IndexPlan

FEEDBACK = "feedback.sqlite"


class FilesBackend(IndexBackend):
    def __init__(self, settings: Settings) -> None:
        self.index_dir = Path(settings.index_dir)
        self.location = f"{self.index_dir}/"

    def current_name(self) -> str | None:
        return store.current_generation_name(self.index_dir)

    def generation_names(self) -> list[str]:
        return store.complete_generations(self.index_dir)

    def open_generation(self, name: str | None = None) -> store.Generation:
        return store.open_generation(self.index_dir, name)

    def open_current(self, model: str) -> store.Generation:
        # Falls back on the newest complete generation when CURRENT's is missing or damaged.
        return store.open_current(self.index_dir, model)

    def check_compatible(self, manifest: dict, model: str) -> None:
        store.check_compatible(manifest, model, self.index_dir)

    def plan_index(self, passages: int, setting: str) -> IndexPlan:
        from kb.vectors import plan_index

        return plan_index(passages, setting)

    def write_generation(self, new: NewGeneration) -> str:
        from kb.lexical import LexicalIndex
        from kb.vectors import build_vector_index

        return store.write_generation(
            self.index_dir,
            new.manifest,
            new.documents,
            new.passages,
            build_vector_index(new.passage_vectors, new.plan),
            # Sentences are only read by row (the candidates' sentences, or all of them):
            # stored flat, whatever the passages' index.
            build_vector_index(new.sentence_vectors, "Flat"),
            build_vector_index(new.heading_vectors, "Flat"),
            LexicalIndex.build([p.embedding_text for p in new.passages]),
            new.glossary,
        )

    def prune(self, keep: int = 2) -> None:
        store.prune_generations(self.index_dir, keep)

    def remove_leftovers(self) -> list[str]:
        return store.remove_leftovers(self.index_dir)

    @contextmanager
    def ingest_lock(self) -> Iterator[None]:
        with store.ingest_lock(self.index_dir):
            yield

    def embedding_cache(self, dimension: int) -> store.EmbeddingCache:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        return store.EmbeddingCache(self.index_dir / store.CACHE, dimension)

    def feedback(self):
        from kb.feedback import FeedbackStore

        return FeedbackStore(self.index_dir / FEEDBACK)
