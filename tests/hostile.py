"""Hostile and odd files, each made with a real tool (reportlab, pypdf's writer, python-docx,
zipfile) or by byte surgery on a real file. Each maker writes one file and returns its path;
tests/test_hostile_documents.py ingests them all beside good documents."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

from conftest import LOREM_PAGES, write_pdf

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def canvas_pdf(path: Path, draw, pages: int = 1, title: str | None = None) -> Path:
    """A PDF drawn with reportlab: ``draw(canvas, page_number)`` for each page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    if title:
        c.setTitle(title)
    for n in range(1, pages + 1):
        draw(c, n)
        c.showPage()
    c.save()
    return path


def lines_pdf(path: Path, lines: list[str], font: str = "Helvetica", size: int = 11) -> Path:
    def draw(c, n):
        c.setFont(font, size)
        for k, line in enumerate(lines):
            c.drawString(60, 760 - 18 * k, line)

    return canvas_pdf(path, draw)


def encrypted_pdf(path: Path, user_password: str, algorithm: str, marker: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = lines_pdf(path.with_suffix(".plain"), [f"The {marker} consent form is signed at reception."])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    with open(path, "wb") as f:
        writer.write(f)
    plain.unlink()
    return path


def _good_pdf_bytes(tmp: Path, marker: str, page: int = 2) -> bytes:
    """The three-page aftercare PDF with "The {marker} page closes here." on one page."""
    pages = [
        [*lines, f"The {marker} page closes here."] if n == page else lines
        for n, lines in enumerate(LOREM_PAGES, 1)
    ]
    return write_pdf(tmp, pages).read_bytes()


def missing_startxref_pdf(path: Path, marker: str) -> Path:
    data = _good_pdf_bytes(path.with_suffix(".whole"), marker)
    path.write_bytes(data[: data.rindex(b"startxref")])  # the trailer's pointer cut off
    path.with_suffix(".whole").unlink()
    return path


def truncated_pdf(path: Path, marker: str) -> Path:
    """Cut inside the second page's content stream: the first page is whole."""
    data = _good_pdf_bytes(path.with_suffix(".whole"), marker, page=1)
    streams = [m.start() for m in re.finditer(rb"\d+ 0 obj\s*<<\s*/Filter", data)]
    path.write_bytes(data[: streams[1] + 120])
    path.with_suffix(".whole").unlink()
    return path


def broken_xref_pdf(path: Path, marker: str) -> Path:
    """Every offset in the cross-reference table wrong (same length, so the file stays parseable)."""
    data = bytearray(_good_pdf_bytes(path.with_suffix(".whole"), marker))
    table = re.search(rb"xref\s+0 (\d+)\s+", data)
    for k in range(1, int(table.group(1))):
        at = table.end() + 20 * k
        data[at : at + 10] = b"%010d" % (7 * k)
    path.write_bytes(bytes(data))
    path.with_suffix(".whole").unlink()
    return path


def huge_page_count_pdf(path: Path, marker: str) -> Path:
    """A one-page PDF whose page tree claims a billion pages."""
    data = lines_pdf(path.with_suffix(".one"), [f"The {marker} leaflet has one page."]).read_bytes()
    path.write_bytes(data.replace(b"/Count 1 ", b"/Count 1000000000 ", 1))
    path.with_suffix(".one").unlink()
    return path


def huge_page_count_encrypted_pdf(path: Path) -> Path:
    """An encrypted one-page PDF whose page tree claims 99,999 pages (pypdf takes an
    encrypted file's page count from /Count as it stands). The object keeps its length, so
    the cross-reference table stays right."""
    encrypted_pdf(path.with_suffix(".one"), "", "AES-128", "billionform")
    data = path.with_suffix(".one").read_bytes()
    tree = re.search(rb"<<\n/Count 1\n/Kids \[ (\d+ 0 R) \]\n/Type /Pages\n>>", data)
    same_length = b"<</Count 99999\n/Kids [%s]\n/Type/Pages\n>>" % tree.group(1)
    assert len(same_length) == len(tree.group())
    path.write_bytes(data[: tree.start()] + same_length + data[tree.end() :])
    path.with_suffix(".one").unlink()
    return path


def scanned_pdf(path: Path) -> Path:
    def draw(c, n):
        c.rect(50, 50, 400, 600, fill=1)  # a "photo" of a page: no text layer

    return canvas_pdf(path, draw, pages=2)


def mostly_images_pdf(path: Path, marker: str) -> Path:
    def draw(c, n):
        if n == 3:
            c.setFont("Helvetica", 11)
            c.drawString(60, 760, f"The {marker} photo album ends with this caption.")
        else:
            c.rect(50, 50, 400, 600, fill=1)

    return canvas_pdf(path, draw, pages=4)


def rotated_pdf(path: Path, marker: str) -> Path:
    """A landscape page (/Rotate 90) and text drawn at 90 degrees."""
    from pypdf import PdfReader, PdfWriter

    def draw(c, n):
        c.setFont("Helvetica", 11)
        c.drawString(60, 760, f"The {marker} poster is printed sideways.")
        c.saveState()
        c.translate(300, 300)
        c.rotate(90)
        c.drawString(0, 0, "Vertical caption about sideways posters.")
        c.restoreState()

    plain = canvas_pdf(path.with_suffix(".upright"), draw)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.pages[0].rotate(90)
    with open(path, "wb") as f:
        writer.write(f)
    plain.unlink()
    return path


def two_column_pdf(path: Path, marker: str) -> Path:
    left = [
        "Keep the treated skin moist with a plain",
        f"ointment such as {marker} balm for the first",
        "five days.",
    ]
    right = [
        "Stay out of direct sun for at least four",
        "weeks and use a broad spectrum sunscreen",
        "every day.",
    ]

    def draw(c, n):
        c.setFont("Helvetica", 10)
        for column, x in ((left, 50), (right, 310)):
            for k, line in enumerate(column):
                c.drawString(x, 700 - 14 * k, line)

    return canvas_pdf(path, draw)


HEBREW = "שלום עולם"
ARABIC = "مرحبا بالعالم"


def rtl_pdf(path: Path) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVuSans", str(DEJAVU)))
    # PDF writers store right-to-left text in visual order (as drawn, left to right); the
    # letters here take no joining forms, so reversing the string is that order.
    visual = [HEBREW[::-1], ARABIC[::-1], "Shalom and marhaba are greetings."]
    return lines_pdf(path, visual, font="DejaVuSans")


CJK = "激光治疗后请避免日晒"


def cjk_pdf(path: Path) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return lines_pdf(path, [CJK, "激光 治疗 需要 防晒"], font="STSong-Light")


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb_docx(path: Path, inflated: int = 150 * 2**20) -> Path:
    """A real .docx with one more part: ``inflated`` bytes of zeros (a few hundred KB packed)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx_bytes("A harmless looking form."))) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        with dst.open("word/media/padding.bin", "w", force_zip64=True) as f:
            block = bytes(2**20)
            for _ in range(inflated // 2**20):
                f.write(block)
    path.write_bytes(out.getvalue())
    return path


def deep_html(path: Path, marker: str, depth: int = 5000) -> Path:
    body = "<div>" * depth + f"<p>The {marker} room is at the very bottom.</p>" + "</div>" * depth
    path.write_text(f"<html><body><main><h1>Deep page</h1>{body}</main></body></html>", encoding="utf-8")
    return path


CODE_WORDS = ("scriptword", "styleword", "iframeword", "noscriptword", "templateword")


def scripted_html(path: Path, marker: str) -> Path:
    path.write_text(
        "<html><head><title>Scripts</title><script>var a = 'scriptword';</script>"
        "<style>.styleword { color: red }</style></head><body>"
        f"<main><h1>Waiting room</h1><p>The {marker} waiting room has free tea.</p>"
        "<script>document.write('scriptword')</script>"
        '<iframe srcdoc="<p>iframeword</p>">iframeword</iframe>'
        "<noscript>noscriptword</noscript><template><p>templateword</p></template>"
        "<p onclick=\"alert('x')\">Ask reception for the wifi code.</p></main></body></html>",
        encoding="utf-8",
    )
    return path


RUSSIAN = "Парковка для пациентов бесплатная, вход со двора."


POLISH = "Parking przy ulicy Łódzkiej jest bezpłatny dla pacjentów."


def latin2_html(path: Path) -> Path:
    """A Central European page: read as Windows-1252 (the fallback) it would be mojibake."""
    page = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2"></head><body><p>{POLISH}</p></body></html>'
    path.write_bytes(page.encode("iso-8859-2"))
    return path


def cp1251_html(path: Path) -> Path:
    page = (
        '<html><head><meta charset="windows-1251"><title>Парковка</title></head>'
        f"<body><main><h1>Парковка</h1><p>{RUSSIAN}</p></main></body></html>"
    )
    path.write_bytes(page.encode("cp1251"))
    return path


def symlinks(folder: Path, outside: Path) -> list[str]:
    """Links out of and inside the folder, and two loops; returns their names."""
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("The vaultword combination is 1234.\n", encoding="utf-8")
    links = {
        "passwd.txt": Path("/etc/passwd"),
        "outside-folder": outside,
        "outside-file.txt": outside / "secret.txt",
        "inside-link.md": folder / "faq.md",
        "loop": Path("."),
        "loop-a": folder / "loop-b",
        "loop-b": folder / "loop-a",
    }
    for name, target in links.items():
        os.symlink(target, folder / name)
    return sorted(links)
