"""The public page at "/": the ask tab and the documents tab, the disclaimer, and the API
(``/search``, ``/documents``) that programs call through gradio_client."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".

import gradio as gr

from kb.web.app import ClinicApp
from kb.web.pages.ask import ask_tab
from kb.web.pages.documents import documents_tab

DISCLAIMER = (
    "**Information, not medical advice.** Answers are passages from the clinic's own documents. "
    "For advice about your own skin, talk to your clinician."
)


def build_public(app: ClinicApp) -> gr.Blocks:
    with gr.Blocks(title="Clinic knowledge base") as public:
        gr.Markdown(
            "# Ask the clinic's documents\nQuestions about laser skin resurfacing at the clinic: "
            "preparation, the treatment day, aftercare, risks, prices and bookings."
        )
        gr.Markdown(DISCLAIMER, elem_id="disclaimer")
        with gr.Tab("Ask", id="ask"):
            ask_tab(app, public)
        with gr.Tab("Documents", id="documents"):
            documents_tab(app, public)
        gr.Markdown("Clinic staff: [staff page](/staff/)", elem_id="staff-link")
        gr.api(app.search, api_name="search", concurrency_id="search")
        gr.api(app.documents, api_name="documents")
    return public
