"""Find and read source files into Documents: the only module that imports pypdf,
python-docx, BeautifulSoup and markdown-it.

Each reader yields raw blocks (headings and paragraphs, with a page number where the format
has pages, and a role: running text, a list item or a table row); ``_assemble`` cleans them,
drops boilerplate, sets the sample-document notice aside and lays the rest end to end into
one text, so every block, and later every passage, is an exact slice of ``Document.text``.

Table rows become one labelled sentence each ("Fractional CO2 — main healing: 5–7 days;
redness: 2–4 weeks"), in every format. PDFs are read from the text runs pypdf reports with
their position, font and size: runs on one baseline make a line, lines make headings (by
size and weight), list items, paragraphs (by spacing) and tables (by aligned columns).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Literal

from kb import cleaning
from kb.errors import DocumentError

logger = logging.getLogger(__name__)

BlockKind = Literal["heading", "paragraph"]
#: What a paragraph is: running text, an item of a bulleted or numbered list, or a table row.
BlockRole = Literal["text", "item", "row"]

#: Bumped whenever a reader change would read the same file differently; an ingest re-reads
#: every document when the index was built by another version.
READER_VERSION = 3

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
    role: BlockRole = "text"


@dataclass(frozen=True)
class Document:
    """One source file, read and cleaned."""

    source: str  # path relative to the documents folder, with forward slashes
    title: str
    kind: str  # a value of DOCUMENT_TYPES
    pages: int | None  # page count for paged formats (PDF), else None
    text: str
    blocks: tuple[Block, ...]
    #: The document's "Sample document: ..." disclaimer, kept out of ``text`` and ``blocks``.
    notice: str | None = None

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class _Raw:
    kind: BlockKind
    text: str
    page: int | None = None
    level: int = 0
    role: BlockRole = "text"


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
    kept: list[_Raw] = []
    for item in raw:
        text = (
            item.text.strip()
            if item.kind == "paragraph" and "\n" in item.text
            else cleaning.clean_inline(item.text)
        )
        if not text or cleaning.is_boilerplate(text) or cleaning.normalize_key(text) == title_key:
            continue
        role = "item" if item.role == "text" and cleaning.is_bullet(text) else item.role
        kept.append(_Raw(item.kind, text, item.page, item.level, role))
    kept, notice = _set_notice_aside(kept)
    parts: list[str] = []
    blocks: list[Block] = []
    offset = 0
    for item in kept:
        if parts:
            offset += 2  # the "\n\n" separator
        blocks.append(
            Block(item.kind, item.text, offset, offset + len(item.text), item.page, item.level, item.role)
        )
        parts.append(item.text)
        offset += len(item.text)
    return Document(source, title, kind, pages, "\n\n".join(parts), tuple(blocks), notice)


def _set_notice_aside(raw: list[_Raw], head: int = 4, tail: int = 2) -> tuple[list[_Raw], str | None]:
    """Drop "Sample document: ..." notices from the first ``head`` and last ``tail``
    paragraphs; return the rest and the first notice. A disclaimer is not content: indexed,
    it would answer every question about the clinic. Elsewhere in a document a paragraph
    that mentions a sample stays."""
    paragraphs = [i for i, item in enumerate(raw) if item.kind == "paragraph"]
    edges = set(paragraphs[:head] + paragraphs[-tail:])
    notices = [i for i in sorted(edges) if raw[i].role == "text" and cleaning.is_sample_notice(raw[i].text)]
    if not notices:
        return raw, None
    dropped = set(notices)
    return [item for i, item in enumerate(raw) if i not in dropped], raw[notices[0]].text


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
        pages = [_read_pdf_page(page) for page in reader.pages]
    except FileNotDecryptedError as exc:
        raise DocumentError(
            f"{source}: the PDF is password-protected. Save an unprotected copy and ingest that."
        ) from exc
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(
            f"{source}: is not a readable PDF ({exc}). The file may be damaged or only partly "
            "downloaded; export it again from the original."
        ) from exc
    if not pages:
        raise DocumentError(f"{source}: the PDF has no pages.")
    if not any(text.strip() for text, _ in pages):
        raise DocumentError(
            f"{source}: the PDF has no text layer (it looks scanned: pages are pictures). "
            "Run it through OCR, or export the original as a text PDF, and ingest again."
        )
    title = None
    try:
        title = (reader.metadata.title if reader.metadata else None) or None
    except Exception:  # broken metadata is not worth failing the document for
        logger.debug("unreadable PDF metadata in %s", source)
    placeholder = bool(title) and cleaning.normalize_key(title) in _PLACEHOLDER_TITLES
    if placeholder:
        title = None  # what PDF writers put when nobody set a title: the file name will do
    if any(run.font for _, runs in pages for run in runs):
        raw = _pdf_layout_blocks([runs for _, runs in pages])
    else:  # no font information: fall back to the text alone
        raw = _pdf_text_blocks([text.splitlines() for text, _ in pages])
    if title is None:
        top = [b for b in raw if b.kind == "heading" and b.level == 1]
        if len(top) == 1 and top[0].page == 1:  # one heading set larger than all others
            title = top[0].text
        elif not placeholder:
            title = next((b.text for b in raw if b.kind == "heading"), None)
    return title, len(pages), raw


_PLACEHOLDER_TITLES = {"untitled", "anonymous", "notitle", "title", "document"}


@dataclass(frozen=True)
class _Run:
    """A piece of text pypdf reports in one font at one position (PDF points, y upwards)."""

    text: str
    x: float
    y: float
    size: float  # effective font size: the Tf size scaled by the text and graphics matrices
    font: str  # BaseFont without the subset prefix, e.g. "Helvetica-Bold"; "" when unknown
    order: int  # position in the content stream
    width: float  # estimated advance width

    @property
    def bold(self) -> bool:
        return any(word in self.font.lower() for word in ("bold", "black", "heavy", "semibold", "demi"))


def _read_pdf_page(page) -> tuple[str, list[_Run]]:
    """One pass over a page: pypdf's plain text (for the fallback) and its positioned runs."""
    runs: list[_Run] = []
    widths: dict[int, dict[str, float] | None] = {}

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], font, size: float) -> None:
        if not text or not text.strip():
            return
        m = _matrix_product(tm, cm)
        em = abs(size) * (math.hypot(m[2], m[3]) or 1.0)
        glyphs = _glyph_widths(font, widths)
        name = str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1] if font else ""
        for k, part in enumerate(text.split("\n")):
            if part.strip():
                width = _em_width(part, glyphs) * abs(size) * (math.hypot(m[0], m[1]) or 1.0)
                runs.append(_Run(part, m[4], m[5] - 1.2 * em * k, em, name, len(runs), width))

    text = page.extract_text(visitor_text=visit) or ""
    return text, runs


