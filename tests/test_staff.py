"""Staff file operations: sanitized names, limits, atomic replace, recoverable removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import KBError
from kb.web.document_files import REMOVED, add_document, remove_document, safe_name


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
