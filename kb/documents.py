"""Find and read source files into Documents: the only module that imports pypdf,
python-docx, BeautifulSoup and markdown-it.

Each reader yields raw blocks (headings and paragraphs, with a page number where the format
has pages); ``_assemble`` cleans them, drops boilerplate and lays them end to end into one
text, so every block, and later every passage, is an exact slice of ``Document.text``.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Literal

from kb import cleaning
from kb.errors import DocumentError

logger = logging.getLogger(__name__)

BlockKind = Literal["heading", "paragraph"]

#: Bumped whenever a reader change would read the same file differently; an ingest re-reads
#: every document when the index was built by another version.
READER_VERSION = 2

#: File suffix -> document type. The ingester reads exactly these.
DOCUMENT_TYPES: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph; ``text == document.text[start:end]``."""

    kind: BlockKind
    text: str
    start: int
    end: int
    page: int | None = None
    level: int = 0


@dataclass(frozen=True)
class Document:
    """One source file, read and cleaned."""

    source: str  # path relative to the documents folder, with forward slashes
    title: str
    kind: str  # a value of DOCUMENT_TYPES
    pages: int | None  # page count for paged formats (PDF), else None
    text: str
    blocks: tuple[Block, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class _Raw:
    kind: BlockKind
    text: str
    page: int | None = None
    level: int = 0


def find_documents(documents_dir: Path) -> list[Path]:
    """Every readable-looking file under ``documents_dir``, sorted; hidden files skipped."""
    documents_dir = Path(documents_dir)
    if not documents_dir.is_dir():
        raise DocumentError(
            f"The documents folder {documents_dir} does not exist. "
            "Create it and put the clinic's PDF, Word, HTML, Markdown or text files in it."
        )
    found = []
    for path in sorted(documents_dir.rglob("*")):
        rel = path.relative_to(documents_dir)
        if any(part.startswith((".", "~$")) for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in DOCUMENT_TYPES:
            found.append(path)
    return found


def source_name(path: Path, documents_dir: Path) -> str:
    return Path(path).relative_to(documents_dir).as_posix()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_document(path: Path, documents_dir: Path, max_bytes: int | None = None) -> Document:
    """Read one file into a Document.

    Raises:
        DocumentError: the file is of an unsupported type, too large, empty, corrupt,
            encrypted, has no text layer, or is text in an unknown encoding. The message
            names the file and says what to do.
    """
    path = Path(path)
    source = source_name(path, documents_dir)
    kind = DOCUMENT_TYPES.get(path.suffix.lower())
    if kind is None:
        supported = ", ".join(sorted(DOCUMENT_TYPES))
        raise DocumentError(
            f"{source}: files of type {path.suffix or '(none)'} are not read; use one of {supported}."
        )
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(f"{source}: the file is empty (0 bytes). Replace it with the full document.")
    if max_bytes is not None and size > max_bytes:
        raise DocumentError(
            f"{source}: the file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit. "
            "Split it into smaller documents."
        )
    data = path.read_bytes()
    reader = _READERS[kind]
    try:
        title, pages, raw = reader(data, source)
    except DocumentError:
        raise
    except Exception as exc:  # a library choked on a malformed file
        raise DocumentError(
            f"{source}: could not be read as {kind.upper()} ({type(exc).__name__}: {exc}). "
            "The file may be damaged; open it, save a fresh copy and ingest again."
        ) from exc
    document = _assemble(source, title or _title_from_name(path), kind, pages, raw)
    if not document.text.strip():
        raise DocumentError(f"{source}: no text was found in the file. Check that it is not blank.")
    return document


# --- assembling -------------------------------------------------------------------------


def _assemble(source: str, title: str, kind: str, pages: int | None, raw: list[_Raw]) -> Document:
    title = cleaning.clean_inline(title)
    title_key = cleaning.normalize_key(title)
    parts: list[str] = []
    blocks: list[Block] = []
    offset = 0
    for item in raw:
        text = (
            item.text.strip()
            if item.kind == "paragraph" and "\n" in item.text
            else cleaning.clean_inline(item.text)
        )
        if not text or cleaning.is_boilerplate(text) or cleaning.normalize_key(text) == title_key:
            continue
        if parts:
            offset += 2  # the "\n\n" separator
        blocks.append(Block(item.kind, text, offset, offset + len(text), item.page, item.level))
        parts.append(text)
        offset += len(text)
    return Document(source, title, kind, pages, "\n\n".join(parts), tuple(blocks))


def _title_from_name(path: Path) -> str:
    stem = path.stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:]


# --- text decoding ----------------------------------------------------------------------


def decode_text(data: bytes, source: str) -> str:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise DocumentError(
            f"{source}: looks like a binary file, not text. Export it as a PDF or UTF-8 text."
        )
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentError(
        f"{source}: the text is neither UTF-8 nor Windows-1252. Save it as UTF-8 and ingest again."
    )


# --- PDF ---------------------------------------------------------------------------------


def _read_pdf(data: bytes, source: str) -> tuple[str | None, int, list[_Raw]]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("password required")
        page_lines = [(page.extract_text() or "").splitlines() for page in reader.pages]
    except FileNotDecryptedError as exc:
        raise DocumentError(
            f"{source}: the PDF is password-protected. Save an unprotected copy and ingest that."
        ) from exc
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(
            f"{source}: is not a readable PDF ({exc}). The file may be damaged or only partly "
            "downloaded; export it again from the original."
        ) from exc
    if not page_lines:
        raise DocumentError(f"{source}: the PDF has no pages.")
    if not any(line.strip() for lines in page_lines for line in lines):
        raise DocumentError(
            f"{source}: the PDF has no text layer (it looks scanned: pages are pictures). "
            "Run it through OCR, or export the original as a text PDF, and ingest again."
        )
    title = None
    try:
        title = (reader.metadata.title if reader.metadata else None) or None
    except Exception:  # broken metadata is not worth failing the document for
        logger.debug("unreadable PDF metadata in %s", source)
    running = cleaning.running_lines(page_lines)
    raw: list[_Raw] = []
    for number, lines in enumerate(page_lines, start=1):
        lines = _drop_page_furniture(lines, running)
        raw.extend(_blocks_from_pdf_lines(lines, number))
    if title is None:
        title = next((b.text for b in raw if b.kind == "heading"), None)
    return title, len(page_lines), raw


def _drop_page_furniture(lines: list[str], running: set[str], edge: int = 3) -> list[str]:
    """Drop running headers/footers and bare page numbers at the top and bottom of a page."""
    lines = [line for line in lines if line.strip()]

    def furniture(line: str) -> bool:
        return cleaning.is_running_line(line, running) or cleaning.is_page_number(line)

    head = 0
    while head < min(edge, len(lines)) and furniture(lines[head]):
        head += 1
    tail = len(lines)
    while tail > head and len(lines) - tail < edge and furniture(lines[tail - 1]):
        tail -= 1
    return lines[head:tail]


def _blocks_from_pdf_lines(lines: list[str], page: int) -> list[_Raw]:
    """Group a page's lines into headings and paragraphs.

    PDF text layers have no paragraph marks: a paragraph ends at a line that ends a
    sentence and stops short of the page's usual line length, before a bullet (or a bullet
    glyph that extracts as a line of its own), or before a heading-like line that follows
    a finished sentence.
    """
    lengths = [len(line) for line in lines if len(line) > 30]
    full = median(lengths) if lengths else 80
    out: list[_Raw] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            out.append(_Raw("paragraph", cleaning.join_lines(current), page))
            current.clear()

    for line in lines:
        text = cleaning.clean_inline(line)
        if not text:
            flush()  # a lone bullet glyph
            continue
        if cleaning.is_boilerplate(text):
            continue
        after_sentence = not current or cleaning.ends_sentence(current[-1])
        if after_sentence and cleaning.looks_like_heading(text) and len(text) < 0.8 * full:
            flush()
            out.append(_Raw("heading", text, page, 2))
            continue
        if cleaning.is_bullet(text):
            flush()
        current.append(text)
        if cleaning.ends_sentence(text) and len(text) < 0.85 * full:
            flush()
    flush()
    return _demote_heading_runs(out)


def _demote_heading_runs(blocks: list[_Raw]) -> list[_Raw]:
    """Three or more heading-like lines in a row are table cells, not headings: keep the
    first as a heading and fold the rest into the paragraph that follows."""
    out: list[_Raw] = []
    run: list[_Raw] = []
    for block in [*blocks, None]:
        if block is not None and block.kind == "heading":
            run.append(block)
            continue
        if len(run) >= 3:
            cells = " ".join(b.text for b in run[1:])
            text = f"{cells} {block.text}" if block is not None else cells
            out += [run[0], _Raw("paragraph", text, run[1].page)]
        else:
            out += run + ([block] if block is not None else [])
        run = []
    return out


# --- DOCX --------------------------------------------------------------------------------


def _read_docx(data: bytes, source: str) -> tuple[str | None, None, list[_Raw]]:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(
            f"{source}: is not a readable Word (.docx) file. If it is an old .doc, "
            "save it as .docx; otherwise save a fresh copy and ingest again."
        ) from exc
    raw: list[_Raw] = []
    title = document.core_properties.title or None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            raw.extend(_Raw("paragraph", row) for row in _table_rows(item))
            continue
        style = (item.style.name if item.style is not None else "") or ""
        text = item.text
        if style == "Title":
            title = title or cleaning.clean_inline(text)
            continue
        if style.startswith("Heading"):
            level = int(style.split()[-1]) if style.split()[-1].isdigit() else 1
            raw.append(_Raw("heading", text, None, level))
        else:
            raw.append(_Raw("paragraph", text))
    if title is None:
        title = next((b.text for b in raw if b.kind == "heading" and b.level == 1), None)
    return title, None, raw


def _table_rows(table) -> Iterator[str]:
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = cleaning.clean_inline(cell.text)
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            yield " | ".join(cells)


# --- HTML --------------------------------------------------------------------------------

_HTML_NOISE = [
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "aside",
    "footer",
    "form",
    "button",
    "iframe",
    "svg",
    "canvas",
    "select",
    "input",
    "dialog",
    "object",
    "embed",
]
_HTML_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "address",
    "details",
    "summary",
    "body",
    "html",
    "hr",
    "caption",
    "center",
}
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
#: class or id words of page furniture ("consent" is not one: a clinic's consent text is content).
_HTML_NOISE_ATTR = (
    r"(^|[-_ ])(share|sharing|social|cookies?|banner|breadcrumbs?|newsletter|comments?|sidebar"
    r"|popup|modal|advert|ads|promo|related|menu|navbar|skip)([-_ ]|$)"
)


