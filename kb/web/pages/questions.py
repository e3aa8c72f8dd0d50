"""The staff page's Questions tab: what patients asked that the documents did not answer
(declined as not covered, or voted "Not helpful"), grouped by meaning, largest first; a
chart of answered and not-covered questions per week; a CSV of the groups; and per group,
"Answered by…" a passage staff pick (a golden question with that answer), "Not covered —
fine" (a golden question the documents should decline), or "Dismiss".

Behind the staff login like every staff action; the staff API's ``/questions`` returns the
groups as JSON. MCP never lists it (the staff page serves no MCP)."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".

import gradio as gr

from kb.web.app import ClinicApp

DAYS = [("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90)]


def questions_tab(app: ClinicApp, page: gr.Blocks, tab: gr.Tab) -> None:
    """The tab's components and events, inside the staff page's Blocks (``page``) and its
    ``tab``."""
    gr.Markdown(
        "Questions patients asked that the documents did not answer, grouped by meaning. "
        "Each group is a document, or a section, the clinic has not written yet. Questions are "
        "kept masked (no e-mail addresses or phone numbers) and never with who asked "
        f"(README, \"Privacy\"); they are deleted after {app.settings.question_days} days."
    )
    with gr.Row():
        days = gr.Radio(DAYS, value=30, label="Asked in", elem_id="gap-days")
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="gap-refresh")
    golden = gr.Markdown(elem_id="golden-count")
    chart = gr.BarPlot(
        x="week",
        y="questions",
        color="outcome",
        title="Questions per week",
        label="Answered and not covered, per week",
        elem_id="gap-chart",
        height=220,
        color_map={"answered": "#3c9a6b", "not covered": "#b45309"},
        y_title="questions",
    )
    groups = gr.HTML(elem_id="gaps")
    export = gr.DownloadButton("Download the groups (CSV)", size="sm", elem_id="gap-csv")
    gr.Markdown("### Act on a group")
    chosen = gr.Dropdown(label="Group", choices=[], elem_id="gap-group")
    passages = gr.Radio(label="The passage that answers it (open it to check)", choices=[], elem_id="gap-passage")
    links = gr.HTML(elem_id="gap-links")
    with gr.Row():
        answered = gr.Button("Answered by this passage", size="sm", scale=0, elem_id="gap-answered")
        fine = gr.Button("Not covered — fine", size="sm", scale=0, elem_id="gap-fine")
        dismiss = gr.Button("Dismiss", size="sm", scale=0, elem_id="gap-dismiss")
    done = gr.Markdown(elem_id="gap-done")

    shown = [groups, chosen, chart, golden, export]
    page.load(app.gap_view, days, shown, api_visibility="private")
    # Also when the tab is shown: a chart drawn while its tab was hidden has no width.
    for trigger in (days.change, refresh.click, tab.select):
        trigger(app.gap_view, days, shown, api_visibility="private")
    chosen.change(app.gap_passages, chosen, [passages, links], api_visibility="private")
    for button, action in ((answered, "answered"), (fine, "fine"), (dismiss, "dismissed")):
        button.click(
            _marker(app, action),
            [days, chosen, passages],
            done,
            api_visibility="private",
        ).then(app.gap_view, days, shown, api_visibility="private")
    # The staff API: the groups as JSON, for programs (gradio_client, with the staff login).
    gr.api(app.questions, api_name="questions")


def _marker(app: ClinicApp, action: str):
    def mark_group(days: int, group: str | None, passage: str | None, request: gr.Request) -> str:
        return app.mark_gap(days, group, action, passage, request)

    return mark_group
