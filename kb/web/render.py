"""HTML for the ask and documents pages. Pure functions; every piece of document or user
text is escaped here before it becomes markup."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from kb.index import lexical
from kb.index.base import DocumentRecord
from kb.search import NOT_COVERED, Answer, Hit, coverage
from kb.web.document_files import STATE_LABELS, FileStatus

#: Said to screen readers after a link that opens a new tab.
NEW_TAB = '<span class="kb-sr"> (opens in a new tab)</span>'
_KIND_LABELS = {"pdf": "PDF", "docx": "Word", "html": "Web page", "markdown": "Markdown", "text": "Text"}


def file_url(source: str) -> str:
    """Where the app serves a document's file as it is."""
    return "/files/" + quote(source)


def view_url(source: str, passage_id: str, question: str = "") -> str:
    """Where a passage opens in its document, marked (kb/web/pages/viewer.py); the
    fragment scrolls to it. The question rides along so the viewer's way back leads to
    its results (``/?q=...``)."""
    asked = f"&q={quote(question, safe='')}" if question else ""
    return f"/view/{quote(source)}?passage={quote(passage_id, safe='')}{asked}#passage"


def ask_url(question: str) -> str:
    """The public page asking ``question`` as it loads: an answer's own address."""
    return "/?q=" + quote(question, safe="") if question else "/"


