"""The server: one FastAPI app with the plain routes (``GET /api/search``, source files at
"/files/...", each passage in its document at "/view/..." from ``kb.web.pages.viewer``) and
the gradio pages: the public page at "/" and the staff page at "/staff/" (behind a login),
with the sign-in guard, sessions that expire, and the upload rule.

The public page's API (``/search``, ``/documents``) is also served as Model Context Protocol
tools for AI assistants, at ``/gradio_api/mcp/`` (streamable HTTP) and
``/gradio_api/mcp/sse`` (SSE). Gradio makes a tool of each public endpoint of the page it is
turned on for, described by the function's docstring; it is never turned on for the staff
page, so no staff action is a tool.

The plain routes answer from the first moment: ``build_app`` needs neither gradio nor the
loaded knowledge base. The pages are mounted once both are there (``mount_pages``, in a
thread, while the server already serves): until then every other path answers 503 "the app
is starting", and ``/api/search`` waits for the knowledge base. A program's first search is
answered about when the index and model are loaded, not after gradio's import as well
(docs/BENCHMARKS.md, "Start-up")."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from kb.config import Settings, trusted_networks
from kb.errors import IndexUnavailableError, KBError, LoginLockedError
from kb.web.api import MCP_DOOR_HEADER, BoundedCounter, SearchResult, answer_json
from kb.web.auth import (
    ClientAddressMiddleware,
    FramingMiddleware,
    LoginGuard,
    SearchLimitMiddleware,
    UploadOnlyUnder,
    client_address,
    session_store,
)
from kb.web.document_files import served_path
from kb.web.pages.viewer import add_viewer_routes
from kb.web.question_log import QuestionRecorder
from kb.web.startup import LOADING_WAIT, Knowledge

if TYPE_CHECKING:
    from kb.web.app import ClinicApp

logger = logging.getLogger(__name__)

#: What every page path answers until the pages are mounted.
STARTING_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Starting — clinic knowledge base</title></head><body><main><h1>The clinic knowledge base "
    "is starting</h1><p>This page reloads itself in a moment.</p></main></body></html>"
)


#: The parameters of ``GET /api/search``.
SEARCH_PARAMETERS = {"q", "k"}
SEARCH_EXAMPLE = "/api/search?q=how+long+is+the+redness&k=5"


def search_request_problem(errors: list[dict], unknown: list[str] = ()) -> str:
    """What to change in a refused ``/api/search`` request, from FastAPI's validation
    errors or the unknown parameters."""
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        return f"Unknown parameter {names}: /api/search takes q (the question) and k (how many passages), e.g. {SEARCH_EXAMPLE}."
    for error in errors:
        name = error.get("loc", ("", ""))[-1]
        if name == "q":
            return f"The question is missing: pass it as q, e.g. {SEARCH_EXAMPLE}."
        if name == "k":
            return f"k must be a whole number of passages (e.g. k=5); got {error.get('input')!r}."
    return f"The request could not be read; ask as {SEARCH_EXAMPLE}."


def build_app(
    settings: Settings,
    users: dict[str, str],
    knowledge: Knowledge,
    on_ready: Callable[[ClinicApp, dict[str, float]], None] | None = None,
) -> FastAPI:
    """The server, serving the plain routes at once and the pages once mounted.

    Args:
        settings: folders and limits.
        users: staff user -> password hash (empty: the staff page is off).
        knowledge: the knowledge base as it loads (see ``Knowledge``).
        on_ready: told when the pages are mounted, with the seconds each step took.

    When the pages cannot be mounted (the knowledge base failed to load), the error goes to
    ``server.state.on_failure`` (``serve`` sets it to stop the server), or to the log.
    """
    documents_dir = Path(settings.documents_dir).resolve()

    @asynccontextmanager
    async def lifespan(server: FastAPI):
        stopping = asyncio.Event()
        pages = asyncio.create_task(_run_pages(server, users, knowledge, stopping, on_ready))
        pages.add_done_callback(lambda task: _failed(task, getattr(server.state, "on_failure", None)))
        try:
            yield
        finally:
            stopping.set()
            questions.stop()
            if getattr(server.state, "clinic", None) is None:
                pages.cancel()  # still mounting: nothing of gradio's has started
            else:
                await pages  # gradio's lifespans end in the task that entered them
                server.state.clinic.stop()

    server = FastAPI(lifespan=lifespan)

    # Routes go before the "/" mount, which would otherwise match every path.
    waiting = server.state.searches_in_flight = BoundedCounter(settings.queue_size)
    # Every door's questions go to one log (kb/web/question_log.py), written off the
    # request's path into the index's backend once the knowledge base is loaded.
    questions = server.state.questions = QuestionRecorder(
        lambda: knowledge(None).backend.question_log(), settings.question_days, settings.question_log == "on"
    )

    @server.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """Every refused /api/search says what to change, in the README's one shape."""
        if request.url.path.rstrip("/") != "/api/search":
            return await request_validation_exception_handler(request, exc)
        return JSONResponse({"detail": search_request_problem(exc.errors())}, status_code=400)

    @server.get("/api/search", response_model=None)  # the documented SearchResult, as for /search
    def plain_search(request: Request, q: str, k: int = 5) -> SearchResult:
        """The /search answer as plain JSON over one HTTP GET: ``/api/search?q=...&k=5``.

        The same search as the gradio API's /search without gradio's queue and event
        stream: a few milliseconds less per request, for programs that call it often.
        Requests run in a thread pool; queries arriving together share one model call.
        Beyond ``KB_QUEUE_SIZE`` requests in flight the answer is 503 at once. While the
        app starts, a request waits for the index and the model.
        """
        unknown = sorted(set(request.query_params) - SEARCH_PARAMETERS)
        if unknown:
            raise HTTPException(status_code=400, detail=search_request_problem([], unknown))
        if not waiting.enter():
            raise HTTPException(status_code=503, detail="Busy: too many searches at once. Try again shortly.")
        try:
            answer = knowledge(LOADING_WAIT).answer(q, k)
            questions.asked(answer, "api")
            return answer_json(answer)
        except IndexUnavailableError as exc:  # starting, or the database is away: try again shortly
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

    add_viewer_routes(
        server, settings, knowledge
    )  # /view/... and /view-page/...: the passage in its document

    @server.get("/files/{source:path}")
    def source_file(source: str) -> FileResponse:
        path = served_path(documents_dir, source)
        if path is None:
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

    @server.api_route("/{path:path}", methods=["GET", "HEAD", "POST"], include_in_schema=False)
    def starting(path: str) -> HTMLResponse:  # removed once the pages are mounted
        return HTMLResponse(STARTING_PAGE, status_code=503, headers={"Retry-After": "2"})

    server.state.starting_route = server.router.routes[-1]
    # The last added runs first: the client's address is known before the search limit.
    server.add_middleware(UploadOnlyUnder, prefix="/staff/")
    server.add_middleware(SearchLimitMiddleware, per_minute=settings.searches_per_minute)
    server.add_middleware(ClientAddressMiddleware, trusted=trusted_networks(settings.trusted_proxies))
    server.add_middleware(FramingMiddleware)
    return server


