"""Opening the index folder's SQLite files (the embedding cache, the votes): several
processes may open a new one at the same moment, and each must wait its turn, not fail."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

WAIT_SECONDS = 10.0


def open_database(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode that waits up to ``WAIT_SECONDS`` for a lock.

    Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is
    locked" at once, without its busy handler, when another process is switching it at the
    same moment; so the switch is retried until the wait runs out. The mode is kept in the
    file: once one process has switched it, the others find it switched.
    """
    db = sqlite3.connect(path, timeout=WAIT_SECONDS, check_same_thread=check_same_thread)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return db
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.02)
