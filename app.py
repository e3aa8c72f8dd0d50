"""The clinic knowledge base web app: the ask page and documents page at "/", the staff page
at "/staff/" (behind a login), source files at "/files/...", and the JSON API.

    python app.py [--host 127.0.0.1] [--port 7860] [--documents DIR] [--index DIR]

If the index folder holds no index, one is built from the documents folder first. The
model and index load once; a background thread switches to each new index generation an
ingest writes (from the staff page or ``python ingest.py`` elsewhere) without a restart.

API (see README): ``/search`` (question, k=5) -> JSON object; ``/documents`` -> list.
Staff API on "/staff/" with credentials: ``/upload``, ``/remove``, ``/reingest``,
``/cancel_reingest``, ``/feedback``. A re-ingest runs in a worker process (``kb.worker``).
"""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".

import argparse
import html
import logging
import os
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
_BEGAN = time.perf_counter()  # start-up figures (printed when ready, docs/BENCHMARKS.md)


def _start_loading(argv: list[str]):
    """Open the index and load the model in a thread while gradio imports (main only)."""
    try:
        from kb.config import Settings
        from kb.startup import Startup

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

import gradio as gr  # noqa: E402
from fastapi import FastAPI, HTTPException  # noqa: E402
from fastapi.responses import FileResponse, RedirectResponse  # noqa: E402

from kb import render, staff  # noqa: E402
from kb.auth import (  # noqa: E402
    ClientAddressMiddleware,
    LoginGuard,
    RateLimit,
    UploadOnlyUnder,
    client_address,
    session_store,
)
from kb.config import Settings, staff_credentials  # noqa: E402
from kb.documents import DOCUMENT_TYPES  # noqa: E402
from kb.errors import (  # noqa: E402
    IndexUnavailableError,
    KBError,
    LoginLockedError,
)
from kb.golden import golden_summary  # noqa: E402
from kb.index.base import FeedbackLog  # noqa: E402
from kb.progress import log_warnings_only  # noqa: E402
from kb.report import format_report  # noqa: E402
from kb.search import Answer, KnowledgeBase  # noqa: E402
from kb.startup import Startup  # noqa: E402
from kb.watcher import IndexWatcher  # noqa: E402
from kb.webqueue import wake_on_work  # noqa: E402
from kb.worker import IngestJob  # noqa: E402

logger = logging.getLogger("kb.app")

DISCLAIMER = (
    "**Information, not medical advice.** Answers are passages from the clinic's own documents. "
    "For advice about your own skin, talk to your clinician."
)
EXAMPLES = [
    "How long is the redness after a CO2 laser?",
    "How many sessions will I need?",
    "Can I have laser resurfacing if I get cold sores?",
    "When can I wear makeup again?",
    "What is the cancellation policy?",
]
CSS = """
.kb-card {border:1px solid #d9dde3; border-radius:10px; padding:12px 16px; margin:10px 0; background:#fff;}
.kb-card-head {display:flex; gap:10px; align-items:center; flex-wrap:wrap; font-size:0.92em;}
.kb-rank {background:#2f6f8f; color:#fff; border-radius:50%; width:24px; height:24px; display:inline-flex;
          align-items:center; justify-content:center; font-weight:600;}
.kb-source {font-weight:600; color:#1f4e66;}
.kb-relevance {margin-left:auto; color:#555; display:flex; gap:6px; align-items:center;}
.kb-bar {display:inline-block; width:70px; height:7px; background:#e6e9ee; border-radius:4px; overflow:hidden;}
.kb-bar span {display:block; height:100%; background:#3c9a6b;}
.kb-text p {margin:8px 0; line-height:1.5;}
.kb-text .best {background:#fff3c4; font-weight:600;}
.kb-text mark {background:#d8ecff; padding:0 1px;}
.kb-file {color:#888; font-size:0.8em;}
.kb-urgent {border:2px solid #b3261e; background:#fdecea; color:#5c0f0a; padding:12px 16px; border-radius:10px;
            margin:10px 0; font-size:1.05em;}
.kb-urgent-line {font-size:1.15em; font-weight:700;}
.kb-notice {color:#7a5b00; font-size:0.82em; margin-top:2px;}
.kb-searched {color:#555; font-size:0.92em; margin:6px 0;}
.kb-not-covered {border:1px solid #c9a227; background:#fff8e1; padding:12px 16px; border-radius:10px; margin:10px 0;}
.kb-documents {width:100%; border-collapse:collapse;} .kb-documents td, .kb-documents th {padding:6px 8px;
            border-bottom:1px solid #e3e3e3; text-align:left; vertical-align:top;}
"""


# --- the JSON API: one function each, typed for gradio's API page ------------------------


