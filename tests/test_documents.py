"""Reading every supported format from real files, and refusing bad ones clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LOREM_PAGES, SHIPPED_DOCUMENTS, write_pdf

from kb.errors import DocumentError
from kb.reading.documents import DOCUMENT_TYPES, decode_text, find_documents, read_document


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


# --- PDF layout: headings by font, lists, tables ------------------------------------------

STYLES = {  # kind -> (font, size, advance to the next line)
    "h1": ("Helvetica-Bold", 16, 26),
    "large": ("Helvetica", 13, 20),
    "bold": ("Helvetica-Bold", 10, 18),
    "p": ("Helvetica", 10, 14),
    "item": ("Helvetica", 10, 14),
    "row": ("Helvetica", 10, 14),
    "space": ("Helvetica", 10, 8),
}


def write_styled_pdf(path: Path, lines: list[tuple[str, object]], title: str | None = "Leaflet") -> Path:
    """A one-page PDF drawn line by line in a leaflet's styles: ("h1", text) 16 pt bold,
    ("large", text) 13 pt regular, ("bold", text) bold at the body size, ("p", text) 10 pt
    body, ("item", text) a bullet glyph drawn apart from its text, ("row", [cells]) table
    cells in columns 150 pt apart ("*" marks a bold cell), ("space", "") paragraph spacing.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    if title:
        c.setTitle(title)
    y = A4[1] - 70
    for kind, text in lines:
        font, size, advance = STYLES[kind]
        c.setFont(font, size)
        if kind == "row":
            for k, cell in enumerate(text):
                c.setFont("Helvetica-Bold" if cell.startswith("*") else "Helvetica", size)
                c.drawString(50 + 150 * k, y, cell.lstrip("*"))
        elif kind == "item":
            c.drawString(50, y, "\u2022")
            c.drawString(64, y, text)
        elif kind != "space":
            c.drawString(50, y, text)
        y -= advance
    c.showPage()
    c.save()
    return path


LEAFLET = [
    ("h1", "Treatment Day Leaflet"),
    ("p", "Please arrive fifteen minutes early so that we can check you in."),
    ("space", ""),
    ("bold", "Numbing cream and other pain control"),
    ("p", "A numbing cream is applied for about an hour before the laser starts."),
    ("space", ""),
    ("large", "What you will feel"),
    ("p", "Most people feel a prickling heat during the treatment."),
    ("space", ""),
    ("p", "2.1 Soaks and cleansing"),
    ("p", "Soak the skin with dilute vinegar four times a day."),
    ("space", ""),
    ("bold", "Urgent line (24 hours): 555-0199"),
    ("space", ""),
    ("bold", "Do not pick the crusts."),
    ("space", ""),
    ("p", "Bring these on the day:"),
    ("item", "photo ID and your list of medicines;"),
    ("item", "a wide-brimmed hat."),
    ("space", ""),
    ("row", ["*Laser", "*Main healing", "*Redness"]),
    ("row", ["Fractional CO2", "5–7 days", "2–4 weeks"]),
    ("row", ["Fully ablative CO2", "7–14 days", "2–3 months"]),
    ("space", ""),
    ("p", "Call us if the redness spreads."),
]


def test_pdf_headings_come_from_font_size_weight_and_numbering(tmp_path: Path) -> None:
    doc = read(write_styled_pdf(tmp_path / "leaflet.pdf", LEAFLET, title=None))
    assert doc.title == "Treatment Day Leaflet"  # the largest heading, not repeated in the text
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    assert [text for text, _ in headings] == [
        "Numbing cream and other pain control",  # bold at the body size
        "What you will feel",  # larger than the body
        "2.1 Soaks and cleansing",  # a section number
    ]
    levels = dict(headings)
    assert levels["What you will feel"] < levels["Numbing cream and other pain control"]
    after = {doc.blocks[i - 1].text: b.text for i, b in enumerate(doc.blocks) if i}
    assert after["Numbing cream and other pain control"].startswith("A numbing cream is applied")
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    # Bold lines that read as a statement or a sentence are not headings.
    assert "Urgent line (24 hours): 555-0199" in paragraphs
    assert "Do not pick the crusts." in paragraphs


def test_pdf_lists_keep_their_items_apart_and_their_lead_in(tmp_path: Path) -> None:
    doc = read(write_styled_pdf(tmp_path / "leaflet.pdf", LEAFLET))
    roles = [(b.role, b.text) for b in doc.blocks]
    start = roles.index(("text", "Bring these on the day:"))
    assert roles[start + 1 : start + 3] == [
        ("item", "photo ID and your list of medicines;"),
        ("item", "a wide-brimmed hat."),
    ]


