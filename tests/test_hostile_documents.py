"""Whatever staff drop in documents/: hostile and broken files ingested in one run beside good
documents. Each ends read correctly, or with a clear per-file reason in the report; every
good document is still ingested and the index opens and answers."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import hostile as h
import pytest
from conftest import LOREM_PAGES, write_pdf, write_small_documents

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import DocumentError
from kb.ingest import IngestReport, ingest
from kb.ingest.report import format_report
from kb.reading import documents as docs
from kb.search import KnowledgeBase

pytestmark = pytest.mark.slow  # one ingest of every file below with the real model

GOOD = ["aftercare.pdf", "faq.md", "hours.txt"]
MAX_BYTES = 3 * 2**20
MAX_SECONDS = 3.0


def _make_folder(folder: Path, outside: Path) -> None:
    write_small_documents(folder)
    # PDFs
    h.encrypted_pdf(folder / "locked.pdf", "secret", "AES-256", "lockedword")
    h.encrypted_pdf(folder / "form-rc4.pdf", "", "RC4-128", "rcfourword")
    h.encrypted_pdf(folder / "form-aes128.pdf", "", "AES-128", "aesoneword")
    h.encrypted_pdf(folder / "form-aes256.pdf", "", "AES-256", "aestwoword")
    h.missing_startxref_pdf(folder / "no-startxref.pdf", "startxrefword")
    h.truncated_pdf(folder / "truncated.pdf", "truncword")
    h.broken_xref_pdf(folder / "broken-xref.pdf", "brokenxrefword")
    h.huge_page_count_pdf(folder / "billion-pages.pdf", "billionword")
    h.huge_page_count_encrypted_pdf(folder / "billion-pages-encrypted.pdf")
    h.scanned_pdf(folder / "scan.pdf")
    h.mostly_images_pdf(folder / "album.pdf", "albumword")
    h.rotated_pdf(folder / "rotated.pdf", "rotatedword")
    h.two_column_pdf(folder / "columns.pdf", "columnword")
    h.cjk_pdf(folder / "cjk.pdf")
    if h.DEJAVU.is_file():
        h.rtl_pdf(folder / "rtl.pdf")
    (folder / "random.pdf").write_bytes(os.urandom(5000))
    # Word
    h.zip_bomb_docx(folder / "bomb.docx")
    (folder / "not-a-zip.docx").write_bytes(b"Dear patient, this was saved as plain text.")
    (folder / "~$consent.docx").write_bytes(b"\x05lock")
    # HTML
    h.deep_html(folder / "deep.html", "deepword")
    h.scripted_html(folder / "scripts.html", "scriptedword")
    h.cp1251_html(folder / "parking-ru.html")
    h.latin2_html(folder / "parking-pl.html")
    # Text
    (folder / "one-sentence-utf16.txt").write_bytes(
        "Parking is free for patients in the basement garage.".encode("utf-16")
    )
    (folder / "ünïcödé naмe.txt").write_text("The quokka clinic cat sleeps at reception.", encoding="utf-8")
    (folder / "notice.txt").write_text(
        "Parking is free for all patients after six.\n\nThe entrance is on Mill Lane behind the pharmacy.\n",
        encoding="utf-8",
    )
    (folder / "cp1252.txt").write_bytes(
        "Café crème is served in the “quiet room” – ask Zoë.".encode("cp1252")
    )
    (folder / "nul-bytes.txt").write_bytes(b"The gazebo\x00 garden is open in summer.\n" + bytes(200))
    (folder / "utf16-no-bom.txt").write_bytes(
        "The marigold room – upstairs, by the café.\n".encode("utf-16-le")
    )
    sentence = "Guests may rest in the lounge between sessions. "
    (folder / "long-line.txt").write_text(
        sentence * (300_000 // len(sentence)) + "The last sentence names the albatross suite.",
        encoding="utf-8",
    )
    (folder / "empty.txt").write_bytes(b"")
    with open(folder / "too-large.txt", "wb") as f:
        f.truncate(MAX_BYTES + 2**20)
    (folder / "with spaces.md").write_text("# Spaces\n\nThe heron garden has benches.\n", encoding="utf-8")
    (folder / "-leading-dash.txt").write_text("The pelican lift goes to floor two.\n", encoding="utf-8")
    # Other files
    (folder / "program.exe").write_bytes(b"MZ\x90\x00" + os.urandom(2000))
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / ".removed").mkdir()
    (folder / ".removed" / "old-prices.txt").write_text("The trashword price list.", encoding="utf-8")
    # Reader faults, made by the patched reader below.
    for name in ("fault.md", "memory.md", "recursion.md", "slow.md"):
        (folder / name).write_text(f"# {name}\n\nNever read.\n", encoding="utf-8")
    h.symlinks(folder, outside)


def _faulty_markdown(real):
    def read(data: bytes, source: str, limits):
        if source == "fault.md":
            raise ZeroDivisionError("division by zero")
        if source == "memory.md":
            raise MemoryError
        if source == "recursion.md":
            raise RecursionError("maximum recursion depth exceeded")
        if source == "slow.md":
            time.sleep(30)  # stopped by the per-file time limit
        return real(data, source, limits)

    return read


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Settings, IngestReport]:
    base = tmp_path_factory.mktemp("hostile")
    _make_folder(base / "documents", base / "outside")
    settings = Settings(
        documents_dir=base / "documents",
        index_dir=base / "index",
        max_document_bytes=MAX_BYTES,
        max_read_seconds=MAX_SECONDS,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(docs.READERS, "markdown", _faulty_markdown(docs.READERS["markdown"]))
        report = ingest(settings, embedder=embedder)
    return settings, report


@pytest.fixture(scope="module")
def knowledge_base(hostile, embedder: Embedder) -> KnowledgeBase:
    return KnowledgeBase(hostile[0], embedder)


def _failed(report: IngestReport) -> dict[str, str]:
    return {f.source: f.reason for f in report.failed}


def _skipped(report: IngestReport) -> dict[str, str]:
    return {f.source: f.reason for f in report.skipped}


def _text_of(kb: KnowledgeBase, source: str) -> str:
    return "\n".join(p.text for p in kb.generation.passages_of(source))


def _every_text(kb: KnowledgeBase) -> str:
    return "\n".join(_text_of(kb, d.source) for d in kb.documents())


# --- what is refused, and why -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("locked.pdf", r"password-protected\. Save an unprotected copy \(open it, Print → Save as PDF\)"),
        ("scan.pdf", r"no text layer — it looks like a scanned image\. Run it through OCR"),
        ("random.pdf", r"is not a readable PDF .*export it again"),
        ("bomb.docx", r"unpacks to 15\d MiB .* looks like a zip bomb.* It was not read"),
        ("not-a-zip.docx", r"is not a Word \.docx file \(it is not a zip package"),
        ("empty.txt", r"the file is empty \(0 bytes\)\. Replace it"),
        ("too-large.txt", r"the file is 4\.0 MiB, over the 3 MiB limit \(KB_MAX_DOCUMENT_BYTES\)\. Split it"),
        (
            "fault.md",
            r"could not be read: ZeroDivisionError: division by zero\. This is a fault in the reader",
        ),
        ("memory.md", r"ran out of memory while reading\. Split it"),
        ("recursion.md", r"nested too deeply to read"),
        ("slow.md", r"took longer than 3 s to read, and was stopped"),
    ],
)
def test_a_bad_file_is_reported_with_what_to_do(hostile, source: str, reason: str) -> None:
    _, report = hostile
    failed = _failed(report)
    assert source in failed, f"{source} not reported as failed; failed: {sorted(failed)}"
    assert re.search(reason, failed[source]), failed[source]


def test_only_the_bad_files_fail(hostile) -> None:
    _, report = hostile
    expected = {
        "locked.pdf", "scan.pdf", "random.pdf", "bomb.docx", "not-a-zip.docx", "empty.txt",
        "too-large.txt", "fault.md", "memory.md", "recursion.md", "slow.md",
    }  # fmt: skip
    assert set(_failed(report)) == expected


SKIPPED = {
    "passwd.txt": "is a link",
    "outside-folder": "is a link",
    "outside-file.txt": "is a link",
    "inside-link.md": "is a link",
    "loop": "is a link",
    "loop-a": "is a link",
    "loop-b": "is a link",
    "program.exe": "files of type .exe are not read; save it as one of",
    ".DS_Store": "hidden or temporary file",
    "~$consent.docx": "hidden or temporary file",
}


def test_every_file_not_ingested_is_listed_with_its_reason(hostile) -> None:
    settings, report = hostile
    skipped = _skipped(report)
    assert set(skipped) == set(SKIPPED)  # .removed/ (the staff's trash) is not listed
    for source, reason in SKIPPED.items():
        assert reason in skipped[source]
    text = format_report(report, settings)
    assert "SKIPPED program.exe: files of type .exe are not read" in text
    assert "FAILED locked.pdf: the PDF is password-protected" in text
    assert ".removed" not in text and f"{len(SKIPPED)} skipped" in text
    assert not report.ok


# --- what is read ----------------------------------------------------------------------------

READ = {
    "form-rc4.pdf": "rcfourword consent form",
    "form-aes128.pdf": "aesoneword consent form",
    "form-aes256.pdf": "aestwoword consent form",
    "no-startxref.pdf": "startxrefword page closes here",
    "truncated.pdf": "truncword page closes here",
    "broken-xref.pdf": "brokenxrefword page closes here",
    "billion-pages.pdf": "billionword leaflet has one page",
    "billion-pages-encrypted.pdf": "billionform consent form",
    "album.pdf": "albumword photo album",
    "rotated.pdf": "rotatedword poster is printed sideways",
    "columns.pdf": "ointment such as columnword balm for the first five days.",
    "cjk.pdf": h.CJK,
    "deep.html": "deepword room is at the very bottom",
    "scripts.html": "scriptedword waiting room has free tea",
    "parking-ru.html": h.RUSSIAN,
    "parking-pl.html": h.POLISH,
    "one-sentence-utf16.txt": "Parking is free for patients in the basement garage.",
    "ünïcödé naмe.txt": "The quokka clinic cat sleeps at reception.",
    "notice.txt": "Parking is free for all patients after six.",
    "cp1252.txt": "Café crème is served in the “quiet room” – ask Zoë.",
    "nul-bytes.txt": "The gazebo garden is open in summer.",
    "utf16-no-bom.txt": "The marigold room – upstairs, by the café.",
    "long-line.txt": "The last sentence names the albatross suite.",
    "with spaces.md": "The heron garden has benches.",
    "-leading-dash.txt": "The pelican lift goes to floor two.",
    **({"rtl.pdf": h.HEBREW} if h.DEJAVU.is_file() else {}),
}


@pytest.mark.parametrize(("source", "expected"), sorted(READ.items()))
def test_an_odd_but_readable_file_is_read(
    hostile, knowledge_base: KnowledgeBase, source: str, expected
) -> None:
    _, report = hostile
    assert source in report.added, _failed(report).get(source) or _skipped(report).get(source)
    assert expected in _text_of(knowledge_base, source)


def test_a_pdf_over_the_page_limit_is_refused_before_its_pages_are_read(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "long.pdf", LOREM_PAGES)
    with pytest.raises(
        DocumentError, match=r"long.pdf: the PDF claims 3 pages, over the limit of 2\. Split it"
    ):
        docs.read_document(path, tmp_path, limits=docs.Limits(max_pages=2))


def test_a_page_that_cannot_be_read_is_listed(hostile) -> None:
    settings, _ = hostile
    listing = docs.explain(settings.documents_dir / "truncated.pdf", settings.documents_dir)
    assert "p2 [unreadable page] (page 2: unreadable, skipped)" in listing


def test_right_to_left_pages_read_in_logical_order(tmp_path: Path) -> None:
    if not h.DEJAVU.is_file():
        pytest.skip(f"no font with Hebrew and Arabic glyphs: install fonts-dejavu-core ({h.DEJAVU})")
    doc = docs.read_document(h.rtl_pdf(tmp_path / "rtl.pdf"), tmp_path)
    assert h.HEBREW in doc.text and h.ARABIC in doc.text


def test_every_good_document_is_ingested_and_the_index_answers(
    hostile, knowledge_base: KnowledgeBase
) -> None:
    _, report = hostile
    assert set(GOOD) <= set(report.added)
    indexed = {d.source for d in knowledge_base.documents()}
    assert indexed == set(report.added)
    assert not indexed & (set(_failed(report)) | set(_skipped(report)))
    assert knowledge_base.search("When is the clinic open on Saturday?", 1)[0].source == "hours.txt"
    assert knowledge_base.search("quokka cat", 1)[0].source == "ünïcödé naмe.txt"
    for document in knowledge_base.documents():
        assert knowledge_base.generation.passages_of(document.source), document.source


def test_nothing_outside_the_documents_folder_is_read(hostile, knowledge_base: KnowledgeBase) -> None:
    everything = _every_text(knowledge_base)
    passwd = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").split(":")[0]
    assert "root:" not in everything and f"{passwd}:x" not in everything
    assert "vaultword" not in everything  # the file behind outside-file.txt and outside-folder/
    assert "trashword" not in everything  # .removed/ is the staff's trash
    sources = [d.source for d in knowledge_base.documents()]
    assert not any(s.startswith("passwd") or "outside" in s for s in sources)


def test_a_link_is_refused_even_when_read_directly(hostile) -> None:
    """The reader itself refuses links and paths that resolve outside the folder, whatever
    the caller passes (defence in depth behind scan_documents)."""
    settings, _ = hostile
    folder = settings.documents_dir
    for path in (folder / "passwd.txt", folder / "outside-folder" / "secret.txt", folder / "inside-link.md"):
        with pytest.raises(DocumentError, match="is a link"):
            docs.read_document(path, folder)


def test_code_in_web_pages_is_never_indexed(knowledge_base: KnowledgeBase) -> None:
    everything = _every_text(knowledge_base)
    for word in h.CODE_WORDS:
        assert word not in everything
    assert "alert" not in _text_of(knowledge_base, "scripts.html")


def test_a_first_line_is_kept_as_text(knowledge_base: KnowledgeBase) -> None:
    (notice,) = [d for d in knowledge_base.documents() if d.source == "notice.txt"]
    assert notice.title == "Notice"  # a sentence is no title: the file name is
    text = _text_of(knowledge_base, "notice.txt")
    assert "Parking is free" in text and "Mill Lane" in text


def test_passages_of_a_long_line_fit_the_model(
    hostile, knowledge_base: KnowledgeBase, embedder: Embedder
) -> None:
    passages = knowledge_base.generation.passages_of("long-line.txt")
    assert len(passages) > 50
    counts = embedder.count_tokens([p.embedding_text for p in passages])
    assert max(counts) + 2 <= min(hostile[0].passage_tokens, embedder.max_tokens)


def test_a_2_mb_single_line_reads_into_sensible_blocks(tmp_path: Path) -> None:
    sentence = "The lagoon spa opens at dawn and closes at dusk every day. "
    path = tmp_path / "line.txt"
    path.write_text(sentence * (2_000_000 // len(sentence)) + "Last words.", encoding="utf-8")
    doc = docs.read_document(path, tmp_path)
    assert len(doc.blocks) >= 200 and all(len(b.text) <= docs.MAX_BLOCK_CHARS for b in doc.blocks)
    assert all(b.text.endswith(".") for b in doc.blocks)  # cut at sentence ends
    assert "".join(doc.text.split()) == "".join(path.read_text(encoding="utf-8").split())


def test_pypdf_warnings_stay_out_of_the_report(hostile) -> None:
    settings, report = hostile
    text = format_report(report, settings)
    assert "fontTools" not in text and "Ignoring" not in text and "pypdf" not in text


# --- the time limit ----------------------------------------------------------------------------


def test_the_time_limit_restores_the_previous_alarm_handler_and_timer() -> None:
    def outer(signum, frame):  # pragma: no cover - must not fire here
        raise AssertionError("outer alarm fired")

    previous = signal.signal(signal.SIGALRM, outer)
    before = signal.setitimer(signal.ITIMER_REAL, 50)
    try:
        with pytest.raises(docs._ReadTimeout), docs._time_limit(0.2):
            time.sleep(5)
        assert signal.getsignal(signal.SIGALRM) is outer
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 45 < left <= 50  # the outer timer runs on with what it had left
        with docs._time_limit(0.2):
            pass  # a quick read: no alarm afterwards
        time.sleep(0.3)
    finally:
        signal.setitimer(signal.ITIMER_REAL, *before)
        signal.signal(signal.SIGALRM, previous)


def test_no_timer_outside_the_main_thread() -> None:
    import threading

    seen: list[object] = []

    def run() -> None:
        with docs._time_limit(0.1):
            time.sleep(0.3)
        seen.append(signal.getitimer(signal.ITIMER_REAL))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen  # finished without an alarm


def test_the_command_line_explains_how_a_file_reads(capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import SHIPPED_DOCUMENTS

    import ingest as cli

    assert cli.main(["--explain", str(SHIPPED_DOCUMENTS / "aftercare-day-by-day.pdf")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("aftercare-day-by-day.pdf: pdf, title 'Aftercare: Day by Day'")
    assert "[running header/footer] Aftercare: Day by Day · Page 1" in out
    assert "[sample notice]" in out and "[row]" in out
