"""Bytes -> str for the text formats (plain text, Markdown, HTML): the only charset-normalizer
import.

Order: a byte-order mark; UTF-16 without a mark when every other byte is zero; for HTML the
charset the page declares; UTF-8; then Windows-1252, unless the bytes read as another
single-byte script (a windows-1251 Russian page), which charset-normalizer then names.
"""

from __future__ import annotations

import codecs
import re

from kb.errors import DocumentError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: Control bytes that never occur in text (tab, newlines, form feed and escape are allowed).
_CONTROL = bytes([*range(0x01, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
#: <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">, <?xml encoding="x"?>
_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.I
)
#: What browsers do with these labels (WHATWG Encoding): Latin-1 pages are read as Windows-1252.
_LABELS = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
}


def decode_text(data: bytes, source: str) -> str:
    """Decode a text file; NUL bytes are dropped.

    Raises:
        DocumentError: the bytes are a binary file, or in no encoding that can be recognised.
    """
    return _decode(data, source, declared=None)


def decode_html(data: bytes, source: str) -> str:
    """Decode a web page: its byte-order mark, then its declared charset, then as text."""
    match = _DECLARED.search(data[:4096])
    declared = (match.group(1) or match.group(2)).decode("ascii", "replace") if match else None
    return _decode(data, source, declared)


def _decode(data: bytes, source: str, declared: str | None) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(data[len(bom) :], encoding, source).replace("\x00", "")
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if _binary(data):
        raise DocumentError(
            f"{source}: looks like a binary file, not text. Export it as a PDF or UTF-8 text."
        )
    data = data.replace(b"\x00", b"")
    if declared:
        encoding = _codec(declared)
        if encoding and not encoding.startswith(("utf-16", "utf-32")):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                pass  # the page lies about its charset: guess as for any text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = _single_byte(data)
    if text is None:
        raise DocumentError(
            f"{source}: the text's encoding could not be recognised (it is not UTF-8, UTF-16 or "
            "Windows-1252). Open it in an editor, save it as UTF-8 and ingest again."
        )
    return text


def _strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{source}: starts with a {encoding.upper()} byte-order mark but is not valid "
            f"{encoding.upper()} ({exc.reason} at byte {exc.start}). Save it again as UTF-8."
        ) from None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: Latin text leaves a zero in every other byte."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2 or len(data) % 2:
        return None
    even = sum(1 for b in sample[0::2] if b == 0)
    odd = sum(1 for b in sample[1::2] if b == 0)
    for encoding, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros >= 0.4 * pairs and other <= 0.02 * pairs:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if sum(ch.isprintable() or ch.isspace() for ch in text) >= 0.95 * len(text):
                return text.replace("\x00", "")
    return None


def _binary(data: bytes) -> bool:
    """Control bytes that text never holds, in more than 1 % of the first 64 KiB."""
    sample = data[:65536]
    if not sample:
        return False
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    return controls > 0.01 * len(sample)


def _single_byte(data: bytes) -> str | None:
    """Windows-1252, unless most letters fall outside ASCII there (another script's
    single-byte code page: charset-normalizer tells which)."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        letters = [ch for ch in text if ch.isalpha()]
        if sum(not ch.isascii() for ch in letters) <= 0.3 * len(letters):
            return text
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is not None and not best.encoding.startswith(("utf_16", "utf_32")):
        return str(best)
    return text


def _codec(label: str) -> str | None:
    label = label.strip().lower()
    label = _LABELS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None
