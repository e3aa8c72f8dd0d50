"""The golden-question format (eval/README.md): labelled questions in JSONL, one object a
line with id, question, split, kind and answers ([{source, contains, page?}], empty for
questions the documents do not answer). Read by the evaluation, the golden check after
each ingest and the not-covered decision's examples; below the search, so the search never
reaches up into ``kb.quality`` for it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["answerable", "near", "far", "small_talk"]


@dataclass(frozen=True)
class Expected:
    """One passage that answers a question: its document, page (PDFs) and a phrase in it."""

    source: str
    contains: str
    page: int | None = None


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    split: str  # "dev" (tune on it) or "test" (report only)
    kind: Kind = "answerable"
    answers: tuple[Expected, ...] = ()
    style: str = ""


def question_from(item: dict) -> Question:
    """One question from its JSON object.

    Raises:
        ValueError: not a question record, or an answerable one without answers (or
        another kind with some).
    """
    try:
        answers = tuple(Expected(a["source"], a["contains"], a.get("page")) for a in item.get("answers", []))
        kind = item.get("kind", "answerable" if answers else "near")
        found = Question(item["id"], item["question"], item["split"], kind, answers, item.get("style", ""))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a question record ({exc!r})") from None
    if (kind == "answerable") != bool(answers):
        raise ValueError("an answerable question needs answers, others none")
    return found


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file of question records."""
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(question_from(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{path}, line {number}: {exc}.") from None
    return out


def belongs(questions: Sequence[Question], sources: set[str]) -> bool:
    """Whether questions belong to a collection of these documents: any answerable one is
    answered by a document it holds."""
    return any(a.source in sources for q in questions if q.kind == "answerable" for a in q.answers)


def questions_in(path: Path) -> list[Question]:
    """``load_questions(path)``, or none when the file is missing or unreadable (a clinic
    without golden questions, a file being edited)."""
    try:
        return load_questions(path)
    except (OSError, ValueError):
        return []


def questions_from(rows: Sequence[dict]) -> list[Question]:
    """The well-formed question records among ``rows`` (staff's, kept with an index)."""
    found = []
    for row in rows:
        try:
            found.append(question_from(row))
        except ValueError:
            continue
    return found
