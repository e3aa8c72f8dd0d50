"""documents/ -> a new index generation, incrementally and safely.

Unchanged documents (same content hash, same chunking) keep their passages; changed and
new ones are read and split again; passages whose embedding text was embedded before take
their vector from the cache, so only new text meets the model. The result is written as a
new generation and switched in atomically (see ``kb.index.base.IndexBackend.write_generation``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path

import numpy as np

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import DocumentError, IndexDamagedError, IndexNotFoundError, KBError
from kb.index import open_backend
from kb.index.base import (
    FORMAT_VERSION,
    DocumentRecord,
    Generation,
    IndexBackend,
    NewGeneration,
    WorkItem,
    WorkQueue,
    heading_text,
    heading_texts,
    sentence_windows,
)
from kb.index.clock import now_iso
from kb.ingest import work
from kb.reading import documents as docs
from kb.reading.chunking import CHUNKER_VERSION, Passage
from kb.search import coverage
from kb.search.query import parse_glossary

logger = logging.getLogger(__name__)

#: Called with (stage, done, total); stages are "read", "embed" and "write".
IngestProgress = Callable[[str, int, int], None]

_PACKAGES = (
    "clinic-kb",
    "sentence-transformers",
    "transformers",
    "torch",
    "onnxruntime",
    "tokenizers",
    "faiss-cpu",
    "bm25s",
    "PyStemmer",
    "pypdf",
    "python-docx",
    "beautifulsoup4",
    "markdown-it-py",
    "numpy",
)


@dataclass(frozen=True)
class FailedDocument:
    source: str
    reason: str
    kept_previous: bool = False  # the last good version stays in the index


@dataclass
class IngestReport:
    """What an ingest did. Lists hold document sources (paths relative to documents/)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FailedDocument] = field(default_factory=list)
    #: Files in the documents folder that are not read at all: links, hidden files, other
    #: types (hidden folders such as .removed/, the staff's trash, are not listed).
    skipped: list[FailedDocument] = field(default_factory=list)
    documents: int = 0  # documents in the new index
    passages: int = 0  # passages in the new index
    embedded: int = 0  # passages that went through the model in this run
    embedded_sentences: int = 0  # sentences (indexed on their own) embedded in this run
    seconds: float = 0.0
    generation: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def ingest(
    settings: Settings,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    progress: IngestProgress | None = None,
) -> IngestReport:
    """Bring the index in ``settings.index_dir`` up to date with ``settings.documents_dir``.

    Args:
        settings: folders, model, chunking and vector index type.
        embedder: a loaded model to reuse; loaded from ``settings.model`` if omitted.
        rebuild: ignore the previous generation and re-read every document (vectors are
            still taken from the cache when the text is identical, unless the model changed).
        progress: optional callback for progress bars.

    Returns:
        The report; per-file failures are in ``report.failed``, never raised.

    Raises:
        IngestLockedError: another ingest is running on the same index folder.
        IndexMismatchError: the index was built with another model and ``rebuild`` is false.
        DocumentError: the documents folder does not exist.
        DiskFullError: no room to write the new index; the previous one stays in service.
    """
    started = time.perf_counter()
    tick = progress or (lambda stage, done, total: None)
    backend = open_backend(settings)
    try:
        report = _ingest(settings, backend, embedder, rebuild, tick)
        report.seconds = time.perf_counter() - started
        # Kept for the staff page, which shows the last ingest's report after a reload.
        # Unchanged documents as a count: a record stays small however large the collection.
        backend.append_history("ingests", {"at": now_iso(), **asdict(report), "unchanged": len(report.unchanged)})
    finally:
        backend.close()
    return report


