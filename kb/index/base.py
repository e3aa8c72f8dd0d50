"""What every index backend must do: the one interface between the index and its callers.

Search, ingest, the app, evaluation, golden questions and the benchmarks call only this.
Two implementations sit side by side: ``kb.index.files`` (FAISS, bm25s and SQLite in a
folder on one machine, the default) and ``kb.index.postgres`` (PostgreSQL with pgvector,
shared by several app servers and ingest workers).

A *generation* is one complete, read-only index: documents, passages, their sentences and
headings, vectors, the keyword (BM25) statistics, the manifest and a copy of the glossary.
An ingest writes a new generation beside the one in service and switches to it in one
atomic step; readers never see a mix of two generations or a half-written one.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from kb.errors import IndexFormatError, IndexMismatchError
from kb.index.questions import LoggedQuestion
from kb.index.votes import Feedback
from kb.reading.chunking import Passage

#: 3: sentences record whether they are questions; headings have vectors; documents keep
#: their notice; the glossary is kept with the index.
FORMAT_VERSION = 3

#: The history logs kept beside the index (``IndexBackend.history``).
HistoryLog = Literal["golden", "ingests"]

#: Statements shorter than this ("Yes.", "Cash") match too many queries to rank passages by.
MIN_SENTENCE_WORDS = 4


@dataclass(frozen=True)
class DocumentRecord:
    """What the index knows of one source document."""

    source: str
    title: str
    kind: str
    pages: int | None
    sha256: str
    size: int
    passages: int
    ingested_at: str  # ISO 8601, UTC
    #: A notice the document carries about itself ("Sample document: ... a fictional
    #: clinic"), shown with the document and kept out of the passages.
    notice: str | None = None


def new_generation_name() -> str:
    """A new generation's name. Names sort in time order (microseconds), and a random tail
    keeps two writers apart."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class IndexPlan:
    """Which vector index a backend builds for a collection, how to search it, and why
    (FAISS for files: kb/index/files/vectors.py; pgvector's HNSW for Postgres).

    ``params`` are search-time parameters (``nprobe``, ``efSearch``, ``ef_search``), stored
    as sorted (name, value) pairs so the plan stays immutable and hashable; pass a dict if
    easier.
    """

    factory: str
    params: tuple[tuple[str, int], ...] = ()
    exact: bool = True
    chosen_by: Literal["auto", "setting"] = "auto"
    reason: str = ""

    def __post_init__(self) -> None:
        pairs = self.params.items() if isinstance(self.params, dict) else self.params
        object.__setattr__(self, "params", tuple(sorted((str(k), int(v)) for k, v in pairs)))

    @property
    def search_params(self) -> dict[str, int]:
        """Search-time parameters as a dict, e.g. {"nprobe": 48}."""
        return dict(self.params)

    def to_manifest(self) -> dict:
        return {
            "factory": self.factory,
            "params": dict(self.params),
            "exact": self.exact,
            "chosen_by": self.chosen_by,
            "reason": self.reason,
        }

    @classmethod
    def from_manifest(cls, recorded: dict) -> IndexPlan:
        """The plan a manifest records (older files manifests hold a FAISS factory string:
        ``kb.index.files.vectors.plan_from_manifest`` reads those)."""
        return cls(
            factory=recorded["factory"],
            params=recorded.get("params", {}),
            exact=bool(recorded.get("exact", recorded["factory"] == "Flat")),
            chosen_by=recorded.get("chosen_by", "setting"),
            reason=recorded.get("reason", ""),
        )


@dataclass(frozen=True)
class ScoringData:
    """What the search scores passages with, for some passages (or all, in row order).

    Sentences are grouped passage by passage: position i's sentences are rows
    ``offsets[i]`` to ``offsets[i + 1]`` of ``sentence_vectors``. Vectors are unit-length
    float32, so a matrix product with the query's vector gives cosines.
    """

    passage_vectors: np.ndarray  # (n, d)
    sentence_vectors: np.ndarray  # (m, d)
    offsets: np.ndarray  # (n + 1,) int64
    is_statement: np.ndarray  # (m,) bool: a statement of MIN_SENTENCE_WORDS words or more
    is_question: np.ndarray  # (m,) bool
    heading_vectors: np.ndarray  # (h, d): the title-and-section headings these passages use
    heading_of: np.ndarray  # (n,) int64: row in heading_vectors of each passage's heading


