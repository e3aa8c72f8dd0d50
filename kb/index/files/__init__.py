"""The default backend: the index folder on one machine.

    kb/index/files/folder.py       the folder's layout, the CURRENT pointer, pruning, leftovers, lock
    kb/index/files/generation.py   a generation read: SQLite passages, FAISS vectors, BM25, loaded whole
    kb/index/files/writer.py       a generation written beside the one in service and switched in
    kb/index/files/vectors.py      FAISS: the index chooser, build, save, load, search (the only faiss import)
    kb/index/files/cache.py        the embedding cache; votes.py: the votes (SQLite)
    kb/index/files/checks.py       the history logs: golden questions, ingest reports (JSON lines)

The names tests and benchmarks reach for are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.config import Settings
from kb.index.base import (
    FORMAT_VERSION,
    DocumentRecord,
    HistoryLog,
    IndexBackend,
    IndexPlan,
    NewGeneration,
    heading_texts,
    sentence_table,
    sentence_windows,
)
from kb.index.clock import now_iso
from kb.index.files.cache import EmbeddingCache
from kb.index.files.checks import append_record, latest_records
from kb.index.files.folder import (
    CACHE,
    CURRENT,
    GENERATIONS,
    GLOSSARY,
    HEADING_VECTORS,
    LEXICAL,
    MANIFEST,
    PASSAGES,
    SENTENCE_VECTORS,
    VECTORS,
    complete_generations,
    current_generation_name,
    ingest_lock,
    prune_generations,
    remove_leftovers,
)
from kb.index.files.generation import Generation, check_compatible, open_current, open_generation
from kb.index.files.golden import change_golden, read_golden
from kb.index.files.questions import QuestionStore
from kb.index.files.votes import FeedbackStore
from kb.index.files.writer import is_disk_full, write_generation

#: The votes' and the question log's files in the index folder.
FEEDBACK = "feedback.sqlite"
QUESTIONS = "questions.sqlite"


class FilesBackend(IndexBackend):
    def __init__(self, settings: Settings) -> None:
        self.index_dir = Path(settings.index_dir)
        self.location = f"{self.index_dir}/"

    def current_name(self) -> str | None:
        return current_generation_name(self.index_dir)

    def generation_names(self) -> list[str]:
        return complete_generations(self.index_dir)

    def open_generation(self, name: str | None = None) -> Generation:
        return open_generation(self.index_dir, name)

    def open_current(self, model: str) -> Generation:
        # Falls back on the newest complete generation when CURRENT's is missing or damaged.
        return open_current(self.index_dir, model)

    def check_compatible(self, manifest: dict, model: str) -> None:
        check_compatible(manifest, model, self.index_dir)

    def plan_index(self, passages: int, setting: str) -> IndexPlan:
        from kb.index.files.vectors import plan_index

        return plan_index(passages, setting)

    def write_generation(self, new: NewGeneration) -> str:
        from kb.index.files.vectors import build_vector_index
        from kb.index.lexical import LexicalIndex

        return write_generation(
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
        prune_generations(self.index_dir, keep)

    def remove_leftovers(self) -> list[str]:
        return remove_leftovers(self.index_dir)

    @contextmanager
    def ingest_lock(self) -> Iterator[None]:
        with ingest_lock(self.index_dir):
            yield

    def embedding_cache(self, dimension: int) -> EmbeddingCache:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        return EmbeddingCache(self.index_dir / CACHE, dimension)

    def feedback(self) -> FeedbackStore:
        return FeedbackStore(self.index_dir / FEEDBACK)

    def question_log(self) -> QuestionStore:
        return QuestionStore(self.index_dir / QUESTIONS)

    def golden_questions(self) -> list[dict]:
        return read_golden(self.index_dir)

    def save_golden(self, question: dict) -> None:
        change_golden(self.index_dir, keep=question)

    def remove_golden(self, question_id: str) -> bool:
        return change_golden(self.index_dir, drop=question_id)

    def history(self, log: HistoryLog, limit: int = 1) -> list[dict]:
        return latest_records(self.index_dir, log, limit)

    def append_history(self, log: HistoryLog, record: dict) -> None:
        append_record(self.index_dir, log, record)


__all__ = [
    "CACHE",
    "CURRENT",
    "FEEDBACK",
    "FORMAT_VERSION",
    "GENERATIONS",
    "GLOSSARY",
    "HEADING_VECTORS",
    "LEXICAL",
    "MANIFEST",
    "PASSAGES",
    "SENTENCE_VECTORS",
    "VECTORS",
    "DocumentRecord",
    "EmbeddingCache",
    "FeedbackStore",
    "FilesBackend",
    "Generation",
    "check_compatible",
    "complete_generations",
    "current_generation_name",
    "heading_texts",
    "is_disk_full",
    "now_iso",
    "open_current",
    "open_generation",
    "prune_generations",
    "remove_leftovers",
    "sentence_table",
    "sentence_windows",
    "write_generation",
]
