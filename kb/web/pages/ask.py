"""The ask tab: the question box and Ask, a status line that says a search is running, and
the answer (a heading, the notice, the passages as cards each with its votes); then the
example questions and, folded away, how many passages to show.

Whatever the screen, nothing stands between the question and its answer, and the answer
is brought into view when it arrives: its heading takes the focus (keyboard and screen
reader users start there) and the page scrolls to the urgent notice or the first card's
best sentence. The question is put in the address (``/?q=...``), so an answer can be
linked, and a page opened at such an address asks it at once: the viewer's way back.

A question longer than the search takes is cut at a word boundary, and the answer says so
and where. Votes go to the server without a page event (the answer's server function): a
vote counts only for a passage this answer showed, within the per-address vote limit, and
the card itself shows the pressed button and the thanks."""

# No `from __future__ import annotations` here: gradio reads handlers' annotations at run time.

import time
from html import escape

import gradio as gr

from kb.search.smalltalk import EXAMPLE_QUESTIONS
from kb.web import render
from kb.web.app import ClinicApp

VOTES = ("helpful", "not helpful")

#: The answer, once shown: focused and in view, its address in the address bar, and its
#: cards' votes sent to the server with the result said in the card.
ON_ANSWER = """
const heading = element.querySelector('#answer-heading');
if (heading) {
  history.replaceState(history.state, '', heading.dataset.url);
  requestAnimationFrame(() => {
    heading.focus({preventScroll: true});
    heading.scrollIntoView({block: 'start'});
    // The urgent notice whole, else the first card's best sentence, in view (a long
    // first passage can hold it below the screen's edge).
    const urgent = element.querySelector('.kb-urgent');
    const best = element.querySelector('.kb-card .best') || element.querySelector('.kb-card');
    const target = urgent || best;
    if (target) {
      const box = target.getBoundingClientRect();
      if (box.bottom > window.innerHeight) {
        target.scrollIntoView({block: box.height < window.innerHeight ? 'end' : 'start'});
        if (best === target) window.scrollBy(0, 24);
      }
    }
  });
}
element.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-vote]');
  if (!button || button.getAttribute('aria-pressed') === 'true') return;
  const card = button.closest('article');
  const thanks = card.querySelector('.kb-thanks');
  let reply;
  try {
    reply = await server.vote({passage: card.dataset.passage, vote: button.dataset.vote});
  } catch (error) {
    reply = {ok: false, message: 'The vote could not be sent; try again.'};
  }
  if (reply.ok) {
    card.querySelectorAll('button[data-vote]').forEach(b => b.setAttribute('aria-pressed', String(b === button)));
  }
  thanks.textContent = reply.message;
  thanks.classList.toggle('kb-thanks-refused', !reply.ok);
});
"""

#: The status line is a live region: screen readers hear "Searching…" and the outcome.
LIVE = "element.setAttribute('role', 'status'); element.setAttribute('aria-live', 'polite');"


def ask_tab(app: ClinicApp, page: gr.Blocks) -> None:
    """The tab's components and events, inside the public page's Blocks (``page``)."""
    question = gr.Textbox(
        label="Your question",
        placeholder="e.g. How long is the redness after a CO2 laser?",
        elem_id="question",
        lines=1,
    )
    ask = gr.Button("Ask", variant="primary", elem_id="ask-btn")
    status = gr.HTML(elem_id="ask-status", js_on_load=LIVE)
    shown = gr.State()

    @gr.render(inputs=[shown])
    def show(answer: dict | None) -> None:
        if answer:
            gr.HTML(
                answer["html"],
                elem_id="answer",
                js_on_load=ON_ANSWER,
                server_functions=[_voter(app, answer["question"], answer["passages"])],
            )

    gr.Examples(list(EXAMPLE_QUESTIONS), inputs=[question], api_visibility="private", label="Examples")
    with gr.Accordion("More options", open=False, elem_id="more-options"):
        k = gr.Slider(1, 20, value=5, step=1, label="Passages", info="How many passages to show", elem_id="k")

    # Named apart from the API's /search: gradio names a page's handlers after their
    # functions, and a second "search" would rename the documented endpoint "search_2".
    def ask_from_the_box(text: str, count: float) -> tuple[str, dict | None]:
        return answer_page(app, text, count)

    def from_address(request: gr.Request):
        asked = request.query_params.get("q", "") if request is not None else ""
        if not asked.strip():
            return gr.skip(), gr.skip(), gr.skip()
        return asked, *answer_page(app, asked, 5)

    for trigger in (ask.click, question.submit):
        trigger(
            lambda: (gr.update(value="Searching…", interactive=False), "Searching…"),
            None,
            [ask, status],
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        ).then(
            ask_from_the_box,
            [question, k],
            [status, shown],
            concurrency_id="search",
            show_progress="hidden",
            api_visibility="private",
        ).then(
            lambda: gr.update(value="Ask", interactive=True),
            None,
            ask,
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )
    page.load(
        from_address,
        None,
        [question, status, shown],
        concurrency_id="search",
        show_progress="hidden",
        api_visibility="private",
    )


def answer_page(app: ClinicApp, question: str, k: float) -> tuple[str, dict | None]:
    """The status line and what the answer's render needs, for a question as typed. A
    refused question (empty, say) is said in the status line, with no answer."""
    asked, length = shorten(question or "", app.settings.max_query_chars)
    try:
        answer = app.ask(asked, int(k))
    except gr.Error as exc:
        return f'<span class="kb-status-refused">{escape(str(exc.message))}</span>', None
    if answer.urgent:
        said = "Contact the clinic now: your question mentions warning signs."
    elif answer.reason == "small_talk":
        said = ""
    elif not answer.answered:
        said = "The clinic's documents don't cover this."
    else:
        said = f"Found {len(answer.hits)} passage{'s' if len(answer.hits) != 1 else ''}."
    return said, {
        "html": render.answer_html(answer, length),
        "question": answer.question,
        "passages": [hit.passage_id for hit in answer.hits],
        "at": time.monotonic_ns(),  # a new answer re-renders even when it is the same
    }


def shorten(question: str, limit: int) -> tuple[str, int | None]:
    """The question stripped and, when longer than ``limit`` characters, cut at the last
    word boundary within them (mid-word only for a single word that long); with its length
    before the cut, or None when it was not cut."""
    text = question.strip()
    if len(text) <= limit:
        return text, None
    cut = text[:limit]
    if not text[limit].isspace() and not cut[-1].isspace():  # the limit falls inside a word
        cut = cut.rsplit(None, 1)[0]
    return cut.rstrip(), len(text)


def _voter(app: ClinicApp, question: str, passages: list[str]):
    """The answer's server function: a vote on one of ``passages``, from the page's script."""

    def vote(choice: dict, request: gr.Request) -> dict:  # gradio passes the request: the voter's address
        passage = choice.get("passage") if isinstance(choice, dict) else None
        kind = choice.get("vote") if isinstance(choice, dict) else None
        if passage not in passages or kind not in VOTES:
            return {"ok": False, "message": "That vote could not be taken; ask the question again."}
        try:
            return {"ok": True, "message": app.vote(question, passage, kind, request)}
        except gr.Error as exc:
            return {"ok": False, "message": str(exc.message)}

    return vote
