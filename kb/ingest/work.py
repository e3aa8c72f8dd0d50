"""The work any ingest worker does, the ingest itself included: read and split one
document, embed a batch of texts into the shared cache; and a worker's loop (``serve``).

Work comes as ``kb.index.base.WorkItem``s and its results are plain JSON, so it can be done
in another process or on another machine (``python ingest.py --worker``) and handed back
through the database (kb/index/postgres/tasks.py).
"""


from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
from functools import partial
from pathlib import Path

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import DocumentError, KBError
from kb.index import open_backend
from kb.index.base import (
    DocumentRecord,
    EmbeddingCache,
    WorkItem,
)
from kb.index.clock import now_iso
from kb.reading import documents as docs
from kb.reading.chunking import Passage, split_document

logger = logging.getLogger(__name__)

def serve(settings: Settings, embedder: Embedder | None = None, idle_seconds: float | None = None) -> int:
    """Be an ingest worker: do a share of every ingest run on the same database (reading
    documents, embedding texts) until ``idle_seconds`` pass with nothing to do (None: for
    ever). Returns how many work items it did.

    Raises:
        KBError: the index is not in a database (workers share work through Postgres).
    """
    backend = open_backend(settings)
    try:
        queue = backend.work_queue()
        if queue is None:
            raise KBError(
                "Ingest workers share an ingest through the database: set KB_DATABASE_URL to the "
                "index's Postgres URL (a role that can write)."
            )
        embedder = embedder or Embedder.for_settings(settings)
        caches: list[EmbeddingCache] = []

        def work(kind: str, job: dict):
            if job.get("model") != settings.model:
                logger.warning("Leaving a job to others: it embeds with %r, this worker with %r.", job.get("model"), settings.model)
                return None
            mine = settings.with_changes(**{k: v for k, v in job.items() if k != "model"})
            if kind == "read":
                return partial(read_item, settings=mine, embedder=embedder)
            if kind == "embed":
                if not caches:
                    caches.append(backend.embedding_cache(embedder.dimension))
                return partial(embed_item, settings=mine, embedder=embedder, cache=caches[0])
            return None

        try:
            return queue.serve(work, idle_seconds)
        finally:
            for cache in caches:
                cache.close()
    finally:
        backend.close()


def read_item(item: WorkItem, settings: Settings, embedder: Embedder) -> dict:
    """Read and split one document (work item "read"): its record and passages, or the
    reason it failed. The file comes with the item (``data``) or from the documents folder."""
    source = item.meta["source"]
    with tempfile.TemporaryDirectory(prefix="kb-read-") as scratch:
        folder = Path(settings.documents_dir)
        if item.data is not None:
            folder = Path(scratch)
            (folder / source).parent.mkdir(parents=True, exist_ok=True)
            (folder / source).write_bytes(item.data)
        path = folder / source
        try:
            if docs.file_sha256(path) != item.meta["sha256"]:
                raise DocumentError(f"{source}: changed while it was being ingested; ingest again.")
            document = docs.read_document(
                path,
                folder,
                settings.max_document_bytes,
                limits=_limits(settings),
                max_seconds=settings.max_read_seconds,
            )
            # The model (its tokenizer) is only loaded once a document has to be split.
            limit = min(settings.passage_tokens, embedder.max_tokens)
            found = split_document(document, embedder.count_tokens, limit, settings.overlap_sentences)
            _check_lengths(found, embedder, source)
            size = path.stat().st_size
        except Exception as exc:  # one bad file never stops the ingest (KeyboardInterrupt does)
            return {"error": reason(exc, source)}
    record = DocumentRecord(
        source, document.title, document.kind, document.pages, item.meta["sha256"], size, len(found), now_iso(),
        document.notice,
    )
    return {"record": dataclasses.asdict(record), "passages": [_passage_json(p) for p in found]}


def _passage_json(p: Passage) -> list:
    return [p.id, p.source, p.title, p.page, p.section, p.start, p.end, p.text, [list(s) for s in p.sentences]]


def passage_from_json(row: list) -> Passage:
    *fields, sentences = row
    return Passage(*fields, sentences=tuple((int(a), int(b)) for a, b in sentences))


def job_settings(settings: Settings) -> dict:
    """What a worker must use to do an ingest's work as the ingest itself would."""
    return {
        "model": settings.model,
        "passage_tokens": settings.passage_tokens,
        "overlap_sentences": settings.overlap_sentences,
        "max_document_bytes": settings.max_document_bytes,
        "max_unpacked_bytes": settings.max_unpacked_bytes,
        "max_read_seconds": settings.max_read_seconds,
        "batch_size": settings.batch_size,
    }


def _limits(settings: Settings) -> docs.Limits:
    return docs.Limits(max_unpacked_bytes=settings.max_unpacked_bytes)


def reason(exc: Exception, source: str) -> str:
    text = str(exc)
    if isinstance(exc, OSError):
        text = f"{source}: could not be opened ({exc.strerror or exc})."
    elif not isinstance(exc, DocumentError):
        text = (
            f"{source}: could not be read: {type(exc).__name__}: {exc}. This is a fault in the "
            "reader; the file is skipped. Please report it with the file."
        )
    prefix = f"{source}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _check_lengths(passages: list[Passage], embedder: Embedder, source: str) -> None:
    """No passage may be cut short by the model: count with its own tokenizer."""
    counts = embedder.count_tokens([p.embedding_text for p in passages])
    for passage, n in zip(passages, counts, strict=True):
        if n + 2 > embedder.max_tokens:
            raise DocumentError(
                f"{source}: passage {passage.id} has {n} word pieces, over the model's limit of "
                f"{embedder.max_tokens}; lower --passage-tokens and ingest again."
            )


def embedding_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def embed_item(item: WorkItem, settings: Settings, embedder: Embedder, cache: EmbeddingCache) -> dict:
    """Embed a batch of texts (work item "embed") into the shared cache, ``batch_size`` at
    a time; returns how many."""
    texts = item.meta["texts"]
    size = max(settings.batch_size, 1)
    new = {}
    for at in range(0, len(texts), size):
        part = texts[at : at + size]
        new.update(zip([embedding_key(settings.model, t) for t in part], embedder.encode_batch(part), strict=True))
    cache.put_many(new)
    return {"embedded": len(new)}


