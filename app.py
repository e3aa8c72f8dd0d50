"""The clinic knowledge base web app, started: the ask page and documents page at "/", the
staff page at "/staff/" (behind a login), each passage in its document at "/view/...",
source files at "/files/...", the JSON API and the MCP tools. The parts are in kb/web/:
server.py (the FastAPI app), app.py (the handlers), api.py (the JSON), pages/ (one module a
page), startup.py (loading).

    python app.py [--host 127.0.0.1] [--port 7860] [--documents DIR] [--index DIR]

If the index folder holds no index, one is built from the documents folder first. The
model and index load in a thread from the first line; the plain routes (``GET
/api/search``, /files, /view) are served from the first moment and answer once they are
loaded, the pages once gradio has imported. A background thread switches to each new index
generation an ingest writes (from the staff page or ``python ingest.py`` elsewhere)
without a restart.

API (see README): ``/search`` (question, k=5) -> JSON object; ``/documents`` -> list; the
same as MCP tools at /gradio_api/mcp/. Staff API on "/staff/" with credentials:
``/upload``, ``/remove``, ``/restore``, ``/reingest``, ``/cancel_reingest``,
``/document_status``, ``/last_report``, ``/feedback``. A re-ingest runs in a worker process
(``kb.ingest.worker``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
_BEGAN = time.perf_counter()  # start-up figures (printed when ready, docs/BENCHMARKS.md)


def _start_loading(argv: list[str]):
    """Open the index and load the model in a thread from the first moment (main only)."""
    try:
        from kb.config import Settings
        from kb.web.startup import Startup

        args = parse_args(argv)
        settings = Settings.from_env(documents_dir=args.documents, index_dir=args.index, host=args.host, port=args.port)
    except (SystemExit, ValueError):
        return None  # main() reports bad arguments and settings
    return Startup(settings)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="app.py", description="Serve the clinic knowledge base.")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; env KB_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860; env KB_PORT)")
    parser.add_argument(
        "--documents", type=Path, help="documents folder (default documents/; env KB_DOCUMENTS)"
    )
    parser.add_argument("--index", type=Path, help="index folder (default index/; env KB_INDEX)")
    return parser.parse_args(argv)


_STARTUP = _start_loading(sys.argv[1:]) if __name__ == "__main__" else None


from kb.config import Settings, staff_credentials  # noqa: E402
from kb.errors import KBError  # noqa: E402
from kb.ingest.progress import log_warnings_only  # noqa: E402
from kb.web.server import build_app, serve  # noqa: E402
from kb.web.startup import Startup  # noqa: E402

# --- start-up ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log_warnings_only("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(
            documents_dir=args.documents, index_dir=args.index, host=args.host, port=args.port
        )
        users = staff_credentials()
    except (KBError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    startup = _STARTUP if _STARTUP is not None and _STARTUP.settings == settings else Startup(settings)

    def ready(clinic, laps: dict[str, float]) -> None:
        kb = clinic.kb
        print(
            f"[{time.strftime('%H:%M:%S')}] Serving {kb.generation.passage_count} passages from "
            f"{len(kb.documents())} documents. Open http://{settings.host}:{settings.port}/ "
            f"(staff page: /staff/, {'login required' if users else 'off: set KB_STAFF_PASSWORD'}).",
            flush=True,
        )
        loading = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in startup.laps.items())
        pages = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in laps.items())
        print(
            f"Start-up: /api/search answered from {startup.ready_at - _BEGAN:.1f} s ({loading}; the model "
            f"runs on {kb.embedder.backend}); pages from {time.perf_counter() - _BEGAN:.1f} s ({pages}).",
            flush=True,
        )

    failures: list[BaseException] = []  # the index or model could not be loaded
    serve(build_app(settings, users, startup.result, on_ready=ready), settings.host, settings.port, failures)
    if failures:
        if isinstance(failures[0], KBError | ValueError):
            print(f"error: {failures[0]}", file=sys.stderr)
            return 2
        raise failures[0]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
