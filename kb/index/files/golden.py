"""The golden questions staff wrote from real questions, in the index folder
(``golden-questions.jsonl``): kept across generations, each write replaces the file atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from filelock import FileLock

GOLDEN = "golden-questions.jsonl"


def read_golden(index_dir: Path) -> list[dict]:
    try:
        text = (Path(index_dir) / GOLDEN).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def change_golden(index_dir: Path, keep: dict | None = None, drop: str | None = None) -> bool:
    """Add or replace ``keep`` (by its id), or remove the question ``drop``; returns whether
    the file changed. Writers take turns (a lock file); readers always see a whole file."""
    folder = Path(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / f"{GOLDEN}.lock"), timeout=30):
        rows = read_golden(folder)
        wanted = keep["id"] if keep is not None else drop
        kept = [r for r in rows if r.get("id") != wanted]
        changed = len(kept) != len(rows) or keep is not None
        if keep is not None:
            kept.append(keep)
        if changed:
            partial = folder / f".{GOLDEN}.{os.getpid()}.partial"
            with open(partial, "w", encoding="utf-8") as out:
                out.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, folder / GOLDEN)
        return changed
