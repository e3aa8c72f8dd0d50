"""The documents tab: every document in the index with its type, pages, passages and
when it was ingested, refreshed every 10 s."""

import gradio as gr

from kb.web.app import ClinicApp


def documents_tab(app: ClinicApp, page: gr.Blocks) -> None:
    """The tab's table, inside the public page's Blocks (``page``)."""
    documents = gr.HTML(elem_id="documents-table")
    page.load(app.documents_page, None, documents, api_visibility="private")
    gr.Timer(10).tick(app.documents_page, None, documents, api_visibility="private", show_progress="hidden")
