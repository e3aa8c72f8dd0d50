"""HTML for the ask and documents pages. Pure functions; every piece of document or user
text is escaped here before it becomes markup."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from kb.index import lexical
from kb.index.base import DocumentRecord
from kb.search import NOT_COVERED, Answer, Hit
from kb.web.document_files import STATE_LABELS, FileStatus

#: Said to screen readers after a link that opens a new tab.
NEW_TAB = '<span class="kb-sr"> (opens in a new tab)</span>'
_KIND_LABELS = {"pdf": "PDF", "docx": "Word", "html": "Web page", "markdown": "Markdown", "text": "Text"}


def file_url(source: str) -> str:
    """Where the app serves a document's file as it is."""
    return "/files/" + quote(source)


def view_url(source: str, passage_id: str) -> str:
    """Where a passage opens in its document, marked (kb/web/pages/viewer.py); the
    fragment scrolls to it."""
    return f"/view/{quote(source)}?passage={quote(passage_id, safe='')}#passage"


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
    """The passage with the query's words marked and the best sentence emphasized."""
    terms = set(lexical.query_stems(query))
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


def card_html(hit: Hit, query: str) -> str:
    """One result card. ``query`` is the question as searched (with any added words). The
    passages of a question the documents don't cover are shown for reference, labelled
    "Not an answer" with a grey bar."""
    label, width, bar = relevance(hit)
    where = [escape(hit.title)]
    if hit.page:
        where.append(f"page {hit.page}")
    if hit.section:
        where.append(escape(hit.section))
    return (
        f'<article class="kb-card" data-passage="{escape(hit.passage_id)}">'
        f'<div class="kb-card-head"><span class="kb-rank"><span class="kb-sr">Result </span>{hit.rank}</span>'
        f'<a class="kb-source" href="{escape(view_url(hit.source, hit.passage_id))}" target="_blank" rel="noopener">'
        f"{' · '.join(where)}{NEW_TAB}</a>"
        # The bar draws the label's words; screen readers read the label alone.
        f'<span class="kb-relevance" title="{hit.match:.0%} likely to answer">{escape(label)}'
        f'<span class="kb-bar {bar}" aria-hidden="true"><span style="width:{width}%"></span></span></span></div>'
        f'<div class="kb-text">{passage_html(hit, query)}</div>'
        f'<div class="kb-file">{escape(hit.source)}</div></article>'
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


def documents_html(records: list[DocumentRecord], built_at: str | None, generation: str | None) -> str:
    rows = "".join(
        "<tr>"
        f'<td><a href="{escape(file_url(r.source))}" target="_blank" rel="noopener">{escape(r.title)}{NEW_TAB}</a>'
        f'<div class="kb-file">{escape(r.source)}</div>'
        + (f'<div class="kb-notice">{escape(r.notice)}</div>' if r.notice else "")
        + "</td>"
        f"<td>{_KIND_LABELS.get(r.kind, escape(r.kind))}</td>"
        f"<td>{r.pages if r.pages is not None else '—'}</td>"
        f"<td>{r.passages}</td>"
        f"<td>{escape(r.ingested_at.replace('T', ' ').replace('+00:00', ' UTC'))}</td>"
        "</tr>"
        for r in records
    )
    built = escape((built_at or "never").replace("T", " ").replace("+00:00", " UTC"))
    return (
        f'<p class="kb-built">{len(records)} documents, {sum(r.passages for r in records)} passages. '
        f"Index built {built} (generation {escape(generation or '—')}).</p>"
        # The box scrolls on a narrow screen; tabindex lets keyboard users scroll it too.
        '<div class="kb-table-wrap" role="region" aria-label="Documents in the index" tabindex="0">'
        '<table class="kb-documents"><thead><tr><th scope="col">Document</th><th scope="col">Type</th>'
        '<th scope="col">Pages</th><th scope="col">Passages</th><th scope="col">Ingested</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
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
    return escape(at.replace("T", " ").replace("+00:00", " UTC")) if at else "—"


def staff_table_html(rows: list[FileStatus]) -> str:
    """Every file of the documents folder with its state, and the removed ones, each with
    a button (remove, or restore) that the staff page's script sends back as an event."""
    if not rows:
        return '<p class="kb-built">The documents folder is empty: add documents above.</p>'
    body = []
    for r in rows:
        name = escape(r.source)
        if r.state == "removed":
            action = (
                f'<button type="button" class="kb-row-action" data-action="restore" '
                f'data-source="{escape(r.removed_name or "")}" aria-label="Restore {name}">Restore</button>'
            )
        elif r.state == "missing":
            action = ""
        else:
            action = (
                f'<button type="button" class="kb-row-action kb-danger" data-action="remove" '
                f'data-source="{name}" aria-label="Remove {name}">Remove</button>'
            )
        title = f"<div>{escape(r.title)}</div>" if r.title else ""
        reason = f'<div class="kb-reason">{escape(r.reason)}</div>' if r.reason else ""
        body.append(
            f'<tr class="kb-state-{r.state}"><th scope="row">{title}<div class="kb-file">{name}</div></th>'
            f'<td><span class="kb-state">{escape(STATE_LABELS[r.state])}</span>{reason}</td>'
            f"<td>{_KIND_LABELS.get(r.kind or '', escape(r.kind or '—'))}</td>"
            f"<td>{r.pages if r.pages is not None else '—'}</td>"
            f"<td>{r.passages if r.passages is not None else '—'}</td>"
            f"<td>{_size(r.size)}</td><td>{_when(r.changed_at)}</td><td>{action}</td></tr>"
        )
    return (
        '<table class="kb-documents kb-staff-table"><caption>Every file in the documents folder, '
        "and the latest removed ones</caption><thead><tr><th scope=\"col\">Document</th>"
        '<th scope="col">State</th><th scope="col">Type</th><th scope="col">Pages</th>'
        '<th scope="col">Passages</th><th scope="col">Size</th><th scope="col">Added or changed</th>'
        f'<th scope="col">Action</th></tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def report_html(lines: list[str]) -> str:
    """The last ingest's report, one sentence a line, escaped."""
    if not lines:
        return '<p class="kb-built">No ingest has been recorded for this index yet.</p>'
    return '<ul class="kb-report">' + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
