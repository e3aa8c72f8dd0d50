"""The public page at "/": the ask tab (question, passages as cards, votes) and the
documents tab."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".


import gradio as gr

from kb.search.smalltalk import EXAMPLE_QUESTIONS
from kb.web import render
from kb.web.app import ClinicApp

DISCLAIMER = (
    "**Information, not medical advice.** Answers are passages from the clinic's own documents. "
    "For advice about your own skin, talk to your clinician."
)
EXAMPLES = list(EXAMPLE_QUESTIONS)
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
.kb-small-talk {border:1px solid #9cc3d5; background:#eef6fa; padding:12px 16px; border-radius:10px; margin:10px 0;}
.kb-documents {width:100%; border-collapse:collapse;} .kb-documents td, .kb-documents th {padding:6px 8px;
            border-bottom:1px solid #e3e3e3; text-align:left; vertical-align:top;}
"""


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
                    card = render.card_html(hit, searched, app.settings.min_score, answer["answered"])
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
