"""Splitting documents into passages: pure logic, with a word-counting stand-in tokenizer."""

from __future__ import annotations

import pytest

from kb.reading.chunking import SPECIAL_TOKENS, split_document, split_sentences
from kb.reading.documents import Block, Document


def count_words(texts):
    return [len(t.split()) for t in texts]


def make_document(blocks: list[tuple[str, ...]], title: str = "Guide", page: int | None = None) -> Document:
    """Blocks as (kind, text) or (kind, text, role)."""
    parts, out, offset = [], [], 0
    for kind, text, *role in blocks:
        if parts:
            offset += 2
        out.append(Block(kind, text, offset, offset + len(text), page, 0, *role))
        parts.append(text)
        offset += len(text)
    return Document("guide.txt", title, "text", None, "\n\n".join(parts), tuple(out))


def sentences(n: int, words: int = 10, tag: str = "S") -> str:
    return " ".join(f"{tag}{i} " + " ".join(["word"] * (words - 2)) + " end." for i in range(n))


def test_passages_are_exact_slices_with_offsets() -> None:
    doc = make_document([("heading", "Aftercare"), ("paragraph", sentences(30))])
    passages = split_document(doc, count_words, max_tokens=60, overlap_sentences=1)
    assert len(passages) > 3
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
        assert p.section == "Aftercare" and p.title == "Guide" and p.source == "guide.txt"


def test_every_passage_fits_the_budget_including_context() -> None:
    doc = make_document([("heading", "Aftercare"), ("paragraph", sentences(40))])
    for p in split_document(doc, count_words, max_tokens=50, overlap_sentences=1):
        assert count_words([p.embedding_text])[0] + SPECIAL_TOKENS <= 50


def test_consecutive_passages_overlap_by_one_sentence() -> None:
    doc = make_document([("paragraph", sentences(12))])
    first, second = split_document(doc, count_words, max_tokens=50, overlap_sentences=1)[:2]
    last_sentence = first.text.rsplit("S", 1)[1]
    assert second.text.startswith("S" + last_sentence)
    assert second.start < first.end


def test_no_overlap_when_disabled() -> None:
    doc = make_document([("paragraph", sentences(12))])
    passages = split_document(doc, count_words, max_tokens=50, overlap_sentences=0)
    for a, b in zip(passages, passages[1:], strict=False):
        assert b.start > a.end


def test_passages_never_cross_a_heading() -> None:
    doc = make_document(
        [
            ("heading", "One"),
            ("paragraph", sentences(2, tag="A")),
            ("heading", "Two"),
            ("paragraph", sentences(2, tag="B")),
        ]
    )
    passages = split_document(doc, count_words, max_tokens=200)
    assert [(p.section, p.text[:2]) for p in passages] == [("One", "A0"), ("Two", "B0")]


def test_a_question_heading_stays_with_its_answer() -> None:
    doc = make_document([("heading", "How long is the redness?"), ("paragraph", "Usually two weeks. " * 3)])
    (passage,) = split_document(doc, count_words, max_tokens=200)
    assert passage.text.startswith("How long is the redness?\n\nUsually two weeks.")
    assert passage.embedding_text.count("How long is the redness?") == 1


def test_a_question_paragraph_moves_to_the_passage_with_its_answer() -> None:
    question = "Q: Can I wear makeup after the treatment?"
    doc = make_document(
        [("paragraph", sentences(4)), ("paragraph", question), ("paragraph", "A: " + sentences(3, tag="Ans"))]
    )
    passages = split_document(doc, count_words, max_tokens=62, overlap_sentences=1)
    holding = [p for p in passages if question in p.text]
    assert holding and all("A: Ans0" in p.text for p in holding)


def test_a_sentence_longer_than_the_budget_is_cut_between_words() -> None:
    doc = make_document([("paragraph", " ".join(f"w{i}" for i in range(300)) + ".")])
    passages = split_document(doc, count_words, max_tokens=60, overlap_sentences=1)
    assert len(passages) >= 5
    assert " ".join(p.text for p in passages).split()[:3] == ["w0", "w1", "w2"]
    for p in passages:
        assert count_words([p.embedding_text])[0] + SPECIAL_TOKENS <= 60


def test_ids_are_unique_and_readable() -> None:
    doc = make_document([("paragraph", sentences(20))], page=3)
    doc = Document("aftercare.pdf", doc.title, "pdf", 4, doc.text, doc.blocks)
    ids = [p.id for p in split_document(doc, count_words, max_tokens=50)]
    assert ids[:2] == ["aftercare.pdf#p3-1", "aftercare.pdf#p3-2"]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("See Dr. Okafor today. Then rest.", ["See Dr. Okafor today.", "Then rest."]),
        ("Use SPF 30, e.g. Brand Xeno. Reapply.", ["Use SPF 30, e.g. Brand Xeno.", "Reapply."]),
        ("It costs $4.50 now. Yes.", ["It costs $4.50 now.", "Yes."]),
        ("Line one\nLine two.", ["Line one", "Line two."]),
        (
            "Lasers are cleared by the U.S. Food and Drug Administration for this. Ask us.",
            ["Lasers are cleared by the U.S. Food and Drug Administration for this.", "Ask us."],
        ),
        (
            "To book, call reception (ext. 4) to book a slot. We reply within a day.",
            ["To book, call reception (ext. 4) to book a slot.", "We reply within a day."],
        ),
        (
            "We close at 5 p.m. on Fridays. Call before then.",
            ["We close at 5 p.m. on Fridays.", "Call before then."],
        ),
        (
            "The columns are 1.5 mm deep. Healing takes days.",
            ["The columns are 1.5 mm deep.", "Healing takes days."],
        ),
        (
            "Avoid acids, i.e. glycolic acid. Then restart.",
            ["Avoid acids, i.e. glycolic acid.", "Then restart."],
        ),
        ("Does it hurt? Most people feel heat.", ["Does it hurt?", "Most people feel heat."]),
        ('She said "Keep it moist." Then she left.', ['She said "Keep it moist."', "Then she left."]),
        (
            "Rest. Reapply every 2 hrs. outdoors, e.g. on walks.",
            ["Rest.", "Reapply every 2 hrs. outdoors, e.g. on walks."],
        ),
        ("  Leading space. Trailing space.  ", ["Leading space.", "Trailing space."]),
    ],
)
def test_sentence_splitting(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in split_sentences(text)] == expected


