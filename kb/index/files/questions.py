"""The question log of the index folder, in SQLite beside the votes (``questions.sqlite``)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from kb.index.base import QuestionLog
from kb.index.files.sqlite import open_database
from kb.index.questions import HANDLED, LoggedQuestion

COLUMNS = "id, at, door, reason, urgent, question, passages, vote, handled"


class QuestionStore(QuestionLog):
    """Logged questions. Safe to share between threads; several processes (app servers)
    may write one file (SQLite's WAL, a busy wait)."""

    def __init__(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = open_database(Path(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            # A deleted question is overwritten on disk, not left in a free page.
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS questions (id INTEGER PRIMARY KEY, at TEXT NOT NULL, "
                "door TEXT NOT NULL, reason TEXT NOT NULL, urgent INTEGER NOT NULL, question TEXT NOT NULL, "
                "passages TEXT NOT NULL, vote TEXT, handled TEXT)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS questions_at ON questions (at)")

    def record(self, entries: Sequence[LoggedQuestion]) -> None:
        rows = [e.stored() for e in entries]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO questions (at, door, reason, urgent, question, passages) VALUES (?,?,?,?,?,?)", rows
            )

    def add_vote(self, question: str, passage_id: str, vote: str) -> bool:
        asked = LoggedQuestion(question, "", "page", "covered", False).stored()[4]
        with self._lock, self._db:
            found = self._db.execute(
                "SELECT id FROM questions WHERE question = ? AND EXISTS (SELECT 1 FROM json_each(passages) "
                "WHERE value = ?) ORDER BY id DESC LIMIT 1",
                (asked, passage_id),
            ).fetchone()
            if found is None:
                return False
            self._db.execute("UPDATE questions SET vote = ? WHERE id = ?", (vote, found[0]))
        return True

    def entries(self, since: str, until: str | None = None) -> list[LoggedQuestion]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM questions WHERE at >= ? AND at < ? ORDER BY id", (since, until or "9999")
            ).fetchall()
        return [LoggedQuestion.from_row(row) for row in rows]

    def set_handled(self, ids: Sequence[int], how: str) -> None:
        if how not in HANDLED:
            raise ValueError(f"handled must be one of {HANDLED}; got {how!r}.")
        with self._lock, self._db:
            self._db.executemany("UPDATE questions SET handled = ? WHERE id = ?", [(how, int(i)) for i in ids])

    def forget_before(self, at: str) -> int:
        with self._lock, self._db:
            gone = self._db.execute("DELETE FROM questions WHERE at < ?", (at,)).rowcount
        if gone:
            with self._lock:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the deleted text leaves the journal too
        return gone

    def close(self) -> None:
        with self._lock:
            self._db.close()
