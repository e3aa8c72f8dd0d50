"""Reading every supported format from real files, and refusing bad ones clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LOREM_PAGES, SHIPPED_DOCUMENTS, write_pdf

from kb.documents import DOCUMENT_TYPES, decode_text, find_documents, read_document
from kb.errors import DocumentError


def read(path: Path):
    return read_document(path, path.parent)


# --- PDF ------------------------------------------------------------------------------


def test_pdf_keeps_page_numbers_and_drops_running_headers(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "guide.pdf", LOREM_PAGES, title="Aftercare Guide")
    doc = read(pdf)
    assert doc.kind == "pdf" and doc.pages == 3 and doc.title == "Aftercare Guide"
    headings = {b.text: b.page for b in doc.blocks if b.kind == "heading"}
    assert headings == {"Aftercare After Fractional Laser": 1, "Sun Protection": 2, "Warning Signs": 3}
    sun = next(b for b in doc.blocks if "broad spectrum sunscreen" in b.text)
    assert sun.page == 2
    assert "Harbour Lane Clinic - sample" not in doc.text  # running header
    assert "Page 2" not in doc.text  # running footer


def test_pdf_rejoins_words_hyphenated_at_line_breaks(tmp_path: Path) -> None:
    doc = read(write_pdf(tmp_path / "g.pdf", LOREM_PAGES))
    assert "needs treatment with antibiotics" in doc.text
    assert "treat- ment" not in doc.text


def test_pdf_paragraph_lines_are_joined_into_one_block(tmp_path: Path) -> None:
    doc = read(write_pdf(tmp_path / "g.pdf", LOREM_PAGES))
    block = next(b for b in doc.blocks if b.text.startswith("Keep the treated skin"))
    assert "after the treatment, and wash it gently" in block.text


def test_every_block_is_a_slice_of_the_document_text(tmp_path: Path) -> None:
    doc = read(write_pdf(tmp_path / "g.pdf", LOREM_PAGES))
    for block in doc.blocks:
        assert doc.text[block.start : block.end] == block.text


def _encrypted_pdf(path: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = write_pdf(path.with_name("plain.pdf"), LOREM_PAGES)
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    with open(path, "wb") as f:
        writer.write(f)
    plain.unlink()
    return path


def _scanned_pdf(path: Path) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for _ in range(2):
        c.rect(50, 50, 400, 600, fill=1)  # a "photo" of a page: no text layer
        c.showPage()
    c.save()
    return path


def _truncated_pdf(path: Path) -> Path:
    good = write_pdf(path.with_name("whole.pdf"), LOREM_PAGES).read_bytes()
    path.write_bytes(good[: len(good) // 3])
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20), "is not a readable PDF"),
        (lambda p: p.write_bytes(b"this is not a pdf at all, just text"), "is not a readable PDF"),
        (_truncated_pdf, "is not a readable PDF"),
        (_encrypted_pdf, "password-protected"),
        (_scanned_pdf, "no text layer"),
    ],
    ids=["empty", "garbage", "not-pdf", "truncated", "encrypted", "scanned"],
)
def test_bad_pdfs_get_a_clear_error(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "bad.pdf"
    make(path)
    with pytest.raises(DocumentError, match=message) as info:
        read(path)
    assert str(info.value).startswith("bad.pdf: ")


# --- DOCX ------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Consent Form", level=0)
    document.add_heading("Risks", level=1)
    document.add_paragraph("Infection is uncommon but possible after ablative treatment.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Signature", "Date"
    table.cell(1, 0).text, table.cell(1, 1).text = "Patient", "Today"
    document.add_heading("Alternatives", level=1)
    document.add_paragraph("Chemical peels and microneedling are alternatives.")
    path = tmp_path / "consent.docx"
    document.save(path)

    doc = read(path)
    assert doc.kind == "docx" and doc.title == "Consent Form" and doc.pages is None
    kinds = [(b.kind, b.text) for b in doc.blocks]
    assert kinds == [
        ("heading", "Risks"),
        ("paragraph", "Infection is uncommon but possible after ablative treatment."),
        ("paragraph", "Signature | Date"),
        ("paragraph", "Patient | Today"),
        ("heading", "Alternatives"),
        ("paragraph", "Chemical peels and microneedling are alternatives."),
    ]


def test_corrupt_docx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DocumentError, match="broken.docx: is not a readable Word"):
        read(path)


# --- HTML ------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title>Prices | Clinic</title>
<script>window.dataLayer = [{'event': 'pageview'}];</script><style>p {color: red}</style></head>
<body><nav><a href="/">Home</a><a href="/prices">Prices</a></nav>
<div class="cookie-banner">We use cookies. Accept all cookies</div>
<main><h1>Prices and Packages</h1>
<p>A consultation costs <b>$150</b>, credited toward treatment.</p>
<div class="share-buttons"><a>Share on Facebook</a><a>Share on Twitter</a></div>
<h2>Price list</h2><table><tr><th>Treatment</th><th>Price</th></tr>
<tr><td>Fractional CO2</td><td>$1,500</td></tr></table>
<p>Script text &lt;script&gt;alert(1)&lt;/script&gt; is shown as text.</p>
<ul><li>Cards</li><li>Cash</li></ul></main>
<footer>Copyright 2026 Clinic</footer></body></html>"""