def test_pdf_table_rows_become_labelled_sentences(tmp_path: Path) -> None:
    doc = read(write_styled_pdf(tmp_path / "leaflet.pdf", LEAFLET))
    rows = [b.text for b in doc.blocks if b.role == "row"]
    assert rows == [
        "Fractional CO2 — main healing: 5–7 days; redness: 2–4 weeks",
        "Fully ablative CO2 — main healing: 7–14 days; redness: 2–3 months",
    ]
    # Each row is a block of its own, never run into the text around it.
    assert "Call us if the redness spreads." in [b.text for b in doc.blocks]
    assert "Laser" not in doc.text.split("Fractional CO2")[0].split("hat.")[-1]


def _platypus_table_pdf(path: Path, rows: list[list[str]], widths: list[float]) -> Path:
    """A flowing document with a real reportlab Table: a bold header row, wrapped cells."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    body = ParagraphStyle("Body", fontName="Helvetica", fontSize=10, leading=14, spaceAfter=8)
    cell = ParagraphStyle("Cell", fontName="Helvetica", fontSize=9, leading=11)
    head = ParagraphStyle("Head", parent=cell, fontName="Helvetica-Bold")
    data = [[Paragraph(c, head) for c in rows[0]]] + [[Paragraph(c, cell) for c in row] for row in rows[1:]]
    table = Table(data, colWidths=widths)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "grey"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [
        Paragraph("Your preparation timeline at a glance:", body),
        table,
        Paragraph("Call us with any questions about the timeline.", body),
    ]
    SimpleDocTemplate(str(path), pagesize=A4, title="Timeline").build(story)
    return path


def test_pdf_table_with_wrapped_cells_reads_row_by_row(tmp_path: Path) -> None:
    rows = [
        ["When", "What to do"],
        [
            "4 weeks before",
            "Start strict sun avoidance and daily broad-spectrum SPF 30+. No tanning beds or "
            "self-tanner, and no sunbathing in the month before.",
        ],
        ["A few weeks before (some darker skin types only)", "Use a skin-lightening cream if prescribed."],
        ["Treatment day", "Arrive with clean skin."],
    ]
    doc = read(_platypus_table_pdf(tmp_path / "timeline.pdf", rows, [110, 300]))
    assert [(b.role, b.text) for b in doc.blocks] == [
        ("text", "Your preparation timeline at a glance:"),
        (
            "row",
            "4 weeks before — what to do: Start strict sun avoidance and daily broad-spectrum SPF 30+. "
            "No tanning beds or self-tanner, and no sunbathing in the month before.",
        ),
        (
            "row",
            "A few weeks before (some darker skin types only) — what to do: "
            "Use a skin-lightening cream if prescribed.",
        ),
        ("row", "Treatment day — what to do: Arrive with clean skin."),
        ("text", "Call us with any questions about the timeline."),
    ]


def test_pdf_text_in_two_columns_reads_column_by_column(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    left = [
        "Keep the treated skin moist with a plain",
        "ointment for the first five days after",
        "the treatment.",
    ]
    right = [
        "Stay out of direct sun for at least four",
        "weeks and use a broad spectrum sunscreen",
        "every day.",
    ]
    path = tmp_path / "columns.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", 10)
    for column, x in ((left, 50), (right, 310)):  # drawn column after column, as layouts are
        for k, line in enumerate(column):
            c.drawString(x, 700 - 14 * k, line)
    c.showPage()
    c.save()
    assert [b.text for b in read(path).blocks] == [" ".join(left), " ".join(right)]


def test_pdf_without_font_information_falls_back_to_text_heuristics(tmp_path: Path, monkeypatch) -> None:
    import dataclasses

    from kb.reading.readers import pdf

    real = pdf._read_page

    def fontless(page):
        text, runs = real(page)
        return text, [dataclasses.replace(run, font="") for run in runs]

    monkeypatch.setattr(pdf, "_read_page", fontless)
    doc = read(write_pdf(tmp_path / "guide.pdf", LOREM_PAGES, title="Aftercare Guide"))
    headings = {b.text: b.page for b in doc.blocks if b.kind == "heading"}
    assert headings == {"Aftercare After Fractional Laser": 1, "Sun Protection": 2, "Warning Signs": 3}
    assert "needs treatment with antibiotics" in doc.text


def test_shipped_pdf_sub_headings_are_sections() -> None:
    doc = read_document(SHIPPED_DOCUMENTS / "preparing-for-your-treatment.pdf", SHIPPED_DOCUMENTS)
    blocks = list(doc.blocks)
    i = next(i for i, b in enumerate(blocks) if b.text == "Numbing cream and other pain control")
    assert blocks[i].kind == "heading" and blocks[i].page == 4
    assert blocks[i + 1].text.startswith("A topical numbing cream")
    headings = [b.text for b in blocks if b.kind == "heading"]
    for sub in (
        "Arrival and check-in",
        "Eye protection",
        "How long it takes",
        "Aftercare supplies to have at home",
    ):
        assert sub in headings
    # The two-line title is one heading, and as the title it is not repeated in the text.
    assert doc.title == "Preparing for Your Treatment and the Treatment Day"
    assert "Treatment Day" not in headings


def test_shipped_aftercare_table_reads_as_labelled_rows() -> None:
    doc = read_document(SHIPPED_DOCUMENTS / "aftercare-day-by-day.pdf", SHIPPED_DOCUMENTS)
    rows = [b.text for b in doc.blocks if b.role == "row" and b.page == 1]
    assert rows == [
        "Non-ablative fractional 1,550 nm — main healing: 1–3 days of redness and swelling; flaking for "
        "a few days; redness or pinkness: A few days; makeup can usually resume: The next day",
        "Fractional ablative CO2 or erbium — main healing: About 5–7 days of downtime; redness or "
        "pinkness: 2–4 weeks; makeup can usually resume: Once healed, often around day 5–7",
        "Fully ablative Er:YAG — main healing: Healing in 5–10 days; redness or pinkness: Several weeks; "
        "makeup can usually resume: After re-epithelialization, about 7–10 days",
        "Fully ablative CO2 — main healing: Re-epithelialization in 7–14 days; redness or pinkness: "
        "Pinkness for 2–3 months, sometimes up to 6; makeup can usually resume: After "
        "re-epithelialization, about 7–10 days or later",
    ]


@pytest.mark.parametrize(
    ("source", "first_row"),
    [
        (
            "treatment-options.pdf",
            "Fully ablative CO2 — wavelength: 10,600 nm; typical sessions: Usually 1; visible healing "
            "(downtime): 7–14 days; redness: 2–3 months, sometimes up to 6",
        ),
        (
            "candidacy-and-contraindications.pdf",
            "I — typical description: Very fair skin, often freckles, red or blond hair, light eyes; "
            "reaction to sun: Always burns, never tans",
        ),
        (
            "preparing-for-your-treatment.pdf",
            "4 weeks before — what to do: Start strict sun avoidance and daily broad-spectrum SPF 30+. "
            "No tanning beds or self-tanner.",
        ),
    ],
)
def test_shipped_pdf_tables_read_as_labelled_rows(source: str, first_row: str) -> None:
    doc = read_document(SHIPPED_DOCUMENTS / source, SHIPPED_DOCUMENTS)
    rows = [b.text for b in doc.blocks if b.role == "row"]
    assert rows[0] == first_row and len(rows) >= 4


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
        (_truncated_pdf, r"is damaged \(cut short, or its cross-reference table is broken\)"),
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
        ("paragraph", "Patient — date: Today"),  # a row, labelled by the header row
        ("heading", "Alternatives"),
        ("paragraph", "Chemical peels and microneedling are alternatives."),
    ]


def test_docx_tables_are_labelled_by_their_header_row_and_lists_are_items(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Bring these on the day:")
    document.add_paragraph("Photo ID", style="List Bullet")
    document.add_paragraph("Your antiviral tablets", style="List Number")
    prices = document.add_table(rows=3, cols=3)
    for row, cells in zip(
        prices.rows,
        [["Treatment", "Area", "Price"], ["Fractional CO2", "Full face", "$1,500"], ["Er:YAG", "", "$3,200"]],
        strict=True,
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    form = document.add_table(rows=2, cols=2)  # a form: labels and blanks, no header row
    form.cell(0, 0).text, form.cell(1, 0).text = "Patient signature", "Date"
    path = tmp_path / "form.docx"
    document.save(path)

    assert [(b.role, b.text) for b in read(path).blocks] == [
        ("text", "Bring these on the day:"),
        ("item", "Photo ID"),
        ("item", "Your antiviral tablets"),
        ("row", "Fractional CO2 — area: Full face; price: $1,500"),
        ("row", "Er:YAG — price: $3,200"),
        ("row", "Patient signature"),
        ("row", "Date"),
    ]


def test_corrupt_docx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DocumentError, match="broken.docx: is not a Word .docx file"):
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
        "Fractional CO2 — price: $1,500",
        "Script text <script>alert(1)</script> is shown as text.",
        "Cards",
        "Cash",
    ]
    for gone in ("dataLayer", "Home", "cookies", "Share on", "Copyright", "color: red"):
        assert gone not in doc.text


def test_html_tables_read_as_labelled_rows_with_or_without_a_header(tmp_path: Path) -> None:
    path = tmp_path / "times.html"
    path.write_text(
        "<html><body><main><h1>Recovery</h1><p>Typical times:</p>"
        "<table><caption>Recovery by laser</caption>"
        "<thead><tr><th>Laser</th><th>Downtime</th><th>Redness</th></tr></thead>"
        "<tbody><tr><td>Fractional CO2</td><td>About 5–7 days</td><td>2–4 weeks</td></tr>"
        "<tr><td>Non-ablative</td><td></td><td>1–3 days</td></tr></tbody></table>"
        "<table><tr><td>Monday</td><td>8:00–18:00</td></tr></table>"
        "<ul><li>Rest</li><li><p>Ice packs</p></li></ul></main></body></html>",
        encoding="utf-8",
    )
    assert [(b.role, b.text) for b in read(path).blocks] == [
        ("text", "Typical times:"),
        ("text", "Recovery by laser"),
        ("row", "Fractional CO2 — downtime: About 5–7 days; redness: 2–4 weeks"),
        ("row", "Non-ablative — redness: 1–3 days"),
        ("row", "Monday — 8:00–18:00"),  # no th cells: no header
        ("item", "Rest"),
        ("item", "Ice packs"),
    ]


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
        ("paragraph", "1 — b: 2"),
    ]


def test_markdown_tables_are_labelled_rows_and_list_items_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "hours.md"
    path.write_text(
        "# Hours\n\n| Day | Hours | Notes |\n|---|---|---|\n| Monday to Friday | 8:00–18:00 | |\n"
        "| Saturday | 9:00–14:00 | Laser only |\n\nPlease bring:\n\n1. photo ID\n2. your medicines\n",
        encoding="utf-8",
    )
    assert [(b.role, b.text) for b in read(path).blocks] == [
        ("row", "Monday to Friday — hours: 8:00–18:00"),
        ("row", "Saturday — hours: 9:00–14:00; notes: Laser only"),
        ("text", "Please bring:"),
        ("item", "photo ID"),
        ("item", "your medicines"),
    ]


# --- the sample-document notice ----------------------------------------------------------


def test_the_sample_notice_is_set_aside_and_ordinary_mentions_stay(tmp_path: Path) -> None:
    path = tmp_path / "prices.md"
    path.write_text(
        "# Prices\n\n> **Sample document:** this page belongs to a fictional clinic, written for a "
        "demonstration.\n\nSample prices for a full face start at $450.\n\n## Samples\n\n"
        "We can post you a sample document of the consent form before your visit.\n\n"
        "Ask reception for a free sample of our sunscreen.\n\nPrices are reviewed every year.\n",
        encoding="utf-8",
    )
    doc = read(path)
    assert (
        doc.notice == "Sample document: this page belongs to a fictional clinic, written for a demonstration."
    )
    assert "fictional" not in doc.text
    for kept in ("Sample prices for a full face", "a sample document of the consent form", "free sample"):
        assert kept in doc.text


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("Opening Hours\n\nThis is a sample document for testing.\n\nWe open at 8.\n", True),
        ("Opening Hours\n\nWe open at 8.\n\nA fictional clinic made this leaflet.\n", True),
        ("Opening Hours\n\nWe open at 8 and sample products are free.\n", False),
    ],
    ids=["this-is-a-sample", "fictional-clinic-at-the-end", "ordinary-mention"],
)
def test_notice_patterns(tmp_path: Path, text: str, notice: bool) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(text, encoding="utf-8")
    doc = read(path)
    assert (doc.notice is not None) is notice
    assert "We open at 8" in doc.text


def test_every_shipped_document_carries_its_notice_outside_its_text() -> None:
    for path in find_documents(SHIPPED_DOCUMENTS):
        doc = read_document(path, SHIPPED_DOCUMENTS)
        if doc.source == "laser-skin-resurfacing-article.txt":  # a real web page: no notice
            assert doc.notice is None
            continue
        assert doc.notice and "sample" in doc.notice.lower() and "fictional" in doc.notice.lower()
        assert doc.notice not in doc.text, doc.source
        assert "sample document" not in doc.text.lower(), doc.source


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
    with pytest.raises(DocumentError, match="encoding could not be recognised .* save it as UTF-8"):
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
            assert doc.notice and "fictional" in doc.notice.lower(), doc.source  # each says so


def test_reading_does_not_depend_on_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    doc = read_document(SHIPPED_DOCUMENTS / "faq.md", SHIPPED_DOCUMENTS)
    assert doc.source == "faq.md"
