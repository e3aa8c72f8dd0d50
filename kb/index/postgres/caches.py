"""What lives beside the generations in Postgres: the embedding cache every ingest worker
shares, the visitors' votes and the question log."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from kb.index.base import EmbeddingCache, FeedbackLog, QuestionLog
from kb.index.postgres.connection import translated
from kb.index.questions import HANDLED, LoggedQuestion
from kb.index.votes import Feedback, checked_vote

#: Keys asked for in one statement.
_CHUNK = 5_000


class PostgresEmbeddingCache(EmbeddingCache):
    """Vectors by key (a hash of model and text), as float32 bytes. Each write commits on
    its own, so what one worker embedded is there for the others at once and survives the
    worker being killed."""

    def __init__(self, conn: psycopg.Connection, url: str, shared: str, dimension: int) -> None:
        self._conn, self._url, self.dimension = conn, url, dimension
        self._table = sql.Identifier(shared, "embeddings")

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        query = sql.SQL("SELECT key, vector FROM {} WHERE key = ANY(%s)").format(self._table)
        with translated(self._url):
            for start in range(0, len(keys), _CHUNK):
                for key, blob in self._conn.execute(
                    query, (list(keys[start : start + _CHUNK]),), binary=True
                ):
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (self.dimension,):
                        found[key] = vector
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        with translated(self._url), self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS new_vectors (key text, vector bytea) ON COMMIT DELETE ROWS"
            )
            with cur.copy("COPY new_vectors (key, vector) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["text", "bytea"])
                for key, vector in items.items():
                    copy.write_row((key, np.asarray(vector, dtype=np.float32).tobytes()))
            # Another worker may have stored the same text meanwhile: same key, same vector.
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT key, vector FROM new_vectors ON CONFLICT (key) DO NOTHING"
                ).format(self._table)
            )

    def batches(self, size: int = 5_000) -> Iterator[dict[str, np.ndarray]]:
        query = sql.SQL("SELECT key, vector FROM {} ORDER BY key").format(self._table)
        with (
            translated(self._url),
            self._conn.transaction(),
            self._conn.cursor(name="kb_cache_batches", binary=True) as cur,
        ):
            cur.execute(query)
            while found := cur.fetchmany(size):
                yield {key: np.frombuffer(blob, dtype=np.float32) for key, blob in found}

    def retain(self, keys: Sequence[str]) -> None:
        with translated(self._url), self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS keep_vectors (key text) ON COMMIT DELETE ROWS")
            with cur.copy("COPY keep_vectors (key) FROM STDIN") as copy:
                for key in set(keys):
                    copy.write_row((key,))
            cur.execute(
                sql.SQL(
                    "DELETE FROM {} e WHERE NOT EXISTS (SELECT 1 FROM keep_vectors k WHERE k.key = e.key)"
                ).format(self._table)
            )

    def close(self) -> None:
        self._conn.close()


class SharedTable:
    """Statements on one of the schema's shared tables (votes, the question log, staff's
    golden questions), which are made first when this is before the first ingest."""

    def __init__(self, pool: ConnectionPool, url: str, shared: str, table: str, create: Callable[[], None]) -> None:
        self._pool, self._url, self._create = pool, url, create
        self.name = sql.Identifier(shared, table)

    def run(self, query: sql.Composable, args: tuple) -> list[tuple]:
        for attempt in (1, 2):
            try:
                with translated(self._url), self._pool.connection() as conn:
                    cur = conn.execute(query, args)
                    return cur.fetchall() if cur.description else []
            except psycopg.errors.UndefinedTable:
                if attempt == 2:
                    raise
                self._create()  # before the first ingest: the tables, where this role may make them
        return []

    def rows(self, statement: str, args: tuple) -> list:
        """The first column of ``statement``'s rows, ``{}`` standing for the table."""
        return [row[0] for row in self.run(sql.SQL(statement).format(self.name), args)]


class PostgresFeedback(FeedbackLog):
    """Votes in ``<schema>.votes``; the app's reading role may add them, not change them."""

    def __init__(self, pool: ConnectionPool, url: str, shared: str, create: Callable[[], None]) -> None:
        self._table = SharedTable(pool, url, shared, "votes", create)

    def record(self, question: str, passage_id: str, vote: str) -> Feedback:
        feedback = checked_vote(question, passage_id, vote)
        query = sql.SQL("INSERT INTO {} (question, passage_id, vote, at) VALUES (%s, %s, %s, %s)")
        self._table.run(
            query.format(self._table.name), (feedback.question, feedback.passage_id, feedback.vote, feedback.at)
        )
        return feedback

    def recent(self, limit: int = 200) -> list[Feedback]:
        query = sql.SQL("SELECT question, passage_id, vote, at FROM {} ORDER BY id DESC LIMIT %s")
        return [Feedback(*row) for row in self._table.run(query.format(self._table.name), (limit,))]


class PostgresQuestions(QuestionLog):
    """The question log in ``<schema>.questions``; the app's reading role may add entries,
    set their votes and delete old ones."""

    def __init__(self, pool: ConnectionPool, url: str, shared: str, create: Callable[[], None]) -> None:
        self._shared = SharedTable(pool, url, shared, "questions", create)
        self._table = self._shared.name

    def record(self, entries: Sequence[LoggedQuestion]) -> None:
        if not entries:
            return
        rows = [e.stored() for e in entries]
        marks = sql.SQL(", ").join(sql.SQL("(%s, %s, %s, %s, %s, %s::jsonb)") for _ in rows)
        query = sql.SQL("INSERT INTO {} (at, door, reason, urgent, question, passages) VALUES ").format(self._table)
        self._shared.run(query + marks, tuple(v for row in rows for v in row))

    def add_vote(self, question: str, passage_id: str, vote: str) -> bool:
        asked = LoggedQuestion(question, "", "page", "covered", False).stored()[4]
        query = sql.SQL(
            "UPDATE {t} SET vote = %s WHERE id = (SELECT id FROM {t} WHERE question = %s AND passages ? %s "
            "ORDER BY id DESC LIMIT 1) RETURNING id"
        ).format(t=self._table)
        return bool(self._shared.run(query, (vote, asked, passage_id)))

    def entries(self, since: str, until: str | None = None) -> list[LoggedQuestion]:
        query = sql.SQL(
            "SELECT id, at, door, reason, urgent, question, passages::text, vote, handled FROM {} "
            "WHERE at >= %s AND at < %s ORDER BY id"
        ).format(self._table)
        return [LoggedQuestion.from_row(row) for row in self._shared.run(query, (since, until or "9999"))]

    def set_handled(self, ids: Sequence[int], how: str) -> None:
        if how not in HANDLED:
            raise ValueError(f"handled must be one of {HANDLED}; got {how!r}.")
        query = sql.SQL("UPDATE {} SET handled = %s WHERE id = ANY(%s)").format(self._table)
        self._shared.run(query, (how, [int(i) for i in ids]))

    def forget_before(self, at: str) -> int:
        query = sql.SQL("DELETE FROM {} WHERE at < %s RETURNING id").format(self._table)
        return len(self._shared.run(query, (at,)))
