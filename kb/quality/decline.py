"""Fitting the not-covered model (``kb.search.coverage.NotCovered``) on the dev splits of
several collections, so that it holds on a collection it was not fit on.

``evaluate.py --fit-decline`` asks every dev question that is not small talk of its own
collection, computes the coverage features of its answer (a golden question never counts
as its own example), and fits a logistic regression (scikit-learn) that tells covered
questions from not-covered ones. Each collection weighs the same, however many questions
it has. The threshold is the highest that declines at most 5% of the covered dev questions
of every collection. Leave-one-collection-out: the same fit without one collection,
scored on all of that collection's questions, is what a clinic nobody fit it on can expect.
The test splits are never read here.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.config import DEFAULT_MODEL
from kb.golden_questions import Question
from kb.index import lexical
from kb.quality.evaluation import matches
from kb.search import KnowledgeBase
from kb.search.coverage import DEPTH, FEATURES, MODEL_FILE, PASSAGE_FEATURES, passage_features

#: The operating point: the share of covered dev questions the model may decline.
MAX_WRONGLY_DECLINED = 0.05
#: Inverse regularisation strength (on standardised features): the largest whose
#: leave-one-collection-out on the dev splits keeps each left-out collection's covered
#: questions declined at most 8% (sample: C 0.1 0.062, 0.3 0.075, 1 0.084; docs/QUALITY.md).
C = 0.3
#: A passage this likely to answer is a "Strong match".
STRONG = 0.9


@dataclass(frozen=True)
class Table:
    """One collection's questions as features, and the hits of its answerable ones."""

    x: np.ndarray  # (questions, FEATURES) float64
    covered: np.ndarray  # bool (questions,)
    kinds: tuple[str, ...]  # "answerable", "near", "far"
    splits: tuple[str, ...]
    #: The first DEPTH hits of each answerable question after its first: PASSAGE_FEATURES,
    #: whether the hit answers (a label matches it), and its question's split.
    passages: np.ndarray = field(default_factory=lambda: np.zeros((0, len(PASSAGE_FEATURES))))
    answers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    passage_splits: tuple[str, ...] = ()


def feature_table(kb: KnowledgeBase, questions: Sequence[Question]) -> Table:
    """Features of every question that is not small talk, as the search computes them."""
    asked = [q for q in questions if q.kind in ("answerable", "near", "far")]
    rows, passages, answers, splits = [], [], [], []
    for q in asked:
        ranking = kb.explain(q.question, DEPTH)
        values = kb.coverage_features(q.question, ranking, leave_out=True)
        rows.append([values[name] for name in FEATURES])
        if q.kind != "answerable" or not ranking.hits:
            continue
        words = lexical.words(ranking.query.expanded)
        first = ranking.hits[0].score
        for hit, row in zip(ranking.hits[1:], ranking.rows[1:], strict=True):
            alone = passage_features(words, hit, {row: ranking.signals[row]}, kb.generation, first)
            passages.append([alone[name] for name in PASSAGE_FEATURES])
            answers.append(any(matches(hit, a) for a in q.answers))
            splits.append(q.split)
    return Table(
        np.array(rows, dtype=np.float64).reshape(len(asked), len(FEATURES)),
        np.array([q.kind == "answerable" for q in asked], dtype=bool),
        tuple(q.kind for q in asked),
        tuple(q.split for q in asked),
        np.array(passages, dtype=np.float64).reshape(len(passages), len(PASSAGE_FEATURES)),
        np.array(answers, dtype=bool),
        tuple(splits),
    )


def threshold_for(probabilities: np.ndarray, covered: np.ndarray) -> float:
    """The highest threshold that declines at most MAX_WRONGLY_DECLINED of the covered,
    halfway between the last covered question declined and the first kept: no question
    sits on it, where the last digit of a score (half-precision vectors on Postgres) would
    decide."""
    ranked = np.sort(probabilities[covered])
    allowed = int(math.floor(MAX_WRONGLY_DECLINED * len(ranked) + 1e-9))
    below = ranked[allowed - 1] if allowed > 0 else 0.0
    return float((below + ranked[allowed]) / 2)


@dataclass(frozen=True)
class Fit:
    coef: np.ndarray  # on the raw features
    intercept: float
    threshold: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(x @ self.coef + self.intercept, -60, 60)))


