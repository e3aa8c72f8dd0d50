"""Keep a running knowledge base on the index generation in service (``CURRENT`` in the
index folder, the pointer row in Postgres).

An ingest (the staff page's worker, or ``python ingest.py`` in a shell) writes a new
generation and names it in ``CURRENT``; the watcher notices within ``every`` seconds and
switches the knowledge base to it (``KnowledgeBase.refresh``). A generation that cannot be
served (missing, damaged, built with another model or format) is logged once, with what to
do, and not tried again until ``CURRENT`` names another generation; meanwhile the one in
service keeps answering. (Retrying it every poll would reload the whole index and log an
error every second.)
"""

from __future__ import annotations

import logging
import threading

from kb.errors import IndexUnavailableError, KBError
from kb.search import KnowledgeBase

logger = logging.getLogger(__name__)


class IndexWatcher:
    """Polls ``CURRENT`` in a daemon thread and switches ``kb`` to each new generation.

    Usage::

        watcher = IndexWatcher(kb).start()
        ...
        watcher.stop()
    """

    def __init__(self, kb: KnowledgeBase, every: float = 1.0) -> None:
        if every <= 0:
            raise ValueError(f"every must be a positive number of seconds; got {every!r}.")
        self.kb = kb
        self.every = every
        #: The generation last refused, skipped until CURRENT names another one.
        self.refused: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> IndexWatcher:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="index-watcher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.check()

    def check(self) -> bool:
        """Look at CURRENT once; switch if it names a new generation that can be served.

        Returns:
            True if the knowledge base now serves another generation.
        """
        try:
            name = self.kb.backend.current_name()
        except (OSError, IndexUnavailableError) as exc:  # unreadable for a moment: look again next time
            logger.debug("Could not read which generation is in service: %s", exc)
            return False
        if name is None or name == self.kb.generation.name or name == self.refused:
            return False
        serving = self.kb.generation.name
        try:
            switched = self.kb.refresh(name)
        except IndexUnavailableError as exc:  # the database is away for a moment: next time
            logger.debug("Could not switch to %s yet: %s", name, exc)
            return False
        except Exception as exc:
            if self.kb.generation.name == name:
                # The switch happened; what failed after it (re-reading the warning-sign
                # rules) keeps the previous rules in service.
                self.refused = None
                logger.warning("Now serving index generation %s", name)
                logger.error("%s The previous warning-sign rules stay in service.", exc)
                return True
            self.refused = name
            logger.error(
                "Cannot switch to index generation %r: %s Still serving %r; %r is not tried again "
                "until another generation is put in service (the site switches to the next one an "
                "ingest writes: python ingest.py).",
                name,
                exc,
                serving,
                name,
                exc_info=not isinstance(exc, KBError),
            )
            return False
        self.refused = None
        if switched:
            logger.warning("Now serving index generation %s", self.kb.generation.name)
        return switched
