"""Staff file operations: sanitized names, limits, atomic replace, recoverable removal, every
file's state against the index, and the last ingest's report as the staff page says it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import KBError
from kb.index.base import DocumentRecord
from kb.ingest.report import plain_report
from kb.web.document_files import (
    REMOVED,
    add_document,
    folder_status,
    remove_document,
    restore_document,
    safe_name,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Aftercare Guide (v2).pdf", "Aftercare Guide (v2).pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/abs/path/notes.TXT", "notes.txt"),
        (".hidden.pdf", "hidden.pdf"),
        ('bad<>:"|?*name.html', "bad_name.html"),
        ("tab\tand\nnewline.md", "tab_and_newline.md"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("run.sh", "are not accepted"),
        ("noextension", "are not accepted"),
        ("...pdf", "are not accepted"),
        ("///", "nothing usable"),
    ],
)
def test_unsafe_or_unknown_names_are_refused(name: str, message: str) -> None:
    with pytest.raises(KBError, match=message):
        safe_name(name)


def test_add_replaces_atomically_and_enforces_limits(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    docs.mkdir()
    upload = tmp_path / "upload.txt"
    upload.write_text("Version one.", encoding="utf-8")
    target, replaced = add_document(docs, upload, "../Hours.txt", max_bytes=1000)
    assert target == (docs / "Hours.txt").resolve() and not replaced
    upload.write_text("Version two.", encoding="utf-8")
    assert add_document(docs, upload, "Hours.txt", max_bytes=1000)[1] is True
    assert target.read_text() == "Version two." and sorted(p.name for p in docs.iterdir()) == ["Hours.txt"]
    with pytest.raises(KBError, match="over the 0 MiB limit"):
        add_document(docs, upload, "big.txt", max_bytes=3)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(KBError, match="is empty"):
        add_document(docs, empty, "empty.txt", max_bytes=1000)


def test_remove_moves_to_a_hidden_folder_and_refuses_outside_paths(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "a.md").write_text("# A", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("no", encoding="utf-8")
    moved = remove_document(docs, "a.md")
    assert moved.parent.name == REMOVED and moved.read_text() == "# A" and not (docs / "a.md").exists()
    for bad in ("../secret.txt", "a.md", f"{REMOVED}/{moved.name}", ""):
        with pytest.raises(KBError, match="There is no document"):
            remove_document(docs, bad)
    assert (tmp_path / "secret.txt").exists()


def test_restore_puts_a_removed_document_back_and_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "faq.md").write_text("# FAQ\n")
    moved = remove_document(tmp_path, "faq.md")
    assert restore_document(tmp_path, moved.name) == tmp_path.resolve() / "faq.md"
    assert (tmp_path / "faq.md").read_text() == "# FAQ\n" and not moved.exists()
    again = remove_document(tmp_path, "faq.md")
    (tmp_path / "faq.md").write_text("# a new FAQ\n")  # one of that name came meanwhile
    with pytest.raises(KBError, match="is in the folder now"):
        restore_document(tmp_path, again.name)
    assert (tmp_path / "faq.md").read_text() == "# a new FAQ\n" and again.exists()
    (tmp_path / "secret.md").write_text("x")
    for name in ["../secret.md", "20261205T004839-x/../../secret.md", "faq.md", "", again.name + "x"]:
        with pytest.raises(KBError, match="no removed document"):
            restore_document(tmp_path, name)
    assert (tmp_path / "secret.md").exists() and again.exists()


def _record(source: str, sha: str) -> DocumentRecord:
    return DocumentRecord(source, source.title(), "markdown", None, sha, 10, 3, "2026-12-01T10:00:00+00:00")


def test_every_file_has_its_state_against_the_index(tmp_path: Path) -> None:
    import hashlib

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    for name, text in [("same.md", "same"), ("edited.md", "edited now"), ("fresh.md", "new"), ("broken.md", "x")]:
        (tmp_path / name).write_text(text)
    (tmp_path / "notes.xyz").write_text("not a type that is read")
    records = [
        _record("same.md", sha("same")),
        _record("edited.md", sha("edited before")),
        _record("gone.md", sha("gone")),
        _record("broken.md", sha("older")),
    ]
    (tmp_path / "old.md").write_text("old")
    remove_document(tmp_path, "old.md")
    last = {"at": "2999-01-01T00:00:00+00:00", "failed": [{"source": "broken.md", "reason": "It is damaged.", "kept_previous": True}]}
    rows = {r.source: r for r in folder_status(tmp_path, records, last)}
    assert {s: r.state for s, r in rows.items()} == {
        "same.md": "indexed",
        "edited.md": "changed",
        "fresh.md": "new",
        "broken.md": "failed",
        "notes.xyz": "skipped",
        "gone.md": "missing",
        "old.md": "removed",
    }
    assert rows["broken.md"].reason == "It is damaged. Its previous version is still searchable."
    assert rows["same.md"].passages == 3 and rows["same.md"].size == 4 and rows["fresh.md"].passages is None
    assert rows["old.md"].removed_name.endswith("-old.md")
    assert ".xyz" in rows["notes.xyz"].reason
    # A failed file changed after that ingest is judged afresh.
    last["at"] = "2000-01-01T00:00:00+00:00"
    assert {r.source: r.state for r in folder_status(tmp_path, records, last)}["broken.md"] == "changed"


def test_the_last_report_is_plain_and_names_no_server_folder() -> None:
    ingest = {
        "at": "2026-12-05T01:20:00+00:00",
        "seconds": 12.4,
        "generation": "g2",
        "added": ["peel.pdf"],
        "removed": ["old.md"],
        "unchanged": 2,
        "failed": [{"source": "bad.pdf", "reason": "/srv/clinic/documents/bad.pdf is damaged.", "kept_previous": False}],
        "skipped": [],
        "documents": 3,
        "passages": 40,
    }
    golden = [
        {"generation": "g2", "recall_at_3": 0.91, "declined_off_topic": 0.5, "answerable": 187, "unanswerable": 40},
        {"generation": "g1", "recall_at_3": 0.95, "declined_off_topic": 0.52},
    ]
    lines = plain_report(ingest, golden, hide=("/srv/clinic/documents",))
    assert lines[0] == "Last ingest: 2026-12-05 01:20:00 UTC, took 12 s."
    assert "Added: peel.pdf." in lines and "Taken out of the search: old.md." in lines
    assert "Unchanged: 2 documents." in lines
    assert "Could not be read: bad.pdf. bad.pdf is damaged." in lines
    assert "Of 187 test questions, 91% found their answer in the top 3 (last time 95%)." in lines
    assert any(line.startswith("Warning: fewer test questions") for line in lines)
    assert not any("/srv" in line for line in lines)
    # Test questions taken on an older generation are not this ingest's.
    assert plain_report(ingest, golden[1:])[-1] == "Test questions: not asked after this ingest."


# --- uploads whose content is not their type -------------------------------------------------

#: A program's first bytes (an ELF header), as in a program renamed setup.pdf.
PROGRAM = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("setup.pdf", PROGRAM, "it is not a PDF (its content is another kind of file, such as a program"),
        ("notes.pdf", b"Just some notes, typed as text.\n", "it is not a PDF (its content is text)"),
        ("leaflet.pdf", ZIP, "it is not a PDF (its content is a ZIP archive"),
        ("consent.docx", bytes(range(256)) * 8, "it is not a Word .docx file (its content is another kind"),
        ("consent.docx", PDF, "it is not a Word .docx file (its content is a PDF)"),
        ("consent.docx", b"<html><body>Consent</body></html>", "it is not a Word .docx file (its content is text)"),
        ("aftercare.txt", PDF, "it is not a text file (its content is a PDF)"),
        ("aftercare.txt", PROGRAM, "it is not a text file (its content is another kind of file"),
        ("prices.html", ZIP, "it is not a web page (its content is a ZIP archive"),
        ("faq.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "it is not a Markdown text file"),
    ],
)
def test_an_upload_whose_content_is_not_its_type_is_refused_before_it_is_saved(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    docs = tmp_path / "documents"
    docs.mkdir()
    upload = tmp_path / "upload"
    upload.write_bytes(content)
    with pytest.raises(KBError) as refused:
        add_document(docs, upload, name, max_bytes=10**6)
    assert str(refused.value).startswith(message)
    assert str(refused.value).endswith("upload that.") or "upload the document itself" in str(refused.value)
    assert list(docs.iterdir()) == []  # nothing saved, not even a partial file


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("leaflet.pdf", PDF),
        ("leaflet.pdf", b"\xef\xbb\xbf\r\n  " + PDF),  # a byte-order mark and whitespace first
        ("leaflet.pdf", b"X" * 600 + PDF),  # junk before the header, as Acrobat allows in 1,024 bytes
        ("consent.docx", ZIP),
        ("notes.txt", "Café crème, 5 € — naïve\n".encode("cp1252")),
        ("notes.txt", "UTF-16 notes with a mark\n".encode("utf-16")),
        ("notes.txt", "UTF-16 notes without a mark\n".encode("utf-16-le")),
        ("notes.txt", b"A PDF starts with %PDF- and that is fine to mention.\n"),
        ("page.html", b"<!doctype html><title>Hours</title>" + b"<p>Open 9 to 5.</p>" * 10 + b"\x1a"),
        ("faq.md", "# FAQ\n\nÜbung macht den Meister.\n".encode()),
    ],
)
def test_an_upload_of_its_own_type_is_kept(tmp_path: Path, name: str, content: bytes) -> None:
    upload = tmp_path / "upload"
    upload.write_bytes(content)
    target, _ = add_document(tmp_path, upload, name, max_bytes=10**6)
    assert target.read_bytes() == content


def test_reasons_on_the_staff_page_name_no_library_exception(tmp_path: Path) -> None:
    """The readers' reasons keep the exception for the log and the command line; the staff
    page's report and rows say it in plain words."""
    import zipfile

    from kb.errors import DocumentError
    from kb.ingest.report import plain_reason
    from kb.ingest.work import reason
    from kb.reading.documents import read_document

    (tmp_path / "setup.pdf").write_bytes(PROGRAM)
    with zipfile.ZipFile(tmp_path / "consent.docx", "w") as package:  # a ZIP, not a Word package
        package.writestr("readme.txt", "not a document")
    reasons = []
    for name in ("setup.pdf", "consent.docx"):
        with pytest.raises(DocumentError) as failed:
            read_document(tmp_path / name, tmp_path)
        reasons.append(reason(failed.value, name))
    reasons.append(reason(ZeroDivisionError("division by zero"), "faq.md"))
    assert all("Error" in r for r in reasons), reasons  # as the readers say it
    plain = [plain_reason(r) for r in reasons]
    for text in plain:
        assert "Error" not in text and "division by zero" not in text, text
    assert plain[0].startswith("It is not a readable PDF. The file may be damaged")
    assert plain[1].startswith("It is not a readable Word (.docx) file. If it is an old .doc")
    assert plain[2] == (
        "It could not be read: the reader stopped on it. This is a fault in the reader; the file is "
        "skipped. Please report it with the file."
    )
    # ...in the report and in the table's rows alike.
    last = {"at": "2999-01-01T00:00:00+00:00", "failed": [{"source": "setup.pdf", "reason": reasons[0]}]}
    [row] = [r for r in folder_status(tmp_path, [], last) if r.source == "setup.pdf"]
    assert row.reason == plain[0]
    assert f"Could not be read: setup.pdf. {plain[0]}" in plain_report(last, [])


