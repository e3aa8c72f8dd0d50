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
