"""The staff page at "/staff/" (behind the login): the documents folder as a table, each
file with its state (sortable by any column, filtered by a box, new and changed rows marked,
cards on a phone); upload that indexes at once, with progress and cancel; remove per row
with a confirmation under the row and an undo (the row says "Removing…" / "Restoring…" until
the index agrees); the last ingest's report; the visitors' votes.

The staff API (``/upload``, ``/remove``, ``/restore``, ``/reingest``, ``/cancel_reingest``,
``/document_status``, ``/last_report``, ``/feedback``) keeps its steps apart; the page's
buttons chain them into one step each."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".

import gradio as gr

from kb.reading.documents import DOCUMENT_TYPES
from kb.web import render
from kb.web.app import ClinicApp
from kb.web.pages.questions import questions_tab

#: The table's script. Sorting (the headings' buttons) and the filter box work in the page,
#: again after each refresh of the table; a row's Remove opens its confirmation under the
#: row; "Remove it" and Restore are sent back as the table's click event. One listener on the
#: table, so it holds whatever rows the table shows. Names are put in as text, never markup.
TABLE_SCRIPT = """
let key = null, descending = false;
const table = () => element.querySelector('.kb-staff-table');
const rowsOf = (t) => [...t.tBodies[0].rows].filter((r) => !r.classList.contains('kb-confirm-row'));
const compare = (a, b) => {
  const x = Number(a), y = Number(b);
  return a !== '' && b !== '' && !isNaN(x) && !isNaN(y) ? x - y : a.localeCompare(b);
};
const arrange = () => {
  const t = table();
  if (!t) return;
  const rows = rowsOf(t);
  const heads = [...t.tHead.rows[0].cells];
  const column = heads.findIndex((th) => th.dataset.key === key);
  if (column >= 0) {
    const sign = descending ? -1 : 1;
    rows.sort((a, b) => sign * compare(a.cells[column].dataset.sort, b.cells[column].dataset.sort));
    rows.forEach((r) => t.tBodies[0].appendChild(r));
  }
  heads.forEach((th, i) => {
    if (i === column) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    else th.removeAttribute('aria-sort');
  });
  const box = document.getElementById('staff-filter');
  const words = (box ? box.value : '').trim().toLowerCase();
  let shown = 0;
  rows.forEach((r) => {
    const hit = !words || r.textContent.toLowerCase().includes(words);
    r.hidden = !hit;
    shown += hit ? 1 : 0;
  });
  const count = document.getElementById('staff-filter-count');
  if (count) count.textContent = words ? `${shown} of ${rows.length} files shown` : '';
};
const closeConfirm = (refocus) => {
  const open = element.querySelector('.kb-confirm-row');
  if (!open) return;
  const source = open.dataset.source;
  open.remove();
  if (refocus) {
    const button = [...element.querySelectorAll('button[data-action="remove"]')].find((b) => b.dataset.source === source);
    if (button) button.focus({preventScroll: true});
  }
};
const confirmRemoval = (button) => {
  closeConfirm(false);
  const row = button.closest('tr');
  const confirm = document.createElement('tr');
  confirm.className = 'kb-confirm-row';
  confirm.dataset.source = button.dataset.source;
  const cell = document.createElement('td');
  cell.colSpan = row.cells.length;
  cell.innerHTML = '<div id="confirm" class="kb-confirm" role="group" aria-labelledby="confirm-text">'
    + '<p id="confirm-text"></p><button type="button" id="confirm-remove" class="kb-row-action kb-danger-solid">'
    + 'Remove it</button> <button type="button" id="keep-btn" class="kb-row-action">Keep it</button></div>';
  const name = document.createElement('strong');
  name.textContent = button.dataset.source;
  cell.querySelector('#confirm-text').append('Remove ', name, ' from the search? It is kept, so you can undo this.');
  confirm.appendChild(cell);
  row.after(confirm);
  // Focus without scrolling: the page stays where it is unless the buttons are off screen.
  cell.querySelector('#confirm-remove').focus({preventScroll: true});
  const box = confirm.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) confirm.scrollIntoView({block: 'nearest'});
};
element.addEventListener('click', (event) => {
  const button = event.target.closest('button');
  if (!button || !element.contains(button)) return;
  if (button.classList.contains('kb-sort')) {
    const wanted = button.closest('th').dataset.key;
    descending = key === wanted ? !descending : false;
    key = wanted;
    closeConfirm(false);
    arrange();
  } else if (button.dataset.action === 'remove') {
    confirmRemoval(button);
  } else if (button.id === 'confirm-remove') {
    const source = button.closest('tr').dataset.source;
    closeConfirm(false);
    trigger('click', {action: 'remove', source: source});
  } else if (button.id === 'keep-btn') {
    closeConfirm(true);
  } else if (button.dataset.action === 'restore') {
    trigger('click', {action: 'restore', source: button.dataset.source});
  }
});
element.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && element.querySelector('.kb-confirm-row')) closeConfirm(true);
});
document.addEventListener('input', (event) => {
  if (event.target.id === 'staff-filter') arrange();
});
watch('value', () => setTimeout(arrange));
arrange();
"""

#: The filter box: the table's script reads it.
FILTER = (
    '<div class="kb-filter"><label for="staff-filter">Filter the documents</label> '
    '<input id="staff-filter" type="search" autocomplete="off" placeholder="name, title, state or type">'
    ' <span id="staff-filter-count" role="status"></span></div>'
)

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
        with gr.Tab("Questions") as questions:
            questions_tab(app, page, questions)
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
    gr.HTML(FILTER, elem_id="staff-filter-box")
    table = gr.HTML(elem_id="staff-documents", js_on_load=TABLE_SCRIPT)
    gr.Markdown("## Last ingest")
    report = gr.HTML(elem_id="report")
    removed = gr.State()

    def table_html() -> str:
        return render.staff_table_html(app.status_rows())

    def refresh() -> tuple[str, str]:
        return table_html(), render.report_html(app.report_lines())

    def on_load() -> tuple[str, str, str]:
        running = app.running()
        return *refresh(), (f"A re-ingest is running: {running}" if running else "")

    # Each step sends the table too, so a row says "Removing…" or "Restoring…" at once. The
    # page redraws it only when it changed (gr.HTML compares), which closes an open confirmation.
    def on_row(event: gr.EventData, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        data = event._data or {}
        action, name = data.get("action"), data.get("source") or ""
        if action == "remove":
            for text, moved in app.remove_and_ingest(name, request, progress):
                undoable = gr.update(visible=True) if moved else gr.skip()
                yield text, moved or gr.skip(), undoable, table_html()
        elif action == "restore":
            for text in app.restore_and_ingest(name, request, progress):
                yield text, gr.skip(), gr.skip(), table_html()
        else:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()

    def on_undo(moved: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        for text in app.restore_and_ingest(moved, request, progress):
            yield text, table_html()

    shown = [table, report]
    page.load(on_load, None, [*shown, status], api_visibility="private")
    files.upload(app.upload_and_ingest, files, status, api_visibility="private").then(
        refresh, None, shown, api_visibility="private"
    ).then(lambda: None, None, files, api_visibility="private")
    # The progress shows in the status box; the table stays usable meanwhile.
    table.click(
        on_row, None, [status, removed, undo, table], show_progress_on=[status], api_visibility="private"
    ).then(refresh, None, shown, api_visibility="private")
    undo.click(lambda: gr.update(visible=False), None, undo, api_visibility="private").then(
        on_undo, removed, [status, table], show_progress_on=[status], api_visibility="private"
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