# --- one action at a time on each document --------------------------------------------------


def test_actions_on_one_document_wait_their_turn_and_say_what_comes() -> None:
    import threading

    from kb.web.document_files import DocumentActions

    actions = DocumentActions()
    removal = actions.queue("faq.md", "removing")
    assert actions.start(removal, 0) and actions.doing() == {"faq.md": "removing"}
    other = actions.queue("hours.md", "removing")
    assert actions.start(other, 0)  # another document does not wait
    restore = actions.queue("faq.md", "restoring")
    assert actions.doing() == {"faq.md": "restoring", "hours.md": "removing"}  # the newest says
    assert not actions.start(restore, 0.05)  # the removal is still under way
    started = threading.Event()
    waiter = threading.Thread(target=lambda: actions.start(restore, 10) and started.set())
    waiter.start()
    assert not started.wait(0.2)
    actions.end(removal)
    waiter.join(5)
    assert started.is_set()
    actions.end(restore)
    actions.end(other)
    assert actions.doing() == {}


def test_rows_say_removing_and_restoring_while_an_action_is_under_way(tmp_path: Path) -> None:
    from kb.web.document_files import with_actions

    (tmp_path / "faq.md").write_text("# FAQ")
    (tmp_path / "hours.md").write_text("# Hours")
    remove_document(tmp_path, "hours.md")
    rows = folder_status(tmp_path, [], None)
    shown = {(r.source, r.state): r for r in with_actions(rows, {"faq.md": "removing", "hours.md": "restoring"})}
    assert shown[("faq.md", "removing")].mark is None
    assert ("hours.md", "restoring") in shown  # a row of its own: neither folder nor index has it now
    assert shown[("hours.md", "removed")].removed_name is None  # no Restore button meanwhile