def _ingest(
    settings: Settings, backend: IndexBackend, embedder: Embedder | None, rebuild: bool, tick: IngestProgress
) -> IngestReport:
    with backend.ingest_lock():
        # What a killed or failed ingest left behind goes first: it may hold the disk space
        # this run needs, and under the lock no other writer can own it.
        backend.remove_leftovers()
        files, skipped = docs.scan_documents(settings.documents_dir)
        glossary = _read_glossary(settings.glossary)
        previous = _previous_generation(backend, settings, rebuild)
        embedder = embedder or Embedder.for_settings(settings)
        if embedder.model_id != settings.model:
            raise KBError(f"The embedder loaded {embedder.model_id!r} but settings name {settings.model!r}.")
        try:
            queue = backend.work_queue()
            report, records, passages = _collect(files, settings, embedder, previous, rebuild, queue, tick)
            report.skipped = [FailedDocument(s.source, s.reason) for s in skipped]
            if _nothing_changed(report, settings, backend, previous, glossary, rebuild):
                # The index in service already is this one: keep it, and never load the model.
                report.generation = previous.name
                backend.prune()
                report.documents, report.passages = len(records), len(passages)
                return report
        finally:
            if previous is not None:
                previous.close()
        texts = [p.embedding_text for p in passages]
        sentences = sentence_windows(passages, settings.sentence_window)
        headings = heading_texts(passages)
        (vectors, sentence_vectors, heading_vectors), embedded = _vectors_for(
            [texts, sentences, headings], settings, embedder, backend, queue, rebuild, tick
        )
        report.embedded, report.embedded_sentences = embedded[0], embedded[1] + embedded[2]
        tick("write", 0, 1)
        plan = backend.plan_index(len(passages), settings.vector_index)
        manifest = manifest_for(settings, embedder, records, len(passages), plan.to_manifest(), passages)
        report.generation = backend.write_generation(
            NewGeneration(manifest, records, passages, vectors, sentence_vectors, heading_vectors, plan, glossary)
        )
        backend.prune()
        tick("write", 1, 1)
    report.documents, report.passages = len(records), len(passages)
    return report


def _nothing_changed(
    report: IngestReport,
    settings: Settings,
    backend: IndexBackend,
    previous: Generation | None,
    glossary: str | None,
    rebuild: bool,
) -> bool:
    """True when a new generation would hold exactly what the one in service holds."""
    if rebuild or previous is None or report.added or report.changed or report.removed:
        return False
    plan = backend.plan_index(previous.passage_count, settings.vector_index).to_manifest()
    return (
        previous.glossary_text == glossary
        and previous.manifest.get("vector_index") == plan
        and previous.manifest.get("chunking") == _chunking(settings)
    )


def _read_glossary(path: Path) -> str | None:
    """The glossary's text, checked; None when there is no glossary file.

    Raises:
        KBError: the glossary has a malformed line (named in the message).
    """
    if not Path(path).is_file():
        return None
    text = Path(path).read_text(encoding="utf-8-sig")
    try:
        parse_glossary(text, str(path))
    except ValueError as exc:
        raise KBError(f"{exc} Fix the glossary and ingest again; the index was not changed.") from None
    return text


def _previous_generation(backend: IndexBackend, settings: Settings, rebuild: bool) -> Generation | None:
    try:
        previous = backend.open_generation()
    except (IndexNotFoundError, IndexDamagedError):
        return None  # nothing usable to build on: every document is read afresh
    if previous.manifest.get("format") != FORMAT_VERSION:
        previous.close()
        return None  # written by an older version: read every document afresh
    if rebuild:
        return previous  # only to tell added from changed and removed documents
    try:
        backend.check_compatible(previous.manifest, settings.model)
    except KBError:
        previous.close()
        raise
    return previous


def _chunking(settings: Settings) -> dict:
    return {
        "passage_tokens": settings.passage_tokens,
        "overlap_sentences": settings.overlap_sentences,
        "reader_version": docs.READER_VERSION,
        "chunker_version": CHUNKER_VERSION,
        # What the model sees of a sentence (kb.index.base.sentence_windows); another value
        # re-reads and re-embeds every document.
        "sentence_window": settings.sentence_window,
    }


def _collect(
    files: list[Path],
    settings: Settings,
    embedder: Embedder,
    previous: Generation | None,
    rebuild: bool,
    queue: WorkQueue | None,
    tick: IngestProgress,
) -> tuple[IngestReport, list[DocumentRecord], list[Passage]]:
    """Decide each document's fate and gather the new generation's records and passages.

    Unchanged documents keep their passages; the others are read (by this process, or by
    every worker sharing the queue), and a document that fails keeps its last good version.
    """
    report = IngestReport()
    old = {d.source: d for d in previous.documents()} if previous else {}
    reuse = not rebuild and previous is not None and previous.manifest.get("chunking") == _chunking(settings)
    fates: list[tuple[str, DocumentRecord | None, int | None]] = []  # source, kept record, item
    items: list[WorkItem] = []
    failed: dict[str, str] = {}
    for path in files:
        source = docs.source_name(path, settings.documents_dir)
        try:
            sha = docs.file_sha256(path)
            if reuse and source in old and old[source].sha256 == sha:
                fates.append((source, old[source], None))
                continue
            size = path.stat().st_size
            if size > settings.max_document_bytes:
                raise DocumentError(docs.too_large(source, size, settings.max_document_bytes))
            # Workers on other machines get the file itself, not a path to it.
            data = path.read_bytes() if queue is not None else None
        except (OSError, DocumentError) as exc:
            failed[source] = work.reason(exc, source)
            fates.append((source, None, None))
            continue
        fates.append((source, None, len(items)))
        items.append(WorkItem({"source": source, "sha256": sha}, data))
    reading = partial(work.read_item, settings=settings, embedder=embedder)
    if queue is None:
        results = []
        for done, item in enumerate(items):
            tick("read", done, len(items))
            results.append(reading(item))
    else:
        results = queue.run("read", items, reading, work.job_settings(settings), partial(tick, "read"))
    tick("read", len(items), len(items))
    records: list[DocumentRecord] = []
    passages: list[Passage] = []
    for source, kept, item in fates:
        before = old.get(source)
        if kept is not None:
            records.append(kept)
            passages.extend(previous.passages_of(source))
            report.unchanged.append(source)
            continue
        result = results[item] if item is not None else {"error": failed[source]}
        if "error" in result:
            keep = before is not None and previous is not None and not rebuild
            if keep:
                records.append(before)
                passages.extend(previous.passages_of(source))
            report.failed.append(FailedDocument(source, result["error"], keep))
            continue
        records.append(DocumentRecord(**result["record"]))
        passages.extend(work.passage_from_json(p) for p in result["passages"])
        (report.changed if before is not None else report.added).append(source)
    report.removed = sorted(set(old) - {source for source, _, _ in fates})
    return report, records, passages


