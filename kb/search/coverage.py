"""Whether the documents cover a question: more than the best hit's score.

A question about a treatment the documents never mention ("How long does Morpheus8
downtime last?") finds passages that are near in meaning (downtime after *laser*) and score
well. What gives it away is its specific words: the treatment, product, body part or
condition it names. Those words are rare in English, and the documents either do not know
them at all or do not use them in the passages found.

``features`` measures that, with the scores, for one answer; ``NotCovered`` is a logistic
model over them, fit on the evaluation set's dev split (``evaluate.py --fit-decline``) and
kept in ``not_covered.json`` beside this file with the threshold chosen on dev.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from kb.index import lexical
from kb.index.base import Generation

logger = logging.getLogger(__name__)

#: The features, in the model's order (chosen by cross-validation on dev, where the best
#: score, the rarest-word and spread features added nothing).
FEATURES = ("top", "dense", "keyword", "covered", "unknown", "together", "examples")
MODEL_FILE = Path(__file__).with_name("not_covered.json")
#: Passages whose words count as the answer's (the question's words may be spread over them).
_TOP = 3


@cache
def specificity(word: str) -> float:
    """How specific a word is, 0..1, from how rare it is in English (wordfreq's Zipf scale:
    "the" 7.7 -> 0, "laser" 4.2 -> 0.4, "botox" 3.1 -> 0.56, "morpheus8" -> 1)."""
    from kb.search.query import zipf

    return max(0.0, min(1.0, (7.0 - zipf(word)) / 7.0))


def features(
    question_words: list[str], hits: list, signals: dict, generation: Generation, examples: float = 0.0
) -> dict[str, float]:
    """The decision's inputs for one answer.

    Args:
        question_words: the words searched for (the question's and those the rewrite added).
        hits: the ranked hits (``Hit``), best first.
        signals: passage row -> signal -> value for the hits (``Ranking.signals``).
        examples: ``Examples.margin`` of the question (0 without examples).

    Returns:
        top: the best hit's score; dense: the best sentence cosine among the hits; keyword:
        the best BM25 score (scaled as in the fusion); covered: the share of the question's
        specific words (weighted by ``specificity``) found in the top passages; unknown: the
        share the documents never use; together: the largest share found in one passage;
        examples: how much nearer the question is to a known not-covered question than to a
        known covered one.
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
        "examples": examples,
    }


@dataclass(frozen=True)
class Examples:
    """Questions known to be covered or not (the golden questions of the collection), as
    vectors: a question much nearer a known not-covered one ("how much is Botox") than to
    any covered one is likely not covered either."""

    texts: tuple[str, ...]
    vectors: np.ndarray  # (n, dimension), unit length
    covered: np.ndarray  # bool (n,)

    def margin(self, vector: np.ndarray, leave_out: str | None = None) -> float:
        """Cosine to the nearest not-covered example minus cosine to the nearest covered
        one; 0 without both kinds. ``leave_out``: a question not to count as an example
        (the question itself, when the model is fit on the examples)."""
        similarity = self.vectors @ vector
        if leave_out is not None:
            similarity = np.where(np.array(self.texts) == leave_out, -2.0, similarity)
        far, near = similarity[~self.covered], similarity[self.covered]
        if not (far > -2).any() or not (near > -2).any():
            return 0.0
        return float(far.max() - near.max())


@dataclass(frozen=True)
class NotCovered:
    """A logistic model: the probability that the documents cover the question."""

    coef: tuple[float, ...]
    intercept: float
    #: Covered when the probability is at least this (chosen on dev: see the file).
    threshold: float

    def probability(self, values: dict[str, float]) -> float:
        z = self.intercept + sum(c * values[name] for c, name in zip(self.coef, FEATURES, strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def covered(self, values: dict[str, float]) -> bool:
        return self.probability(values) >= self.threshold

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> NotCovered | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            logger.warning(
                "%s was fit for other features (%s); declining by the best score until "
                "`python evaluate.py --fit-decline` fits it again.",
                path,
                ", ".join(data["features"]),
            )
            return None
        return cls(tuple(data["coef"]), float(data["intercept"]), float(data["threshold"]))