def _matrix_product(m: Sequence[float], n: Sequence[float]) -> list[float]:
    """m × n for PDF's 6-number affine matrices (text matrix × current transformation)."""
    return [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]


def _glyph_widths(font, cache: dict[int, dict[str, float] | None]) -> dict[str, float] | None:
    """Glyph widths (thousandths of an em) of a font resource, or None if pypdf cannot say."""
    if font is None:
        return None
    key = id(font)
    if key not in cache:
        try:
            # pypdf's own font model knows /Widths and the standard 14 fonts' metrics. It is
            # not public API, so any failure falls back to an average glyph width.
            from pypdf.generic._font import Font

            cache[key] = Font.from_font_resource(font).character_widths
        except Exception:
            cache[key] = None
    return cache[key]


def _em_width(text: str, glyphs: dict[str, float] | None) -> float:
    if not glyphs:
        return 0.5 * len(text)
    default = glyphs.get("default", 500)
    return sum(glyphs.get(ch, default) for ch in text) / 1000


@dataclass
class _Cell:
    """Runs on one line that read as one piece of text; apart from its neighbours by a gap."""

    x: float
    end: float
    runs: list[_Run]

    @property
    def text(self) -> str:
        parts: list[str] = []
        for prev, run in zip([None, *self.runs], self.runs, strict=False):
            if (
                prev is not None
                and abs(run.x - prev.x) >= 0.5
                and parts[-1][-1:] != " "
                and run.text[:1] != " "
            ):
                parts.append(" ")
            parts.append(run.text)
        return cleaning.clean_inline("".join(parts))

    @property
    def bold(self) -> bool:
        return _mostly(self.runs, lambda run: run.bold)


