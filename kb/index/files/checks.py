"""The golden questions' history in the index folder: one JSON line per check
(``golden.jsonl``), appended, so a crash mid-write tears at most the last line."""

from __future__ import annotations

import json
from pathlib import Path

HISTORY = "golden.jsonl"


def latest_checks(index_dir: Path, limit: int) -> list[dict]:
    try:
        lines = (Path(index_dir) / HISTORY).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found: list[dict] = []
    for line in reversed(lines):
        if len(found) >= limit:
            break
        try:
            found.append(json.loads(line))
        except ValueError:
            continue  # a torn last line from a crash: the ones before still count
    return found


def record_check(index_dir: Path, record: dict) -> None:
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(index_dir) / HISTORY, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
