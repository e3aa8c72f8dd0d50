"""Search quality, measured: labelled questions -> ranks -> Recall@k, MRR@10, nDCG@10, and
how well the answered / not-covered decision holds.

Questions run through ``KnowledgeBase.answer``, the call behind ``/search``, so what is
measured is what a patient sees. A hit answers a question when it comes from the labelled
document (and page, where the label names one) and contains the labelled phrase; labels
name a phrase rather than a passage id so they survive re-chunking.

Pure Python apart from the knowledge base passed in: no I/O except reading the JSONL files.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.golden_questions import Expected, Question
from kb.reading.documents import DOCUMENT_TYPES
from kb.search import Hit, KnowledgeBase
from kb.search.ranking import keyword_weight
from kb.search.triage import reassures

#: How many hits are judged: MRR@10 and nDCG@10 look no further.
DEPTH = 10


def normalize(text: str) -> str:
    """Lower case, one kind of dash, quote and space: labels match however the reader
    rendered punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[‐-―−]", "-", text)
    text = re.sub(r"[‘’‚′]", "'", text)
    text = re.sub(r"[“”„″]", '"', text)
    return " ".join(text.split())


def matches(hit: Hit, expected: Expected) -> bool:
    if hit.source != expected.source:
        return False
    if expected.page is not None and hit.page is not None and hit.page != expected.page:
        return False
    return normalize(expected.contains) in normalize(hit.text)


def judge(hits: Sequence[Hit], answers: Sequence[Expected]) -> list[int | None]:
    """For each hit, the index of the first not-yet-found answer it contains, else None.

    Each answer counts once, so two overlapping passages holding the same phrase are one
    relevant passage and a duplicate."""
    found: set[int] = set()
    out: list[int | None] = []
    for hit in hits:
        got = next((i for i, a in enumerate(answers) if i not in found and matches(hit, a)), None)
        if got is not None:
            found.add(got)
        out.append(got)
    return out


def first_relevant_rank(judged: Sequence[int | None]) -> int | None:
    return next((rank for rank, j in enumerate(judged, start=1) if j is not None), None)


def reciprocal_rank(judged: Sequence[int | None], depth: int = DEPTH) -> float:
    rank = first_relevant_rank(judged[:depth])
    return 1.0 / rank if rank else 0.0


def ndcg(judged: Sequence[int | None], relevant: int, depth: int = DEPTH) -> float:
    """Binary-gain nDCG@depth, the ideal ranking putting all ``relevant`` answers first."""
    if relevant <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, j in enumerate(judged[:depth], start=1) if j is not None)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(relevant, depth) + 1))
    return dcg / ideal


@dataclass(frozen=True)
class Outcome:
    """One question's result."""

    question: Question
    answered: bool
    rank: int | None  # rank of the first passage that answers it, within DEPTH
    rr: float
    ndcg: float
    top: str  # passage id of the first hit, for reading failures
    score: float  # the first hit's score
    reason: str = "covered"  # the answer's reason: covered, not_covered, small_talk
    confidence: float = 0.0  # the answer's confidence that the documents cover it


@dataclass
class Figures:
    """Aggregates over a set of outcomes. Rates are shares in [0, 1]."""

    answerable: int = 0
    unanswerable: int = 0
    recall: dict[int, float] = field(default_factory=dict)  # k -> share with a hit in the top k
    mrr: float = 0.0
    ndcg: float = 0.0
    declined_off_topic: float = 0.0  # unanswerable questions answered "not covered"
    declined_near: float = 0.0
    declined_far: float = 0.0
    wrongly_declined: float = 0.0  # answerable questions answered "not covered"
    small_talk: float = 0.0  # small-talk messages answered as small talk
    chat: int = 0  # small-talk messages asked


def figures(outcomes: Iterable[Outcome], ks: Sequence[int] = (1, 3, 5)) -> Figures:
    outcomes = list(outcomes)
    answerable = [o for o in outcomes if o.question.kind == "answerable"]
    off = [o for o in outcomes if o.question.kind in ("near", "far")]
    chat = [o for o in outcomes if o.question.kind == "small_talk"]
    f = Figures(answerable=len(answerable), unanswerable=len(off), chat=len(chat))
    f.small_talk = _share(o.reason == "small_talk" for o in chat)
    if answerable:
        f.recall = {k: _share(o.rank is not None and o.rank <= k for o in answerable) for k in ks}
        f.mrr = sum(o.rr for o in answerable) / len(answerable)
        f.ndcg = sum(o.ndcg for o in answerable) / len(answerable)
        f.wrongly_declined = _share(not o.answered for o in answerable)
    if off:
        f.declined_off_topic = _share(not o.answered for o in off)
        f.declined_near = _share(not o.answered for o in off if o.question.kind == "near")
        f.declined_far = _share(not o.answered for o in off if o.question.kind == "far")
    return f


