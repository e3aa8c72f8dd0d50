"""An ingest's work shared by every worker on one database: ``FOR UPDATE SKIP LOCKED``.

The ingest that starts the work (the coordinator) writes a job and its items; any worker
(``python ingest.py --worker``, on this machine or another) and the coordinator itself
claim items one at a time. A claim is a row lock held by the claiming worker's open
transaction, and the item's result is written in that same transaction: a worker that is
killed, or loses its connection, loses its transaction and its lock with it, and the item
goes back up for grabs with nothing half-done. Vectors go to the shared embedding cache as
each batch is embedded (committed on their own), so work done before a kill is not redone.

An item claimed ``MAX_CLAIMS`` times without finishing (a document that kills whoever reads
it) is given up on with a reason, so one bad file cannot stall an ingest. A job whose
coordinator is gone (its database session ended) is left alone by workers and removed by
the next ingest.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from contextlib import suppress

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from kb.index.base import Work, WorkItem, WorkQueue
from kb.index.postgres.connection import connect, translated

logger = logging.getLogger(__name__)

MAX_CLAIMS = 3
#: How long a worker may hold an item (its transaction) without a word to the server.
HOLD_LIMIT = "30min"
#: Seconds between looks for work when there is none.
POLL_SECONDS = 0.2


def tables(shared: str) -> sql.Composed:
    s = sql.Identifier(shared)
    return sql.SQL(
        """
        CREATE TABLE IF NOT EXISTS {s}.ingest_jobs (
            id bigserial PRIMARY KEY,
            kind text NOT NULL,
            settings jsonb NOT NULL,
            coordinator integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS {s}.ingest_items (
            job bigint NOT NULL REFERENCES {s}.ingest_jobs (id) ON DELETE CASCADE,
            n integer NOT NULL,
            meta jsonb NOT NULL,
            data bytea,
            result jsonb,
            PRIMARY KEY (job, n));
        CREATE TABLE IF NOT EXISTS {s}.ingest_claims (
            job bigint NOT NULL REFERENCES {s}.ingest_jobs (id) ON DELETE CASCADE,
            n integer NOT NULL,
            worker text NOT NULL,
            at timestamptz NOT NULL DEFAULT now());
        """
    ).format(s=s)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class PostgresWorkQueue(WorkQueue):
    def __init__(self, url: str, shared: str) -> None:
        self._url, self._shared = url, shared
        self._s = sql.Identifier(shared)

    # --- the coordinator ------------------------------------------------------------------
    def run(
        self, kind: str, items: list[WorkItem], work: Work, job: dict, progress: Callable[[int, int], None]
    ) -> list[dict]:
        if not items:
            return []
        with translated(self._url), connect(self._url, writer=True) as control:
            job_id = control.execute(
                sql.SQL(
                    "INSERT INTO {}.ingest_jobs (kind, settings, coordinator) VALUES (%s, %s, pg_backend_pid()) "
                    "RETURNING id"
                ).format(self._s),
                (kind, Jsonb(job)),
            ).fetchone()[0]
            try:
                with control.cursor() as cur, cur.copy(
                    sql.SQL("COPY {}.ingest_items (job, n, meta, data) FROM STDIN WITH (FORMAT BINARY)").format(self._s)
                ) as copy:
                    copy.set_types(["int8", "int4", "jsonb", "bytea"])
                    for n, item in enumerate(items):
                        copy.write_row((job_id, n, Jsonb(item.meta), item.data))
                with connect(self._url, writer=True, autocommit=False) as mine:
                    self._hold_limit(mine)
                    while True:
                        if self._work_one(mine, control, job_id, work):
                            continue
                        left = self._left(control, job_id)
                        progress(len(items) - left, len(items))
                        if left == 0:
                            break
                        time.sleep(POLL_SECONDS)  # the rest are being worked on elsewhere
                results = control.execute(
                    sql.SQL("SELECT result FROM {}.ingest_items WHERE job = %s ORDER BY n").format(self._s), (job_id,)
                ).fetchall()
            finally:
                with suppress(psycopg.Error):  # gone with the connection: the next ingest removes it
                    control.execute(sql.SQL("DELETE FROM {}.ingest_jobs WHERE id = %s").format(self._s), (job_id,))
        return [r for (r,) in results]

    def _left(self, control: psycopg.Connection, job_id: int) -> int:
        query = sql.SQL("SELECT count(*) FROM {}.ingest_items WHERE job = %s AND result IS NULL").format(self._s)
        return int(control.execute(query, (job_id,)).fetchone()[0])

    # --- every worker, the coordinator included -------------------------------------------
    def _work_one(self, conn: psycopg.Connection, control: psycopg.Connection, job_id: int, work: Work) -> bool:
        """Claim one item of the job, do it and record its result, in one transaction.
        False when no item is left to claim."""
        with conn.transaction():
            found = conn.execute(
                sql.SQL(
                    "SELECT n, meta, data FROM {}.ingest_items WHERE job = %s AND result IS NULL "
                    "ORDER BY n LIMIT 1 FOR UPDATE SKIP LOCKED"
                ).format(self._s),
                (job_id,),
            ).fetchone()
            if found is None:
                return False
            n, meta, data = found
            # Recorded on the side, committed now: a claim outlives the worker that made it.
            claims = control.execute(
                sql.SQL(
                    "WITH c AS (INSERT INTO {s}.ingest_claims (job, n, worker) VALUES (%s, %s, %s)) "
                    "SELECT count(*) + 1 FROM {s}.ingest_claims WHERE job = %s AND n = %s"
                ).format(s=self._s),
                (job_id, n, worker_name(), job_id, n),
            ).fetchone()[0]
            if claims > MAX_CLAIMS:
                result = {"error": f"the ingest worker stopped while working on it {MAX_CLAIMS} times"}
            else:
                result = work(WorkItem(meta, bytes(data) if data is not None else None))
            conn.execute(
                sql.SQL("UPDATE {}.ingest_items SET result = %s WHERE job = %s AND n = %s").format(self._s),
                (Jsonb(result), job_id, n),
            )
        return True

    def serve(self, work: Callable[[str, dict], Work | None], idle_seconds: float | None = None) -> int:
        done, idle_since = 0, time.monotonic()
        with (
            translated(self._url),
            connect(self._url, writer=True) as control,
            connect(self._url, writer=True, autocommit=False) as mine,
        ):
            self._hold_limit(mine)
            while True:
                did = False
                for job_id, kind, settings in self._open_jobs(control):
                    function = work(kind, settings)
                    if function is None:
                        continue
                    while self._work_one(mine, control, job_id, function):
                        done += 1
                        did = True
                if did:
                    idle_since = time.monotonic()
                elif idle_seconds is not None and time.monotonic() - idle_since > idle_seconds:
                    return done
                time.sleep(POLL_SECONDS)

    def _open_jobs(self, control: psycopg.Connection) -> list[tuple]:
        """Jobs whose coordinator is still connected, oldest first."""
        try:
            return control.execute(
                sql.SQL(
                    "SELECT j.id, j.kind, j.settings FROM {}.ingest_jobs j "
                    "WHERE EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = j.coordinator) ORDER BY j.id"
                ).format(self._s)
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return []  # nothing has been ingested into this collection yet

    def _hold_limit(self, conn: psycopg.Connection) -> None:
        conn.execute(sql.SQL("SET idle_in_transaction_session_timeout = {}").format(sql.Literal(HOLD_LIMIT)))
        conn.commit()

    def remove_abandoned(self, conn: psycopg.Connection) -> int:
        """Delete the jobs of coordinators that are gone (killed ingests); returns how many."""
        found = conn.execute(
            sql.SQL(
                "DELETE FROM {}.ingest_jobs j WHERE NOT EXISTS "
                "(SELECT 1 FROM pg_stat_activity a WHERE a.pid = j.coordinator) RETURNING id"
            ).format(self._s)
        ).fetchall()
        return len(found)
