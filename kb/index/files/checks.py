"""The history logs in the index folder, one JSON line per record, appended, so a crash
mid-write tears at most the last line: ``golden.jsonl`` (the golden questions' figures after
each ingest) and ``ingests.jsonl`` (each ingest's report)."""

from __future__ import annotations

import json
from pathlib import Path

LOG_FILES = {"golden": "golden.jsonl", "ingests": "ingests.jsonl"}


def latest_records(index_dir: Path, log: str, limit: int) -> list[dict]:
    """The last ``limit`` records, newest first, read from the end of the file: a page
    that shows the last ingest reads a few KB however long the history grows."""
    try:
        f = open(Path(index_dir) / LOG_FILES[log], "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return []
    with f:
        start = f.seek(0, 2)
        tail = b""
        while start > 0 and tail.count(b"\n") <= limit:
            step = min(1 << 16, start)
            start -= step
            f.seek(start)
            tail = f.read(step) + tail
    lines = tail.decode("utf-8", "replace").splitlines()
    if start > 0:
        lines = lines[1:]  # begins mid-record
    found: list[dict] = []
    for line in reversed(lines):
        if len(found) >= limit:
            break
        try:
            found.append(json.loads(line))
        except ValueError:
            continue  # a torn last line from a crash: the ones before still count
    return found


def append_record(index_dir: Path, log: str, record: dict) -> None:
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(index_dir) / LOG_FILES[log], "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