def pick_sentences(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sentence rows of the given passage positions, grouped passage by passage, and
    their offsets (``ScoringData.offsets`` for that subset), from the offsets of all."""
    starts, ends = offsets[rows], offsets[rows + 1]
    counts = ends - starts
    subset = np.append(0, np.cumsum(counts)).astype(np.int64)
    picked = np.arange(subset[-1], dtype=np.int64) + np.repeat(starts - subset[:-1], counts)
    return picked, subset


@dataclass(frozen=True)
class Cosines:
    """The query vector's cosine to each passage given, to their sentences (grouped passage
    by passage as in ``ScoringData``) and to each passage's heading: all the search needs of
    the vectors."""

    passage: np.ndarray  # (n,) float32
    sentence: np.ndarray  # (m,) float32
    offsets: np.ndarray  # (n + 1,) int64
    is_statement: np.ndarray  # (m,) bool
    is_question: np.ndarray  # (m,) bool
    heading: np.ndarray  # (n,) float32

    @classmethod
    def of(cls, data: ScoringData, vector: np.ndarray) -> Cosines:
        # Vectors are L2-normalized, so inner product == cosine similarity.
        return cls(
            (data.passage_vectors @ vector).astype(np.float32),
            (data.sentence_vectors @ vector).astype(np.float32),
            data.offsets,
            data.is_statement,
            data.is_question,
            (data.heading_vectors @ vector).astype(np.float32)[data.heading_of],
        )


class Lexical(ABC):
    """The generation's BM25 keyword index, as the search reads it."""

    #: Passages indexed (rows 0 .. size - 1).
    size: int
    #: stem -> the commonest word in the documents with that stem, to show corrections.
    surface: dict[str, str]

    @abstractmethod
    def knows(self, stem: str) -> bool:
        """Whether any passage has the stem."""

    @abstractmethod
    def stems(self) -> list[str]:
        """Every stem the index knows (the spelling fixes' vocabulary), in the order spelling
        ties are broken: the stem in the most passages first, then alphabetically. (bm25s's
        own order depends on the hash seed of the process that built the index.)"""

    @abstractmethod
    def scores(self, stems: list[str]) -> np.ndarray:
        """BM25 score of every passage row for the query stems, float32 (size,)."""

    def warm(self) -> None:
        """Read ahead what the first searches would otherwise wait for (nothing where the
        whole index is in memory)."""
        return None

    @abstractmethod
    def attainable(self, stems: list[str]) -> float:
        """The sum over the query stems of the best score any one passage gets for each
        (stems never seen count as the rarest word): BM25 scores are divided by it."""


class Generation(ABC):
    """One complete generation, open for reading. Safe to share between threads."""

    name: str
    manifest: dict
    #: The glossary's text as the ingest kept it (None when there was none).
    glossary_text: str | None
    lexical: Lexical

    @property
    def derived(self) -> dict:
        """What readers compute once per generation from it (the glossary's rules, the
        spelling vocabulary, the urgent line): kept with it, gone with it."""
        try:
            return self._derived
        except AttributeError:
            self._derived: dict = {}
            return self._derived

    @property
    @abstractmethod
    def passage_count(self) -> int: ...

    @property
    @abstractmethod
    def exact(self) -> bool:
        """True when every passage's vectors are at hand to score them all (a small
        collection, or a flat index); else the search scores candidates only."""

    @abstractmethod
    def nearest_passages(self, vector: np.ndarray, depth: int) -> np.ndarray:
        """Rows of the ``depth`` passages nearest the unit vector (-1 pads), best first."""

    @abstractmethod
    def scoring_data(self, rows: np.ndarray | None) -> ScoringData:
        """Vectors and sentence flags of the given passage rows (None: every row)."""

    def cosines(self, vector: np.ndarray, rows: np.ndarray | None) -> Cosines:
        """The query vector's cosines to the given passages, their sentences and headings
        (None: every row). A backend may compute them where the vectors are."""
        return Cosines.of(self.scoring_data(rows), vector)

    @abstractmethod
    def passages_at(self, rows: Sequence[int]) -> list[Passage]:
        """Passages of the given rows, in the same order."""

    @abstractmethod
    def passages_of(self, source: str) -> list[Passage]:
        """Every passage of one document, in row order."""

    @abstractmethod
    def texts_mentioning(self, word: str) -> list[tuple[str, str]]:
        """(source, text) of passages whose text contains ``word`` (case-insensitive)."""

    @abstractmethod
    def documents(self) -> list[DocumentRecord]:
        """The documents in the generation, by source."""

    def close(self) -> None:
        """Free what the generation holds open; searches still running may finish first."""
        return None


