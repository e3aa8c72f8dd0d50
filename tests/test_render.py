"""Result cards: escaped text, the searched words marked with the index's own stemmer, and
the label and bar the search gave each passage (green only for a match of an answered
question)."""

from __future__ import annotations

from pathlib import Path

from kb.search import Hit
from kb.web import render


def hit(
    rank: int, score: float, text: str = "Most people need three sessions.", match: float = 0.5, label: str = ""
) -> Hit:
    return Hit(
        rank, score, f"faq.md#{rank}", text, "faq.md", "FAQ", None, "Sessions", 0, len(text), text, match, label
    )


def test_the_words_the_keyword_search_matched_are_marked_stemmed_and_escaped() -> None:
    html = render.passage_html(
        hit(1, 0.5, "A session <b>costs</b> $450 & sessions vary."), "How many sessions?"
    )
    assert "<mark>session</mark>" in html and "<mark>sessions</mark>" in html
    assert "&lt;b&gt;costs&lt;/b&gt;" in html and "&amp;" in html and "<b>" not in html
    assert "<mark>How</mark>" not in html  # a query stopword is not marked


def test_a_card_links_to_its_passage_in_the_viewer_escaped() -> None:
    card = render.card_html(hit(3, 0.5), "sessions")
    assert 'href="/view/faq.md?passage=faq.md%233#passage"' in card
    odd = Hit(1, 0.5, 'a "b" & <c>.md#2', "Text.", 'a "b" & <c>.md', "T", 2, None, 0, 5, "Text.")
    card = render.card_html(odd, "text")
    assert (
        'href="/view/a%20%22b%22%20%26%20%3Cc%3E.md?passage=a%20%22b%22%20%26%20%3Cc%3E.md%232#passage"'
        in card
    )
    assert "<c>" not in card and "/files/" not in card  # the original file is linked from the viewer


def test_a_card_shows_the_label_and_match_the_search_gave_it() -> None:
    for label, match, bar in (
        ("Strong match", 0.97, "kb-bar-strong"),
        ("Good match", 0.8, "kb-bar-good"),
        ("Weak match", 0.3, "kb-bar-weak"),
    ):
        card = render.card_html(hit(1, 0.6, match=match, label=label), "sessions")
        assert f">{label}<" in card and f"kb-bar {bar}" in card
        assert f"width:{round(match * 100)}%" in card and f'title="{match:.0%} likely to answer"' in card
    # A bar never vanishes, however unlikely the passage.
    assert "width:5%" in render.card_html(hit(2, 0.1, match=0.001, label="Weak match"), "sessions")


def test_a_declined_answers_cards_say_no_match_and_show_no_green() -> None:
    card = render.card_html(hit(1, 0.62, match=0.4, label="Not an answer"), "sessions")
    assert "Not an answer" in card and "match" not in card.lower().replace("data-passage", "")
    assert "kb-bar-none" in card and "kb-bar-strong" not in card and "kb-bar-good" not in card
    # The stylesheet draws only the match classes green.
    css = (Path(render.__file__).parent / "pages" / "style.css").read_text(encoding="utf-8")
    green = [line for line in css.splitlines() if "#3c9a6b" in line]
    assert green and all("kb-bar-none" not in line and "kb-bar-weak" not in line for line in green)


def test_a_document_notice_is_shown_escaped_on_the_documents_page() -> None:
    from kb.index.files import DocumentRecord

    record = DocumentRecord(
        "faq.md", "FAQ <1>", "markdown", None, "0" * 64, 10, 3, "2026-11-25T10:00:00+00:00",
        "Sample document: <i>fictional</i> clinic.",
    )  # fmt: skip
    html = render.documents_html([record], "2026-11-25T10:00:00+00:00", "g1")
    assert "Sample document: &lt;i&gt;fictional&lt;/i&gt; clinic." in html and "FAQ &lt;1&gt;" in html
