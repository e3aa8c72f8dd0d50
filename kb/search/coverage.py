"""Whether the documents cover a question, decided from what the collection in service
holds, so the same model serves any clinic's documents.

A question about a treatment the documents never mention ("How long does Morpheus8
downtime last?") finds passages near in meaning (downtime after *laser*) that score well.
Three things give it away, and each is measured against the collection itself:

- its specific words: the treatment, product or body part it names is rare in English, and
  the documents either never use it or do not use it in the passages found;
- the examples: ``subjects.json`` lists subjects patients ask a skin clinic about (other
  services, the clinic's own business, laser resurfacing) with example questions. At
  ingest each subject's words are looked for in the collection (``subject_mentions``, kept
  in the manifest): the questions of a subject the documents discuss are examples of
  covered questions, those of another service the documents name at most in passing are
  examples of questions they do not cover. A question much nearer one of the latter than any of the
  former is likely not covered. The collection's own golden questions, when it has them,
  join the examples;
- the scores: the best hit's score, its best sentence, its keyword share.

``NotCovered`` is a logistic model over these ``FEATURES``, fit on the dev splits of
several collections (``evaluate.py --fit-decline``) and kept in ``not_covered.json`` beside
this file with the threshold chosen on them. The inputs are computed from the first
``DEPTH`` hits whatever the number of passages asked for, so the decision never depends on
``k``; a question never counts as its own example.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from kb.golden_questions import Question, belongs
from kb.index import lexical
from kb.index.base import Generation

logger = logging.getLogger(__name__)

#: The features, in the model's order.
FEATURES = ("top", "dense", "keyword", "covered", "unknown", "together", "like_covered", "nearer_other")
MODEL_FILE = Path(__file__).with_name("not_covered.json")
SUBJECTS_FILE = Path(__file__).with_name("subjects.json")
#: Hits the decision reads, whatever k was asked for.
DEPTH = 10
#: Passages whose words count as the answer's (the question's words may be spread over them).
_TOP = 3
#: A subject's questions are examples of covered ones in a collection that names it in
#: this many passages: the clinic's own business (its address, its insurance policy) once;
#: another service three times, since one mention is often in passing ("tell us about any
#: Botox injections"). Another service named in ``PASSING`` passages or fewer is not
#: offered: its questions are examples of not-covered ones. In between, neither. Chosen
#: by leave-one-collection-out on the dev splits (docs/QUALITY.md).
DISCUSSED_PASSAGES = {"core": 1, "other": 3}
PASSING = 1


@dataclass(frozen=True)
class Subject:
    name: str
    kind: str  # "core": the clinic's own business and laser resurfacing; "other": other services
    terms: tuple[str, ...]
    questions: tuple[str, ...]


@cache
def load_subjects(path: Path = SUBJECTS_FILE) -> tuple[Subject, ...]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return tuple(
        Subject(s["subject"], s["kind"], tuple(t.lower() for t in s["terms"]), tuple(s["questions"]))
        for s in data["subjects"]
    )


def subjects_fingerprint(subjects: Sequence[Subject]) -> str:
    """Changes with the subjects' terms, and with how mentions are counted."""
    digest = hashlib.sha256(
        json.dumps(["passages naming", [[s.name, s.kind, s.terms] for s in subjects]]).encode("utf-8")
    )
    return digest.hexdigest()[:16]


def subject_mentions(passages: Iterable[tuple[str, str]], subjects: Sequence[Subject]) -> dict[str, int]:
    """For each subject named anywhere, how many passages name it, from (heading, text)
    pairs (a heading is the passage's title and section); terms match whole words, in any
    case. One pass over each passage."""
    owner: dict[str, list[str]] = {}
    for s in subjects:
        for term in s.terms:
            owner.setdefault(term, []).append(s.name)
    if not owner:
        return {}
    terms = sorted(owner, key=len, reverse=True)  # the longest term wins where two overlap
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE)
    counts: dict[str, int] = {}
    for heading, text in passages:
        named = {
            name for m in pattern.finditer(f"{heading}\n{text}") for name in owner.get(m.group().lower(), ())
        }
        for name in named:
            counts[name] = counts.get(name, 0) + 1
    return counts