def _read_html(data: bytes, source: str) -> tuple[str | None, None, list[_Raw]]:
    import re

    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data, source), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    root = soup.find("main") or soup.find("article") or soup.body or soup
    noise_attr = re.compile(_HTML_NOISE_ATTR, re.I)
    doomed = root.find_all(_HTML_NOISE + ([] if root.name in ("main", "article") else ["header"]))
    for tag in root.find_all(True):
        classes = " ".join(tag.get("class") or [])
        if (
            noise_attr.search(classes)
            or noise_attr.search(tag.get("id") or "")
            or tag.get("role") in ("navigation", "banner", "contentinfo")
        ):
            doomed.append(tag)
        if tag.get("hidden") is not None or tag.get("aria-hidden") == "true":
            doomed.append(tag)
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()
    raw = list(_walk_html(root))
    h1 = next((b.text for b in raw if b.kind == "heading" and b.level == 1), None)
    return (h1 or title), None, raw


def _walk_html(node) -> Iterator[_Raw]:
    from bs4 import Comment, NavigableString, Tag

    inline: list[str] = []

    def flush() -> Iterator[_Raw]:
        text = cleaning.clean_inline("".join(inline))
        inline.clear()
        if text:
            yield _Raw("paragraph", text)

    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            inline.append(str(child))
        elif not isinstance(child, Tag):
            continue
        elif child.name in _HTML_HEADINGS:
            yield from flush()
            yield _Raw("heading", child.get_text(" ", strip=True), None, _HTML_HEADINGS[child.name])
        elif child.name == "table":
            yield from flush()
            for row in child.find_all("tr"):
                cells = [
                    cleaning.clean_inline(c.get_text(" ", strip=True)) for c in row.find_all(["th", "td"])
                ]
                if any(cells):
                    yield _Raw("paragraph", " | ".join(c for c in cells if c))
        elif child.name == "br":
            inline.append(" ")
        elif child.name in _HTML_BLOCKS or child.find(list(_HTML_BLOCKS) + ["table"] + list(_HTML_HEADINGS)):
            yield from flush()
            yield from _walk_html(child)
        else:
            inline.append(child.get_text())
    yield from flush()


