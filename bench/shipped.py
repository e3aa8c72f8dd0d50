"""The shipped documents, indexed afresh in a temporary folder: what most benchmarks run on."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.config import Settings
from kb.ingest import ingest

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def shipped_index(name: str) -> Iterator[Settings]:
    """Settings of a copy of documents/ and an index built from it, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shutil.copytree(ROOT / "documents", base / "documents")
        settings = Settings(documents_dir=base / "documents", index_dir=base / "index")
        print(f"{name}: building the shipped index …", file=sys.stderr)
        ingest(settings)
        yield settings