def fit_tables(tables: dict[str, Table], c: float = C) -> Fit:
    """A logistic model on the dev questions of ``tables``, each collection weighing the
    same, with the threshold every collection's dev split allows."""
    from sklearn.linear_model import LogisticRegression

    dev = {name: np.array([s == "dev" for s in t.splits]) for name, t in tables.items()}
    x = np.vstack([t.x[dev[name]] for name, t in tables.items()])
    y = np.concatenate([t.covered[dev[name]] for name, t in tables.items()])
    weight = np.concatenate([np.full(dev[name].sum(), 1.0 / max(dev[name].sum(), 1)) for name in tables])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=c, max_iter=5000).fit(
        (x - mean) / scale, y, sample_weight=weight * len(weight)
    )
    coef = model.coef_[0] / scale
    intercept = float(model.intercept_[0] - (model.coef_[0] * mean / scale).sum())
    fitted = Fit(coef, intercept, 0.0)
    cuts = [
        threshold_for(fitted.probability(t.x[dev[name]]), t.covered[dev[name]]) for name, t in tables.items()
    ]
    return Fit(coef, intercept, min(cuts))


def fit_passages(tables: dict[str, Table], c: float = C) -> tuple[np.ndarray, float]:
    """A logistic model of whether a hit below the first answers a covered question, on
    the dev splits of ``tables``, each collection weighing the same: coef (raw features)
    and intercept."""
    from sklearn.linear_model import LogisticRegression

    dev = {name: np.array([s == "dev" for s in t.passage_splits], dtype=bool) for name, t in tables.items()}
    x = np.vstack([t.passages[dev[name]] for name, t in tables.items()])
    y = np.concatenate([t.answers[dev[name]] for name, t in tables.items()])
    weight = np.concatenate([np.full(dev[name].sum(), 1.0 / max(dev[name].sum(), 1)) for name in tables])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=c, max_iter=5000).fit(
        (x - mean) / scale, y, sample_weight=weight * len(weight)
    )
    return model.coef_[0] / scale, float(model.intercept_[0] - (model.coef_[0] * mean / scale).sum())


def declined(fit: Fit, table: Table, split: str | None = None) -> dict[str, float]:
    """Shares declined of the covered, near and far questions (of one split, or all)."""
    keep = np.array([split is None or s == split for s in table.splits])
    no = fit.probability(table.x) < fit.threshold
    kinds = np.array(table.kinds)

    def share(mask: np.ndarray) -> float:
        return float(no[mask & keep].mean()) if (mask & keep).any() else float("nan")

    return {"covered": share(table.covered), "near": share(kinds == "near"), "far": share(kinds == "far")}


def leave_one_out(tables: dict[str, Table], c: float = C) -> dict[str, dict[str, float]]:
    """For each collection, the shares declined of all its questions by a model fit without it."""
    return {
        name: declined(fit_tables({n: t for n, t in tables.items() if n != name}, c), tables[name])
        for name in tables
    }


def fit(tables: dict[str, Table], embedder: str, out: Path = MODEL_FILE, c: float = C) -> dict:
    """Fit on the dev splits of ``tables`` (searched with the embedding model ``embedder``),
    and write the fit into the model file beside those of other embedding models (the
    default model's first); returns what was written."""
    fitted = fit_tables(tables, c)
    passage_coef, passage_intercept = fit_passages(tables, c)
    counts = {
        name: f"{int(t.covered[[s == 'dev' for s in t.splits]].sum())} covered and "
        f"{int((~t.covered[[s == 'dev' for s in t.splits]]).sum())} not covered"
        for name, t in tables.items()
    }
    record = {
        "features": list(FEATURES),
        "coef": [round(float(v), 6) for v in fitted.coef],
        "intercept": round(fitted.intercept, 6),
        "threshold": round(fitted.threshold, 6),
        "strong": STRONG,
        "passage": {
            "features": list(PASSAGE_FEATURES),
            "coef": [round(float(v), 6) for v in passage_coef],
            "intercept": round(passage_intercept, 6),
            "on": "the 2nd to 10th hits of the answerable dev questions: does a label match the passage?",
        },
        "fit": {
            "on": {name: f"{text} dev questions" for name, text in counts.items()},
            "date": datetime.date.today().isoformat(),
            "command": "python evaluate.py --fit-decline",
            "operating point": f"at most {MAX_WRONGLY_DECLINED:.0%} of each collection's covered dev questions declined",
            "C": c,
            "leave one collection out (all its questions)": {
                name: {k: round(v, 3) for k, v in shares.items()}
                for name, shares in leave_one_out(tables, c).items()
            },
        },
    }
    fits = json.loads(out.read_text(encoding="utf-8")).get("models", {}) if out.exists() else {}
    fits[embedder] = record
    ordered = {name: fits[name] for name in sorted(fits, key=lambda name: name != DEFAULT_MODEL)}
    out.write_text(json.dumps({"models": ordered}, indent=2) + "\n", encoding="utf-8")
    return record