class EmbeddingCache(ABC):
    """Vectors already computed, keyed by a hash of (model, embedding text): a re-ingest
    embeds only text it has not seen. Every write is atomic, so a crash loses little."""

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def put_many(self, items: dict[str, np.ndarray]) -> None: ...

    @abstractmethod
    def retain(self, keys: Sequence[str]) -> None:
        """Forget every vector whose key is not in ``keys``."""

    @abstractmethod
    def batches(self, size: int = 5_000) -> Iterator[dict[str, np.ndarray]]:
        """Every vector in the cache, ``size`` at a time (to copy a cache elsewhere)."""

    def close(self) -> None:
        """Release the cache's connection or file."""
        return None


class FeedbackLog(ABC):
    """Helpful / not helpful votes on passages; they outlive every generation."""

    @abstractmethod
    def record(self, question: str, passage_id: str, vote: str) -> Feedback: ...

    @abstractmethod
    def recent(self, limit: int = 200) -> list[Feedback]: ...

    def close(self) -> None:
        """Release the store."""
        return None


class QuestionLog(ABC):
    """The questions asked, masked (``kb.index.questions``), for staff to find what the
    documents do not answer; they outlive every generation and are deleted after
    ``KB_QUESTION_DAYS``."""

    @abstractmethod
    def record(self, entries: Sequence[LoggedQuestion]) -> None:
        """Keep these entries (masked by ``LoggedQuestion.stored``), in one write."""

    @abstractmethod
    def add_vote(self, question: str, passage_id: str, vote: str) -> bool:
        """Set the vote of the latest entry of this question that showed this passage;
        False when there is none (the question was asked before the log, or logging is off)."""

    @abstractmethod
    def entries(self, since: str, until: str | None = None) -> list[LoggedQuestion]:
        """The entries asked at or after ``since`` (and before ``until``), oldest first."""

    @abstractmethod
    def forget_before(self, at: str) -> int:
        """Delete every entry asked before ``at``; returns how many."""

    @abstractmethod
    def set_handled(self, ids: Sequence[int], how: str) -> None:
        """Mark entries as handled by staff (``kb.index.questions.HANDLED``): they leave the
        content gaps, and stay in the weekly counts."""

    def forget_all(self) -> int:
        return self.forget_before("9999")

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class WorkItem:
    """One piece of an ingest's work: a document to read (``data``: its bytes) or a batch
    of texts to embed. ``meta`` is plain JSON."""

    meta: dict
    data: bytes | None = None


#: Does one work item; returns its result as plain JSON.
Work = Callable[[WorkItem], dict]


