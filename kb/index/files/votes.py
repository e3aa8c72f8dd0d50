"""The votes of the index folder, in SQLite beside the generations (``feedback.sqlite``)."""

from __future__ import annotations

import threading
from pathlib import Path

from kb.index.base import FeedbackLog
from kb.index.files.sqlite import open_database
from kb.index.votes import Feedback, checked_vote


class FeedbackStore(FeedbackLog):
    """Append-only votes. Safe to share between threads.

    Each vote is committed before ``record`` returns, so a vote the visitor saw accepted
    survives the process being killed (the WAL journal rolls back only a vote caught
    mid-write) and, with ``synchronous=FULL``, a power cut.
    """

    def __init__(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A second process (an admin's sqlite3 shell, a backup) may hold the file briefly.
        self._db = open_database(Path(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
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