@dataclass
class _Line:
    """Runs on one baseline, split into cells at wide gaps."""

    y: float
    cells: list[_Cell]
    bullet: bool = False  # the line opens a list item
    text: str = field(init=False)
    size: float = field(init=False)  # the size most of its characters have
    bold: bool = field(init=False)

    def __post_init__(self) -> None:
        runs = [run for cell in self.cells for run in cell.runs]
        self.text = " ".join(t for t in (cell.text for cell in self.cells) if t)
        sizes: Counter[float] = Counter()
        for run in runs:
            sizes[_size_key(run.size)] += len(run.text.strip())
        self.size = sizes.most_common(1)[0][0] if sizes else 0.0
        self.bold = _mostly(runs, lambda run: run.bold)
        self.bullet = self.bullet or cleaning.is_bullet(self.text)

    @property
    def x(self) -> float:
        return self.cells[0].x


def _size_key(size: float) -> float:
    """Font sizes to the nearest half point: 10.49 and 10.5 are one size."""
    return round(size * 2) / 2


def _mostly(runs: Sequence[_Run], test: Callable[[_Run], bool]) -> bool:
    """True when at least 90% of the runs' visible characters pass ``test``."""
    total = sum(len(run.text.strip()) for run in runs)
    return total > 0 and sum(len(run.text.strip()) for run in runs if test(run)) >= 0.9 * total


def _pdf_lines(runs: list[_Run]) -> list[_Line]:
    """Group a page's runs into lines, top to bottom, by baseline.

    Runs within a fraction of the font size of each other share a line (a bullet glyph sits
    a little higher than its text). Along a line, a run that starts where pypdf last placed
    the pen (it does not advance x within one text object) or within a small gap of the
    previous run's end continues a cell; a wider gap starts a new cell (a table column).
    """
    lines: list[_Line] = []
    group: list[_Run] = []
    for run in sorted(runs, key=lambda r: -r.y):
        if group and group[0].y - run.y > 0.45 * min(run.size, group[0].size):
            lines.append(_make_line(group))
            group = []
        group.append(run)
    if group:
        lines.append(_make_line(group))
    return [line for line in lines if line.text]


def _make_line(runs: list[_Run]) -> _Line:
    cells: list[_Cell] = []
    for run in sorted(runs, key=lambda r: (round(r.x, 1), r.order)):
        if cells:
            cell = cells[-1]
            if abs(run.x - cell.runs[-1].x) < 0.5:
                cell.end += run.width
                cell.runs.append(run)
                continue
            if run.x <= cell.end + 0.8 * run.size:
                cell.end = max(cell.end, run.x + run.width)
                cell.runs.append(run)
                continue
        cells.append(_Cell(run.x, run.x + run.width, [run]))
    # A bullet glyph or list number drawn apart from its item opens a list item.
    bullet = len(cells) >= 2 and cleaning.is_bullet_mark(cells[0].text)
    if bullet:
        mark, cells = cells[0], cells[1:]
        if mark.text[:1].isalnum():  # keep "1." and "a)": the order can matter
            cells[0] = _Cell(mark.x, cells[0].end, mark.runs + cells[0].runs)
    line = _Line(runs[0].y, cells, bullet)
    line.y = max((r.y for r in runs if _size_key(r.size) == line.size), default=runs[0].y)
    return line


@dataclass
class _PdfStyle:
    """What the document's body text looks like, to tell headings and paragraph breaks."""

    body: float  # font size of most of the text
    leading: float  # usual baseline distance of body lines, as a multiple of the size
    levels: dict[tuple[float, bool], int]  # heading style (size, bold) -> level
    header: list[str] | None = None  # the last table header, for a table that runs on a page

    def heading_style(self, line: _Line) -> tuple[float, bool] | None:
        """The line's style if its font alone makes it a heading: larger, or bold."""
        if line.size >= 1.15 * self.body or (line.bold and line.size >= 0.95 * self.body):
            return (line.size, line.bold)
        return None