@dataclass(frozen=True)
class Examples:
    """Questions known to be covered or not in this collection, as vectors."""

    texts: tuple[str, ...]
    vectors: np.ndarray  # (n, dimension), unit length
    covered: np.ndarray  # bool (n,)

    @classmethod
    def empty(cls, dimension: int) -> Examples:
        return cls((), np.zeros((0, dimension), dtype=np.float32), np.zeros(0, dtype=bool))

    def likeness(self, vector: np.ndarray, leave_out: str | None = None) -> tuple[float, float]:
        """Cosine to the nearest covered example and to the nearest not-covered one (0
        where there is none). ``leave_out``: a question that must not count as an example
        of itself."""
        if not len(self.texts):
            return 0.0, 0.0
        similarity = self.vectors @ vector
        if leave_out is not None:
            similarity = np.where(np.array(self.texts) == leave_out, -2.0, similarity)
        near, far = similarity[self.covered], similarity[~self.covered]
        return (
            max(float(near.max()), 0.0) if (near > -2).any() else 0.0,
            max(float(far.max()), 0.0) if (far > -2).any() else 0.0,
        )


def example_questions(mentions: dict[str, int], subjects: Sequence[Subject]) -> tuple[list[str], list[bool]]:
    """The subjects' questions that are examples for a collection with these mentions,
    and whether each is an example of a covered question."""
    texts, covered = [], []
    for s in subjects:
        passages = mentions.get(s.name, 0)
        if passages >= DISCUSSED_PASSAGES[s.kind]:
            texts += s.questions
            covered += [True] * len(s.questions)
        elif passages <= PASSING and s.kind == "other":
            texts += s.questions
            covered += [False] * len(s.questions)
    return texts, covered


def mentions_in(generation: Generation, subjects: Sequence[Subject]) -> dict[str, int]:
    """``subject_mentions`` of a generation whose manifest lacks them (built by an older
    version, or with other subjects): from the passages that hold each term's first word."""
    first_words = sorted({term.split()[0] for s in subjects for term in s.terms})
    texts: dict[tuple[str, str], None] = {}
    for word in first_words:
        for source, text in generation.texts_mentioning(word):
            texts.setdefault((source, text))
    titles = {d.source: d.title for d in generation.documents()}
    return subject_mentions(((titles.get(source, ""), text) for source, text in texts), subjects)


def golden_examples(
    file: Sequence[Question], sources: set[str], staff: Sequence[Question] = ()
) -> tuple[list[str], list[bool]]:
    """The golden dev questions as examples, and whether each is covered: a golden file's
    when it belongs to these ``sources`` (none when it was written for other documents),
    and those staff wrote from real questions for this collection (kept with its index)."""
    asked = [*(file if belongs(file, sources) else ()), *staff]
    kept = [q for q in asked if q.split == "dev" and q.kind in ("answerable", "near", "far")]
    return [q.question for q in kept], [q.kind == "answerable" for q in kept]


@cache
def specificity(word: str) -> float:
    """How specific a word is, 0..1, from how rare it is in English (wordfreq's Zipf scale:
    "the" 7.7 -> 0, "laser" 4.2 -> 0.4, "botox" 3.1 -> 0.56, "morpheus8" -> 1)."""
    from kb.search.query import zipf

    return max(0.0, min(1.0, (7.0 - zipf(word)) / 7.0))


#: A word at least this common in English (Zipf: about once in 300,000 words; "after",
#: "long", "day", "time") says little of what a question is about: it is not marked in the
#: passages shown.
FILLER_ZIPF = 5.5


def content_stems(text: str) -> set[str]:
    """The stems of ``text``'s content words: not stopwords, not filler ("How long is the
    redness after one day?" -> "redness")."""
    from kb.search.query import zipf

    drop = lexical.query_stopwords()
    return {lexical.stem(w) for w in lexical.words(text) if w not in drop and zipf(w) < FILLER_ZIPF}


def query_weights(text: str) -> dict[str, float]:
    """The query's stems that are not stopwords, each weighted by how specific its word is."""
    drop = lexical.query_stopwords()
    weights: dict[str, float] = {}
    for word in lexical.words(text):
        if word not in drop:
            stem = lexical.stem(word)
            weights[stem] = max(weights.get(stem, 0.0), specificity(word))
    return weights