class Passage(TypedDict):
    rank: int
    text: str
    highlight: str
    score: float
    source: str
    title: str
    page: int | None
    section: str | None
    passage_id: str


class SearchResult(TypedDict):
    question: str
    searched_for: list[str]
    answered: bool
    urgent: bool
    message: str
    took_ms: float
    passages: list[Passage]


class Document(TypedDict):
    source: str
    title: str
    type: str
    pages: int | None
    passages: int
    ingested_at: str
    url: str
    notice: str | None


class BoundedCounter:
    """Requests in flight, refused past a limit (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.count = limit, 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.count >= self.limit:
                return False
            self.count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


def answer_json(answer: Answer) -> SearchResult:
    return {
        "question": answer.question,
        "searched_for": list(answer.searched_for),
        "answered": answer.answered,
        "urgent": answer.urgent,
        "message": answer.message,
        "took_ms": round(answer.took_ms, 2),
        "passages": [
            {
                "rank": h.rank,
                "text": h.text,
                "highlight": h.highlight,
                "score": round(h.score, 4),
                "source": h.source,
                "title": h.title,
                "page": h.page,
                "section": h.section,
                "passage_id": h.passage_id,
            }
            for h in answer.hits
        ],
    }


# --- the app -------------------------------------------------------------------------------


class ClinicApp:
    """The handlers behind both pages and the API, around one loaded knowledge base."""

    def __init__(self, kb: KnowledgeBase, feedback: FeedbackLog, staff_users: dict[str, str]) -> None:
        self.kb = kb
        self.settings = kb.settings
        self.feedback = feedback
        self.staff_users = staff_users
        self.vote_limit = RateLimit(self.settings.votes_per_minute, 60)
        self._job: IngestJob | None = None
        self._job_lock = threading.Lock()
        self._stop = threading.Event()

    # public ---------------------------------------------------------------------------
    def ask(self, question: str, k: int = 5) -> Answer:
        try:
            return self.kb.answer(question, k)
        except KBError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc

    def search(self, question: str, k: int = 5) -> SearchResult:
        """Search the clinic's documents.

        Returns {question, searched_for, answered, urgent, message, took_ms, passages:
        [{rank, text, highlight, score, source, title, page, section, passage_id}]}.
        Passages are best first and their scores fall with rank; `answered` is false when
        the best score is under the threshold (the documents do not cover the question);
        `searched_for` lists words added from the glossary or spelling fixes; `urgent` is true when the question
        describes warning signs after a treatment. k: 1-50 (default 5); the question: at most
        1,000 characters.
        """
        return answer_json(self.ask(question, k))

    def documents(self) -> list[Document]:
        """The documents in the index: source (path in documents/), title, type, pages,
        passages, ingested_at (UTC), url (where the app serves the file) and notice (what
        the document says about itself, e.g. that it is a sample; not searched)."""
        return [
            {
                "source": r.source,
                "title": r.title,
                "type": r.kind,
                "pages": r.pages,
                "passages": r.passages,
                "ingested_at": r.ingested_at,
                "url": render.file_url(r.source),
                "notice": r.notice,
            }
            for r in self.kb.documents()
        ]

    def ask_page(self, question: str, k: float):
        answer = self.ask(question, int(k))
        return render.notice_html(answer), answer_json(answer)

    def documents_page(self) -> str:
        generation = self.kb.generation
        return render.documents_html(
            self.kb.documents(), generation.manifest.get("built_at"), generation.name
        )

    def vote(self, question: str, passage_id: str, vote: str, request: gr.Request | None = None) -> None:
        # Per client address, so one visitor's flood cannot drown everyone else's votes.
        client = getattr(getattr(request, "client", None), "host", None) or "unknown"
        if not self.vote_limit.hit(client):
            raise gr.Error("Too many votes; try again in a minute.", print_exception=False)
        try:
            self.feedback.record(question, passage_id, vote)
        except KBError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc
        gr.Info("Thank you for the feedback.")

    # staff ----------------------------------------------------------------------------
    def _require_staff(self, request: gr.Request | None) -> str:
        # The /staff mount's login already refuses anonymous requests; check again here so
        # these functions are safe wherever they end up mounted.
        user = getattr(request, "username", None)
        if not user or user not in self.staff_users:
            raise gr.Error("Staff login required.", print_exception=False)
        return user

    def upload(self, files: list[str] | None, request: gr.Request) -> str:
        """Add or replace documents (PDF, Word .docx, HTML, Markdown, text). Run /reingest after."""
        self._require_staff(request)
        if not files:
            raise gr.Error("Choose one or more files first.", print_exception=False)
        lines = []
        for file in files if isinstance(files, list) else [files]:
            path = Path(file)
            name = path.name  # gradio keeps the uploaded file's own name as the last part
            try:
                target, replaced = staff.add_document(
                    self.settings.documents_dir, path, name, self.settings.max_document_bytes
                )
            except KBError as exc:
                lines.append(f"NOT SAVED {name}: {exc}")
                continue
            finally:
                path.unlink(missing_ok=True)  # gradio's temporary copy: kept or not, done with
            lines.append(
                f"Replaced {target.name} (the earlier version is overwritten)"
                if replaced
                else f"Added {target.name}"
            )
        lines.append("Run a re-ingest to make the changes searchable.")
        return "\n".join(lines)

    def remove(self, source: str, request: gr.Request) -> str:
        """Remove a document (moved to documents/.removed/). Run /reingest after."""
        self._require_staff(request)
        try:
            moved = staff.remove_document(self.settings.documents_dir, source or "")
        except KBError as exc:
            raise gr.Error(html.escape(str(exc)), print_exception=False) from exc
        return f"Removed {source} (kept in {moved.parent.name}/{moved.name}). Run a re-ingest to update the index."

    def reingest(self, request: gr.Request):
        """Re-ingest the documents folder in a worker process; yields progress lines, then
        the report. Only one re-ingest runs at a time; /cancel_reingest stops it."""
        user = self._require_staff(request)
        with self._job_lock:
            if self._job is not None and not self._job.done:
                yield f"A re-ingest is already running: {self._job.progress}"
                return
            self._job = job = IngestJob(self.settings)
        logger.warning("Re-ingest started by %s (worker pid %d)", user, job.pid)
        while job.wait(0.5) == "running":
            yield job.progress
        if job.state != "finished" or job.report is None:
            yield job.describe()
            return
        self.kb.refresh()
        text = format_report(job.report, self.settings) + "\nThe site now serves the new index."
        yield text
        yield text + "\n" + golden_summary(self.kb)

    def cancel_reingest(self, request: gr.Request) -> str:
        """Stop a running re-ingest; the previous index stays in service."""
        user = self._require_staff(request)
        job = self._job
        if job is None or not job.cancel():
            return "No re-ingest is running."
        logger.warning("Re-ingest cancelled by %s", user)
        job.wait(10)
        return job.describe()

    def feedback_rows(self, request: gr.Request) -> list[list[str]]:
        """The latest helpful / not helpful votes: time, vote, question, passage."""
        self._require_staff(request)
        return [[f.at, f.vote, f.question, f.passage_id] for f in self.feedback.recent()]

    def document_choices(self, request: gr.Request):
        self._require_staff(request)
        return gr.update(choices=[r.source for r in self.kb.documents()])

    # hot reload -------------------------------------------------------------------------
    def watch_index(self, every: float = 1.0) -> None:
        """Switch to each new generation an ingest writes (run in a daemon thread). One
        that cannot be served is logged once and left alone until CURRENT changes."""
        watcher = IndexWatcher(self.kb, every)
        while not self._stop.wait(every):
            watcher.check()

    def stop(self) -> None:
        self._stop.set()


# --- pages -----------------------------------------------------------------------------


def build_public(app: ClinicApp) -> gr.Blocks:
    with gr.Blocks(title="Clinic knowledge base") as public:
        gr.Markdown(
            "# Ask the clinic's documents\nQuestions about laser skin resurfacing at the clinic: "
            "preparation, the treatment day, aftercare, risks, prices and bookings."
        )
        gr.Markdown(DISCLAIMER, elem_id="disclaimer")
        with gr.Tab("Ask", id="ask"):
            with gr.Row():
                question = gr.Textbox(
                    label="Your question",
                    placeholder="e.g. How long is the redness after a CO2 laser?",
                    elem_id="question",
                    scale=5,
                    max_length=app.settings.max_query_chars,
                    lines=1,
                )
                k = gr.Slider(1, 20, value=5, step=1, label="Passages", elem_id="k", scale=1)
            ask = gr.Button("Ask", variant="primary", elem_id="ask-btn")
            gr.Examples(EXAMPLES, inputs=[question], api_visibility="private", label="Examples")
            notice = gr.HTML(elem_id="notice")
            result = gr.State()

            @gr.render(inputs=[result])
            def show(answer: dict | None) -> None:
                if not answer:
                    return
                for passage in answer["passages"]:
                    hit = _hit_from_json(passage)
                    searched = " ".join([answer["question"], *answer.get("searched_for", [])])
                    card = render.card_html(hit, searched, app.settings.min_score)
                    gr.HTML(card, elem_classes=["kb-card-wrap"])
                    with gr.Row():
                        for label, vote in (("Helpful", "helpful"), ("Not helpful", "not helpful")):
                            button = gr.Button(label, size="sm", scale=0, elem_classes=["kb-vote"])
                            button.click(
                                _vote_handler(app, answer["question"], hit.passage_id, vote),
                                None,
                                None,
                                api_visibility="private",
                            )

            for trigger in (ask.click, question.submit):
                trigger(
                    app.ask_page,
                    [question, k],
                    [notice, result],
                    api_visibility="private",
                    concurrency_id="search",
                )
        with gr.Tab("Documents", id="documents"):
            documents = gr.HTML(elem_id="documents-table")
        gr.Markdown("Clinic staff: [staff page](/staff/)", elem_id="staff-link")
        public.load(app.documents_page, None, documents, api_visibility="private")
        gr.Timer(10).tick(
            app.documents_page, None, documents, api_visibility="private", show_progress="hidden"
        )
        gr.api(app.search, api_name="search", concurrency_id="search")
        gr.api(app.documents, api_name="documents")
    return public


def _vote_handler(app: ClinicApp, question: str, passage_id: str, vote: str):
    def cast(request: gr.Request) -> None:  # gradio passes the request: the voter's address
        app.vote(question, passage_id, vote, request)

    return cast


def _hit_from_json(p: dict):
    from kb.search import Hit

    return Hit(
        p["rank"],
        p["score"],
        p["passage_id"],
        p["text"],
        p["source"],
        p["title"],
        p["page"],
        p["section"],
        0,
        0,
        p["highlight"],
    )


def build_staff(app: ClinicApp) -> gr.Blocks:
    # Uploaded files a staff member never submitted are deleted after an hour.
    with gr.Blocks(title="Clinic knowledge base — staff", delete_cache=(3600, 3600)) as page:
        if not app.staff_users:
            gr.Markdown(
                "# Staff page is off\nNo staff login is configured, so no staff action is possible. "
                "To turn it on, set `KB_STAFF_PASSWORD` (and optionally `KB_STAFF_USER`, default "
                "`staff`), or point `KB_STAFF_FILE` at a file outside the repository with one "
                "`user:password` per line, then restart the app.",
                elem_id="staff-off",
            )
            return page
        gr.Markdown("# Staff: documents and index")
        with gr.Tab("Documents"):
            kinds = sorted(DOCUMENT_TYPES)
            files = gr.File(
                label=f"Add or replace documents ({', '.join(kinds)})",
                file_count="multiple",
                file_types=kinds,
                type="filepath",
                elem_id="upload-files",
            )
            upload = gr.Button("Upload", elem_id="upload-btn")
            with gr.Row():
                choice = gr.Dropdown(
                    label="Document to remove", choices=[], elem_id="remove-choice", allow_custom_value=True
                )  # checked by remove_document
                remove = gr.Button("Remove", variant="stop", elem_id="remove-btn")
            with gr.Row():
                reingest = gr.Button("Re-ingest now", variant="primary", elem_id="reingest-btn")
                cancel = gr.Button("Cancel re-ingest", variant="stop", elem_id="cancel-btn")
            report = gr.Textbox(label="Report", lines=12, elem_id="report")
            upload.click(app.upload, files, report, api_name="upload")
            remove.click(app.remove, choice, report, api_name="remove")
            # One at a time is kept by the handler, which answers a second click at once.
            reingest.click(app.reingest, None, report, api_name="reingest")
            cancel.click(app.cancel_reingest, None, report, api_name="cancel_reingest")
            page.load(app.document_choices, None, choice, api_visibility="private")
            report.change(app.document_choices, None, choice, api_visibility="private")
        with gr.Tab("Feedback"):
            votes = gr.Dataframe(
                headers=["time (UTC)", "vote", "question", "passage"],
                elem_id="votes",
                interactive=False,
                wrap=True,
            )
            refresh = gr.Button("Refresh")
            refresh.click(app.feedback_rows, None, votes, api_name="feedback")
            page.load(app.feedback_rows, None, votes, api_visibility="private")
    return page


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
        wake_on_work(blocks._queue)  # no polling while idle (kb/webqueue.py)
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
    )
    _expire_staff_sessions(server, settings.staff_session_minutes)
    server.add_middleware(UploadOnlyUnder, prefix="/staff/")
    server.add_middleware(ClientAddressMiddleware)
    return server


def _expire_staff_sessions(server: FastAPI, session_minutes: float) -> None:
    """Gradio keeps login tokens until restart; the staff page's expire instead."""
    from starlette.routing import Mount

    [staff_mount] = [r.app for r in server.routes if isinstance(r, Mount) and r.path == "/staff"]
    staff_mount.tokens = session_store(session_minutes)


# --- start-up ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import uvicorn

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
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
