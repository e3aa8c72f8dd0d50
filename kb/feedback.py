"""Helpful / not helpful votes on passages. The files backend keeps them in SQLite beside
the index (they outlive every index generation); Postgres in a table (kb.index.postgres)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kb.errors import QueryError
from kb.index.base import FeedbackLog
from kb.store import now_iso

Vote = Literal["helpful", "not helpful"]
VOTES: tuple[Vote, ...] = ("helpful", "not helpful")


@dataclass(frozen=True)
class Feedback:
    question: str
    passage_id: str
    vote: Vote
    at: str  # ISO 8601, UTC


def checked_vote(question: str, passage_id: str, vote: str) -> Feedback:
    """The vote as it is kept, stamped now; question and passage trimmed to their limits.

    Raises:
        QueryError: an unknown vote, or no question or passage.
    """
    if vote not in VOTES:
        raise QueryError(f"vote must be one of {', '.join(VOTES)}; got {vote!r}.")
    question, passage_id = (question or "").strip()[:1000], (passage_id or "").strip()[:300]
    if not question or not passage_id:
        raise QueryError("A vote needs the question and the passage it is about.")
    return Feedback(question, passage_id, vote, now_iso())  # type: ignore[arg-type]


class FeedbackStore(FeedbackLog):
    """Append-only votes. Safe to share between threads.

    Each vote is committed before ``record`` returns, so a vote the visitor saw accepted
    survives the process being killed (the WAL journal rolls back only a vote caught
    mid-write) and, with ``synchronous=FULL``, a power cut.
    """

    def __init__(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A second process (an admin's sqlite3 shell, a backup) may hold the file briefly.
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            # Said outright: some SQLite builds default WAL databases to NORMAL, which may
            # lose the last votes on a power cut; FULL syncs each one.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS votes (id INTEGER PRIMARY KEY, question TEXT NOT NULL, "
                "passage_id TEXT NOT NULL, vote TEXT NOT NULL, at TEXT NOT NULL)"
            )

    def record(self, question: str, passage_id: str, vote: str) -> Feedback:
        feedback = checked_vote(question, passage_id, vote)
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO votes (question, passage_id, vote, at) VALUES (?,?,?,?)",
                (feedback.question, feedback.passage_id, feedback.vote, feedback.at),
            )
        return feedback

    def recent(self, limit: int = 200) -> list[Feedback]:
        with self._lock:
            rows = self._db.execute(
                "SELECT question, passage_id, vote, at FROM votes ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Feedback(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
