"""Ingest in a process of its own, so that no document can take the web site down.

The staff page's re-ingest starts ``python -m kb.ingest.worker`` through :class:`IngestJob`. The
child loads its own model, runs :func:`kb.ingest.ingest` and tells the parent how it is
going, one JSON object per line on its stdout::

    {"progress": ["embed", 120, 480]}
    {"report": {...IngestReport fields...}}        # when it finished (then it asks the golden questions)
    {"error": "...", "locked": false}              # ... or when it could not

The golden questions are asked here, not in the app, because their history is written with
the ingest's role (on Postgres the app's role may only read); the staff page reads their
figures from that history.

The parent watches the child's memory and can cancel it. A child that is killed at any
moment (cancel, out of memory, crash) leaves the previous index in service: generations
are written beside the live one and switched in by one rename (see ``kb.index.base.IndexBackend.write_generation``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Literal

from kb.config import Settings
from kb.errors import IngestLockedError, KBError
from kb.ingest import FailedDocument, IngestReport

logger = logging.getLogger(__name__)

JobState = Literal["running", "finished", "failed", "cancelled"]

_LABELS = {"read": "Reading documents", "embed": "Embedding", "write": "Writing the index"}


class IngestJob:
    """One re-ingest running in a child process.

    Args:
        settings: the settings the child ingests with (folders, model, limits).
        memory_limit_mb: the child is killed when its resident memory passes this.
        poll_seconds: how often the memory is checked.
    """

    def __init__(self, settings: Settings, memory_limit_mb: int | None = None, poll_seconds: float = 0.25):
        self.settings = settings
        self.memory_limit_mb = memory_limit_mb or settings.ingest_memory_mb
        self.poll_seconds = poll_seconds
        self.state: JobState = "running"
        self.progress = "Starting the ingest worker…"
        #: (stage label, done, total) of the last progress message, for a progress bar.
        self.stage: tuple[str, int, int] | None = None
        self.report: IngestReport | None = None
        self.error: str | None = None
        self.locked = False
        self.started = time.time()
        self._lock = threading.Lock()
        self._cancelled = False
        self._over_memory = False
        self._process = subprocess.Popen(
            [sys.executable, "-m", "kb.ingest.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the child's warnings go where the app's go
            text=True,
            encoding="utf-8",
            start_new_session=True,  # its own process group: cancel reaches any helper it starts
            cwd=Path(__file__).resolve().parents[2],  # the project, where kb/ is
        )
        # The worker writes the index: with Postgres, as the role that may (the app's reads).
        self._process.stdin.write(json.dumps(_settings_json(settings.for_writing())))
        self._process.stdin.close()
        self._reader = threading.Thread(target=self._read, name="ingest-worker-reader", daemon=True)
        self._reader.start()
        self._watchdog = threading.Thread(target=self._watch, name="ingest-worker-watchdog", daemon=True)
        self._watchdog.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def done(self) -> bool:
        return self.state != "running"

    def wait(self, timeout: float | None = None) -> JobState:
        """Wait until the job ends (or ``timeout`` seconds pass); returns its state."""
        self._reader.join(timeout)
        return self.state

    def cancel(self) -> bool:
        """Stop the child (SIGTERM, then SIGKILL after 5 s). False if it had already ended."""
        with self._lock:
            if self.done:
                return False
            self._cancelled = True
        self._kill(grace=5.0)
        return True

    def describe(self) -> str:
        """One line for the staff page: what the job is doing or how it ended."""
        if self.state == "running":
            return self.progress
        if self.state == "cancelled" and self.report is not None:
            return "The new index was already in service; only its golden questions were stopped."
        if self.state == "cancelled":
            return "The re-ingest was cancelled. The previous index stays in service."
        if self.state == "failed":
            return str(self.error)
        return "The re-ingest finished."

    # the child's messages ---------------------------------------------------------------
    def _read(self) -> None:
        for line in self._process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue  # not ours: a library printing to stdout
            if not isinstance(message, dict):
                continue
            if "progress" in message:
                stage, done, total = message["progress"]
                self.stage = (_LABELS.get(stage, stage), done, total)
                self.progress = f"{self.stage[0]}: {done} of {total}"
            elif "report" in message:
                self.report = report_from_json(message["report"])
            elif "error" in message:
                self.error, self.locked = str(message["error"]), bool(message.get("locked"))
        code = self._process.wait()
        with self._lock:
            if self._cancelled:
                self.state = "cancelled"
            elif self.report is not None and code == 0:
                self.state = "finished"
            else:
                self.state = "failed"
                if self.error is None:
                    self.error = self._died(code)

    def _died(self, code: int) -> str:
        if code == -signal.SIGKILL and self._over_memory:
            return (
                f"The re-ingest was stopped: it used more than {self.memory_limit_mb:,} MB of memory "
                "(a document may be far larger unpacked than on disk). Remove the newest or largest "
                "document and try again. The previous index stays in service."
            )
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        return (
            f"The re-ingest worker stopped unexpectedly ({how}); see the app's log. "
            "The previous index stays in service; try again."
        )

    # memory watchdog --------------------------------------------------------------------
    def _watch(self) -> None:
        while self._process.poll() is None:
            rss = _resident_mb(self._process.pid)
            if rss is not None and rss > self.memory_limit_mb:
                self._over_memory = True
                self._kill(grace=0.0)
                return
            time.sleep(self.poll_seconds)

    def _kill(self, grace: float) -> None:
        try:
            if grace > 0:
                os.killpg(self._process.pid, signal.SIGTERM)
                try:
                    self._process.wait(grace)
                    return
                except subprocess.TimeoutExpired:
                    pass
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it ended on its own meanwhile


def _resident_mb(pid: int) -> float | None:
    """Resident memory of a process in MB, from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def _settings_json(settings: Settings) -> dict:
    return {f.name: _plain(getattr(settings, f.name)) for f in fields(settings)}


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Path) else value


