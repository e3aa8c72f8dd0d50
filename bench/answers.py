"""What the query benchmarks share: the questions they ask, answers timed part by part,
and percentiles."""

from __future__ import annotations

import json
from pathlib import Path

from kb.search import PARTS, KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


def eval_questions(limit: int) -> list[str]:
    """The evaluation questions (patients' wording, both splits; each once, then again from
    the start) up to ``limit``: timing only, nothing is tuned on them here."""
    rows = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").open(encoding="utf-8")]
    found = list(dict.fromkeys(r["question"] for r in rows))
    return (found * (limit // max(len(found), 1) + 1))[:limit]


def timed_answers(kb: KnowledgeBase, questions: list[str]) -> tuple[list[float], dict[str, list[float]]]:
    """Each answer's ``took_ms``, and the milliseconds of each of its parts (kb.search.PARTS)."""
    totals, parts = [], {p: [] for p in PARTS}
    for q in questions:
        answer = kb.answer(q, 5)
        totals.append(answer.took_ms)
        for p in PARTS:
            parts[p].append(answer.parts.get(p, 0.0))
    return totals, parts
