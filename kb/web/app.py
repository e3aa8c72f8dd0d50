"""The handlers behind the pages and the API, around one loaded knowledge base: searching,
votes, and the staff actions (upload, remove, re-ingest in a worker process, cancel).

The staff page's one-step actions never lose a change: actions on one document run one after
another (``document_files.DocumentActions``), and an action that finds a re-ingest running
waits for it, then ingests again, so the index always ends up agreeing with the folder."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".

import hashlib
import html
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from kb.config import trusted_networks
from kb.errors import (
    KBError,
)
from kb.index.base import FeedbackLog
from kb.index.clock import now_iso
from kb.index.questions import Door
from kb.ingest.report import plain_report
from kb.ingest.worker import IngestJob
from kb.quality import gaps
from kb.search import Answer, KnowledgeBase
from kb.web import document_files, render
from kb.web.api import MCP_DOOR_HEADER, Document, DocumentStatus, SearchResult, answer_json
from kb.web.auth import RateLimit, address_behind
from kb.web.question_log import QuestionRecorder
from kb.web.watcher import IndexWatcher

logger = logging.getLogger(__name__)


def door_of(request: gr.Request | None) -> Door:
    """Whether a call of the API's /search came through MCP (the header the app's MCP
    server adds) or from a gradio client."""
    headers = getattr(request, "headers", None) or {}
    return "mcp" if headers.get(MCP_DOOR_HEADER) == "mcp" else "gradio_api"


# --- the app -------------------------------------------------------------------------------


class ClinicApp:
    """The handlers behind both pages and the API, around one loaded knowledge base."""

    def __init__(
        self,
        kb: KnowledgeBase,
        feedback: FeedbackLog,
        staff_users: dict[str, str],
        questions: QuestionRecorder | None = None,
    ) -> None:
        self.kb = kb
        self.settings = kb.settings
        self.feedback = feedback
        self.staff_users = staff_users
        #: Every question asked through the page, the gradio API and MCP (kb/web/question_log.py).
        self.recorder = questions or QuestionRecorder(lambda: kb.backend.question_log(), 1, enabled=False)
        self.trusted_proxies = trusted_networks(self.settings.trusted_proxies)
        self.vote_limit = RateLimit(self.settings.votes_per_minute, 60)
        self._job: IngestJob | None = None
        self._job_lock = threading.Lock()
        self._stop = threading.Event()
        self.actions = document_files.DocumentActions()

    # public ---------------------------------------------------------------------------
    def ask(self, question: str, k: int = 5, door: Door = "page") -> Answer:
        """The answer, logged as asked through ``door`` (the question log, when on)."""
        try:
            answer = self.kb.answer(question, k)
        except KBError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc
        self.recorder.asked(answer, door)
        return answer

    def search(self, question: str, k: int = 5, request: gr.Request = None) -> SearchResult:  # type: ignore[assignment]
        """Search the laser skin clinic's own documents (preparation, the treatment day,
        aftercare, risks, prices, bookings) for the passages that answer a patient's question.

        The result is information from the clinic's documents, not medical advice: answer from
        the passages and name their source, and send questions about someone's own skin to
        their clinician. When `urgent` is true, the question describes warning signs after a
        treatment: tell the user first to contact the clinic now, with the phone line given in
        `message`. When `answered` is false, say that the clinic's documents do not cover the
        question instead of answering from the passages.

        Args:
            question: The question in the user's words, at most 1,000 characters; an empty or longer one is refused with an error that says what to change.
            k: How many passages to return, a whole number from 1 to 50 (default 5).

        Returns:
            a JSON object: question (as asked)
            searched_for (words added to the search: glossary terms and spelling fixes)
            answered (true when the passages answer the question; false when the documents do not cover it or it is small talk)
            reason (why: "covered"; "not_covered", the nearest passages still listed for reference only; or "small_talk", a greeting or thanks, with a friendly reply in message and no passages)
            confidence (0 to 1: how sure the search is that the documents cover the question; answered is confidence at or above the threshold, the same whatever k is)
            urgent (true when the question describes warning signs after a treatment; message then starts with the clinic's urgent phone line)
            message (one to three sentences to pass on to the user)
            took_ms (milliseconds the search took)
            passages (best first, each with rank, text, highlight: the sentence that answers best (its warning-sign sentence when urgent), score: 0 to 1 falling with rank, match: 0 to 1, how likely this passage answers the question, never rising with rank, label: "Strong match", "Good match" or "Weak match", or "Not an answer" for every passage when answered is false, source: the document's path in documents/, title, page: for PDFs, section, passage_id)
        """
        return answer_json(self.ask(question, k, door_of(request)))

    def documents(self) -> list[Document]:
        """List the documents the clinic's answers come from: every document in the search
        index. Use it to say which documents exist or to cite one; the search tool finds the
        passages inside them.

        Returns:
            a JSON list with one object per document: source (the document's path in documents/, as in the search passages)
            title
            type (pdf, docx, html, markdown or text)
            pages (for PDFs; null otherwise)
            passages (how many passages it was split into)
            ingested_at (when it was indexed, ISO 8601, UTC)
            url (where this app serves the file, a path such as /files/faq.md under the app's address)
            notice (what the document says about itself, e.g. that it is a sample of a fictional clinic; not searched; null when none)
        """
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

    def documents_page(self) -> str:
        return render.documents_html(self.kb.documents())

    def vote(self, question: str, passage_id: str, vote: str, request: object | None = None) -> str:
        """Record a visitor's vote on a passage; what to tell them. Refused (gr.Error) past
        the per-address limit."""
        # Per client address, so one visitor's flood cannot drown everyone else's votes.
        peer = getattr(getattr(request, "client", None), "host", None) or "unknown"
        headers = getattr(request, "headers", None) or {}
        client = address_behind(peer, [headers.get("x-forwarded-for", "")], self.trusted_proxies)
        if not self.vote_limit.hit(client):
            raise gr.Error("Too many votes; try again in a minute.", print_exception=False)
        try:
            self.feedback.record(question, passage_id, vote)
        except KBError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc
        self.recorder.voted(question, passage_id, vote)
        return "Thank you for the feedback."

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
        return self._save(files) + "\nRun a re-ingest to make the changes searchable."

    def remove(self, source: str, request: gr.Request) -> str:
        """Remove a document (moved to documents/.removed/). Run /reingest after."""
        self._require_staff(request)
        action = self.actions.queue(source or "", "removing")
        try:
            self.actions.start(action)
            return self._remove(source)[0] + " Run a re-ingest to update the index."
        finally:
            self.actions.end(action)

    def restore(self, removed_name: str, request: gr.Request) -> str:
        """Put a removed document back (its removed_name from /document_status). Run /reingest after."""
        self._require_staff(request)
        action = self.actions.queue(document_files.removed_source(removed_name) or "", "restoring")
        try:
            self.actions.start(action)
            return self._restore(removed_name) + " Run a re-ingest to update the index."
        finally:
            self.actions.end(action)

    def reingest(self, request: gr.Request, progress=gr.Progress()):  # noqa: B008 - gradio's way
        """Re-ingest the documents folder in a worker process; yields progress lines, then
        the report. Only one re-ingest runs at a time (a new one stops the test questions of
        the last one, which it asks again); /cancel_reingest stops it."""
        yield from self._ingest(self._require_staff(request), progress)

    def cancel_reingest(self, request: gr.Request) -> str:
        """Stop a running re-ingest; the previous index stays in service."""
        user = self._require_staff(request)
        job = self._job
        if job is None or not job.cancel():
            return "No re-ingest is running."
        logger.warning("Re-ingest cancelled by %s", user)
        job.wait(10)
        return job.describe()

    def document_status(self, request: gr.Request) -> list[DocumentStatus]:
        """Every file in the documents folder with its state against the index in service:
        indexed, changed (since the last ingest), new, failed (reason says why), skipped
        (not a type that is read), missing (gone from the folder, still in the index); then
        the latest removed documents (state removed, with the removed_name /restore takes).
        Also type, pages, passages, size in bytes and changed_at (UTC)."""
        self._require_staff(request)
        return [asdict(row) for row in self.status_rows()]

    def last_report(self, request: gr.Request) -> str:
        """The last ingest's report in plain language (what changed, what failed and why, the
        test questions' figures against the time before), one sentence a line."""
        self._require_staff(request)
        return "\n".join(self.report_lines())

    # the staff page's one-step actions (private: the API above keeps its steps apart) ------
    def upload_and_ingest(self, files: list[str] | None, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        user = self._require_staff(request)
        saved = self._save(files)
        if not any(line.startswith(("Added", "Replaced")) for line in saved.splitlines()):
            yield saved
            return
        for text in self._ingest(user, progress, wait=True):
            yield f"{saved}\n{text}"

    def remove_and_ingest(self, source: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        """Yields (status, the removed file's name for undo: None until it is removed). Waits
        for earlier actions on the document; its row says "Removing…" until the index agrees."""
        user = self._require_staff(request)
        action = self.actions.queue(source or "", "removing")
        try:
            while not self.actions.start(action, 0.5):
                yield f"Waiting for the earlier action on {source} to finish…", None
            done, removed_name = self._remove(source)
            yield done, removed_name
            # The next action on it may start once the index agrees (not after the test questions).
            for text in self._ingest(user, progress, wait=True, on_switch=lambda: self.actions.end(action)):
                yield f"{done}\n{text}", removed_name
        finally:
            self.actions.end(action)

    def restore_and_ingest(self, removed_name: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        """Yields the status. A restore asked for while the removal is still being ingested
        waits for it; its row says "Restoring…" until the index agrees."""
        user = self._require_staff(request)
        source = document_files.removed_source(removed_name) or ""
        action = self.actions.queue(source, "restoring")
        try:
            while not self.actions.start(action, 0.5):
                yield f"{source} is restored as soon as its removal is done…"
            done = self._restore(removed_name)
            yield done
            for text in self._ingest(user, progress, wait=True, on_switch=lambda: self.actions.end(action)):
                yield f"{done}\n{text}"
        finally:
            self.actions.end(action)

    def status_rows(self) -> list[document_files.FileStatus]:
        """Every file's row for the staff table, with the actions under way shown."""
        last = next(iter(self.kb.backend.history("ingests", 1)), None)
        rows = document_files.folder_status(self.settings.documents_dir, self.kb.documents(), last)
        return document_files.with_actions(rows, self.actions.doing())

    def report_lines(self) -> list[str]:
        """The last ingest's report for staff, without the server's folders."""
        last = next(iter(self.kb.backend.history("ingests", 1)), None)
        if last is None:
            return []
        folders = {str(f) for d in (self.settings.documents_dir, self.settings.index_dir) for f in (d, d.resolve())}
        hide = tuple(sorted(folders, key=len, reverse=True))
        return plain_report(last, self.kb.backend.history("golden", 2), hide)

    def running(self) -> str | None:
        """What a re-ingest in progress is doing, or None."""
        job = self._job
        return None if job is None or job.done else job.progress

    # the steps ----------------------------------------------------------------------------
    def _save(self, files: list[str] | None) -> str:
        if not files:
            raise gr.Error("Choose one or more files first.", print_exception=False)
        lines = []
        for file in files if isinstance(files, list) else [files]:
            path = Path(file)
            name = path.name  # gradio keeps the uploaded file's own name as the last part
            try:
                target, replaced = document_files.add_document(
                    self.settings.documents_dir, path, name, self.settings.max_document_bytes
                )
            except KBError as exc:
                lines.append(f"NOT SAVED {name}: {exc}")
                continue
            finally:
                path.unlink(missing_ok=True)  # gradio's temporary copy: kept or not, done with
            lines.append(
                f"Replaced {target.name} (the earlier version is overwritten)" if replaced else f"Added {target.name}"
            )
        return "\n".join(lines)

    def _remove(self, source: str) -> tuple[str, str]:
        try:
            moved = document_files.remove_document(self.settings.documents_dir, source or "")
        except KBError as exc:
            raise gr.Error(html.escape(str(exc)), print_exception=False) from exc
        return f"Removed {source} (kept in {moved.parent.name}/{moved.name}, so it can be restored).", moved.name

    def _restore(self, removed_name: str) -> str:
        try:
            restored = document_files.restore_document(self.settings.documents_dir, removed_name or "")
        except KBError as exc:
            raise gr.Error(html.escape(str(exc)), print_exception=False) from exc
        return f"Restored {restored.name}."

    def _ingest(
        self, user: str, progress: gr.Progress | None, wait: bool = False, on_switch=None
    ) -> Iterator[str]:
        """Run one re-ingest in a worker process: progress lines, then the report;
        ``on_switch()`` is called once the site serves the new index.

        A re-ingest already switched in and only asking its test questions is stopped: this
        one asks them again. One still ingesting: refused, or with ``wait`` (after a change
        to the folder) waited for, then run again, since it may have read the folder before
        the change; a re-ingest started after the change is followed instead."""
        changed = time.time()
        while True:
            with self._job_lock:
                running = self._job if self._job is not None and not self._job.done else None
                if running is None:
                    self._job = job = IngestJob(self.settings)
                    logger.warning("Re-ingest started by %s (worker pid %d)", user, job.pid)
                    break
                if wait and running.started >= changed:
                    job = running
                    break
            if running.report is not None:
                logger.warning("Test questions stopped (worker pid %d): another re-ingest follows", running.pid)
                running.cancel()
                continue
            if not wait:
                yield f"A re-ingest is already running: {running.progress}"
                return
            yield f"Waiting for the re-ingest that is running to finish, then ingesting again: {running.progress}"
            running.wait(0.5)
        switched = False
        while job.wait(0.5) == "running":
            if job.report is None:
                if progress is not None and job.stage is not None:
                    label, done, total = job.stage
                    progress((done, max(total, 1)), desc=label)
                yield job.progress
            elif not switched:  # written and switched in; the test questions come next
                self.kb.refresh()
                switched = True
                if on_switch is not None:
                    on_switch()
                yield "The site now serves the new index. Asking the test questions…"
        if job.report is None:  # failed or cancelled before the switch
            yield job.describe()
            return
        if not switched:
            self.kb.refresh()
            if on_switch is not None:
                on_switch()
        yield "\n".join(["The site now serves the new index.", *self.report_lines()])

    # staff: the questions patients asked -------------------------------------------------
    def _logged(self, days: int) -> list:
        log = self.kb.backend.question_log()
        try:
            return log.entries(gaps.since_days(int(days)))
        finally:
            log.close()

    def questions(self, days: int = 30, request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Staff only: the questions of the last ``days`` days the documents did not answer
        (declined as not covered, or voted "Not helpful"), grouped by meaning, largest first.

        Returns:
            a JSON object: groups (each: label, the question nearest the group's centre; count, times asked; reason, "not_covered" or "not_helpful"; first and last, when asked, ISO 8601 UTC; examples, its wordings)
        """
        self._require_staff(request)
        return {"groups": [g.as_json() for g in gaps.group(self._logged(days), self.kb.embedder)]}

    def gap_view(self, days: int, request: gr.Request):
        """The Questions tab: the groups, the group picker, the weekly chart, the golden
        questions' count and the CSV."""
        self._require_staff(request)
        import pandas as pd

        entries = self._logged(days)
        found = gaps.group(entries, self.kb.embedder)
        chart = pd.DataFrame(gaps.weekly(entries), columns=["week", "outcome", "questions"])
        # From 0, or a single week's bar collapses to a line at its own height.
        top = int(chart.groupby("week")["questions"].sum().max()) if len(chart) else 1
        golden = self.kb.backend.golden_questions()
        written = max((q.get("written_at", "") for q in golden), default="")
        said = (
            f"**Golden questions written here from real questions: {len(golden)}**"
            + (f", last changed {render._day(written)}." if written else ".")
            + " They are asked after each ingest and teach the not-covered decision this collection."
        )
        choices = [(f"{g.label} ({g.count})", g.label) for g in found]
        return (
            render.gaps_html(found, int(days)),
            gr.update(choices=choices, value=None),
            gr.update(value=chart, y_lim=[0, top + 1]),
            said,
            self._gaps_csv(found, int(days)),
        )

    def _gaps_csv(self, found: list, days: int) -> str:
        import csv
        import tempfile

        folder = Path(tempfile.gettempdir()) / "kb-staff-csv"
        folder.mkdir(mode=0o700, exist_ok=True)
        for old in folder.glob("*.csv"):  # one export at a time: questions are not left lying about
            old.unlink(missing_ok=True)
        path = folder / f"unanswered-questions-last-{days}-days.csv"
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["question", "asked", "why", "first", "last", "wordings"])
            for g in found:
                writer.writerow([g.label, g.count, g.reason, g.first, g.last, " | ".join(g.examples)])
        return str(path)

    def gap_passages(self, label: str | None, request: gr.Request):
        """The passages staff may pick as the answer to a group's question."""
        self._require_staff(request)
        if not label:
            return gr.update(choices=[], value=None), ""
        hits = self.kb.search(label, 5)
        choices = [(f"{h.title} · {h.section or 'page ' + str(h.page or 1)}: {h.highlight[:140]}", h.passage_id) for h in hits]
        links = "".join(
            f'<li><a href="{html.escape(render.view_url(h.source, h.passage_id))}" target="_blank" rel="noopener">'
            f"Open: {html.escape(h.title)} · {html.escape(h.section or '')}</a></li>"
            for h in hits
        )
        return gr.update(choices=choices, value=None), f'<ul class="kb-gap-links">{links}</ul>'

    def mark_gap(self, days: int, label: str | None, action: str, passage_id: str | None, request: gr.Request) -> str:
        """Staff's answer to a group: "answered" by a passage (a golden question with that
        answer), "fine" (a golden question the documents should decline) or "dismissed"."""
        user = self._require_staff(request)
        found = {g.label: g for g in gaps.group(self._logged(days), self.kb.embedder)}
        group = found.get(label or "")
        if group is None:
            return "Pick a group first (or refresh: it may have been handled already)."
        question_id = "staff-" + hashlib.sha1(group.label.encode("utf-8")).hexdigest()[:12]
        row = {"id": question_id, "question": group.label, "split": "dev", "written_at": now_iso(), "by": user}
        if action == "answered":
            hit = next((h for h in self.kb.search(group.label, 10) if h.passage_id == passage_id), None)
            if hit is None:
                return "Pick the passage that answers it first."
            self.kb.backend.save_golden({**row, "answers": [{"source": hit.source, "contains": hit.highlight}]})
            said = f"Saved as a golden question answered by {hit.title}."
        elif action == "fine":
            self.kb.backend.save_golden({**row, "kind": "near", "answers": []})
            said = "Saved as a golden question the documents should say they do not cover."
        else:
            said = "Dismissed."
        log = self.kb.backend.question_log()
        try:
            log.set_handled(group.ids, action)
        finally:
            log.close()
        logger.info("Questions tab: %s %s a group of %d questions", user, action, group.count)
        return f"{said} The next ingest asks it." if action != "dismissed" else said

    def feedback_rows(self, request: gr.Request) -> list[list[str]]:
        """The latest helpful / not helpful votes: time, vote, question, passage."""
        self._require_staff(request)
        return [[f.at, f.vote, f.question, f.passage_id] for f in self.feedback.recent()]

    # hot reload -------------------------------------------------------------------------
    def watch_index(self, every: float = 1.0) -> None:
        """Switch to each new generation an ingest writes (run in a daemon thread). One
        that cannot be served is logged once and left alone until CURRENT changes."""
        watcher = IndexWatcher(self.kb, every)
        while not self._stop.wait(every):
            watcher.check()

    def stop(self) -> None:
        self._stop.set()
