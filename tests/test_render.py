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


def test_only_the_questions_content_words_are_marked() -> None:
    text = "After one day the redness fades; it can last a long time after a deep laser."
    html = render.passage_html(hit(1, 0.5, text), "How long is the redness after one day with a laser?")
    assert "<mark>redness</mark>" in html and "<mark>laser</mark>" in html
    for filler in ("After", "after", "day", "long", "time"):
        assert f"<mark>{filler}</mark>" not in html, filler


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
    html = render.documents_html([record])
    assert "Sample document: &lt;i&gt;fictional&lt;/i&gt; clinic." in html and "FAQ &lt;1&gt;" in html


def test_the_documents_page_says_the_day_in_words_and_keeps_the_index_to_itself() -> None:
    from kb.index.files import DocumentRecord

    records = [
        DocumentRecord("a.pdf", "A", "pdf", 4, "0" * 64, 10, 31, "2026-12-03T23:10:00+00:00", "Sample."),
        DocumentRecord("b.md", "B", "markdown", None, "1" * 64, 10, 7, "2026-11-25T10:00:00+00:00"),
    ]
    html = render.documents_html(records)
    assert "PDF · 4 pages · updated 3 Dec 2026" in html and "Markdown · updated 25 Nov 2026" in html
    assert "2 documents, the latest updated 3 Dec 2026." in html
    assert "UTC" not in html and "31" not in html and "passage" not in html and "T23:10" not in html
    assert '<details class="kb-notice"><summary>About this document</summary>Sample.</details>' in html


def answer_of(hits: list[Hit], question: str = "How many sessions?"):
    from kb.search import Answer

    return Answer(question=question, answered=True, urgent=False, message="", took_ms=1.0, hits=hits,
                  warning_signs=[], urgent_contact=None)  # fmt: skip


def test_each_cards_votes_are_named_for_it_uniquely() -> None:
    def titled(rank: int, title: str, page: int | None, section: str | None) -> Hit:
        return Hit(rank, 0.5, f"x#{rank}", "Text.", "x.pdf", title, page, section, 0, 5, "Text.")

    hits = [
        titled(1, "Aftercare", 2, "Day 1"),
        titled(2, "Aftercare", 3, "Day 2"),
        titled(3, "FAQ", None, None),
        titled(4, "Risks <b>", 1, "Signs"),
        titled(5, "Risks <b>", 1, "Signs"),
    ]
    assert render.vote_names(hits) == [
        "Aftercare, page 2, Day 1",
        "Aftercare, page 3, Day 2",
        "FAQ",
        "Risks <b>, page 1, Signs, result 4",
        "Risks <b>, page 1, Signs, result 5",
    ]
    html = render.answer_html(answer_of(hits))
    assert 'aria-label="Helpful: Risks &lt;b&gt;, page 1, Signs, result 4"' in html and "<b>" not in html
    assert html.count('aria-pressed="false"') == 10 and html.count('class="kb-thanks" role="status"') == 5
    assert html.startswith('<h2 id="answer-heading" class="kb-answer-heading" tabindex="-1" data-url="/?q=How%20many%20sessions%3F">')


def test_a_card_opens_its_passage_in_the_same_tab_with_the_question_for_the_way_back() -> None:
    card = render.card_html(hit(3, 0.5), "sessions extra", question="How many & which?")
    assert 'href="/view/faq.md?passage=faq.md%233&amp;q=How%20many%20%26%20which%3F#passage"' in card
    assert "target=" not in card and "new tab" not in card


def test_a_shortened_question_is_cut_at_a_word_and_said_where() -> None:
    from kb.web.pages.ask import shorten

    assert shorten("  short question ", 1000) == ("short question", None)
    assert shorten("one two three", 9) == ("one two", 13)  # "three" would be cut at "th"
    assert shorten("one two three", 8) == ("one two", 13)  # the limit falls on the space
    assert shorten("abcdefghij", 4) == ("abcd", 10)  # one word that long: cut inside it
    note = render.shortened_html("a b c d e f g <h> i", 1200)
    assert "(1,200 characters)" in note and "its first 19 characters" in note
    assert "ending at “…d e f g &lt;h&gt; i”" in note