def report_to_json(report: IngestReport) -> dict:
    return asdict(report)


def report_from_json(data: dict) -> IngestReport:
    """An IngestReport back from ``report_to_json``; lists of failures become FailedDocument."""
    known = {f.name for f in fields(IngestReport)}
    values = {}
    for name, value in data.items():
        if name not in known:
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = [FailedDocument(**item) for item in value]
        values[name] = value
    return IngestReport(**values)


# --- the child -------------------------------------------------------------------------------


def _send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> int:
    """The child: settings as JSON on stdin, messages as JSON lines on stdout."""
    from kb.ingest.progress import log_warnings_only

    log_warnings_only()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # SIGTERM (cancel) ends the process at once; the index stays consistent whenever it dies.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from kb.embedding import Embedder
    from kb.ingest import ingest

    try:
        settings = Settings(**json.loads(sys.stdin.read()))
        embedder = Embedder.for_settings(settings)
        last = [0.0, ""]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if stage != last[1] or done == total or now - last[0] > 0.2:
                last[:] = [now, stage]
                _send({"progress": [stage, done, total]})

        report = ingest(settings, embedder=embedder, progress=progress)
    except IngestLockedError as exc:
        _send({"error": str(exc), "locked": True})
        return 3
    except (KBError, ValueError) as exc:
        kept = "" if "previous index stays" in str(exc) else " The previous index stays in service."
        _send({"error": f"{exc}{kept}"})
        return 2
    except MemoryError:
        _send({"error": "The re-ingest ran out of memory. The previous index stays in service."})
        return 2
    _send({"report": report_to_json(report)})
    logger.info("%s", _golden_summary(settings, embedder).strip())
    return 0


def _golden_summary(settings: Settings, embedder) -> str:
    """The golden questions on the index just written (their figures go to the backend's
    history); a failure here is logged, not raised: the new index is already in service."""
    from kb.quality.golden import golden_summary
    from kb.search import KnowledgeBase

    try:
        kb = KnowledgeBase(settings, embedder)
    except KBError as exc:
        return f"  golden questions: not asked ({exc})"
    try:
        return golden_summary(kb)
    except Exception as exc:  # noqa: BLE001 - the report must still reach the staff page
        return f"  golden questions: not asked ({type(exc).__name__}: {exc})"
    finally:
        kb.backend.close()


if __name__ == "__main__":
    raise SystemExit(main())
