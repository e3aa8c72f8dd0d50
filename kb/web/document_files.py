"""The documents folder as the app serves it (``served_path``: the one check every route
that opens a document by name makes), and the staff's actions on it: add or replace a
document, remove one.

File names are sanitized (no folders, no traversal, no hidden names), types and sizes are
limited, and writes are atomic, so a failed upload never leaves half a file. Removed
documents are moved to ``documents/.removed/`` (hidden from the ingester), not deleted.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from kb.errors import KBError
from kb.reading.documents import DOCUMENT_TYPES

REMOVED = ".removed"


def served_path(documents_dir: Path, source: str) -> Path | None:
    """The file ``source`` names, if the app may serve it: inside ``documents_dir`` once
    links are followed, no hidden part (".removed/", ".env"), a type the ingester reads,
    a regular file. None otherwise (also for names no file can have)."""
    documents_dir = Path(documents_dir).resolve()
    try:
        # resolve() follows symlinks, so one inside documents/ that points out is outside.
        path = (documents_dir / source).resolve()
        if not path.is_relative_to(documents_dir):
            return None
        if any(part.startswith(".") for part in path.relative_to(documents_dir).parts):
            return None
        if path.suffix.lower() not in DOCUMENT_TYPES or not path.is_file():
            return None
    except (OSError, ValueError):  # a NUL byte, a name too long, a symlink loop
        return None
    return path


def safe_name(name: str) -> str:
    """A plain file name from an uploaded name: no folders, no control characters, no
    leading dots, only letters, digits, spaces and . - _ ( ) ,

    Raises:
        KBError: nothing usable is left, or the type is not one the ingester reads.
    """
    base = Path(str(name).replace("\\", "/")).name
    base = unicodedata.normalize("NFKC", base)
    base = re.sub(r"[^\w.\- (),]+", "_", base).strip(" ._")
    base = re.sub(r"\s+", " ", base)[:120]
    suffix = Path(base).suffix.lower()
    if not Path(base).stem:
        raise KBError(f"The file name {name!r} has nothing usable left; rename the file and upload it again.")
    if suffix not in DOCUMENT_TYPES:
        kinds = ", ".join(sorted(DOCUMENT_TYPES))
        raise KBError(f"{base}: files of type {suffix or '(none)'} are not accepted; upload one of {kinds}.")
    return Path(base).stem + suffix


def add_document(documents_dir: Path, uploaded: Path, name: str, max_bytes: int) -> tuple[Path, bool]:
    """Copy an uploaded file into the documents folder under a safe name.

    Returns:
        (the new file's path, True if it replaced a document of the same name).

    Raises:
        KBError: bad name or type, empty or too large.
    """
    target_name = safe_name(name)
    size = Path(uploaded).stat().st_size
    if size == 0:
        raise KBError(f"{target_name} is empty (0 bytes); upload the full document.")
    if size > max_bytes:
        raise KBError(
            f"{target_name} is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit; split it."
        )
    documents_dir = Path(documents_dir).resolve()
    target = documents_dir / target_name
    if target.parent != documents_dir:  # safe_name makes this impossible; keep it so
        raise KBError(f"{name!r} would be saved outside the documents folder.")
    replaced = target.exists()
    partial = documents_dir / f".{target_name}.uploading"
    shutil.copyfile(uploaded, partial)
    os.replace(partial, target)
    return target, replaced


def remove_document(documents_dir: Path, source: str) -> Path:
    """Move a document out of the ingester's sight into ``documents/.removed/``.

    Returns:
        Where the file now is.

    Raises:
        KBError: no such document in the documents folder.
    """
    documents_dir = Path(documents_dir).resolve()
    path = (documents_dir / source).resolve()
    if not path.is_relative_to(documents_dir) or not path.is_file() or REMOVED in path.parts:
        raise KBError(f"There is no document {source!r} in the documents folder.")
    trash = documents_dir / REMOVED
    trash.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    moved = trash / f"{stamp}-{path.name}"
    os.replace(path, moved)
    return moved