class WorkQueue(ABC):
    """An ingest's work, shared with every ingest worker attached to the same index (other
    processes, other machines). The ingest that hands the work out does its share too, so
    an ingest with no workers attached still finishes."""

    @abstractmethod
    def run(
        self, kind: str, items: list[WorkItem], work: Work, job: dict, progress: Callable[[int, int], None]
    ) -> list[dict]:
        """Put ``items`` up for any worker, work on them here too, and wait until every one
        is done (one a worker was killed on is done again by another).

        Args:
            kind: what the work is ("read", "embed"): workers know each by name.
            job: the settings a worker needs to do it as this ingest would (plain JSON).
            progress: called with (done, total).

        Returns:
            Each item's result, in the order of ``items``.
        """

    @abstractmethod
    def serve(self, work: Callable[[str, dict], Work | None], idle_seconds: float | None = None) -> int:
        """Work for ingests as they come (a worker's loop). ``work(kind, job)`` gives the
        function for a job, or None to leave it to others. Returns after ``idle_seconds``
        with nothing to do (None: never); returns how many items it did."""


@dataclass(frozen=True)
class NewGeneration:
    """Everything one generation holds, as the ingest hands it to a backend. Rows are in
    passage order; vectors are unit-length float32."""

    manifest: dict
    documents: list[DocumentRecord]
    passages: Sequence[Passage]
    passage_vectors: np.ndarray  # (len(passages), d)
    sentence_vectors: np.ndarray  # (sentences of all passages, in order, d)
    heading_vectors: np.ndarray  # (len(heading_texts(passages)), d)
    plan: IndexPlan
    glossary: str | None = None


class IndexBackend(ABC):
    """Where generations live, and the shared state beside them: the pointer to the one
    in service, the ingest lock, the embedding cache, the votes and the golden questions'
    history."""

    #: Where the index lives, for messages ("index/", or a database URL without its
    #: password): never holds a secret.
    location: str

    # --- reading ----------------------------------------------------------------------
    @abstractmethod
    def current_name(self) -> str | None:
        """The generation in service, or None before the first ingest.

        Raises:
            IndexUnavailableError: the store cannot be reached right now.
        """

    @abstractmethod
    def generation_names(self) -> list[str]:
        """The complete generations kept, oldest first (the one in service among them)."""

    @abstractmethod
    def open_generation(self, name: str | None = None) -> Generation:
        """The generation in service (or ``name``).

        Raises:
            IndexNotFoundError: none built yet, or ``name`` is gone.
            IndexDamagedError: it cannot be read.
        """

    def open_current(self, model: str) -> Generation:
        """The generation to serve, checked against ``model``.

        Raises:
            IndexNotFoundError, IndexDamagedError: as ``open_generation``.
            IndexMismatchError: it was built with another model or format.
        """
        generation = self.open_generation()
        try:
            self.check_compatible(generation.manifest, model)
        except Exception:
            generation.close()
            raise
        return generation

    def check_compatible(self, manifest: dict, model: str) -> None:
        """Refuse an index built with another model or an unknown format.

        Raises:
            IndexMismatchError: with the command that fixes it.
        """
        check_compatible(manifest, model, self.location)

    # --- writing ----------------------------------------------------------------------
    @abstractmethod
    def plan_index(self, passages: int, setting: str) -> IndexPlan:
        """The passage vector index this backend builds for a collection of that size."""

    @abstractmethod
    def write_generation(self, new: NewGeneration) -> str:
        """Write a complete generation beside the one in service, then switch to it in one
        atomic step. A failure at any point (an exception, a kill) aborts it: nothing of it
        is visible and the generation in service stays.

        Returns:
            The new generation's name.
        """

    @abstractmethod
    def prune(self, keep: int = 2) -> None:
        """Delete all but the ``keep`` newest complete generations (the one in service is
        always kept; the one before stays for searches still running on it)."""

    @abstractmethod
    def remove_leftovers(self) -> list[str]:
        """Remove what a killed or failed ingest left behind; returns what was removed."""

    @abstractmethod
    def ingest_lock(self) -> AbstractContextManager[None]:
        """Held by the one ingest allowed at a time; released if the process dies.

        Raises:
            IngestLockedError: another ingest holds it.
        """

    @abstractmethod
    def embedding_cache(self, dimension: int) -> EmbeddingCache: ...

    def work_queue(self) -> WorkQueue | None:
        """Where an ingest shares its work with workers; None: it works alone (files)."""
        return None

    # --- beside the index -------------------------------------------------------------
    @abstractmethod
    def feedback(self) -> FeedbackLog: ...

    @abstractmethod
    def question_log(self) -> QuestionLog: ...

    @abstractmethod
    def golden_questions(self) -> list[dict]:
        """The golden questions staff wrote from real questions (``kb.quality.evaluation``'s
        format, each with an ``id``), kept with this collection's index, oldest first."""

    @abstractmethod
    def save_golden(self, question: dict) -> None:
        """Keep one golden question; one with the same ``id`` is replaced."""

    @abstractmethod
    def remove_golden(self, question_id: str) -> bool:
        """Forget one golden question; False when there was none of that id."""

    @abstractmethod
    def history(self, log: HistoryLog, limit: int = 1) -> list[dict]:
        """The latest records of a history log, newest first: plain JSON records, shared by
        every ingest and app server of this index. ``"golden"``: the golden questions'
        figures after each ingest; ``"ingests"``: each ingest's report."""

    @abstractmethod
    def append_history(self, log: HistoryLog, record: dict) -> None:
        """Keep one record in a history log (writers only)."""

    def close(self) -> None:
        """Release connections (a no-op for files)."""
        return None


