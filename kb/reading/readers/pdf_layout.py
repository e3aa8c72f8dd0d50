"""PDF layout: positioned text runs -> headings, paragraphs, list items and table rows.

Pure geometry and text rules, no pypdf: ``kb.reading.readers.pdf`` hands in the runs pypdf reports
(text, position, font, size). Runs on one baseline make a line, lines make headings (by size
and weight), list items, paragraphs (by spacing) and tables (by aligned columns). Running
headers, footers and page numbers are removed, and listed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median

from kb.reading import cleaning
from kb.reading.readers.base import Raw, Removed


@dataclass(frozen=True)
class Run:
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


@dataclass
class _Cell:
    """Runs on one line that read as one piece of text; apart from its neighbours by a gap."""

    x: float
    end: float
    runs: list[Run]

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


def _mostly(runs: Sequence[Run], test: Callable[[Run], bool]) -> bool:
    """True when at least 90% of the runs' visible characters pass ``test``."""
    total = sum(len(run.text.strip()) for run in runs)
    return total > 0 and sum(len(run.text.strip()) for run in runs if test(run)) >= 0.9 * total


def _pdf_lines(runs: list[Run]) -> list[_Line]:
    """Group a page's runs into lines, top to bottom, by baseline.

    Runs within a fraction of the font size of each other share a line (a bullet glyph sits
    a little higher than its text). Along a line, a run that starts where pypdf last placed
    the pen (it does not advance x within one text object) or within a small gap of the
    previous run's end continues a cell; a wider gap starts a new cell (a table column).
    """
    lines: list[_Line] = []
    group: list[Run] = []
    for run in sorted(runs, key=lambda r: -r.y):
        if group and group[0].y - run.y > 0.45 * min(run.size, group[0].size):
            lines.append(_make_line(group))
            group = []
        group.append(run)
    if group:
        lines.append(_make_line(group))
    return [line for line in lines if line.text]


def _make_line(runs: list[Run]) -> _Line:
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


def layout_blocks(pages: list[list[Run]], removed: list[Removed]) -> list[Raw]:
    """Blocks of a PDF from its pages' positioned runs; page furniture goes to ``removed``."""
    page_lines = [_pdf_lines(runs) for runs in pages]
    running = cleaning.running_lines([[line.text for line in lines] for lines in page_lines])
    page_lines = [
        _drop_page_furniture(lines, running, number, removed, lambda line: line.text)
        for number, lines in enumerate(page_lines, start=1)
    ]
    style = _pdf_style([line for lines in page_lines for line in lines])
    raw: list[Raw] = []
    for number, lines in enumerate(page_lines, start=1):
        blocks = _pdf_page_blocks(lines, number, style, removed)
        if raw and blocks and _runs_on(raw[-1], blocks[0]):
            # A paragraph broken by the page end: one block, on the page where it starts.
            text = cleaning.join_lines([raw[-1].text, blocks[0].text])
            raw[-1] = Raw("paragraph", text, raw[-1].page, 0, raw[-1].role)
            blocks = blocks[1:]
        raw.extend(blocks)
    return raw


def _runs_on(before: Raw, after: Raw) -> bool:
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


def _pdf_page_blocks(lines: list[_Line], page: int, style: _PdfStyle, removed: list[Removed]) -> list[Raw]:
    """Headings, list items, paragraphs and table rows of one page, in reading order."""
    lengths = [len(line.text) for line in lines if len(line.text) > 30]
    full = median(lengths) if lengths else 80
    out: list[Raw] = []
    current: list[_Line] = []

    def flush() -> None:
        if current:
            role = "item" if current[0].bullet else "text"
            out.append(Raw("paragraph", cleaning.join_lines(line.text for line in current), page, 0, role))
            current.clear()

    i = 0
    while i < len(lines):
        end, rows = _pdf_table(lines, i, style, page, removed)
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
            out.append(Raw("heading", " ".join(line.text for line in lines[i:end]), page, level))
            i = end
            continue
        line = lines[i]
        if current and _starts_paragraph(current, line, style):
            flush()
        if cleaning.is_boilerplate(line.text):
            removed.append(Removed(line.text, "boilerplate", page))
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


