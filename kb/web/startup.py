"""The app's start: open (or first build) the index, load the model, warm up, timed.

``Startup`` runs in a thread of its own from the first lines of ``app.py``, so the index
and the model load while the server starts and gradio imports (docs/BENCHMARKS.md
"Start-up"). Kept out of app.py so the thread can start before app.py's own imports run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kb.config import Settings
from kb.errors import IndexDamagedError, IndexFormatError, IndexNotFoundError, IndexUnavailableError
from kb.search import KnowledgeBase

#: ``knowledge(timeout)``: the loaded knowledge base, waiting up to ``timeout`` seconds
#: (None: as long as it takes); raises IndexUnavailableError while it is still loading,
#: and whatever loading raised if it failed (``Startup.result``).
Knowledge = Callable[[float | None], KnowledgeBase]

#: How long a request waits for the knowledge base while the app starts, in seconds.
LOADING_WAIT = 30.0


def load_knowledge_base(settings: Settings, say: Callable[[str], None] = print) -> KnowledgeBase:
    """Load the index, building it first (with progress on the console) if there is none,
    or only one written by an older version (its cached vectors are reused)."""
    from kb.embedding import Embedder

    embedder = Embedder.for_settings(settings)
    try:
        return KnowledgeBase(settings, embedder)
    except (IndexNotFoundError, IndexFormatError, IndexDamagedError) as exc:
        # None yet, an older version's, or a damaged one with no complete generation to
        # fall back on (kb.index.files.generation.open_current falls back when there is one).
        from kb.ingest import ingest
        from kb.ingest.progress import ConsoleProgress
        from kb.ingest.report import format_report

        why = {IndexFormatError: "of this version", IndexDamagedError: "that can be read"}.get(type(exc), "yet")
        say(f"No index {why} in {settings.index_dir}/: building it from {settings.documents_dir}/ …")
        with ConsoleProgress(enabled=True) as progress:
            report = ingest(settings.for_writing(), embedder=embedder, progress=progress)
        say(format_report(report, settings))
        return KnowledgeBase(settings, embedder)


class Startup(threading.Thread):
    """Loads and warms the knowledge base in the background; ``result()`` waits for it.

    ``laps`` holds the seconds of each part: "index" (opening, or building, it), "model"
    and "warm-up" (the first answers' caches and the model's first calls).
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="kb-startup", daemon=True)
        self.settings = settings
        self.laps: dict[str, float] = {}
        #: ``time.perf_counter()`` when the knowledge base was ready (None until then).
        self.ready_at: float | None = None
        self._kb: KnowledgeBase | None = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            began = time.perf_counter()
            kb = load_knowledge_base(self.settings, say=lambda text: print(text, flush=True))
            self.laps["index"], began = time.perf_counter() - began, time.perf_counter()
            kb.embedder.load()  # a bad KB_MODEL is reported here
            self.laps["model"], began = time.perf_counter() - began, time.perf_counter()
            kb.warm_up()
            self.laps["warm-up"] = time.perf_counter() - began
            self._kb, self.ready_at = kb, time.perf_counter()
        except BaseException as exc:  # handed to the main thread by result()
            self._error = exc

    def result(self, timeout: float | None = None) -> KnowledgeBase:
        """The loaded knowledge base, waiting up to ``timeout`` seconds (None: as long as it
        takes); raises what loading raised.

        Raises:
            IndexUnavailableError: still loading after ``timeout`` seconds.
        """
        self.join(timeout)
        if self.is_alive():
            raise IndexUnavailableError(
                "The app is still starting: the index and the model are loading. Try again in a few seconds."
            )
        if self._error is not None:
            raise self._error
        return self._kb
