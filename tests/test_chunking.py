"""Splitting documents into passages: pure logic, with a word-counting stand-in tokenizer."""

from __future__ import annotations

import pytest

from kb.chunking import SPECIAL_TOKENS, split_document, split_sentences
from kb.documents import Block, Document


def count_words(texts):
    return [len(t.split()) for t in texts]


def make_document(blocks: list[tuple[str, str]], title: str = "Guide", page: int | None = None) -> Document:
    parts, out, offset = [], [], 0
    for kind, text in blocks:
        if parts:
            offset += 2
        out.append(Block(kind, text, offset, offset + len(text), page))
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
    ],
)
def test_sentence_splitting(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in split_sentences(text)] == expected


def test_tiny_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        split_document(make_document([("paragraph", "x.")]), count_words, max_tokens=8)