def _pdf_layout_blocks(pages: list[list[_Run]]) -> list[_Raw]:
    page_lines = [_pdf_lines(runs) for runs in pages]
    running = cleaning.running_lines([[line.text for line in lines] for lines in page_lines])
    page_lines = [_drop_page_furniture(lines, running, lambda line: line.text) for lines in page_lines]
    style = _pdf_style([line for lines in page_lines for line in lines])
    raw: list[_Raw] = []
    for number, lines in enumerate(page_lines, start=1):
        blocks = _pdf_page_blocks(lines, number, style)
        if raw and blocks and _runs_on(raw[-1], blocks[0]):
            # A paragraph broken by the page end: one block, on the page where it starts.
            text = cleaning.join_lines([raw[-1].text, blocks[0].text])
            raw[-1] = _Raw("paragraph", text, raw[-1].page, 0, raw[-1].role)
            blocks = blocks[1:]
        raw.extend(blocks)
    return raw


def _runs_on(before: _Raw, after: _Raw) -> bool:
    """True when ``after``, the first block of a page, continues ``before``'s sentence."""
    return (
        before.kind == after.kind == "paragraph"
        and before.role != "row"
        and after.role == "text"
        and not cleaning.ends_sentence(before.text)
        and after.text[:1].islower()
    )


def _pdf_style(lines: list[_Line]) -> _PdfStyle:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    gaps: Counter[float] = Counter()
    for prev, line in zip(lines, lines[1:], strict=False):
        gap = prev.y - line.y
        if prev.size == line.size == body and 0.8 * body < gap < 2.5 * body:
            gaps[round(gap, 1)] += 1
    # The body's line pitch is the smallest repeated gap (paragraph spacing only adds to it).
    repeated = [gap for gap, n in gaps.items() if n >= 2] or list(gaps)
    leading = min(repeated) / body if repeated else 1.2
    style = _PdfStyle(body, leading, {})
    found = {
        key
        for line in lines
        if (key := style.heading_style(line)) and (not line.bullet or line.text[:1].isdigit())
    }
    # Larger first; at one size a bold heading outranks a plain one.
    for level, key in enumerate(sorted(found, key=lambda k: (-k[0], not k[1])), start=1):
        style.levels[key] = min(level, 6)
    return style


def _pdf_page_blocks(lines: list[_Line], page: int, style: _PdfStyle) -> list[_Raw]:
    """Headings, list items, paragraphs and table rows of one page, in reading order."""
    lengths = [len(line.text) for line in lines if len(line.text) > 30]
    full = median(lengths) if lengths else 80
    out: list[_Raw] = []
    current: list[_Line] = []

    def flush() -> None:
        if current:
            role = "item" if current[0].bullet else "text"
            out.append(_Raw("paragraph", cleaning.join_lines(line.text for line in current), page, 0, role))
            current.clear()

    i = 0
    while i < len(lines):
        end, rows = _pdf_table(lines, i, style, page)
        if rows is not None:
            flush()
            out.extend(rows)
            i = end
            continue
        if end > i:  # text set in columns: read each column down, then the next
            lines[i:end] = _columns_as_lines(lines[i:end])
        end, level = _pdf_heading(lines, i, style)
        if level:
            flush()
            out.append(_Raw("heading", " ".join(line.text for line in lines[i:end]), page, level))
            i = end
            continue
        line = lines[i]
        if current and _starts_paragraph(current, line, style):
            flush()
        if cleaning.is_boilerplate(line.text):
            i += 1
            continue
        current.append(line)
        if cleaning.ends_sentence(line.text) and len(line.text) < 0.85 * full:
            flush()
        i += 1
    flush()
    return out


def _starts_paragraph(current: list[_Line], line: _Line, style: _PdfStyle) -> bool:
    prev = current[-1]
    if line.bullet or abs(line.size - prev.size) > 0.1 * style.body:
        return True
    if prev.y - line.y > 1.25 * style.leading * max(line.size, prev.size):
        return True  # paragraph spacing
    # A list item's wrapped lines are indented under its text; a line back at the margin
    # is the paragraph after the list.
    return current[0].bullet and line.x < current[0].x - 2


