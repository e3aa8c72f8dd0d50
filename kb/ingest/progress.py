"""Progress bars for the people who run an ingest: the command line and the app's console."""

from __future__ import annotations

import sys


class ConsoleProgress:
    """A tqdm bar per stage, on stderr."""

    _LABELS = {
        "read": "Reading documents",
        "embed": "Embedding passages and sentences",
        "write": "Writing index",
    }

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar = None
        self._stage = None

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            from tqdm import tqdm

            self._close()
            self._stage = stage
            self._bar = tqdm(
                total=total, desc=self._LABELS.get(stage, stage), unit="", file=sys.stderr, leave=False
            )
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def log_warnings_only(fmt: str = "%(levelname)s %(name)s: %(message)s") -> None:
    """Show warnings and errors on stderr, nothing less. For the entry scripts only.

    The level sits on the handler, not only on the loggers: bm25s sets its own logger to
    DEBUG when it is imported (after this runs), and its records would pass a logger level.
    """
    import logging

    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.WARNING, format=fmt, handlers=[handler])
    # pypdf warns of each repair it makes to a damaged file ("Ignoring wrong pointing
    # object"); the ingest report already says what became of each file.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
