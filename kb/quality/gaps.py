"""Content gaps: the logged questions the documents did not answer (declined as not
covered, or voted "Not helpful"), grouped by meaning so that paraphrases of one need are
one group, largest first. Staff read them on the staff page's Questions tab and through
the staff API's ``/questions``.

Grouping embeds the questions with the search's own model and joins them by average
linkage (scipy): a group holds questions whose mean cosine to each other is at least
``SAME_NEED``, chosen on eval/question_groups.jsonl (docs/QUALITY.md, "Content gaps").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

from kb.embedding import Embedder
from kb.index.questions import LoggedQuestion

GapReason = Literal["not_covered", "not_helpful"]

#: The least mean cosine between the questions of one group.
SAME_NEED = 0.4
#: Examples shown per group.
EXAMPLES = 5


@dataclass(frozen=True)
class Gap:
    label: str  # the question nearest the group's centre
    count: int  # times asked (the same words asked twice count twice)
    reason: GapReason  # "not_covered" unless every asking was answered and voted down
    first: str  # when first and last asked, ISO 8601 UTC
    last: str
    examples: tuple[str, ...]  # distinct wordings, most asked first
    ids: tuple[int, ...] = ()  # the log's entries (for staff's actions; not in the JSON)

    def as_json(self) -> dict:
        return {
            "label": self.label,
            "count": self.count,
            "reason": self.reason,
            "first": self.first,
            "last": self.last,
            "examples": list(self.examples),
        }


def unanswered(entries: Sequence[LoggedQuestion]) -> list[LoggedQuestion]:
    """The entries that show a gap: declined as not covered, or answered and voted
    "Not helpful". Small talk and answers nobody voted down are no gap."""
    return [
        e
        for e in entries
        if e.handled is None and (e.reason == "not_covered" or (e.reason == "covered" and e.vote == "not helpful"))
    ]


def since_days(days: int, now: datetime | None = None) -> str:
    """The ISO 8601 moment ``days`` before now: the start of a "last 7 / 30 / 90 days" view."""
    now = now or datetime.now(UTC)
    return (now - timedelta(days=days)).replace(microsecond=0).isoformat()


def group(entries: Sequence[LoggedQuestion], embedder: Embedder, same_need: float = SAME_NEED) -> list[Gap]:
    """The gaps among ``entries``, largest first (then most recent)."""
    gaps = unanswered(entries)
    if not gaps:
        return []
    texts = list(dict.fromkeys(e.question for e in gaps))  # each wording embedded once
    # Never encode_kept: patients' questions are not written to the model's cache folder.
    vectors = np.asarray(embedder.encode_passages(texts), dtype=np.float32)
    labels = _clusters(vectors, same_need)
    by_text = dict(zip(texts, labels, strict=True))
    row_of = {t: n for n, t in enumerate(texts)}
    members: dict[int, list[LoggedQuestion]] = {}
    for entry in gaps:
        members.setdefault(by_text[entry.question], []).append(entry)
    found = []
    for label, asked in members.items():
        wordings = [t for t in texts if by_text[t] == label]
        counts = {t: sum(1 for e in asked if e.question == t) for t in wordings}
        rows = [row_of[t] for t in wordings]
        centre = vectors[rows].mean(axis=0)
        nearest = wordings[int(np.argmax(vectors[rows] @ centre))]
        found.append(
            Gap(
                nearest,
                len(asked),
                "not_covered" if any(e.reason == "not_covered" for e in asked) else "not_helpful",
                min(e.at for e in asked),
                max(e.at for e in asked),
                tuple(sorted(wordings, key=lambda t: (-counts[t], t))[:EXAMPLES]),
                tuple(e.id for e in asked if e.id is not None),
            )
        )
    found.sort(key=lambda g: g.last, reverse=True)  # most recent first among equals
    return sorted(found, key=lambda g: g.count, reverse=True)


def _clusters(vectors: np.ndarray, same_need: float) -> list[int]:
    """A group number per vector (unit length): average linkage, cut where the mean
    cosine between two groups falls below ``same_need``."""
    if len(vectors) == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors, method="average", metric="cosine")
    return [int(n) for n in fcluster(tree, t=1.0 - same_need, criterion="distance")]


def weekly(entries: Sequence[LoggedQuestion]) -> list[tuple[str, str, int]]:
    """(week's Monday, "answered" or "not covered", questions) for the weekly chart; small
    talk is neither."""
    counts: dict[tuple[str, str], int] = {}
    for e in entries:
        if e.reason == "small_talk":
            continue
        day = datetime.fromisoformat(e.at).date()
        week = (day - timedelta(days=day.weekday())).isoformat()
        outcome = "answered" if e.reason == "covered" else "not covered"
        counts[(week, outcome)] = counts.get((week, outcome), 0) + 1
    return [(week, outcome, n) for (week, outcome), n in sorted(counts.items())]