# --- Markdown ----------------------------------------------------------------------------


def _read_markdown(data: bytes, source: str) -> tuple[str | None, None, list[_Raw]]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(decode_text(data, source))
    raw: list[_Raw] = []
    heading_level = 0
    row: list[str] | None = None
    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "heading_close":
            heading_level = 0
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            if any(row):
                raw.append(_Raw("paragraph", " | ".join(c for c in row if c)))
            row = None
        elif token.type == "inline":
            text = _markdown_inline_text(token)
            if row is not None:
                row.append(cleaning.clean_inline(text))
            elif heading_level:
                raw.append(_Raw("heading", text, None, heading_level))
            else:
                raw.append(_Raw("paragraph", text))
        elif token.type in ("fence", "code_block"):
            raw.append(_Raw("paragraph", token.content))
    title = next((b.text for b in raw if b.kind == "heading" and b.level == 1), None)
    return title, None, raw


def _markdown_inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


# --- plain text --------------------------------------------------------------------------


def _read_text(data: bytes, source: str) -> tuple[str | None, None, list[_Raw]]:
    lines = decode_text(data, source).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    raw: list[_Raw] = []
    paragraph: list[str] = []

    def flush() -> None:
        if not paragraph:
            return
        if len(paragraph) == 1 and cleaning.looks_like_heading(paragraph[0]):
            raw.append(_Raw("heading", paragraph[0], None, 2))
        else:
            raw.append(_Raw("paragraph", cleaning.join_lines(paragraph)))
        paragraph.clear()

    for i, line in enumerate(lines):
        stripped = line.strip()
        underline = i + 1 < len(lines) and _is_underline(lines[i + 1]) and stripped
        if not stripped or _is_underline(line) or cleaning.is_boilerplate(stripped):
            flush()
        elif underline or (stripped.isupper() and cleaning.looks_like_heading(stripped)):
            flush()
            raw.append(_Raw("heading", stripped, None, 1 if underline and "=" in lines[i + 1] else 2))
        else:
            if cleaning.is_bullet(stripped):
                flush()
            paragraph.append(stripped)
    flush()
    return _text_title(lines), None, raw


def _text_title(lines: list[str]) -> str | None:
    """The first line, or the first lines run together when a file opens with several
    heading lines (say the clinic's name, then the document's)."""
    head: list[str] = []
    for line in lines:
        stripped = cleaning.clean_inline(line)
        if not stripped:
            if head:
                break
            continue
        if head and not cleaning.looks_like_heading(stripped):
            break
        head.append(stripped)
        if not cleaning.looks_like_heading(stripped):
            break
    if not head:
        return None
    return " — ".join(_unshout(part) for part in head[:3])


def _unshout(text: str) -> str:
    """'BOOKING AND CANCELLATION POLICY' -> 'Booking and Cancellation Policy'."""
    if not text.isupper():
        return text
    small = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
    words = text.lower().split()
    return " ".join(w if i and w in small else w[:1].upper() + w[1:] for i, w in enumerate(words))


def _is_underline(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= 3 and set(stripped) <= {"=", "-", "_", "~", "*"}


_READERS: dict[str, Callable[[bytes, str], tuple[str | None, int | None, list[_Raw]]]] = {
    "pdf": _read_pdf,
    "docx": _read_docx,
    "html": _read_html,
    "markdown": _read_markdown,
    "text": _read_text,
}
