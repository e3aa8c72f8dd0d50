"""What a file's first bytes say it is, against what its name says: the staff page refuses
an upload whose content is not its type (a program renamed ``setup.pdf``, a PDF named
``.txt``) before it is saved, instead of keeping it in documents/ as a failed document.

Only the signatures are read (the readers judge the rest at ingest): a PDF holds ``%PDF-``
in its first 1,024 bytes (Acrobat's own rule, so a few bytes of whitespace or a byte-order
mark before it are fine); a Word .docx is a ZIP archive (``PK\\x03\\x04``); HTML, Markdown
and text are text: not a PDF or ZIP, and no NUL or other control bytes (UTF-16 text, with a
byte-order mark or with a zero in every other byte, is text too).
"""

from __future__ import annotations

import codecs

#: How many bytes of a file ``mismatch`` needs.
HEAD_BYTES = 8192

_PDF = b"%PDF-"
_ZIP = b"PK\x03\x04"
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
#: Control bytes that text never holds (tab, newlines, form feed and escape are allowed).
_CONTROL = bytes([*range(0x01, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])

#: Document type -> (what it is called, how to make a good one).
_TYPES = {
    "pdf": ("a PDF", "Save or export it as PDF again and upload that."),
    "docx": ("a Word .docx file", "Open it in Word, save it as Word Document (.docx) and upload that."),
    "html": ("a web page", "Save the page as HTML again, or upload the document itself."),
    "markdown": ("a Markdown text file", "Save it as plain text (UTF-8) and upload that."),
    "text": ("a text file", "Save it as plain text (UTF-8) and upload that."),
}


def content_kind(head: bytes) -> str:
    """What ``head`` (a file's first bytes) is: "pdf", "zip", "text" or "binary"."""
    if _starts_pdf(head) or (_PDF in head[:1024] and not _text(head)):
        return "pdf"
    if head.startswith(_ZIP):
        return "zip"
    return "text" if _text(head) else "binary"


def mismatch(head: bytes, kind: str) -> str | None:
    """Why a file of document type ``kind`` (a value of ``DOCUMENT_TYPES``) whose first bytes
    are ``head`` is not that type, in plain words with what to do; None when it may be."""
    if kind == "pdf":
        fits = _PDF in head[:1024]
    elif kind == "docx":
        fits = head.startswith(_ZIP)
    else:
        fits = not _starts_pdf(head) and not head.startswith(_ZIP) and _text(head)
    if fits:
        return None
    name, remedy = _TYPES[kind]
    what = {
        "pdf": "a PDF",
        "zip": "a ZIP archive, such as a Word file",
        "text": "text",
        "binary": "another kind of file, such as a program or a picture",
    }[content_kind(head)]
    return f"it is not {name} (its content is {what}). {remedy}"


def _starts_pdf(head: bytes) -> bool:
    return head[:1024].lstrip(b"\xef\xbb\xbf\xfe\xff \t\r\n\x00\x0c").startswith(_PDF)


def _text(head: bytes) -> bool:
    """No NUL byte, and control bytes in at most 1 % (as the text reader allows), unless it is
    UTF-16 or UTF-32 (zeros in every other byte)."""
    if head.startswith(_BOMS) or _utf16(head):
        return True
    if b"\x00" in head:
        return False
    return len(head) - len(head.translate(None, _CONTROL)) <= 0.01 * len(head)


def _utf16(head: bytes) -> bool:
    """UTF-16 without a byte-order mark: Latin text leaves a zero in every other byte."""
    pairs = len(head) // 2
    if pairs < 2:
        return False
    even = head[0 : 2 * pairs : 2].count(0)
    odd = head[1 : 2 * pairs : 2].count(0)
    return max(even, odd) >= 0.4 * pairs and min(even, odd) <= 0.02 * pairs
