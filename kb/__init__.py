"""The clinic knowledge base: documents -> passages -> vectors -> index -> search.

Stages, one module each: ``documents`` (read files), ``chunking`` (split into passages),
``embedding`` (the model), ``vectors`` (FAISS), ``store`` (the index folder and its
generations), ``ingest`` (all of it, incrementally), ``search`` (queries).
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