def _share(flags: Iterable[bool]) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else 0.0


def run(kb: KnowledgeBase, questions: Sequence[Question], depth: int = DEPTH) -> list[Outcome]:
    """Ask every question through ``kb.answer`` and judge the top ``depth`` hits. A question
    never counts as its own example of covered or not (``KnowledgeBase.answer``'s
    ``leave_out``): golden questions are asked of the index they are examples for."""
    out = []
    for q in questions:
        answer = kb.answer(q.question, depth, leave_out=True)
        judged = judge(answer.hits, q.answers)
        top = answer.hits[0] if answer.hits else None
        out.append(
            Outcome(
                q,
                answer.answered,
                first_relevant_rank(judged),
                reciprocal_rank(judged, depth),
                ndcg(judged, len(q.answers), depth),
                top.passage_id if top else "",
                top.score if top else 0.0,
                answer.reason,
                answer.confidence,
            )
        )
    return out


def missing_labels(kb: KnowledgeBase, questions: Sequence[Question]) -> list[tuple[str, Expected]]:
    """Labels whose phrase is in no passage of their document: a label to fix, or text
    the reader lost."""
    by_source: dict[str, str] = {}
    bad = []
    for q in questions:
        for a in q.answers:
            if a.source not in by_source:
                passages = kb.generation.passages_of(a.source)
                by_source[a.source] = "\n".join(
                    f"[p{p.page}] {normalize(p.text)}" if p.page else normalize(p.text) for p in passages
                )
            text = by_source[a.source]
            if normalize(a.contains) not in text:
                bad.append((q.id, a))
    return bad


def by_document_type(outcomes: Iterable[Outcome]) -> dict[str, Figures]:
    """Figures of the answerable questions grouped by the type of their first answer's
    document (pdf, docx, html, markdown, text)."""
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        if o.question.answers:
            kind = DOCUMENT_TYPES.get(Path(o.question.answers[0].source).suffix.lower(), "other")
            groups.setdefault(kind, []).append(o)
    return {kind: figures(group) for kind, group in sorted(groups.items())}


def answered_in_list_items(questions: Sequence[Question], documents_dir: Path) -> set[str]:
    """Ids of the answerable questions whose every labelled answer lies inside one item of
    a list, as the reader reads the document: the answers a passage of a long list hides."""
    from kb.reading.documents import read_document

    items: dict[str, list[str]] = {}

    def listed(answer: Expected) -> bool:
        if answer.source not in items:
            try:
                document = read_document(Path(documents_dir) / answer.source, Path(documents_dir))
            except Exception:  # a document that no longer reads has no list items to find
                items[answer.source] = []
            else:
                items[answer.source] = [normalize(b.text) for b in document.blocks if b.role == "item"]
        phrase = normalize(answer.contains)
        return any(phrase in item for item in items[answer.source])

    return {q.id for q in questions if q.kind == "answerable" and q.answers and all(listed(a) for a in q.answers)}


def calibrate(outcomes: Sequence[Outcome], max_wrongly_declined: float = 0.05) -> float:
    """The highest threshold on the answers' confidence that declines no more than
    ``max_wrongly_declined`` of the answerable questions: the operating point that keeps
    answers and declines as many off-topic questions as that allows."""
    scores = sorted(o.confidence for o in outcomes if o.question.kind == "answerable")
    if not scores:
        return 0.0
    allowed = int(math.floor(max_wrongly_declined * len(scores) + 1e-9))
    return scores[allowed]


def at_threshold(outcomes: Sequence[Outcome], threshold: float) -> list[Outcome]:
    """The outcomes as if the answered decision were made at ``threshold``."""
    return [dataclasses.replace(o, answered=o.confidence >= threshold and o.score > 0) for o in outcomes]


# --- tuning: every signal of every passage for every question, then weights tried fast ---


@dataclass(frozen=True)
class SignalTable:
    """Signals (questions, passages) per name, and which passages answer each question."""

    signals: dict[str, np.ndarray]  # name -> float32 (questions, passages)
    relevant: np.ndarray  # bool (questions, passages)
    answerable: np.ndarray  # bool (questions,)
    groups: np.ndarray | None = None  # int (passages,): passages of one record count once
    known_words: np.ndarray | None = None  # int (questions,): query stems the collection knows


