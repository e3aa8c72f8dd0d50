"""The index behind one interface (``kb.index.base``), with two backends side by side:

    kb/index/base.py        what every backend must do: generations, the switch, search reads,
                            the embedding cache, the work queue, votes
    kb/index/lexical.py     BM25 (bm25s, the only import of it), shared: files load it, Postgres
                            stores its postings
    kb/index/votes.py       what a vote is
    kb/index/location.py    where an index lives, said without a password
    kb/index/files/         the default: FAISS, bm25s and SQLite in the index folder
    kb/index/postgres/      PostgreSQL + pgvector, shared by several app servers and ingest workers

``open_backend(settings)`` picks one: Postgres when ``settings.database_url`` is set
(``KB_DATABASE_URL``), else the index folder.
"""

from __future__ import annotations

from kb.config import Settings
from kb.index.base import IndexBackend
from kb.index.location import index_location, redact


def open_backend(settings: Settings) -> IndexBackend:
    """The backend the settings name. Postgres is only imported when it is used.

    Raises:
        IndexUnavailableError: the database cannot be reached (Postgres only).
    """
    if settings.database_url:
        from kb.index.postgres import PostgresBackend

        return PostgresBackend(settings)
    from kb.index.files import FilesBackend

    return FilesBackend(settings)


def copy_embeddings(source: IndexBackend, target: IndexBackend, dimension: int) -> int:
    """Every vector of one backend's embedding cache into another's (so moving an index
    from files to Postgres embeds nothing again). Returns how many."""
    into, out = target.embedding_cache(dimension), source.embedding_cache(dimension)
    copied = 0
    try:
        for batch in out.batches():
            into.put_many(batch)
            copied += len(batch)
    finally:
        into.close()
        out.close()
    return copied


__all__ = ["IndexBackend", "copy_embeddings", "index_location", "open_backend", "redact"]