def highlight(text: str, stems: set[str]) -> str:
    """Escaped ``text`` with each word the keyword search matched wrapped in <mark>: the
    same splitting, stopwords and stemmer as the index, so "sessions" marks "session"."""
    out, last = [], 0
    for start, end in lexical.matched_spans(text, stems):
        out.append(escape(text[last:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


def passage_html(hit: Hit, query: str) -> str:
    """The passage with the query's content words marked (not "after" or "long") and the
    best sentence emphasized."""
    terms = coverage.content_stems(query)
    text, best = hit.text, hit.highlight
    at = text.find(best) if best else -1
    if at < 0:
        return _paragraphs(highlight(text, terms))
    before, after = text[:at], text[at + len(best) :]
    body = (
        highlight(before, terms)
        + f'<strong class="best">{highlight(best, terms)}</strong>'
        + highlight(after, terms)
    )
    return _paragraphs(body)


def _paragraphs(markup: str) -> str:
    return "".join(f"<p>{part}</p>" for part in markup.split("\n\n") if part.strip())


#: A card's label -> its bar's colour class: green only for a passage of an answered
#: question that is likely to answer it.
BAR_CLASSES = {"Strong match": "kb-bar-strong", "Good match": "kb-bar-good", "Weak match": "kb-bar-weak"}


def relevance(hit: Hit) -> tuple[str, int, str]:
    """A card's label, bar width (5-100) and bar class, from the hit's match: the same
    calibrated probability the covered / not-covered decision reads, so the card never
    disagrees with the answer, and never rises as rank falls (``KnowledgeBase.answer``)."""
    label = hit.label or "Not an answer"
    return label, max(5, min(100, round(hit.match * 100))), BAR_CLASSES.get(label, "kb-bar-none")


def card_html(hit: Hit, query: str, question: str = "", vote_name: str | None = None) -> str:
    """One result card. ``query`` is the question as searched (with any added words),
    ``question`` as asked (carried by the link, for the viewer's way back). The passages of
    a question the documents don't cover are shown for reference, labelled "Not an answer"
    with a grey bar. With a ``vote_name`` (unique on the page: ``vote_names``) the card ends
    with its Helpful / Not helpful buttons, which the ask page's script sends."""
    label, width, bar = relevance(hit)
    where = [escape(hit.title)]
    if hit.page:
        where.append(f"page {hit.page}")
    if hit.section:
        where.append(escape(hit.section))
    return (
        f'<article class="kb-card" data-passage="{escape(hit.passage_id)}">'
        f'<div class="kb-card-head"><span class="kb-rank"><span class="kb-sr">Result </span>{hit.rank}</span>'
        f'<a class="kb-source" href="{escape(view_url(hit.source, hit.passage_id, question))}">'
        f"{' · '.join(where)}</a>"
        # The bar draws the label's words; screen readers read the label alone.
        f'<span class="kb-relevance" title="{hit.match:.0%} likely to answer">{escape(label)}'
        f'<span class="kb-bar {bar}" aria-hidden="true"><span style="width:{width}%"></span></span></span></div>'
        f'<div class="kb-text">{passage_html(hit, query)}</div>'
        f'<div class="kb-file">{escape(hit.source)}</div>'
        f"{'' if vote_name is None else _votes_html(vote_name)}</article>"
    )


def _votes_html(name: str) -> str:
    # The names start with the buttons' own words (WCAG 2.5.3, axe's label-content-name-mismatch).
    name = escape(name)
    return (
        '<div class="kb-votes" role="group" aria-label="Did this passage help?">'
        f'<button type="button" class="kb-vote" data-vote="helpful" aria-pressed="false" '
        f'aria-label="Helpful: {name}">Helpful</button>'
        f'<button type="button" class="kb-vote" data-vote="not helpful" aria-pressed="false" '
        f'aria-label="Not helpful: {name}">Not helpful</button>'
        '<span class="kb-thanks" role="status"></span></div>'
    )


def vote_names(hits: list[Hit]) -> list[str]:
    """What each card's vote buttons are named after, unique on the page: the document's
    title; its page and section too where two cards share a title; and its rank where
    even those are the same."""
    names = [h.title for h in hits]
    for detail in (_page_and_section, lambda h: f"result {h.rank}"):
        repeated = {n for n in names if names.count(n) > 1}
        names = [
            f"{n}, {detail(h)}" if n in repeated and detail(h) else n for n, h in zip(names, hits, strict=True)
        ]
    return names


def _page_and_section(hit: Hit) -> str:
    return ", ".join(part for part in (f"page {hit.page}" if hit.page else "", hit.section or "") if part)


def answer_html(answer: Answer, shortened_from: int | None = None) -> str:
    """The answer as the ask page shows it: a heading the page focuses, the notice, a note
    when the question was shortened (from ``shortened_from`` characters), then the cards
    with their votes."""
    searched = " ".join([answer.question, *answer.searched_for])
    names = vote_names(answer.hits)
    cards = "".join(
        card_html(hit, searched, answer.question, name) for hit, name in zip(answer.hits, names, strict=True)
    )
    note = "" if shortened_from is None else shortened_html(answer.question, shortened_from)
    return (
        f'<h2 id="answer-heading" class="kb-answer-heading" tabindex="-1" data-url="{escape(ask_url(answer.question))}">'
        "Answer</h2>"
        f"{note}{notice_html(answer)}{cards}"
    )


def shortened_html(question: str, length: int) -> str:
    """Says that the question searched was cut from ``length`` characters, and where."""
    words = question.split()
    tail = " ".join(words[-6:])
    if len(tail) > 60 or len(words) <= 6:
        tail = question[-40:].lstrip()
    return (
        f'<div class="kb-shortened">Your question ({length:,} characters) was too long, so it was '
        f"shortened to its first {len(question):,} characters, ending at "
        f"“…{escape(tail)}”. Ask again in fewer words to search the rest.</div>"
    )


def notice_html(answer: Answer) -> str:
    """The urgent notice (if any) and the covered / not covered message."""
    parts = []
    if answer.urgent:
        contact = answer.urgent_contact
        line = escape(contact.text) if contact else "the clinic's urgent line"
        parts.append(
            '<div class="kb-urgent" role="alert"><strong>Contact the clinic now.</strong> '
            f"Your question mentions warning signs after a treatment ({escape(', '.join(answer.warning_signs))}). "
            f'<br><span class="kb-urgent-line">{line}</span><br>'
            "In an emergency, such as trouble breathing, call your local emergency number.</div>"
        )
    if answer.searched_for:
        parts.append(
            f'<div class="kb-searched">Also searched for: {escape(", ".join(answer.searched_for))}</div>'
        )
    if answer.reason == "small_talk":
        parts.append(f'<div class="kb-small-talk">{escape(answer.message)}</div>')
    elif not answer.answered:
        nearest = " The nearest passages are below, for reference only: none of them answers it." if answer.hits else ""
        parts.append(
            "<div class=\"kb-not-covered\"><strong>The clinic's documents don't cover this.</strong> "
            f"{escape(answer.message.split(NOT_COVERED, 1)[-1].strip())}{nearest}</div>"
        )
    return "".join(parts)


def day(at: str) -> str:
    """An ISO 8601 time as a day in words: "3 Dec 2026"."""
    when = datetime.fromisoformat(at)
    return f"{when.day} {when:%b %Y}"


def documents_html(records: list[DocumentRecord]) -> str:
    """The documents the answers come from, for visitors: title, type, pages and the day
    each was last updated, with the document's notice about itself folded away."""
    if not records:
        return '<p class="kb-built">No documents are searchable yet.</p>'
    items = []
    for r in records:
        facts = [_KIND_LABELS.get(r.kind, escape(r.kind))]
        if r.pages is not None:
            facts.append(f"{r.pages} page{'s' if r.pages != 1 else ''}")
        facts.append(f"updated {day(r.ingested_at)}")
        notice = (
            f'<details class="kb-notice"><summary>About this document</summary>{escape(r.notice)}</details>'
            if r.notice
            else ""
        )
        items.append(
            f'<li><a href="{escape(file_url(r.source))}" target="_blank" rel="noopener">{escape(r.title)}{NEW_TAB}</a>'
            f'<div class="kb-doc-facts">{" · ".join(facts)} · <span class="kb-file">{escape(r.source)}</span></div>'
            f"{notice}</li>"
        )
    latest = max(r.ingested_at for r in records)
    return (
        f'<p class="kb-built">{len(records)} documents, the latest updated {day(latest)}.</p>'
        f'<ul class="kb-doclist" aria-label="Documents the answers come from">{"".join(items)}</ul>'
    )


# --- the staff page ------------------------------------------------------------------------


def _size(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


def _when(at: str | None) -> str:
    # To the minute: the column stays narrow enough not to wrap.
    return escape(at[:16].replace("T", " ") + " UTC") if at else "—"


#: The order of the states when the table is sorted by state: what needs a look first.
_STATE_ORDER = ["failed", "missing", "new", "changed", "removing", "restoring", "skipped", "indexed", "removed"]
_MARKS = {"new": "New", "changed": "Changed"}
#: A reason longer than this is folded: its first sentence shown, the rest under "More".
_FOLD = 90
_COLUMNS = [
    ("name", "Document"),
    ("state", "State"),
    ("type", "Type"),
    ("pages", "Pages"),
    ("passages", "Passages"),
    ("size", "Size"),
    ("changed", "Added or changed"),
]


def _reason(reason: str | None) -> str:
    if not reason:
        return ""
    if len(reason) <= _FOLD:
        return f'<div class="kb-reason">{escape(reason)}</div>'
    first, dot, rest = reason.partition(". ")
    if not dot or len(first) > _FOLD:
        first, rest = "Why", reason
    else:
        first += "."
    return (
        f'<details class="kb-reason"><summary>{escape(first)}</summary>'
        f"<div>{escape(rest)}</div></details>"
    )


def _staff_row(r: FileStatus) -> str:
    name = escape(r.source)
    if r.state == "removed" and r.removed_name:
        action = (
            f'<button type="button" class="kb-row-action" data-action="restore" '
            f'data-source="{escape(r.removed_name)}" aria-label="Restore {name}">Restore</button>'
        )
    elif r.state in ("removed", "missing", "removing", "restoring"):
        action = ""
    else:
        action = (
            f'<button type="button" class="kb-row-action kb-danger" data-action="remove" '
            f'data-source="{name}" aria-label="Remove {name}">Remove</button>'
        )
    title = f'<div class="kb-title">{escape(r.title)}</div>' if r.title else ""
    mark = f' <span class="kb-mark kb-mark-{r.mark}">{_MARKS[r.mark]}</span>' if r.mark else ""
    kind = _KIND_LABELS.get(r.kind or "", escape(r.kind or "—"))

    def number(n: int | None) -> str:
        return str(n) if n is not None else "—"

    state = f'<span class="kb-state">{escape(STATE_LABELS[r.state])}</span>{_reason(r.reason)}'
    cells = [  # (heading, sort key, shown)
        ("State", _STATE_ORDER.index(r.state), state),
        ("Type", kind, kind),
        ("Pages", -1 if r.pages is None else r.pages, number(r.pages)),
        ("Passages", -1 if r.passages is None else r.passages, number(r.passages)),
        ("Size", -1 if r.size is None else r.size, _size(r.size)),
        ("Added or changed", escape(r.changed_at or ""), _when(r.changed_at)),
    ]
    tds = "".join(f'<td data-label="{label}" data-sort="{key}">{shown}</td>' for label, key, shown in cells)
    return (
        f'<tr class="kb-state-{r.state}{" kb-marked" if r.mark else ""}">'
        f'<th scope="row" data-sort="{escape(r.source.lower())}">{title}<div class="kb-file">{name}{mark}</div></th>'
        f'{tds}<td class="kb-action">{action}</td></tr>'
    )


def staff_table_html(rows: list[FileStatus]) -> str:
    """Every file of the documents folder with its state, and the removed ones, each with
    a button (remove, or restore) that the staff page's script sends back as an event. The
    headings are buttons the script sorts by (each cell's data-sort), rows new or changed
    since the last ingest are marked, and long reasons are folded."""
    if not rows:
        return '<p class="kb-built">The documents folder is empty: add documents above.</p>'
    heads = "".join(
        f'<th scope="col" data-key="{key}"><button type="button" class="kb-sort">{label}<span class="kb-sort-icon" aria-hidden="true"></span></button></th>'
        for key, label in _COLUMNS
    )
    return (
        '<table class="kb-documents kb-staff-table"><caption>Every file in the documents folder, '
        "and the latest removed ones. Press a column's heading to sort by it.</caption>"
        f'<thead><tr>{heads}<th scope="col">Action</th></tr></thead>'
        f'<tbody>{"".join(_staff_row(r) for r in rows)}</tbody></table>'
    )


def report_html(lines: list[str]) -> str:
    """The last ingest's report, one sentence a line, escaped."""
    if not lines:
        return '<p class="kb-built">No ingest has been recorded for this index yet.</p>'
    return '<ul class="kb-report">' + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


_GAP_REASONS = {"not_covered": "not covered", "not_helpful": "voted not helpful"}


def gaps_html(found: list, days: int) -> str:
    """The content gaps as a table, largest first: each group's label, how often it was
    asked, why it is a gap, when, and its wordings (every text escaped)."""
    if not found:
        return f'<p class="kb-gaps-none">No unanswered questions in the last {days} days.</p>'
    rows = []
    for g in found:
        examples = "".join(f"<li>{escape(e)}</li>" for e in g.examples)
        rows.append(
            f"<tr><th scope=\"row\">{escape(g.label)}</th><td>{g.count}</td>"
            f"<td>{escape(_GAP_REASONS.get(g.reason, g.reason))}</td>"
            f"<td>{escape(_day(g.first))} – {escape(_day(g.last))}</td>"
            f"<td><details><summary>{len(g.examples)} wording{'s' if len(g.examples) != 1 else ''}</summary>"
            f"<ul>{examples}</ul></details></td></tr>"
        )
    return (
        f'<table class="kb-gaps"><caption>Unanswered questions, last {days} days, largest group first</caption>'
        "<thead><tr><th scope=\"col\">Question</th><th scope=\"col\">Asked</th><th scope=\"col\">Why</th>"
        "<th scope=\"col\">When</th><th scope=\"col\">Wordings</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _day(at: str) -> str:
    """"2026-12-03T10:00:00+00:00" -> "3 Dec 2026"."""
    from datetime import datetime

    try:
        found = datetime.fromisoformat(at)
    except ValueError:
        return at
    return f"{found.day} {found.strftime('%b %Y')}"
