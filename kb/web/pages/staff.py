"""The staff page at "/staff/" (behind the login): upload, remove, re-ingest, cancel, and
the visitors' votes."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".


import gradio as gr

from kb.reading.documents import DOCUMENT_TYPES
from kb.web.app import ClinicApp


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
