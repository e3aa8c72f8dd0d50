"""Warning signs in a question, and the clinic's urgent contact from its own documents.

Pure pattern matching: the words patients use to describe the complications the clinic's
risk leaflet lists as reasons to call (fever, pus, spreading redness, blisters, severe or
worsening pain, eye problems, skin that looks burned). False alarms are cheap here (a
notice to call), missed ones are not, so the patterns lean towards matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WARNING_SIGNS: dict[str, str] = {
    "fever": r"\bfever(ish)?\b|\bhigh temperature\b|\bchills\b|\bshivering\b",
    "pus or discharge": r"\bpus\b|\boozing (yellow|green|thick)|\b(yellow|green)(ish)? (crusts?|discharge|fluid|scabs?)\b"
    r"|\bfoul (smell|odou?r)\b|\bsmells? bad\b",
    "blisters or new sores": r"\bblister(s|ing|ed)?\b|\bnew (sores?|spots?|bumps?)\b|\b(painful|open|weeping) sores?\b",
    "spreading or worsening redness, swelling or pain": r"\b(spreading|spreads|spread|getting worse|worsening|"
    r"increasing|worse)\b[^.?!]{0,40}\b(redness|red|swelling|swollen|pain|painful|warm|hot)\b|\b(redness|swelling|"
    r"pain|warmth)\b[^.?!]{0,40}\b(spread|spreading|spreads|getting worse|worsening|increasing|worse)\b"
    r"|\bmore (swollen|red|painful|sore)\b|\b(redder|hotter)\b",
    "severe pain": r"\b(severe|unbearable|intense|excruciating|terrible|extreme|throbbing)\s+(pain|burning|swelling)\b",
    "eye symptoms": r"\b(eye|eyes|eyelids?)\b[^.?!]{0,30}\b(pain|painful|hurts?|hurting|swollen|red|burning|"
    r"watering)\b|\b(blurr(y|ed)|double|changed?|loss of|losing) (vision|sight)\b|\bcan'?t see\b",
    "signs of a burn": r"\blooks? (burn(ed|t)|charred|white|grey|gray)\b|\bburn(ed|t) (skin|face|area)\b"
    r"|\b(white|grey|gray) (patch|patches|area|skin)\b",
    "infection": r"\binfected\b|\b(signs? of|think i have|might have|have an?) infection\b",
    "breathing or chest symptoms": r"\b(trouble|difficulty|hard) breathing\b|\bshort(ness)? of breath\b|\bchest pain\b",
}
_PATTERNS = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in _WARNING_SIGNS.items()}

_PHONE = r"\+?\d[\d\s().-]{5,}\d"
_URGENT_LINE = re.compile(
    rf"[^.\n]*\b(urgent|emergency|after[- ]hours|on[- ]call|24[- ]hours?)\b[^.\n]*?{_PHONE}[^.\n]*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class UrgentContact:
    """The urgent line as the clinic's documents state it."""

    text: str  # e.g. "Urgent after-treatment line (24 hours, on-call nurse): 555-0199"
    source: str


def warning_signs(query: str) -> list[str]:
    """Names of the warning signs the query describes; empty if none."""
    return [name for name, pattern in _PATTERNS.items() if pattern.search(query)]


def find_urgent_contact(texts: list[tuple[str, str]]) -> UrgentContact | None:
    """The most often stated urgent line among (source, text) pairs, or None.

    Clinics repeat their urgent number in many documents; the line stated most often is the
    current one, and a single stale mention does not win.
    """
    counts: dict[str, int] = {}
    first_source: dict[str, str] = {}
    for source, text in texts:
        for match in _URGENT_LINE.finditer(text):
            line = " ".join(match.group(0).split()).strip(" :;-–")
            counts[line] = counts.get(line, 0) + 1
            first_source.setdefault(line, source)
    if not counts:
        return None
    best = max(counts, key=lambda line: (counts[line], -len(line)))
    return UrgentContact(best, first_source[best])
