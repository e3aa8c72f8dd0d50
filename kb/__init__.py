"""The clinic knowledge base: documents -> passages -> vectors -> index -> search.

Stages, one folder each: ``reading`` (files -> passages), ``embedding`` (the model),
``index`` (one interface, two backends: the index folder, or Postgres with pgvector),
``ingest`` (all of it, incrementally, shared with workers), ``search`` (questions ->
passages), ``web`` (the app's parts) and ``quality`` (measuring the search).
"""

from kb.config import Settings
from kb.errors import (
    DocumentError,
    IndexDamagedError,
    IndexMismatchError,
    IndexNotFoundError,
    IngestLockedError,
    KBError,
    QueryError,
)
from kb.ingest import FailedDocument, IngestReport, ingest
from kb.search import Hit, KnowledgeBase

__version__ = "0.1.0"

__all__ = [
    "DocumentError",
    "IndexDamagedError",
    "FailedDocument",
    "Hit",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IngestLockedError",
    "IngestReport",
    "KBError",
    "KnowledgeBase",
    "QueryError",
    "Settings",
    "ingest",
    "__version__",
]
