"""Properties over arbitrary input (hypothesis): reading, cleaning, chunking and the query
path raise nothing but their documented errors; passages fit the model; nothing of a
document is lost on the way except what a documented cleaning rule removed."""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kb.embedding import Embedder
from kb.errors import DocumentError, QueryError
from kb.reading import cleaning
from kb.reading import documents as docs
from kb.reading.chunking import SPECIAL_TOKENS, split_document

PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
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


@pytest.mark.parametrize("name", ["notes.txt", "page.html", "faq.md", "leaflet.pdf", "form.docx"])
@PROPERTY
@given(
    data=st.one_of(
        st.binary(max_size=400), st.sampled_from([b"%PDF-1.7\n", b"PK\x03\x04"]).map(lambda h: h + bytes(50))
    )
)
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
# Found by hypothesis: a question too long to be a heading, cut into pieces, whose first
# piece (glue, meant to go on with the next) fitted with neither side and was dropped.
@example(
    blocks=[("heading", "0:0", "text"), ("paragraph", "", "text"), ("heading", "0:0A02:0:A00000000000002:0?", "text")],
    title="010:0:0:",
    max_tokens=32,
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
    from kb.search import query as q

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


# --- nothing silently lost ------------------------------------------------------------------


def _source_words(path: Path) -> list[str]:
    """The words of a file as another tool reads them, independently of kb.reading.readers."""
    kind = docs.DOCUMENT_TYPES[path.suffix.lower()]
    if kind == "pdf":
        from pypdf import PdfReader

        text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    elif kind == "docx":
        import docx

        document = docx.Document(str(path))
        cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
        text = "\n".join([p.text for p in document.paragraphs] + cells)
    elif kind in ("html", "markdown"):
        from bs4 import BeautifulSoup

        text = _plain(path)
        if kind == "markdown":
            from markdown_it import MarkdownIt

            text = MarkdownIt("commonmark").enable("table").render(text)
        soup = BeautifulSoup(text, "html.parser")
        text = (soup.body or soup).get_text(" ")
    else:
        text = _plain(path)
    return re.findall(r"\w+", text.lower())


def _plain(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _lost_words(path: Path, folder: Path, embedder: Embedder) -> tuple[list[str], docs.Document]:
    """Words of the file found in no passage, title, section or notice, nor in the text a
    documented rule removed."""
    document = docs.read_document(path, folder)
    passages = split_document(document, embedder.count_tokens, 200, 1)
    kept = " ".join(
        [document.title, document.notice or ""]
        + [p.text for p in passages]
        + [p.section or "" for p in passages]
    )
    removed = " ".join(r.text for r in document.removed)
    found = set(re.findall(r"\w+", (kept + " " + removed).lower()))
    words = _source_words(path)
    lost = []
    for i, word in enumerate(words):
        joined = {words[i - 1] + word if i else "", word + words[i + 1] if i + 1 < len(words) else ""}
        if word not in found and not joined & found:  # "treat-" "ment" is "treatment" once re-joined
            lost.append(word)
    return lost, document


def _generated_documents(folder: Path) -> list[Path]:
    import docx
    from conftest import LOREM_PAGES, write_pdf

    paths = [write_pdf(folder / "guide.pdf", LOREM_PAGES, title="Aftercare Guide")]
    document = docx.Document()
    document.add_heading("Consent Form", level=0)
    document.add_heading("Risks", level=1)
    document.add_paragraph("Infection is uncommon but possible after ablative treatment.")
    document.add_paragraph("Photo ID", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Signature", "Date"
    table.cell(1, 0).text, table.cell(1, 1).text = "Patient", "Today"
    document.save(folder / "consent.docx")
    paths.append(folder / "consent.docx")
    (folder / "page.html").write_text(
        "<html><head><title>Prices</title><script>var tracking = 1;</script></head><body>"
        "<nav><a>Home</a><a>Contact</a></nav><main><h1>Prices</h1><p>A consultation costs $150.</p>"
        "<div class='share-box'>Share on Facebook</div><h2>Cards</h2><ul><li>Visa</li><li>Cash</li></ul>"
        "</main><footer>Copyright Clinic</footer></body></html>",
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text(
        "Parking is free after six.\n\nOPENING HOURS\n\nWe open at eight.\n\nShare this article\n",
        encoding="utf-8",
    )
    (folder / "faq.md").write_text(
        "# FAQ\n\n## Part one\n\n### Does it hurt?\n\nA little, see [our guide](https://example.com).\n\n"
        "| Day | Hours |\n|---|---|\n| Monday | 8-18 |\n\n<div>Raw html block text.</div>\n\n## Last heading\n",
        encoding="utf-8",
    )
    return paths + [folder / "page.html", folder / "notes.txt", folder / "faq.md"]


def test_no_word_of_a_shipped_or_generated_document_is_silently_lost(
    embedder: Embedder, tmp_path: Path
) -> None:
    from conftest import SHIPPED_DOCUMENTS

    checked = [(path, SHIPPED_DOCUMENTS) for path in docs.find_documents(SHIPPED_DOCUMENTS)]
    checked += [(path, tmp_path) for path in _generated_documents(tmp_path)]
    for path, folder in checked:
        lost, document = _lost_words(path, folder, embedder)
        assert not lost, f"{path.name}: words in no passage and removed by no rule: {lost}"
        for item in document.removed:
            assert item.rule in docs.RULES, item
        listing = docs.explain(path, folder)  # the debug listing names each rule
        for item in document.removed:
            assert f"[{item.rule}]" in listing


def test_the_debug_listing_shows_what_each_rule_removed(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        "<html><body><nav>Home Contact</nav><main><h1>Prices</h1><p>Consultations cost $150.</p>"
        "<script>track()</script></main><footer>Copyright</footer></body></html>",
        encoding="utf-8",
    )
    listing = docs.explain(tmp_path / "page.html", tmp_path)
    for line in ("[navigation] Home Contact", "[navigation] Copyright", "[code] track()", "[title] Prices"):
        assert line in listing, listing
    assert "[text] Consultations cost $150." in listing


@PROPERTY
@given(
    size=st.sampled_from([0, 1, 7, 1_000, 5_000, 60_000]),
    density=st.sampled_from([0.0, 0.0005, 0.05, 1.0]),
    depth=st.sampled_from([1, 5, 100, 400]),
    ties=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_the_keyword_candidates_are_exactly_the_best_positive_scores(size, density, depth, ties, seed) -> None:
    import numpy as np

    from kb.search.ranking import top_positive

    rng = np.random.default_rng(seed)
    values = rng.random(size) * (rng.random(size) < density)
    if ties:  # few distinct scores: many equal ones straddle the cut
        values = np.round(values * 4) / 4
    values = values.astype(np.float32)
    got = top_positive(values, depth)
    best = np.sort(values[values > 0])[::-1][:depth]
    assert len(got) == len(set(got.tolist())) == len(best)
    assert np.array_equal(np.sort(values[got])[::-1], best)
