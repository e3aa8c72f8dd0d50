"""The embedding cache of the index folder: vectors already computed, in SQLite."""


from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from kb.index import base
from kb.index.files.folder import CACHE
from kb.index.files.sqlite import open_database
from kb.index.files.writer import disk_full_error, is_disk_full


class EmbeddingCache(base.EmbeddingCache):
    """Vectors already computed, keyed by a hash of (model, embedding text).

    Lets a re-ingest embed only passages whose text is new. SQLite keeps each write atomic,
    so a crash mid-ingest leaves a usable cache.
    """

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = Path(path)
        self.dimension = dimension
        self._db = open_database(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
            ):
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dimension,):
                    found[key] = vector
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store vectors in one transaction (all or none of them survive a crash).

        Raises:
            DiskFullError: no room on the disk for them.
        """
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
                )
        except sqlite3.Error as exc:
            if is_disk_full(exc):
                raise disk_full_error(self.path.parent, f"while saving embeddings in {CACHE}", exc) from exc
            raise

    def batches(self, size: int = 5_000) -> Iterator[dict[str, np.ndarray]]:
        rows = self._db.execute("SELECT key, vector FROM vectors ORDER BY key")
        while found := rows.fetchmany(size):
            yield {key: np.frombuffer(blob, dtype=np.float32) for key, blob in found}

    def retain(self, keys: Iterable[str]) -> None:
        """Forget every vector whose key is not in ``keys``."""
        with self._db:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
            self._db.execute("DELETE FROM keep")
            self._db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", [(k,) for k in keys])
            self._db.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM keep)")

    def close(self) -> None:
        self._db.close()
