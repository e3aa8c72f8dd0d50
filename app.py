"""The clinic knowledge base web app, started: the ask page and documents page at "/", the
staff page at "/staff/" (behind a login), source files at "/files/...", and the JSON API.
The parts are in kb/web/: app.py (handlers), api.py (the JSON), pages/ (one module a page),
server.py (the FastAPI app that mounts them).

    python app.py [--host 127.0.0.1] [--port 7860] [--documents DIR] [--index DIR]

If the index folder holds no index, one is built from the documents folder first. The
model and index load once; a background thread switches to each new index generation an
ingest writes (from the staff page or ``python ingest.py`` elsewhere) without a restart.

API (see README): ``/search`` (question, k=5) -> JSON object; ``/documents`` -> list.
Staff API on "/staff/" with credentials: ``/upload``, ``/remove``, ``/reingest``,
``/cancel_reingest``, ``/feedback``. A re-ingest runs in a worker process (``kb.ingest.worker``).
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
    """Open the index and load the model in a thread while gradio imports (main only)."""
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
from kb.web.app import ClinicApp  # noqa: E402
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
        imported = time.perf_counter()
        startup = _STARTUP if _STARTUP is not None and _STARTUP.settings == settings else Startup(settings)
        kb = startup.result()
    except (KBError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    loaded = time.perf_counter()
    feedback = kb.backend.feedback()
    server = build_app(ClinicApp(kb, feedback, users))
    ready = time.perf_counter()
    print(
        f"[{time.strftime('%H:%M:%S')}] Serving {kb.generation.passage_count} passages from "
        f"{len(kb.documents())} documents. Open http://{settings.host}:{settings.port}/ "
        f"(staff page: /staff/, {'login required' if users else 'off: set KB_STAFF_PASSWORD'}).",
        flush=True,
    )
    alongside = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in startup.laps.items())
    print(
        f"Start-up took {ready - _BEGAN:.1f} s before the server: imports {imported - _BEGAN:.2f} s, "
        f"waiting for the index and model {loaded - imported:.2f} s, pages {ready - loaded:.2f} s "
        f"(loaded alongside the imports: {alongside}; the model runs on {kb.embedder.backend}).",
        flush=True,
    )
    serve(server, settings.host, settings.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