# --- the staff table ------------------------------------------------------------------------


def test_the_staff_table_marks_new_and_changed_rows_folds_long_reasons_and_sorts_by_data(tmp_path: Path) -> None:
    import hashlib

    from kb.web.render import staff_table_html

    for name, text in [("added.md", "added"), ("edited.md", "edited"), ("fresh.md", "fresh"), ("old.md", "old")]:
        (tmp_path / name).write_text(text)
    records = [_record(name, hashlib.sha256(name.split(".")[0].encode()).hexdigest()) for name in ("added.md", "old.md")]
    records.append(_record("edited.md", "an older sha"))
    long = "It is not a readable PDF. " + "The file may be damaged or only partly downloaded. " * 3
    last = {
        "at": "2999-01-01T00:00:00+00:00",
        "added": ["added.md"],
        "failed": [{"source": "broken.pdf", "reason": long}],
    }
    (tmp_path / "broken.pdf").write_bytes(PDF)
    rows = {r.source: r for r in folder_status(tmp_path, records, last)}
    assert {s: r.mark for s, r in rows.items()} == {
        "added.md": "new",  # indexed by the last ingest
        "edited.md": "changed",
        "fresh.md": "new",
        "old.md": None,
        "broken.pdf": None,
    }
    html = staff_table_html(list(rows.values()))
    assert html.count('class="kb-mark kb-mark-new">New</span>') == 2
    assert '<details class="kb-reason"><summary>It is not a readable PDF.</summary>' in html
    assert '<th scope="col" data-key="size"><button type="button" class="kb-sort">Size<span' in html
    assert f'<td data-label="Size" data-sort="{len(PDF)}">' in html


def test_the_staff_table_escapes_names_titles_and_reasons() -> None:
    from kb.web.document_files import FileStatus
    from kb.web.render import staff_table_html

    hostile = "<img src=x onerror=alert(1)>"
    row = FileStatus(f"{hostile}.md", "failed", hostile * 10, hostile, "markdown", None, 2, 10, None, mark="new")
    html = staff_table_html([row])
    assert "<img" not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") == 15
