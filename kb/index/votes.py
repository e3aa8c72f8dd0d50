"""Helpful / not helpful votes on passages: what a vote is and how it is checked. They
outlive every index generation: the files backend keeps them in SQLite beside the index
(kb/index/files/votes.py), Postgres in a table (kb/index/postgres/caches.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kb.errors import QueryError
from kb.index.clock import now_iso

Vote = Literal["helpful", "not helpful"]
VOTES: tuple[Vote, ...] = ("helpful", "not helpful")


@dataclass(frozen=True)
class Feedback:
    question: str
    passage_id: str
    vote: Vote
    at: str  # ISO 8601, UTC


def checked_vote(question: str, passage_id: str, vote: str) -> Feedback:
    """The vote as it is kept, stamped now; question and passage trimmed to their limits.

    Raises:
        QueryError: an unknown vote, or no question or passage.
    """
    if vote not in VOTES:
        raise QueryError(f"vote must be one of {', '.join(VOTES)}; got {vote!r}.")
    question, passage_id = (question or "").strip()[:1000], (passage_id or "").strip()[:300]
    if not question or not passage_id:
        raise QueryError("A vote needs the question and the passage it is about.")
    return Feedback(question, passage_id, vote, now_iso())  # type: ignore[arg-type]
