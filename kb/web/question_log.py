"""Writing the question log off the request's path: each question asked (through the page,
``/api/search``, the gradio API or MCP) is queued and a thread writes the queue in batches.
A slow or failing log never slows or fails a search: when the queue is full an entry is
dropped and counted, and a failed write is logged (without the questions) and dropped.

Retention runs in the same thread: at start-up and then daily, entries older than
``KB_QUESTION_DAYS`` are deleted. ``KB_QUESTION_LOG=off`` stores nothing at all.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kb.index.base import QuestionLog
from kb.index.clock import now_iso
from kb.index.questions import Door, LoggedQuestion
from kb.search import Answer

logger = logging.getLogger(__name__)

#: Entries waiting to be written; past this a new one is dropped (a flood of questions
#: faster than the disk takes them costs the log, never the search).
MAX_WAITING = 10_000
BATCH = 500
RETENTION_EVERY = 24 * 3600.0


class QuestionRecorder:
    """Queues logged questions and votes, and writes them in a thread of its own."""

    def __init__(self, open_log: Callable[[], QuestionLog], days: int, enabled: bool = True) -> None:
        self.enabled, self.days = enabled, days
        self.dropped = self.failed = 0
        self._open_log = open_log
        self._waiting: queue.Queue = queue.Queue(MAX_WAITING)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(target=self._run, name="question-log", daemon=True)
            self._thread.start()

    def asked(self, answer: Answer, door: Door) -> None:
        """Queue one question and what the search made of it (never blocks)."""
        if not self.enabled:
            return
        entry = LoggedQuestion(
            answer.question,
            now_iso(),
            door,
            answer.reason,  # type: ignore[arg-type]
            answer.urgent,
            tuple(h.passage_id for h in answer.hits[:5]),
        )
        self._put(("asked", entry))

    def voted(self, question: str, passage_id: str, vote: str) -> None:
        if self.enabled:
            self._put(("voted", (question, passage_id, vote)))

    def _put(self, item: tuple) -> None:
        try:
            self._waiting.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._waiting.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._waiting.unfinished_tasks

    def stop(self) -> None:
        self.flush(5.0)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _run(self) -> None:
        log: QuestionLog | None = None
        next_retention = 0.0
        while not self._stop.is_set():
            try:
                first = self._waiting.get(timeout=0.5)
            except queue.Empty:
                first = None
            items = [] if first is None else [first]
            while first is not None and len(items) < BATCH:
                try:
                    items.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                log = log or self._open_log()
                if time.monotonic() >= next_retention:
                    cut = (datetime.now(UTC) - timedelta(days=self.days)).replace(microsecond=0).isoformat()
                    gone = log.forget_before(cut)
                    if gone:
                        logger.info("Question log: %d entries older than %d days deleted", gone, self.days)
                    next_retention = time.monotonic() + RETENTION_EVERY
                self._write(log, items)
            except Exception as exc:  # the log never fails a search; say so once per batch
                if items:
                    self.failed += len(items)
                    logger.warning("Question log: %d entries not written (%s)", len(items), type(exc).__name__)
                if log is not None:
                    log.close()
                log = None
                self._stop.wait(1.0)  # a store that is away is not asked again at once
            finally:
                for _ in items:
                    self._waiting.task_done()
        if log is not None:
            log.close()

    @staticmethod
    def _write(log: QuestionLog, items: list[tuple]) -> None:
        asked = [entry for kind, entry in items if kind == "asked"]
        if asked:
            log.record(asked)
        for kind, vote in items:
            if kind == "voted":
                log.add_vote(*vote)


def main(argv: list[str] | None = None) -> int:
    """``python -m kb.web.question_log --forget-all``: delete every logged question of the
    index the settings name (``KB_INDEX`` or ``KB_DATABASE_URL``), at once."""
    import argparse

    from kb.config import Settings
    from kb.index import index_location, open_backend

    parser = argparse.ArgumentParser(prog="python -m kb.web.question_log", description=main.__doc__.split("\n")[0])
    parser.add_argument("--forget-all", action="store_true", help="delete every logged question now")
    parser.add_argument("--index", help="the index folder (default: KB_INDEX or index/)")
    args = parser.parse_args(argv)
    settings = Settings.from_env(index_dir=args.index)
    backend = open_backend(settings.for_writing())
    try:
        log = backend.question_log()
        if args.forget_all:
            gone = log.forget_all()
            print(f"Deleted {gone} logged questions from {index_location(settings)}.")
        else:
            print(f"{len(log.entries('2000'))} logged questions in {index_location(settings)}.")
        log.close()
    finally:
        backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
