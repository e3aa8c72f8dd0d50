"""The server: the FastAPI app that mounts the public page at "/" and the staff page at
"/staff/" (behind a login), serves source files at "/files/..." and the plain JSON route
``GET /api/search``, with the sign-in guard, sessions that expire, and the upload rule.

The public page's API (``/search``, ``/documents``) is also served as Model Context Protocol
tools for AI assistants, at ``/gradio_api/mcp/`` (streamable HTTP) and
``/gradio_api/mcp/sse`` (SSE). Gradio makes a tool of each public endpoint of the page it is
turned on for, described by the function's docstring; it is never turned on for the staff
page, so no staff action is a tool."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".

import json
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

from kb.errors import (
    IndexUnavailableError,
    KBError,
    LoginLockedError,
)
from kb.reading.documents import DOCUMENT_TYPES
from kb.web.api import BoundedCounter, SearchResult, answer_json
from kb.web.app import ClinicApp
from kb.web.auth import (
    ClientAddressMiddleware,
    LoginGuard,
    UploadOnlyUnder,
    client_address,
    session_store,
)
from kb.web.pages import CSS
from kb.web.pages.public import build_public
from kb.web.pages.staff import build_staff
from kb.web.webqueue import wake_on_work

logger = logging.getLogger(__name__)


def build_app(app: ClinicApp) -> FastAPI:
    """The FastAPI app: file route, staff page at /staff/ (login), public page at /."""
    documents_dir = Path(app.settings.documents_dir).resolve()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        watcher = threading.Thread(target=app.watch_index, name="index-watcher", daemon=True)
        watcher.start()
        yield
        app.stop()

    server = FastAPI(lifespan=lifespan)

    # Routes go before the "/" mount, which would otherwise match every path.
    waiting = server.state.searches_in_flight = BoundedCounter(app.settings.queue_size)

    @server.get("/api/search", response_model=None)  # the documented SearchResult, as for /search
    def plain_search(q: str, k: int = 5) -> SearchResult:
        """The /search answer as plain JSON over one HTTP GET: ``/api/search?q=...&k=5``.

        The same search as the gradio API's /search without gradio's queue and event
        stream: a few milliseconds less per request, for programs that call it often.
        Requests run in a thread pool; queries arriving together share one model call.
        Beyond ``KB_QUEUE_SIZE`` requests in flight the answer is 503 at once.
        """
        if not waiting.enter():
            raise HTTPException(status_code=503, detail="Busy: too many searches at once. Try again shortly.")
        try:
            return answer_json(app.kb.answer(q, k))
        except IndexUnavailableError as exc:  # the database is away: try again shortly
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "5"}) from None
        except KBError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except Exception:  # a bug: said as JSON like every other answer, its trace in the log
            logger.exception("Search failed for %r", q[:200])
            raise HTTPException(
                status_code=500, detail="The search failed unexpectedly; the error is in the app's log."
            ) from None
        finally:
            waiting.leave()

    @server.get("/files/{source:path}")
    def source_file(source: str) -> FileResponse:
        try:
            # resolve() follows symlinks, so one inside documents/ that points out is outside.
            path = (documents_dir / source).resolve()
            inside = path.is_relative_to(documents_dir)
            hidden = not inside or any(p.startswith(".") for p in path.relative_to(documents_dir).parts)
            found = not hidden and path.is_file() and path.suffix.lower() in DOCUMENT_TYPES
        except (OSError, ValueError):  # a NUL byte, a name too long, a symlink loop
            found = False
        if not found:
            raise HTTPException(status_code=404, detail="No such document.")
        media = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html"}.get(
            path.suffix.lower(), "text/plain; charset=utf-8"
        )
        if path.suffix.lower() == ".docx":
            media = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        headers = {"X-Content-Type-Options": "nosniff"}
        if media.startswith("text/"):
            # A document's own scripts never run in the app's origin.
            headers["Content-Security-Policy"] = "sandbox"
        return FileResponse(path, media_type=media, headers=headers, content_disposition_type="inline")

    @server.get("/staff", include_in_schema=False)
    def staff_slash() -> RedirectResponse:
        return RedirectResponse("/staff/")

    public, staff_page = build_public(app), build_staff(app)
    public.queue(
        default_concurrency_limit=app.settings.queue_concurrency,
        max_size=app.settings.queue_size,
        api_open=False,
    )
    staff_page.queue(default_concurrency_limit=2, api_open=False)
    for blocks in (public, staff_page):
        wake_on_work(blocks._queue)  # no polling while idle (kb/web/webqueue.py)
    users = dict(app.staff_users)
    settings = app.settings
    guard = LoginGuard(
        users,
        max_failures=settings.login_max_failures,
        lock_seconds=settings.login_lock_minutes * 60,
        failure_delay=settings.login_failure_delay,
    )

    async def check(user: str, password: str) -> bool:
        try:
            return await guard.check(user, password, client_address.get())
        except LoginLockedError as exc:  # the login form shows "Incorrect credentials"; clients see this
            raise HTTPException(
                status_code=429, detail=str(exc), headers={"Retry-After": str(int(exc.retry_after) + 1)}
            ) from None

    gr.mount_gradio_app(
        server,
        staff_page,
        path="/staff",
        auth=check if users else None,
        auth_message=(
            "<b>Clinic staff only.</b> Sign in with your staff account. After "
            f"{settings.login_max_failures} failed sign-ins, sign-in is locked for "
            f"{settings.login_lock_minutes:g} minutes."
        ),
        show_error=False,
        footer_links=["api"] if users else [],
        enable_monitoring=False,
        max_file_size=app.settings.max_document_bytes,
        mcp_server=False,  # never the staff actions, whatever GRADIO_MCP_SERVER says
    )
    gr.mount_gradio_app(
        server,
        public,
        path="/",
        show_error=False,
        footer_links=["api"],
        enable_monitoring=False,
        max_file_size="1mb",
        css=CSS,
        # /search and /documents as MCP tools for AI assistants, at /gradio_api/mcp/ (streamable
        # HTTP) and /gradio_api/mcp/sse; gradio lists the page's public endpoints only.
        mcp_server=True,
    )
    _mcp_results_as_json(public)
    _expire_staff_sessions(server, settings.staff_session_minutes)
    server.add_middleware(UploadOnlyUnder, prefix="/staff/")
    server.add_middleware(ClientAddressMiddleware)
    return server


def serve(server: FastAPI, host: str, port: int) -> None:
    """Run ``server`` with uvicorn until stopped (Ctrl-C, SIGTERM).

    Gradio's heartbeat streams stay open as long as their client lives, and the MCP tools
    call the page through a gradio client inside this process; uvicorn would wait for them
    forever on a stop. They are ended first, and what still runs 10 s later is cut.
    """
    import uvicorn
    from starlette.routing import Mount

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None) -> None:
            for route in server.routes:  # each mounted gradio app
                if isinstance(route, Mount) and hasattr(route.app, "stop_event"):
                    route.app.stop_event.set()  # ends its heartbeat streams
            await super().shutdown(sockets)

    config = uvicorn.Config(server, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10)
    Server(config).run()


def _mcp_results_as_json(page: gr.Blocks) -> None:
    """Gradio hands an MCP client a tool's dict or list as Python's repr (``'answered':
    True``, ``'page': None``); the tools' descriptions promise JSON, which programs parse."""
    server = page.mcp_server_obj
    if server is None:  # gradio keeps why in page.mcp_error; the page still works
        logger.warning("The MCP server is off: %s", getattr(page, "mcp_error", "unknown reason"))
        return
    postprocess = server.postprocess_output_data

    def as_json(data: list, root_url: str) -> list:
        return postprocess(
            [json.dumps(d, ensure_ascii=False) if isinstance(d, dict | list) else d for d in data], root_url
        )

    server.postprocess_output_data = as_json


def _expire_staff_sessions(server: FastAPI, session_minutes: float) -> None:
    """Gradio keeps login tokens until restart; the staff page's expire instead."""
    from starlette.routing import Mount

    [staff_mount] = [r.app for r in server.routes if isinstance(r, Mount) and r.path == "/staff"]
    staff_mount.tokens = session_store(session_minutes)
