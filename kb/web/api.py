"""The JSON the API returns (``/search``, ``/documents``, ``GET /api/search``), typed for
gradio's API page, and the in-flight limit of the plain route."""

# No `from __future__ import annotations` here: gr.api reads the return annotations of the
# API functions at run time to document them, and strings would document them as "Any".

import threading
from typing import TypedDict

from kb.search import Answer

#: The header the app's MCP server adds to a tool call (kb/web/server.py), so the question
#: log can tell MCP's questions from the gradio API's.
MCP_DOOR_HEADER = "x-kb-door"

# --- the JSON API: one function each, typed for gradio's API page ------------------------


class Passage(TypedDict):
    rank: int
    text: str
    highlight: str
    score: float
    match: float
    label: str
    source: str
    title: str
    page: int | None
    section: str | None
    passage_id: str


class SearchResult(TypedDict):
    question: str
    searched_for: list[str]
    answered: bool
    reason: str
    confidence: float
    urgent: bool
    message: str
    took_ms: float
    passages: list[Passage]


class Document(TypedDict):
    source: str
    title: str
    type: str
    pages: int | None
    passages: int
    ingested_at: str
    url: str
    notice: str | None


class BoundedCounter:
    """Requests in flight, refused past a limit (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.count = limit, 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.count >= self.limit:
                return False
            self.count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


def answer_json(answer: Answer) -> SearchResult:
    return {
        "question": answer.question,
        "searched_for": list(answer.searched_for),
        "answered": answer.answered,
        "reason": answer.reason,
        "confidence": round(answer.confidence, 4),
        "urgent": answer.urgent,
        "message": answer.message,
        "took_ms": round(answer.took_ms, 2),
        "passages": [
            {
                "rank": h.rank,
                "text": h.text,
                "highlight": h.highlight,
                "score": round(h.score, 4),
                "match": round(h.match, 4),
                "label": h.label,
                "source": h.source,
                "title": h.title,
                "page": h.page,
                "section": h.section,
                "passage_id": h.passage_id,
            }
            for h in answer.hits
        ],
    }


class DocumentStatus(TypedDict):
    source: str
    state: str
    reason: str | None
    title: str | None
    kind: str | None
    pages: int | None
    passages: int | None
    size: int | None
    changed_at: str | None
    removed_name: str | None