async def _run_pages(
    server: FastAPI,
    users: dict[str, str],
    knowledge: Knowledge,
    stopping: asyncio.Event,
    on_ready: Callable[[ClinicApp, dict[str, float]], None] | None,
) -> None:
    """Mount the pages (in a thread: importing gradio and building pages take seconds),
    start them as gradio's own mount would at start-up, stop answering 503, and serve them
    until the server stops."""
    clinic, laps = await asyncio.to_thread(_mount_when_loaded, server, users, knowledge)
    async with AsyncExitStack() as stack:
        for mounted in server.state.gradio_apps:
            await stack.enter_async_context(mounted.router.lifespan_context(mounted))
            mounted.get_blocks().run_startup_events()
            await mounted.get_blocks().run_extra_startup_events()
        server.router.routes.remove(server.state.starting_route)
        threading.Thread(target=clinic.watch_index, name="index-watcher", daemon=True).start()
        if on_ready is not None:
            on_ready(clinic, laps)
        await stopping.wait()


def _mount_when_loaded(
    server: FastAPI, users: dict[str, str], knowledge: Knowledge
) -> tuple[ClinicApp, dict]:
    began = time.perf_counter()
    from kb.web.app import ClinicApp  # imports gradio

    imported = time.perf_counter()
    kb = knowledge(None)
    loaded = time.perf_counter()
    clinic = ClinicApp(kb, kb.backend.feedback(), users, server.state.questions)
    mount_pages(server, clinic)  # sets server.state.clinic
    laps = {"gradio import": imported - began, "waiting for the index and model": loaded - imported}
    laps["pages"] = time.perf_counter() - loaded
    return clinic, laps