SIGNALS = ("passage", "sentence", "question", "heading", "lexical")


def signal_table(kb: KnowledgeBase, questions: Sequence[Question]) -> SignalTable:
    """Every signal of every passage for each question, through the same rewrite, model
    and signals as ``KnowledgeBase.search``."""
    generation = kb.generation
    passages = generation.passages_at(range(generation.passage_count))
    rows = {name: [] for name in SIGNALS}
    relevant, known = [], []
    for q in questions:
        s = kb.signals(q.question)
        for name in SIGNALS:
            rows[name].append(getattr(s, name))
        known.append(s.known_words)
        relevant.append([any(matches(p, a) for a in q.answers) for p in passages])
    return SignalTable(
        {name: np.vstack(v) if v else np.zeros((0, len(passages)), np.float32) for name, v in rows.items()},
        np.array(relevant, dtype=bool).reshape(len(questions), len(passages)),
        np.array([q.kind == "answerable" for q in questions], dtype=bool),
        known_words=np.array(known, dtype=np.int64),
    )


def table_figures(
    table: SignalTable, weights: dict[str, float], depth: int = DEPTH, full_length: int = 0
) -> dict[str, float]:
    """MRR@depth, R@1 and R@3 of the answerable questions, and the best scores of all
    questions, for a weighted sum of the signals (the keyword weight shrinking past
    ``full_length`` known words, as ``ranking.keyword_weight`` does)."""
    weights = dict(weights)
    lexical = weights.pop("lexical", 0.0)
    scores = sum(w * table.signals[name] for name, w in weights.items() if w)
    if lexical:
        known = table.known_words if table.known_words is not None else np.zeros(len(table.answerable))
        shrunk = np.array([keyword_weight(lexical, full_length, int(n)) for n in known])[:, None]
        scores = scores + shrunk * table.signals["lexical"] + (lexical - shrunk) * table.signals["passage"]
    width = min(depth * 5, scores.shape[1])
    top = np.argpartition(-scores, width - 1, axis=1)[:, :width]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
    hits = np.take_along_axis(table.relevant, top, axis=1)
    if table.groups is not None:  # a record's first passage stands for it
        hits = _first_of_group(hits, table.groups[top])
    hits = hits[:, :depth]
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    answerable = table.answerable
    rr = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)[answerable]
    best = np.take_along_axis(scores, top[:, :1], axis=1)[:, 0]
    return {
        "MRR": float(rr.mean()) if len(rr) else 0.0,
        "R@1": float(((first == 1) & answerable).sum() / max(answerable.sum(), 1)),
        "R@3": float(((first > 0) & (first <= 3) & answerable).sum() / max(answerable.sum(), 1)),
        "best": best,
    }


def _first_of_group(hits: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = np.zeros_like(hits)
    for i in range(len(hits)):
        _, firsts = np.unique(groups[i], return_index=True)
        keep = np.sort(firsts)
        out[i, : len(keep)] = hits[i, keep]
    return out


def warning_figures(
    kb: KnowledgeBase, path: Path, split: str, ordinary: Sequence[Question] = ()
) -> dict[str, float]:
    """Recall and precision of the urgent flag on a warning-sign set (JSONL: question,
    urgent, split), through ``KnowledgeBase.answer``; ``ordinary`` questions (the clinic
    set's, none of them urgent) count as not urgent too, as in real traffic."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["split"] == split]
    rows += [{"question": q.question, "urgent": False} for q in ordinary if q.split == split]
    answers = [(r["urgent"], kb.answer(r["question"], 5)) for r in rows]
    flagged = [(want, answer.urgent) for want, answer in answers]
    tp = sum(1 for want, got in flagged if want and got)
    fp = sum(1 for want, got in flagged if got and not want)
    fn = sum(1 for want, got in flagged if want and not got)
    # What the cards of the urgent answers mark: a sentence about the warning signs, or one
    # that reassures ("…oozing is expected").
    cards = [h.highlight for want, answer in answers if want and answer.urgent for h in answer.hits]
    return {
        "n": len(rows),
        "urgent": tp + fn,
        "false alarms": fp,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "cards": len(cards),
        "cards naming a warning sign": sum(1 for c in cards if kb.rules.named_in_document(c) and not reassures(c)),
        "cards reassuring": sum(1 for c in cards if reassures(c)),
    }
