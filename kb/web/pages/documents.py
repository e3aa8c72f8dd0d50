"""The documents tab: every document the answers come from, with its type, pages and the
day it was last updated (the index's internals stay on the staff page), refreshed every
10 s. Each document's notice about itself is folded away, so the list stays short on a
phone."""

import gradio as gr

from kb.web.app import ClinicApp


def documents_tab(app: ClinicApp, page: gr.Blocks) -> None:
    """The tab's table, inside the public page's Blocks (``page``)."""
    documents = gr.HTML(elem_id="documents-table")
    page.load(app.documents_page, None, documents, api_visibility="private")
    gr.Timer(10).tick(app.documents_page, None, documents, api_visibility="private", show_progress="hidden")