def _failed(task: asyncio.Task, on_failure: Callable[[BaseException], None] | None) -> None:
    if task.cancelled() or task.exception() is None:
        return
    if on_failure is not None:
        on_failure(task.exception())
    else:
        logger.error("The pages could not be started", exc_info=task.exception())


def mount_pages(server: FastAPI, app: ClinicApp) -> None:
    """Mount the staff page at /staff/ (login) and the public page at /."""
    import gradio as gr

    from kb.web.pages import CSS
    from kb.web.pages.public import build_public
    from kb.web.pages.staff import build_staff
    from kb.web.pages.theme import build_theme
    from kb.web.webqueue import wake_on_work

    server.state.clinic = app
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
            # Gradio's sign-in page has no title of its own; the first <title> in a page is its title.
            "<title>Staff sign-in · Clinic knowledge base</title>"
            "<b>Clinic staff only.</b> Sign in with your staff account. After "
            f"{settings.login_max_failures} failed sign-ins, sign-in is locked for "
            f"{settings.login_lock_minutes:g} minutes."
        ),
        show_error=False,
        footer_links=["api"] if users else [],
        enable_monitoring=False,
        max_file_size=app.settings.max_document_bytes,
        css=CSS,
        theme=build_theme(),
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
        theme=build_theme(),
        css=CSS,
        # /search and /documents as MCP tools for AI assistants, at /gradio_api/mcp/ (streamable
        # HTTP) and /gradio_api/mcp/sse; gradio lists the page's public endpoints only.
        mcp_server=True,
    )
    _mcp_results_as_json(public)
    server.state.gradio_apps = [_mounted(server, "/staff"), _mounted(server, "")]
    # Gradio keeps login tokens until restart; the staff page's expire instead.
    _mounted(server, "/staff").tokens = session_store(settings.staff_session_minutes)


def _mcp_results_as_json(page) -> None:
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

    # A tool call reaches its function through gradio's own client, with the MCP request's
    # headers; one more says it came through MCP (the question log's door), on either
    # transport (SSE requests carry no MCP header of their own).
    prepare = server._prepare_tool_call_args

    def marked(name: str, arguments: dict):
        endpoint, processed, headers, block_fn = prepare(name, arguments)
        return endpoint, processed, {**headers, MCP_DOOR_HEADER: "mcp"}, block_fn

    server._prepare_tool_call_args = marked


def serve(server: FastAPI, host: str, port: int, on_failure: list[BaseException] | None = None) -> None:
    """Run ``server`` with uvicorn until stopped (Ctrl-C, SIGTERM), or until its pages fail
    to start (the error is appended to ``on_failure``).

    Gradio's heartbeat streams stay open as long as their client lives, and the MCP tools
    call the page through a gradio client inside this process; uvicorn would wait for them
    forever on a stop. They are ended first, and what still runs 10 s later is cut.
    """
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None) -> None:
            for mounted in getattr(server.state, "gradio_apps", []):
                mounted.stop_event.set()  # ends its heartbeat streams
            await super().shutdown(sockets)

    # The client's address comes from ClientAddressMiddleware, which believes a forwarded
    # one only from KB_TRUSTED_PROXIES; uvicorn's own would believe any local peer.
    config = uvicorn.Config(
        server, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10, proxy_headers=False
    )
    running = Server(config)

    def failed(exc: BaseException) -> None:  # the index or model could not be loaded: stop
        if on_failure is not None:
            on_failure.append(exc)
        running.should_exit = True

    server.state.on_failure = failed
    running.run()


def _mounted(server: FastAPI, path: str):
    from starlette.routing import Mount

    [app] = [r.app for r in server.routes if isinstance(r, Mount) and r.path == path]
    return app
