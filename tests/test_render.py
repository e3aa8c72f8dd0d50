"""Result cards: escaped text, the searched words marked with the index's own stemmer, and
relevance that falls with rank and reads against the threshold."""

from __future__ import annotations

from kb.search import Hit
from kb.web import render


def hit(rank: int, score: float, text: str = "Most people need three sessions.") -> Hit:
    return Hit(rank, score, f"faq.md#{rank}", text, "faq.md", "FAQ", None, "Sessions", 0, len(text), text)


def test_the_words_the_keyword_search_matched_are_marked_stemmed_and_escaped() -> None:
    html = render.passage_html(
        hit(1, 0.5, "A session <b>costs</b> $450 & sessions vary."), "How many sessions?"
    )
    assert "<mark>session</mark>" in html and "<mark>sessions</mark>" in html
    assert "&lt;b&gt;costs&lt;/b&gt;" in html and "&amp;" in html and "<b>" not in html
    assert "<mark>How</mark>" not in html  # a query stopword is not marked


def test_a_card_links_to_its_passage_in_the_viewer_escaped() -> None:
    card = render.card_html(hit(3, 0.5), "sessions", 0.3)
    assert 'href="/view/faq.md?passage=faq.md%233#passage"' in card
    odd = Hit(1, 0.5, 'a "b" & <c>.md#2', "Text.", 'a "b" & <c>.md', "T", 2, None, 0, 5, "Text.")
    card = render.card_html(odd, "text", 0.3)
    assert (
        'href="/view/a%20%22b%22%20%26%20%3Cc%3E.md?passage=a%20%22b%22%20%26%20%3Cc%3E.md%232#passage"'
        in card
    )
    assert "<c>" not in card and "/files/" not in card  # the original file is linked from the viewer


def test_cards_show_relevance_falling_with_rank_and_labels_read_against_the_threshold() -> None:
    threshold = 0.3
    scores = [0.62, 0.45, 0.31, 0.29, 0.05]
    widths = []
    for rank, score in enumerate(scores, start=1):
        label, width = render.relevance(score, threshold)
        widths.append(width)
        expected = "Strong match" if score >= threshold + render.STRONG_MARGIN else "Good match"
        assert label == (expected if score >= threshold else "Weak match")
        card = render.card_html(hit(rank, score), "sessions", threshold)
        assert f'title="score {score:.2f}"' in card and f"width:{width}%" in card
    assert widths == sorted(widths, reverse=True) and widths[-1] >= 5
    # A question the documents don't cover: its nearest passages are never labelled a match.
    reference = render.card_html(hit(1, 0.62), "sessions", threshold, answered=False)
    assert "Not a match" in reference and "match</span>" not in reference.replace("Not a match", "")


def test_a_document_notice_is_shown_escaped_on_the_documents_page() -> None:
    from kb.index.files import DocumentRecord

    record = DocumentRecord(
        "faq.md", "FAQ <1>", "markdown", None, "0" * 64, 10, 3, "2026-11-25T10:00:00+00:00",
        "Sample document: <i>fictional</i> clinic.",
    )  # fmt: skip
    html = render.documents_html([record], "2026-11-25T10:00:00+00:00", "g1")
    assert "Sample document: &lt;i&gt;fictional&lt;/i&gt; clinic." in html and "FAQ &lt;1&gt;" in html