def features(
    question_words: list[str],
    hits: list,
    signals: dict,
    generation: Generation,
    likeness: tuple[float, float] = (0.0, 0.0),
) -> dict[str, float]:
    """The decision's inputs for one answer.

    Args:
        question_words: the words searched for (the question's and those the rewrite added).
        hits: the ranked hits (``Hit``), best first: the first ``DEPTH``.
        signals: passage row -> signal -> value for the hits (``Ranking.signals``).
        likeness: ``Examples.likeness`` of the question.

    Returns:
        top: the best hit's score; dense: the best sentence cosine among the hits; keyword:
        the best BM25 share; covered: the share of the question's specific words (weighted
        by ``specificity``) found in the top passages; unknown: the share the documents
        never use; together: the largest share found in one passage; like_covered: cosine
        to the nearest example of a covered question; nearer_other: how much nearer the
        nearest example of a not-covered question is than that.
    """
    values = list(signals.values())
    drop = lexical.query_stopwords()
    specific = {w: specificity(w) for w in dict.fromkeys(question_words) if w not in drop and len(w) > 2}
    weight = sum(specific.values()) or 1.0
    stems = {w: lexical.stem(w) for w in specific}
    each = [{lexical.stem(w) for w in lexical.words(h.text)} for h in hits[:_TOP]]
    found = set().union(*each)

    def share(words) -> float:
        return sum(specific[w] for w in words) / weight

    return {
        "top": hits[0].score if hits else 0.0,
        "dense": max((v.get("sentence", 0.0) for v in values), default=0.0),
        "keyword": max((v.get("lexical", 0.0) for v in values), default=0.0),
        "covered": share(w for w in specific if stems[w] in found),
        "unknown": share(w for w in specific if not generation.lexical.knows(stems[w])),
        "together": max((share(w for w in specific if stems[w] in one) for one in each), default=0.0),
        "like_covered": likeness[0],
        "nearer_other": likeness[1] - likeness[0],
    }


#: A passage's inputs to ``NotCovered.answers``: ``features`` of it alone, and how far its
#: score lies below the first hit's.
PASSAGE_FEATURES = ("dense", "keyword", "covered", "below_first")


def passage_features(
    question_words: list[str], hit, signals: dict, generation: Generation, first: float
) -> dict[str, float]:
    """``PASSAGE_FEATURES`` of one hit (``first``: the first hit's score)."""
    values = features(question_words, [hit], signals, generation)
    return {**values, "below_first": first - hit.score}


def _logistic(
    coef: Sequence[float], intercept: float, values: dict[str, float], names: Sequence[str]
) -> float:
    z = intercept + sum(c * values[name] for c, name in zip(coef, names, strict=True))
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


@dataclass(frozen=True)
class NotCovered:
    """Two logistic models: the probability that the documents cover the question, and
    the probability that a passage answers a question the documents cover."""

    coef: tuple[float, ...]
    intercept: float
    #: Covered when the probability is at least this (chosen on dev: see the file).
    threshold: float
    #: At or above this a passage is a strong match (a card's label).
    strong: float = 0.9
    passage_coef: tuple[float, ...] = ()
    passage_intercept: float = 0.0

    def probability(self, values: dict[str, float]) -> float:
        return _logistic(self.coef, self.intercept, values, FEATURES)

    def covered(self, values: dict[str, float]) -> bool:
        return self.probability(values) >= self.threshold

    def answers(self, values: dict[str, float]) -> float:
        """The probability that a passage with these ``PASSAGE_FEATURES`` answers a
        question the documents cover (1 when the file has no passage model)."""
        if not self.passage_coef:
            return 1.0
        return _logistic(self.passage_coef, self.passage_intercept, values, PASSAGE_FEATURES)

    @classmethod
    def load(cls, embedder: str, path: Path = MODEL_FILE) -> NotCovered | None:
        """The models fit for the embedding model ``embedder`` (their inputs are its cosines);
        for a model none was fit for, the default model's, with a warning; None when the
        file is missing or was fit for other features."""
        if not path.exists():
            return None
        fits = json.loads(path.read_text(encoding="utf-8"))["models"]
        data = fits.get(embedder)
        if data is None:
            fallback = next(iter(fits))
            logger.warning(
                "The not-covered decision was fit for %s, not for %s: its cosines may sit on another "
                "scale. Fit it for this model: python evaluate.py --fit-decline --model %s",
                fallback,
                embedder,
                embedder,
            )
            data = fits[fallback]
        if tuple(data["features"]) != FEATURES:
            logger.warning(
                "%s was fit for other features (%s); declining by the best score until "
                "`python evaluate.py --fit-decline` fits it again.",
                path,
                ", ".join(data["features"]),
            )
            return None
        passage = data.get("passage") or {}
        if passage and tuple(passage["features"]) != PASSAGE_FEATURES:
            logger.warning(
                "%s: its passage model was fit for other features; cards show the answer's confidence.", path
            )
            passage = {}
        return cls(
            tuple(data["coef"]),
            float(data["intercept"]),
            float(data["threshold"]),
            float(data.get("strong", 0.9)),
            tuple(passage.get("coef", ())),
            float(passage.get("intercept", 0.0)),
        )