def _pdf_table(
    lines: list[_Line], i: int, style: _PdfStyle, page: int, removed: list[Removed]
) -> tuple[int, list[Raw] | None]:
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
    return end, _table_row_blocks(rows, columns, style, page, i == 0, removed)


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
    rows: list[list[_Line]],
    columns: list[float],
    style: _PdfStyle,
    page: int,
    at_top: bool,
    removed: list[Removed],
) -> list[Raw]:
    cells = [_row_cells(row, columns) for row in rows]
    looks = [_row_look(row) for row in rows]
    header: list[str] | None = None
    # The header row is set apart: in bold, or in another font or size than every other row.
    bold = [all(c.bold for line in row for c in line.cells) for row in rows]
    if len(rows) >= 2 and ((bold[0] and not all(bold[1:])) or looks[0] not in looks[1:]):
        header, cells = cells[0], cells[1:]
        if header[0]:
            removed.append(Removed(header[0], "table header", page))
    elif at_top and style.header is not None and len(style.header) == len(columns):
        header = style.header  # the table runs on from the previous page
    style.header = header
    texts = [cleaning.table_row_text(header, row) for row in cells]
    return [Raw("paragraph", text, page, 0, "row") for text in texts if text]


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
    lines: list,
    running: set[str],
    page: int,
    removed: list[Removed],
    text_of: Callable[[object], str] = str,
    edge: int = 3,
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
    for line in lines[:head] + lines[tail:]:
        text = text_of(line)
        rule = "page number" if cleaning.is_page_number(text) else "running header/footer"
        removed.append(Removed(cleaning.clean_inline(text), rule, page))
    return lines[head:tail]


def text_blocks(page_lines: list[list[str]], removed: list[Removed]) -> list[Raw]:
    """The fallback for PDFs whose text comes without font information: text heuristics."""
    running = cleaning.running_lines(page_lines)
    raw: list[Raw] = []
    for number, lines in enumerate(page_lines, start=1):
        raw.extend(
            _blocks_from_pdf_lines(_drop_page_furniture(lines, running, number, removed), number, removed)
        )
    return raw


def _blocks_from_pdf_lines(lines: list[str], page: int, removed: list[Removed]) -> list[Raw]:
    """Group a page's lines into headings and paragraphs.

    PDF text layers have no paragraph marks: a paragraph ends at a line that ends a
    sentence and stops short of the page's usual line length, before a bullet (or a bullet
    glyph that extracts as a line of its own), or before a heading-like line that follows
    a finished sentence.
    """
    lengths = [len(line) for line in lines if len(line) > 30]
    full = median(lengths) if lengths else 80
    out: list[Raw] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            out.append(Raw("paragraph", cleaning.join_lines(current), page))
            current.clear()

    for line in lines:
        text = cleaning.clean_inline(line)
        if not text:
            flush()  # a lone bullet glyph
            continue
        if cleaning.is_boilerplate(text):
            removed.append(Removed(text, "boilerplate", page))
            continue
        after_sentence = not current or cleaning.ends_sentence(current[-1])
        if after_sentence and cleaning.looks_like_heading(text) and len(text) < 0.8 * full:
            flush()
            out.append(Raw("heading", text, page, 2))
            continue
        if cleaning.is_bullet(text):
            flush()
        current.append(text)
        if cleaning.ends_sentence(text) and len(text) < 0.85 * full:
            flush()
    flush()
    return _demote_heading_runs(out)


def _demote_heading_runs(blocks: list[Raw]) -> list[Raw]:
    """Three or more heading-like lines in a row are table cells, not headings: keep the
    first as a heading and fold the rest into the paragraph that follows."""
    out: list[Raw] = []
    run: list[Raw] = []
    for block in [*blocks, None]:
        if block is not None and block.kind == "heading":
            run.append(block)
            continue
        if len(run) >= 3:
            cells = " ".join(b.text for b in run[1:])
            text = f"{cells} {block.text}" if block is not None else cells
            out += [run[0], Raw("paragraph", text, run[1].page)]
        else:
            out += run + ([block] if block is not None else [])
        run = []
    return out