def _pdf_heading(lines: list[_Line], i: int, style: _PdfStyle) -> tuple[int, int]:
    """(end, level) of a heading starting at ``lines[i]``, or (i, 0).

    A heading is set larger than the body or in bold (consecutive lines of the same style
    and tight spacing are one heading), or carries a multi-level section number ("2.1 Aftercare"),
    and reads as one: short, no sentence end, not "label: number".
    """
    first = lines[i]
    key = style.heading_style(first)
    if first.bullet and not (key and first.text[:1].isdigit()):  # "1. Introduction" in bold is one
        return i, 0
    end = i + 1
    if key is not None:
        while end < len(lines):
            line, prev = lines[end], lines[end - 1]
            if line.bullet or style.heading_style(line) != key or prev.y - line.y > 1.6 * line.size:
                break
            end += 1
        text = " ".join(line.text for line in lines[i:end])
        if _reads_as_heading(text, larger=first.size >= 1.15 * style.body):
            return end, style.levels.get(key, 1)
        return i, 0
    depth = cleaning.section_number_depth(first.text)
    if depth and _reads_as_heading(first.text, larger=False) and len(first.text.split()) <= 10:
        return i + 1, min(depth + 1, 6)
    return i, 0


def _reads_as_heading(text: str, larger: bool) -> bool:
    words = text.split()
    if not words or len(words) > 16 or len(text) > 120:
        return False
    if text.endswith((".", ",", ";", "!")) or (text.endswith(":") and not larger):
        return False
    if cleaning.is_label_value(text):
        return False
    return text[0].isupper() or text[0].isdigit() or text[0] in "\"“‘'(["


def _pdf_table(lines: list[_Line], i: int, style: _PdfStyle, page: int) -> tuple[int, list[_Raw] | None]:
    """Table rows starting at ``lines[i]``.

    Returns (end, rows) for a table; (end, None) for lines that line up in columns but were
    written column by column (a two-column page layout, not a table); (i, None) otherwise.

    A table is two or more lines with several cells whose left edges line up, plus the
    wrapped lines of its cells (a single cell under a column, no wider than the column).
    """
    if len(lines[i].cells) < 2:
        return i, None
    columns = sorted(cell.x for cell in lines[i].cells)
    multi, end, pitch = 1, i + 1, math.inf
    while end < len(lines):
        line, prev = lines[end], lines[end - 1]
        gap = prev.y - line.y
        if line.bullet or gap > 3 * max(line.size, prev.size):
            break
        placed = [_column_of(cell, columns) for cell in line.cells]
        if len(line.cells) >= 2:
            if sum(p is not None for p in placed) < 2:
                break
            columns = sorted(columns + [c.x for c, p in zip(line.cells, placed, strict=True) if p is None])
            multi += 1
        else:
            column = placed[0]
            if column is None or not _fits_column(line.cells[0], column, columns):
                break
            if column == 0 and gap > 1.3 * min(pitch, style.leading * line.size):
                break  # back at the left edge after a row's spacing: text after the table
        pitch = min(pitch, gap)
        end += 1
    if multi < 2:
        return i, None
    rows = _pdf_rows(lines[i:end], columns)
    if not _row_major(rows):
        return end, None
    return end, _table_row_blocks(rows, columns, style, page, at_top=i == 0)


def _column_of(cell: _Cell, columns: list[float], tolerance: float = 3.0) -> int | None:
    for index, x in enumerate(columns):
        if abs(cell.x - x) <= tolerance:
            return index
    return None


def _fits_column(cell: _Cell, column: int, columns: list[float]) -> bool:
    return column + 1 >= len(columns) or cell.end <= columns[column + 1] + 1


