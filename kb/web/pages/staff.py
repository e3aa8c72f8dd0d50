"""The staff page at "/staff/" (behind the login): the documents folder as a table, each
file with its state; upload that indexes at once, with progress and cancel; remove per row
with a confirmation and an undo; the last ingest's report; the visitors' votes.

The staff API (``/upload``, ``/remove``, ``/restore``, ``/reingest``, ``/cancel_reingest``,
``/document_status``, ``/last_report``, ``/feedback``) keeps its steps apart; the page's
buttons chain them into one step each."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".

import gradio as gr

from kb.reading.documents import DOCUMENT_TYPES
from kb.web import render
from kb.web.app import ClinicApp

#: The table's Remove and Restore buttons, sent back as the table's click event. One
#: listener on the table, so it holds whatever rows the table shows.
ROW_ACTIONS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (button) trigger('click', {action: button.dataset.action, source: button.dataset.source});
});
"""

#: After a row's Remove: the confirmation in view, its button focused (keyboard users).
SHOW_CONFIRM = """() => {
  let tries = 0;
  const show = () => {
    const button = document.querySelector('#confirm-remove');
    if (button && button.offsetParent !== null) {
      button.scrollIntoView({block: 'center'});
      button.focus();
    } else if (tries++ < 40) {
      setTimeout(show, 25);
    }
  };
  show();
}"""

NAVIGATION = (
    '<nav class="kb-staff-nav" aria-label="Staff page"><a href="/">Public page</a>'
    '<a href="/staff/logout?all_session=false">Sign out</a></nav>'
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
        gr.HTML(NAVIGATION)
        gr.Markdown("# Staff: documents and index")
        with gr.Tab("Documents"):
            _documents_tab(app, page)
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


def _documents_tab(app: ClinicApp, page: gr.Blocks) -> None:
    kinds = sorted(DOCUMENT_TYPES)
    gr.Markdown(
        f"Add or replace documents ({', '.join(kinds)}): each is searchable as soon as it is indexed. "
        "A document of the same name is replaced."
    )
    # A button, not gr.File's drop zone: gradio 6.31 labels that zone with words other than
    # the ones it shows (axe-core's label-content-name-mismatch, tests/test_accessibility.py).
    files = gr.UploadButton(
        "Add documents…",
        file_count="multiple",
        file_types=kinds,
        type="filepath",
        variant="primary",
        elem_id="upload-files",
    )
    status = gr.Textbox(label="Progress", lines=3, interactive=False, elem_id="status")
    with gr.Row():
        cancel = gr.Button("Cancel the ingest", size="sm", elem_id="cancel-btn", scale=0)
        reingest = gr.Button("Re-ingest the folder now", size="sm", elem_id="reingest-btn", scale=0)
        undo = gr.Button("Undo the removal", size="sm", visible=False, elem_id="undo-btn", scale=0)
    with gr.Group(visible=False, elem_id="confirm") as confirm:
        asking = gr.Markdown(elem_id="confirm-text")
        with gr.Row():
            yes = gr.Button("Remove it", variant="stop", elem_id="confirm-remove", scale=0)
            no = gr.Button("Keep it", elem_id="keep-btn", scale=0)
    table = gr.HTML(elem_id="staff-documents", js_on_load=ROW_ACTIONS)
    gr.Markdown("## Last ingest")
    report = gr.HTML(elem_id="report")
    pending, removed = gr.State(), gr.State()

    def refresh() -> tuple[str, str]:
        return render.staff_table_html(app.status_rows()), render.report_html(app.report_lines())

    def on_load() -> tuple[str, str, str]:
        running = app.running()
        return *refresh(), (f"A re-ingest is running: {running}" if running else "")

    def on_row(event: gr.EventData):
        data = event._data or {}
        if data.get("action") == "remove":
            question = f"Remove **{_markdown_text(data.get('source', ''))}** from the search? It is kept, so you can undo this."
            return data.get("source"), gr.update(visible=True), question
        return None, gr.update(visible=False), ""

    def on_restore(event: gr.EventData, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        data = event._data or {}
        if data.get("action") != "restore":
            return
        yield from app.restore_and_ingest(data.get("source", ""), request, progress)

    def on_remove(source: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        for text, moved in app.remove_and_ingest(source, request, progress):
            yield text, moved, gr.update(visible=True)

    def on_undo(moved: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        yield from app.restore_and_ingest(moved, request, progress)

    shown = [table, report]
    page.load(on_load, None, [*shown, status], api_visibility="private")
    files.upload(app.upload_and_ingest, files, status, api_visibility="private").then(
        refresh, None, shown, api_visibility="private"
    ).then(lambda: None, None, files, api_visibility="private")
    table.click(on_row, None, [pending, confirm, asking], api_visibility="private").then(
        None, js=SHOW_CONFIRM, api_visibility="private"
    )
    table.click(on_restore, None, status, api_visibility="private").then(refresh, None, shown, api_visibility="private")
    no.click(lambda: (None, gr.update(visible=False)), None, [pending, confirm], api_visibility="private")
    yes.click(lambda: gr.update(visible=False), None, confirm, api_visibility="private").then(
        on_remove, pending, [status, removed, undo], api_visibility="private"
    ).then(refresh, None, shown, api_visibility="private")
    undo.click(lambda: gr.update(visible=False), None, undo, api_visibility="private").then(
        on_undo, removed, status, api_visibility="private"
    ).then(refresh, None, shown, api_visibility="private")
    reingest.click(app.reingest, None, status, api_name="reingest").then(refresh, None, shown, api_visibility="private")
    cancel.click(app.cancel_reingest, None, status, api_name="cancel_reingest")
    # The staff API's single steps, for programs (gradio_client); the page chains them.
    # Upload takes files, so it goes through the file box (by a button never shown).
    gr.Button(visible=False).click(app.upload, files, status, api_name="upload")
    gr.api(app.remove, api_name="remove")
    gr.api(app.restore, api_name="restore")
    gr.api(app.document_status, api_name="document_status")
    gr.api(app.last_report, api_name="last_report")


def _markdown_text(text: str) -> str:
    """A file name shown inside Markdown as itself: every punctuation mark escaped."""
    return "".join(f"\\{c}" if not c.isalnum() and not c.isspace() else c for c in text)