def _vectors_for(
    groups: list[list[str]],
    settings: Settings,
    embedder: Embedder,
    backend: IndexBackend,
    queue: WorkQueue | None,
    rebuild: bool,
    tick: IngestProgress,
) -> tuple[list[np.ndarray], list[int]]:
    """Vectors of each group of texts, (len(group), d) float32 each, and how many texts of
    each group went through the model; texts embedded before come from the cache."""
    cache = backend.embedding_cache(embedder.dimension)
    try:
        every = [text for group in groups for text in group]
        keys = [work.embedding_key(settings.model, t) for t in every]
        cached = {} if rebuild else cache.get_many(keys)
        missing = sorted({k: i for i, k in enumerate(keys) if k not in cached}.values())
        missing = [missing[i] for i in embedder.longest_first([every[i] for i in missing])]
        tick("embed", 0, len(missing))
        # One model call per batch of texts of about one length (longest first), so a batch
        # pads little; vectors go into the cache every few batches, so a crash loses little.
        step = max(settings.batch_size, 1) * 8
        items = [WorkItem({"texts": [every[i] for i in missing[at : at + step]]}) for at in range(0, len(missing), step)]
        embedding = partial(work.embed_item, settings=settings, embedder=embedder, cache=cache)
        if queue is None:
            for n, item in enumerate(items):
                embedding(item)
                tick("embed", min((n + 1) * step, len(missing)), len(missing))
        else:
            progress = partial(_embed_progress, tick, step, len(missing))
            queue.run("embed", items, embedding, work.job_settings(settings), progress)
        cached.update(cache.get_many([keys[i] for i in missing]))
        vectors = np.zeros((len(every), embedder.dimension), dtype=np.float32)
        for row, key in enumerate(keys):
            vectors[row] = cached[key]
        cache.retain(keys)
        bounds = np.cumsum([0, *(len(g) for g in groups)])
        spans = list(zip(bounds[:-1], bounds[1:], strict=True))
        embedded = [sum(1 for i in missing if lo <= i < hi) for lo, hi in spans]
        return [vectors[lo:hi] for lo, hi in spans], embedded
    finally:
        cache.close()


def _embed_progress(tick: IngestProgress, step: int, total: int, done: int, items: int) -> None:
    tick("embed", min(done * step, total), total)


def manifest_for(
    settings: Settings,
    embedder: Embedder,
    records: list[DocumentRecord],
    n: int,
    plan: dict,
    passages: Sequence[Passage] = (),
) -> dict:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "built_at": now_iso(),
        "model": settings.model,
        "dimension": embedder.dimension,
        "model_max_tokens": embedder.max_tokens,
        "normalized": True,
        "metric": "cosine (inner product of unit vectors)",
        # The passage index's type, search parameters and why (kb.index.files.vectors.plan_index).
        "vector_index": plan,
        "chunking": _chunking(settings),
        "packages": versions,
        "documents": {r.source: r.sha256 for r in records},
        "counts": {"documents": len(records), "passages": n},
        # Which subjects of kb/search/subjects.json the documents name: the not-covered
        # decision's examples for this collection (kb.search.coverage).
        "subjects": subjects_record(passages),
    }


def subjects_record(passages: Sequence[Passage]) -> dict:
    subjects = coverage.load_subjects()
    texts = ((heading_text(p.title, p.section), p.text) for p in passages)
    return {"fingerprint": coverage.subjects_fingerprint(subjects), "mentions": coverage.subject_mentions(texts, subjects)}
