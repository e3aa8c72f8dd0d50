"""One reader per format. Each module's ``read(data, source, limits) -> Reading`` turns a
file's bytes into raw blocks (headings and paragraphs with a page, level and role) plus the
text it removed and why; ``kb.reading.documents`` assembles them into a Document.

    pdf.py         PDF (pypdf), with pdf_layout.py for headings, lists and tables by position
    docx.py        Word .docx (python-docx), zip checked first
    html.py        web pages (BeautifulSoup)
    markdown.py    Markdown (markdown-it)
    text.py        plain text
    encoding.py    bytes -> str for the text formats
    base.py        the records they share
"""

from __future__ import annotations

from collections.abc import Callable

from kb.reading.readers import docx, html, markdown, pdf, text
from kb.reading.readers.base import Limits, Reading

Reader = Callable[[bytes, str, Limits], Reading]

#: Document type (a value of ``kb.reading.documents.DOCUMENT_TYPES``) -> its reader.
READERS: dict[str, Reader] = {
    "pdf": pdf.read,
    "docx": docx.read,
    "html": html.read,
    "markdown": markdown.read,
    "text": text.read,
}