def _pdf_rows(lines: list[_Line], columns: list[float]) -> list[list[_Line]]:
    """Split a table's lines into rows: at the larger gaps between rows when rows are
    spaced apart (padded cells), else at each line with text in the first column."""
    gaps = [prev.y - line.y for prev, line in zip(lines, lines[1:], strict=False)]
    pitch = min(gaps)
    spaced = max(gaps) > 1.3 * pitch
    rows: list[list[_Line]] = [[lines[0]]]
    for gap, line in zip(gaps, lines[1:], strict=True):
        if spaced:
            new_row = gap > 1.3 * pitch
        else:  # a lone lower-case first cell is the wrapped end of the one above
            new_row = _column_of(line.cells[0], columns) == 0 and not (
                len(line.cells) == 1 and line.text[:1].islower()
            )
        if new_row:
            rows.append([line])
        else:
            rows[-1].append(line)
    return rows


def _row_major(rows: list[list[_Line]]) -> bool:
    """Tables are drawn row by row; text laid out in columns is drawn column by column."""
    spans = [[run.order for line in row for cell in line.cells for run in cell.runs] for row in rows]
    return all(max(a) < min(b) for a, b in zip(spans, spans[1:], strict=False))


def _table_row_blocks(
    rows: list[list[_Line]], columns: list[float], style: _PdfStyle, page: int, at_top: bool
) -> list[_Raw]:
    cells = [_row_cells(row, columns) for row in rows]
    looks = [_row_look(row) for row in rows]
    header: list[str] | None = None
    # The header row is set apart: in bold, or in another font or size than every other row.
    bold = [all(c.bold for line in row for c in line.cells) for row in rows]
    if len(rows) >= 2 and ((bold[0] and not all(bold[1:])) or looks[0] not in looks[1:]):
        header, cells = cells[0], cells[1:]
    elif at_top and style.header is not None and len(style.header) == len(columns):
        header = style.header  # the table runs on from the previous page
    style.header = header
    texts = [cleaning.table_row_text(header, row) for row in cells]
    return [_Raw("paragraph", text, page, 0, "row") for text in texts if text]


def _row_look(row: list[_Line]) -> tuple[str, float]:
    """The font and size most of a row's characters are set in."""
    looks: Counter[tuple[str, float]] = Counter()
    for line in row:
        for cell in line.cells:
            for run in cell.runs:
                looks[(run.font, _size_key(run.size))] += len(run.text.strip())
    return looks.most_common(1)[0][0]


def _row_cells(row: list[_Line], columns: list[float]) -> list[str]:
    texts: list[list[str]] = [[] for _ in columns]
    for line in row:
        for cell in line.cells:
            index = _column_of(cell, columns)
            if index is None:  # between columns: the nearest one to its left
                index = max((k for k, x in enumerate(columns) if x <= cell.x), default=0)
            texts[index].append(cell.text)
    return [cleaning.join_lines(parts) for parts in texts]


def _columns_as_lines(lines: list[_Line]) -> list[_Line]:
    """Lines of a page set in columns, re-read one column after the other."""
    by_column: dict[int, list[_Line]] = {}
    columns = sorted({round(cell.x) for line in lines for cell in line.cells})
    for line in lines:
        for cell in line.cells:
            column = min(range(len(columns)), key=lambda k: abs(columns[k] - cell.x))
            by_column.setdefault(column, []).append(
                _Line(line.y, [cell], line.bullet and cell is line.cells[0])
            )
    return [line for column in sorted(by_column) for line in by_column[column]]


def _drop_page_furniture(
    lines: list, running: set[str], text_of: Callable[[object], str] = str, edge: int = 3
) -> list:
    """Drop running headers/footers and bare page numbers at the top and bottom of a page."""
    lines = [line for line in lines if text_of(line).strip()]

    def furniture(line) -> bool:
        text = text_of(line)
        return cleaning.is_running_line(text, running) or cleaning.is_page_number(text)

    head = 0
    while head < min(edge, len(lines)) and furniture(lines[head]):
        head += 1
    tail = len(lines)
    while tail > head and len(lines) - tail < edge and furniture(lines[tail - 1]):
        tail -= 1
    return lines[head:tail]


