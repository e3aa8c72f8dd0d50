"""The ask tab: the question box, the passages as cards with their votes, and the notice
(urgent, not covered, small talk) above them."""

# No `from __future__ import annotations` here: gradio reads handlers' annotations at run time.

import gradio as gr

from kb.search import Hit
from kb.search.smalltalk import EXAMPLE_QUESTIONS
from kb.web import render
from kb.web.app import ClinicApp


def ask_tab(app: ClinicApp) -> None:
    """The tab's components and events, inside the public page's Blocks."""
    with gr.Row(elem_id="ask-row"):  # stacked on phones (style.css)
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
    gr.Examples(list(EXAMPLE_QUESTIONS), inputs=[question], api_visibility="private", label="Examples")
    notice = gr.HTML(elem_id="notice")
    result = gr.State()

    @gr.render(inputs=[result])
    def show(answer: dict | None) -> None:
        if not answer:
            return
        for passage in answer["passages"]:
            hit = _hit_from_json(passage)
            searched = " ".join([answer["question"], *answer.get("searched_for", [])])
            card = render.card_html(hit, searched)
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


def _vote_handler(app: ClinicApp, question: str, passage_id: str, vote: str):
    def cast(request: gr.Request) -> None:  # gradio passes the request: the voter's address
        app.vote(question, passage_id, vote, request)

    return cast


def _hit_from_json(p: dict) -> Hit:
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
        p.get("match", 0.0),
        p.get("label", ""),
    )