def _holding(passages, text: str) -> list:
    return [p for p in passages if text in p.text]


def test_a_list_stays_with_its_lead_in_and_is_not_cut() -> None:
    items = [f"item {i} to bring along" for i in range(6)]
    doc = make_document(
        [
            ("heading", "What to Bring"),
            ("paragraph", sentences(4, words=8)),
            ("paragraph", "Pack a small bag the evening before with:"),
            *[("paragraph", item, "item") for item in items],
            ("paragraph", "After the list comes more text."),
        ]
    )
    passages = split_document(doc, count_words, max_tokens=70, overlap_sentences=1)
    holding = _holding(passages, "Pack a small bag")
    assert holding and all(all(item in p.text for item in items) for p in holding)
    # No passage holds only part of the list.
    assert all(sum(item in p.text for item in items) in (0, len(items)) for p in passages)


def test_a_list_longer_than_the_budget_keeps_its_lead_in_with_the_first_item() -> None:
    items = [f"item {i} " + " ".join(["word"] * 8) + "." for i in range(12)]
    doc = make_document(
        [
            ("paragraph", sentences(3)),
            ("paragraph", "Stop these products:"),
            *[("paragraph", i, "item") for i in items],
        ]
    )
    passages = split_document(doc, count_words, max_tokens=60, overlap_sentences=1)
    for p in passages:
        assert count_words([p.embedding_text])[0] + SPECIAL_TOKENS <= 60
    (lead,) = _holding(passages, "Stop these products:")
    assert items[0] in lead.text


def test_a_question_heading_stays_with_a_list_answer() -> None:
    items = [f"point {i} " + " ".join(["word"] * 5) for i in range(4)]
    doc = make_document(
        [
            ("heading", "Intro"),
            ("paragraph", sentences(4, words=10)),
            ("heading", "What should I bring?"),
            *[("paragraph", i, "item") for i in items],
        ]
    )
    passages = split_document(doc, count_words, max_tokens=60)
    (answer,) = _holding(passages, "point 0")
    assert answer.text.startswith("What should I bring?") and all(i in answer.text for i in items)


def test_a_table_row_is_one_sentence() -> None:
    row = "4 weeks before — what to do: Start sun avoidance. No tanning beds. Wear a hat."
    doc = make_document([("paragraph", "Your timeline:"), ("paragraph", row, "row")])
    (passage,) = split_document(doc, count_words, max_tokens=200)
    assert passage.sentence_texts() == ["Your timeline:", row]


def _shipped(name: str) -> Document:
    from conftest import SHIPPED_DOCUMENTS

    from kb.reading.documents import read_document

    return read_document(SHIPPED_DOCUMENTS / name, SHIPPED_DOCUMENTS)


def test_shipped_pdf_sub_heading_labels_its_passage() -> None:
    passages = split_document(_shipped("preparing-for-your-treatment.pdf"), count_words, max_tokens=200)
    (numbing,) = _holding(passages, "A topical numbing cream")
    assert (numbing.section, numbing.page) == ("Numbing cream and other pain control", 4)


def test_shipped_lists_stay_with_their_lead_in() -> None:
    passages = split_document(_shipped("preparing-for-your-treatment.pdf"), count_words, max_tokens=200)
    (bag,) = _holding(passages, "Pack a small bag the evening before with:")
    assert "photo ID and your list of medicines;" in bag.text
    assert "something to read or listen to while the numbing cream takes effect." in bag.text


def test_no_shipped_passage_holds_the_sample_notice() -> None:
    from conftest import SHIPPED_DOCUMENTS

    from kb.reading.documents import find_documents

    for path in find_documents(SHIPPED_DOCUMENTS):
        doc = _shipped(path.name)
        for p in split_document(doc, count_words, max_tokens=200):
            assert "sample document" not in p.text.lower(), p.id
            assert doc.notice is None or doc.notice not in p.text, p.id


def test_tiny_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        split_document(make_document([("paragraph", "x.")]), count_words, max_tokens=8)


def test_a_word_longer_than_the_budget_is_cut_into_pieces_that_keep_every_character() -> None:
    def count_characters(texts):  # a stand-in tokenizer: one token per 4 characters
        return [len(t) // 4 + 1 for t in texts]

    url = "https://example.com/" + "/".join(f"part{i}" for i in range(400))
    doc = make_document([("paragraph", f"See {url} for the form.")])
    passages = split_document(doc, count_characters, max_tokens=64, overlap_sentences=0)
    assert len(passages) > 10
    assert "".join(p.text for p in passages).replace(" ", "") == doc.text.replace(" ", "")
    for p in passages:
        assert count_characters([p.embedding_text])[0] + SPECIAL_TOKENS <= 64
