"""The question log: what one logged question is, and the masking every store applies
before it keeps a byte of it. The files backend keeps the log in SQLite beside the index
(kb/index/files/questions.py), Postgres in a table (kb/index/postgres/caches.py).

Private by design: an entry holds the question as asked (masked), when, through which
door, what the search made of it and any vote on its passages. Never the asker's address,
cookie, session or browser: no field could hold them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

Door = Literal["page", "api", "gradio_api", "mcp"]
DOORS: tuple[Door, ...] = ("page", "api", "gradio_api", "mcp")
Reason = Literal["covered", "not_covered", "small_talk"]
REASONS: tuple[Reason, ...] = ("covered", "not_covered", "small_talk")
#: What staff may do with a group of questions on the Questions tab.
HANDLED = ("answered", "fine", "dismissed")

#: The longest question kept (the search refuses longer ones) and the passages kept per entry.
MAX_CHARS = 1000
MAX_PASSAGES = 5

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
#: A run of digits with the separators phone numbers are written with: "+44 (0)20 7946-0958",
#: "07700 900123", "555.123.4567".
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]*\d")
#: A run with this many digits is a phone number or another identifier (an NHS or card
#: number, a date of birth written 01021980), never something a question needs.
PHONE_DIGITS = 7
LONG_DIGITS = 16


def mask(text: str) -> str:
    """``text`` with e-mail addresses, phone numbers and long digit runs replaced:
    "[email]", "[phone]", "[number]". Short numbers stay ("day 4", "38.9 degrees", "SPF 30",
    "2 weeks", "2026")."""
    text = _EMAIL.sub("[email]", text)

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        digits = sum(c.isdigit() for c in run)
        if digits >= LONG_DIGITS:
            return "[number]"
        if digits >= PHONE_DIGITS:
            return "[phone]"
        return run

    return _DIGIT_RUN.sub(replace, text)


@dataclass(frozen=True)
class LoggedQuestion:
    question: str  # masked
    at: str  # ISO 8601, UTC, to the second
    door: Door
    reason: Reason
    urgent: bool
    passages: tuple[str, ...] = field(default=())  # the top passages' ids, best first
    vote: str | None = None  # "helpful" / "not helpful" on one of them, the last one given
    id: int | None = None
    #: What staff did with it on the Questions tab: "answered", "fine" or "dismissed".
    handled: str | None = None

    def stored(self) -> tuple:
        """The row a store writes: masked again, whoever built the entry."""
        if self.door not in DOORS or self.reason not in REASONS:
            raise ValueError(f"A logged question needs a door in {DOORS} and a reason in {REASONS}.")
        return (
            self.at,
            self.door,
            self.reason,
            bool(self.urgent),
            mask(self.question.strip()[:MAX_CHARS]),
            json.dumps(list(self.passages[:MAX_PASSAGES])),
        )

    @classmethod
    def from_row(cls, row: tuple) -> LoggedQuestion:
        """From (id, at, door, reason, urgent, question, passages JSON, vote, handled)."""
        id_, at, door, reason, urgent, question, passages, vote, handled = row
        return cls(question, at, door, reason, bool(urgent), tuple(json.loads(passages)), vote, id_, handled)