def heading_texts(passages: Sequence[Passage]) -> list[str]:
    """The distinct headings of the passages, in first-seen order, as the model sees them:
    the document title and the section heading (or the title alone)."""
    return list(dict.fromkeys(_heading(p) for p in passages))


def _heading(passage: Passage) -> str:
    return heading_text(passage.title, passage.section)


def heading_text(title: str, section: str | None) -> str:
    return f"{title}: {section}" if section and section != title else title


def sentence_windows(passages: Sequence[Passage], width: int = 1) -> list[str]:
    """What the model sees of each sentence, in sentence-vector order: the passage's heading
    (title and section), then the sentence with ``width`` sentences before and after it in
    the passage (``width`` 0: the sentence alone, without its heading).

    A sentence is scored in its context, so one item of a long list ("You will not cleanse
    the skin or shower for the first 24 hours") is found by a question about it ("can I wash
    my face one day after fractional CO2?") although its own words name neither the
    treatment nor washing the face. The highlight and the stored sentence stay the sentence
    alone."""
    out = []
    for passage in passages:
        texts = passage.sentence_texts()
        if not width:
            out += texts
            continue
        heading = _heading(passage)
        out += [f"{heading}\n{' '.join(texts[max(i - width, 0) : i + width + 1])}" for i in range(len(texts))]
    return out


def sentence_table(passages: Sequence[Passage]) -> Iterator[tuple[int, int, int, str]]:
    """(passage row, start, end, text) of every sentence, in sentence-vector order."""
    for row, passage in enumerate(passages):
        for (start, end), text in zip(passage.sentences, passage.sentence_texts(), strict=True):
            yield row, start, end, text


def by_frequency(counts: dict[str, int]) -> list[str]:
    """Stems, the one in the most passages first, then alphabetically (``Lexical.stems``)."""
    return sorted(counts, key=lambda stem: (-counts[stem], stem))


def check_compatible(manifest: dict, model: str, where: str, option: str = "") -> None:
    """Refuse an index built with another model or an unknown format. ``option`` is what
    the ingest command needs to reach the same index (" --index DIR" for a folder).

    Raises:
        IndexFormatError, IndexMismatchError: with the command that fixes it.
    """
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexFormatError(
            f"The index in {where} has format {manifest.get('format')!r}; this version reads "
            f"format {FORMAT_VERSION}. Rebuild it: python ingest.py --rebuild{option}"
        )
    if manifest.get("model") != model:
        raise IndexMismatchError(
            f"The index in {where} was built with the model {manifest.get('model')!r} "
            f"({manifest.get('dimension')}-d), but the model configured now is {model!r}. "
            f"Either set KB_MODEL={manifest.get('model')} (or --model), or rebuild the index "
            f"with the new model: python ingest.py --rebuild --model {model}{option}"
        )
