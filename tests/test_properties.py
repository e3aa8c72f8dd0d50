"""Properties over arbitrary input (hypothesis): reading, cleaning, chunking and the query
path raise nothing but their documented errors; passages fit the model; nothing of a
document is lost on the way except what a documented cleaning rule removed."""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb import cleaning
from kb import documents as docs
from kb.chunking import SPECIAL_TOKENS, split_document
from kb.embedding import Embedder
from kb.errors import DocumentError, QueryError

PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MAX_TOKENS = 64  # small, so that short inputs already make several passages

#: Text as people and programs write it: any character except surrogates, weighted towards
#: words, spaces and line breaks so that examples hold paragraphs and headings.
_ANY = st.characters(blacklist_categories=("Cs",))
_WORDY = st.sampled_from(["\n", "\n\n", " ", ". ", "# ", "- ", "Clinic", "laser", "CARE", "?", ":", "|"])
TEXT = st.lists(st.one_of(_ANY, _WORDY, st.text(alphabet=_ANY, max_size=12)), max_size=60).map("".join)


def _read(data: bytes, name: str) -> docs.Document | None:
    """The document read from ``data`` as file ``name``, or None for a DocumentError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            return docs.read_document(path, Path(folder))
        except DocumentError as exc:
            assert str(exc).startswith(f"{name}: ") and len(str(exc)) > len(name) + 20
            return None


def _check_passages(document: docs.Document, embedder: Embedder, max_tokens: int = MAX_TOKENS) -> None:
    """Passages fit the model, are exact slices, and cover every character of the text
    that is not space (headings are covered as the sections of their passages)."""
    passages = split_document(document, embedder.count_tokens, max_tokens, 1)
    counts = embedder.count_tokens([p.embedding_text for p in passages])
    for passage, n in zip(passages, counts, strict=True):
        assert n + SPECIAL_TOKENS <= max_tokens, passage
        assert document.text[passage.start : passage.end] == passage.text
    covered = bytearray(len(document.text))
    for passage in passages:
        covered[passage.start : passage.end] = b"\1" * (passage.end - passage.start)
    sections = {p.section for p in passages}
    for block in document.blocks:
        if block.kind == "heading" and block.text in sections:
            covered[block.start : block.end] = b"\1" * (block.end - block.start)
    lost = "".join(
        ch for ch, seen in zip(document.text, covered, strict=True) if not seen and not ch.isspace()
    )
    assert not lost, f"text in no passage: {lost!r}"


def _letters(text: str) -> Counter[str]:
    return Counter(ch.lower() for ch in text if ch.isalnum())


# --- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["notes.txt", "page.html", "faq.md"])
@PROPERTY
@given(data=st.binary(max_size=400))
def test_any_bytes_read_or_fail_with_a_document_error(name: str, data: bytes) -> None:
    _read(data, name)


@pytest.mark.parametrize("name", ["notes.txt", "page.html", "faq.md"])
@PROPERTY
@given(text=TEXT)
def test_any_text_reads_into_passages_that_fit(embedder: Embedder, name: str, text: str) -> None:
    document = _read(text.encode("utf-8"), name)
    if document is not None:
        for block in document.blocks:
            assert document.text[block.start : block.end] == block.text
        _check_passages(document, embedder)


@PROPERTY
@given(text=TEXT)
def test_plain_text_loses_no_letter_beyond_the_cleaning_rules(text: str) -> None:
    """Every letter and digit of a text file is in the document's text, its title, or the
    text a named rule removed."""
    document = _read(text.encode("utf-8"), "notes.txt")
    if document is None:
        return
    kept = document.text + document.title + "".join(r.text for r in document.removed)
    for rule in {r.rule for r in document.removed}:
        assert rule in docs.RULES
    missing = _letters(text) - _letters(kept)
    # Characters cleaning drops as junk (controls, private use) are not letters or digits.
    assert not missing, missing


# --- cleaning -------------------------------------------------------------------------------


@PROPERTY
@given(text=TEXT, lines=st.lists(TEXT, max_size=5))
def test_cleaning_functions_take_any_text(text: str, lines: list[str]) -> None:
    cleaned = cleaning.clean_inline(text)
    assert "\x00" not in cleaned and cleaned == cleaned.strip()
    cleaning.join_lines(lines)
    for check in (
        cleaning.is_boilerplate,
        cleaning.looks_like_heading,
        cleaning.is_page_number,
        cleaning.is_sample_notice,
        cleaning.is_label_value,
        cleaning.is_bullet_mark,
        cleaning.section_number_depth,
        cleaning.ends_sentence,
    ):
        check(text)
    cleaning.table_row_text(lines or None, [text, *lines])
    cleaning.running_lines([lines, lines, [text]])


@PROPERTY
@given(text=TEXT, limit=st.integers(min_value=1, max_value=50))
def test_long_text_is_split_without_losing_anything_but_spaces(text: str, limit: int) -> None:
    pieces = cleaning.split_long(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())


# --- chunking ---------------------------------------------------------------------------------


@PROPERTY
@given(
    blocks=st.lists(
        st.tuples(st.sampled_from(["heading", "paragraph"]), TEXT, st.sampled_from(["text", "item", "row"])),
        min_size=1,
        max_size=8,
    ),
    title=TEXT,
    max_tokens=st.sampled_from([32, 64, 200]),
)
def test_any_blocks_split_into_passages_that_fit_and_cover_the_text(
    embedder: Embedder, blocks, title: str, max_tokens: int
) -> None:
    parts, made, offset = [], [], 0
    for kind, text, role in blocks:
        text = cleaning.clean_inline(text) or "x"
        if parts:
            offset += 2
        made.append(docs.Block(kind, text, offset, offset + len(text), None, 1, role))
        parts.append(text)
        offset += len(text)
    document = docs.Document(
        "doc.txt", cleaning.clean_inline(title), "text", None, "\n\n".join(parts), tuple(made)
    )
    _check_passages(document, embedder, max_tokens)


# --- the query path ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def knowledge_base(shipped_index, embedder: Embedder):
    from kb.search import KnowledgeBase

    return KnowledgeBase(shipped_index, embedder)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.one_of(TEXT, st.text(max_size=1200)), k=st.one_of(st.integers(-3, 60), st.floats(), st.none())
)
def test_any_question_is_answered_or_refused_with_a_query_error(knowledge_base, query: str, k) -> None:
    try:
        query, k = knowledge_base.validate(query, k)
    except QueryError as exc:
        assert str(exc)
        return
    answer = knowledge_base.answer(query, k)
    assert len(answer.hits) <= k


@PROPERTY
@given(query=TEXT, glossary=TEXT)
def test_query_rewriting_takes_any_text(query: str, glossary: str) -> None:
    from kb import query as q

    try:
        terms = q.parse_glossary(glossary)
    except ValueError as exc:  # the documented error for a malformed glossary line
        assert "line" in str(exc)
        terms = ()
    vocabulary = ["laser", "redness", "sunscreen", "skin", "care"]
    known = set(vocabulary).__contains__
    words = re.findall(r"\w+", query.lower())
    rewritten = q.rewrite(query, terms, known, lambda w: q.nearest(w, vocabulary), lambda s: words)
    assert rewritten.text == query
    q.joined_variants(query)
    for word in words[:5]:
        q.split_compound(word, known)
        q.similar(word, "laser")