def _pdf_text_blocks(page_lines: list[list[str]]) -> list[_Raw]:
    """The fallback for PDFs whose text comes without font information: text heuristics."""
    running = cleaning.running_lines(page_lines)
    raw: list[_Raw] = []
    for number, lines in enumerate(page_lines, start=1):
        raw.extend(_blocks_from_pdf_lines(_drop_page_furniture(lines, running), number))
    return raw


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
            raw.extend(_Raw("paragraph", row, None, 0, "row") for row in _table_rows(item))
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
            numbered = item._p.pPr is not None and item._p.pPr.numPr is not None
            role = "item" if style.startswith("List") or numbered else "text"
            raw.append(_Raw("paragraph", text, None, 0, role))
    if title is None:
        title = next((b.text for b in raw if b.kind == "heading" and b.level == 1), None)
    return title, None, raw


def _table_rows(table) -> Iterator[str]:
    """A Word table's rows as labelled sentences; the first row is the header when it has
    two or more filled cells (a form's "label | blank" rows have no header)."""
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(cleaning.clean_inline(cell.text))
        rows.append(cells)
    yield from _labelled_rows(rows, header=len(rows) >= 2 and sum(bool(c) for c in rows[0]) >= 2)


def _labelled_rows(rows: list[list[str]], header: bool) -> Iterator[str]:
    """Rows as ``cleaning.table_row_text`` sentences, the first row as labels if ``header``."""
    labels = rows[0] if header and rows else None
    for cells in rows[1:] if labels else rows:
        text = cleaning.table_row_text(labels, cells)
        if text:
            yield text


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


def _walk_html(node, role: BlockRole = "text") -> Iterator[_Raw]:
    from bs4 import Comment, NavigableString, Tag

    inline: list[str] = []

    def flush() -> Iterator[_Raw]:
        text = cleaning.clean_inline("".join(inline))
        inline.clear()
        if text:
            yield _Raw("paragraph", text, None, 0, role)

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
            yield from _html_table(child)
        elif child.name == "br":
            inline.append(" ")
        elif child.name in _HTML_BLOCKS or child.find(list(_HTML_BLOCKS) + ["table"] + list(_HTML_HEADINGS)):
            yield from flush()
            yield from _walk_html(child, "item" if child.name == "li" else role)
        else:
            inline.append(child.get_text())
    yield from flush()


def _html_table(table) -> Iterator[_Raw]:
    """The caption, then each row as a labelled sentence; the first row is the header when
    all its cells are ``th``."""
    caption = table.find("caption")
    if caption is not None:
        yield _Raw("paragraph", caption.get_text(" ", strip=True))
    rows = [row for row in table.find_all("tr") if row.find_parent("table") is table]
    cells = [
        [
            cleaning.clean_inline(c.get_text(" ", strip=True))
            for c in row.find_all(["th", "td"], recursive=False)
        ]
        for row in rows
    ]
    header = bool(rows) and all(c.name == "th" for c in rows[0].find_all(["th", "td"], recursive=False))
    for text in _labelled_rows([row for row in cells if any(row)], header and any(cells[0])):
        yield _Raw("paragraph", text, None, 0, "row")


# --- Markdown ----------------------------------------------------------------------------


def _read_markdown(data: bytes, source: str) -> tuple[str | None, None, list[_Raw]]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(decode_text(data, source))
    raw: list[_Raw] = []
    heading_level = 0
    lists = 0  # depth of bullet or ordered lists around the current token
    table: list[list[str]] | None = None
    row: list[str] | None = None
    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "heading_close":
            heading_level = 0
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        elif token.type == "table_open":
            table = []
        elif token.type == "table_close" and table is not None:
            # A Markdown table always has a header row.
            raw.extend(_Raw("paragraph", text, None, 0, "row") for text in _labelled_rows(table, True))
            table = None
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            if table is not None and (any(row) or not table):
                table.append(row)
            row = None
        elif token.type == "inline":
            text = _markdown_inline_text(token)
            if row is not None:
                row.append(cleaning.clean_inline(text))
            elif heading_level:
                raw.append(_Raw("heading", text, None, heading_level))
            else:
                raw.append(_Raw("paragraph", text, None, 0, "item" if lists else "text"))
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