def test_html_keeps_content_and_drops_page_furniture(tmp_path: Path) -> None:
    path = tmp_path / "prices.html"
    path.write_text(PAGE, encoding="utf-8")
    doc = read(path)
    assert doc.title == "Prices and Packages"
    texts = [b.text for b in doc.blocks]
    assert texts == [
        "A consultation costs $150, credited toward treatment.",
        "Price list",
        "Treatment | Price",
        "Fractional CO2 | $1,500",
        "Script text <script>alert(1)</script> is shown as text.",
        "Cards",
        "Cash",
    ]
    for gone in ("dataLayer", "Home", "cookies", "Share on", "Copyright", "color: red"):
        assert gone not in doc.text


# --- Markdown --------------------------------------------------------------------------


def test_markdown_headings_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "faq.md"
    path.write_text(
        "# FAQ\n\n## Does it hurt?\n\nA little. See [our guide](https://example.com) and "
        "`numbing cream`.\n\n- first point\n- second point\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        encoding="utf-8",
    )
    doc = read(path)
    assert doc.title == "FAQ" and doc.kind == "markdown"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Does it hurt?"),
        ("paragraph", "A little. See our guide and numbing cream."),
        ("paragraph", "first point"),
        ("paragraph", "second point"),
        ("paragraph", "a | b"),
        ("paragraph", "1 | 2"),
    ]


# --- plain text and encodings ----------------------------------------------------------

TEXT = "Café hours\n\nOur “quiet room” is open 8–18 daily.\n"


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-8"),
        lambda s: s.encode("utf-8-sig"),
        lambda s: s.encode("cp1252"),
        lambda s: s.encode("utf-16"),
    ],
    ids=["utf-8", "utf-8-bom", "cp1252", "utf-16-bom"],
)
def test_text_encodings_fall_back(tmp_path: Path, encode) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(encode(TEXT))
    doc = read(path)
    assert doc.title == "Café hours"
    assert doc.text == "Our “quiet room” is open 8–18 daily."  # the title line is not repeated


def test_undecodable_text_is_refused_with_advice() -> None:
    with pytest.raises(DocumentError, match="neither UTF-8 nor Windows-1252. Save it as UTF-8"):
        decode_text(b"caf\x81\x8d\x90", "x.txt")


def test_binary_file_named_txt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DocumentError, match="binary file"):
        read(path)


def test_text_headings_and_wrapped_lines(tmp_path: Path) -> None:
    path = tmp_path / "policy.txt"
    path.write_text(
        "CLINIC POLICY\n\nHOW TO BOOK\n-----------\n\nCall us on 555-0100 or write\nto reception, "
        "and we will con-\nfirm by email.\n\n  * By phone\n  * By email\n",
        encoding="utf-8",
    )
    doc = read(path)
    assert doc.title == "Clinic Policy"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "HOW TO BOOK"),
        ("paragraph", "Call us on 555-0100 or write to reception, and we will confirm by email."),
        ("paragraph", "* By phone"),
        ("paragraph", "* By email"),
    ]


# --- the shipped article and folder ------------------------------------------------------


def test_article_boilerplate_is_gone() -> None:
    doc = read_document(SHIPPED_DOCUMENTS / "laser-skin-resurfacing-article.txt", SHIPPED_DOCUMENTS)
    assert doc.title == "What is Laser Skin Resurfacing?"
    for gone in ("Share on", "Like this article", "Linkdin", "Pinterest"):
        assert gone not in doc.text
    assert "what is laser skin resurfacing" not in doc.text.lower().split("?")[-1]
    assert doc.text.lower().count("what is laser skin resurfacing") == 1  # only "But what is ...?"
    assert ("heading", "Benefits Of Laser Skin Resurfacing") in [(b.kind, b.text) for b in doc.blocks]
    assert "It typically takes 3-4 sessions to obtain the best outcomes." in doc.text


def test_find_documents_skips_hidden_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("B", encoding="utf-8")
    (tmp_path / "~$lock.docx").write_bytes(b"x")
    (tmp_path / "photo.jpg").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# B", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in find_documents(tmp_path)] == ["a.txt", "sub/b.md"]


def test_missing_documents_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="does not exist. Create it"):
        find_documents(tmp_path / "nope")


def test_unsupported_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"x")
    with pytest.raises(DocumentError, match="are not read; use one of"):
        read(path)


def test_shipped_documents_are_a_realistic_sample() -> None:
    files = find_documents(SHIPPED_DOCUMENTS)
    documents = [read_document(p, SHIPPED_DOCUMENTS) for p in files]
    kinds = [d.kind for d in documents]
    assert len(documents) >= 11  # the article and at least ten clinic documents
    assert sum(d.words for d in documents) >= 12_000
    assert sum(1 for d in documents if d.kind == "pdf" and d.pages and d.pages >= 2) >= 4
    assert {"docx", "html", "markdown", "text", "pdf"} <= set(kinds)
    assert set(kinds) <= set(DOCUMENT_TYPES.values())
    for doc in documents:
        if doc.source != "laser-skin-resurfacing-article.txt":
            opening = doc.text[:1500].lower()
            assert "sample" in opening and "fictional" in opening, doc.source


def test_reading_does_not_depend_on_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    doc = read_document(SHIPPED_DOCUMENTS / "faq.md", SHIPPED_DOCUMENTS)
    assert doc.source == "faq.md"
