"""Golden questions after every ingest: the evaluation set's dev split asked of the new
index, its figures compared with the last run's, and a warning when they fall, so staff
see at once when a new document pushes good answers out.

The history is kept by the index's backend (``IndexBackend.history("golden")``), so every
ingest and app server of one index compares with the same last run: ``index/golden.jsonl``
on files, a table beside the generations on Postgres.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from kb.errors import KBError
from kb.golden_questions import belongs, load_questions, questions_from
from kb.index.clock import now_iso
from kb.quality import evaluation
from kb.search import KnowledgeBase

#: A fall of more than this in Recall@3 or MRR@10 is reported as a fall (one question in
#: a hundred moves by 0.01; smaller steps are noise from ties).
TOLERANCE = 0.02


@dataclass(frozen=True)
class GoldenCheck:
    questions: int
    recall_at_3: float
    mrr: float
    declined_off_topic: float
    wrongly_declined: float
    previous: dict | None  # the last check's figures, or None
    lost: list[str]  # questions answered in the top 3 last time and not now
    answerable: int = 0  # questions the documents answer (recall_at_3 and mrr are over these)
    unanswerable: int = 0  # questions about things they do not cover
    from_staff: int = 0  # of ``questions``, those staff wrote from real questions (the Questions tab)

    @property
    def fell(self) -> bool:
        if not self.previous:
            return False
        return (
            self.recall_at_3 < self.previous["recall_at_3"] - TOLERANCE
            or self.mrr < self.previous["mrr"] - TOLERANCE
        )

    def summary(self) -> str:
        """Two or more lines for the ingest report."""
        now = (
            f"  golden questions: {self.questions} asked"
            + (f" ({self.from_staff} written from real questions on the staff page)" if self.from_staff else "")
            + "; answer in the top 3 for "
            f"{self.recall_at_3:.0%}, MRR@10 {self.mrr:.2f}; off-topic declined "
            f"{self.declined_off_topic:.0%}, covered declined {self.wrongly_declined:.0%}"
        )
        if not self.previous:
            return now
        before = (
            f"top 3 {self.previous['recall_at_3']:.0%}, MRR@10 {self.previous['mrr']:.2f} "
            f"(generation {self.previous.get('generation')})"
        )
        if not self.fell:
            return f"{now}\n  (last time: {before})"
        lines = [now, f"  WARNING: search quality fell since the last ingest: was {before}."]
        lines += [f"    no longer in the top 3: {q}" for q in self.lost[:10]]
        lines.append("  Check the new or changed documents: they may push the right answers out.")
        return "\n".join(lines)


class NotThisCollection(Exception):
    """The golden questions are about documents this collection does not hold."""


def check(kb: KnowledgeBase, questions_path: Path, split: str = "dev") -> GoldenCheck | None:
    """Ask the golden questions of the generation in service and record the figures: the
    golden file's, and those staff wrote from real questions (kept with the index).

    Returns None when there are none (a clinic without golden questions).

    Raises:
        NotThisCollection: the file's questions are about other documents, and staff wrote
        none for these.
    """
    staff = [q for q in questions_from(kb.backend.golden_questions()) if q.split == split]
    file = [q for q in load_questions(questions_path) if q.split == split] if Path(questions_path).is_file() else []
    # Once they belong, all are asked: an answer whose document was removed is a loss to
    # report, not a question to skip.
    if file and not belongs(file, {d.source for d in kb.documents()}):
        if not staff:
            raise NotThisCollection(
                f"none of the {len(file)} {split} questions in {questions_path} is answered by a "
                "document indexed here: they were written for other documents. Write golden questions "
                'for these (README, "Golden questions"; or from real questions on the staff page) '
                "and point KB_GOLDEN at them"
            )
        file = []
    questions = file + staff
    if not questions:
        return None
    outcomes = evaluation.run(kb, questions)
    f = evaluation.figures(outcomes)
    in_top3 = sorted(o.question.id for o in outcomes if o.rank is not None and o.rank <= 3)
    previous = next(iter(kb.backend.history("golden", 1)), None)
    lost_ids = set(previous.get("in_top3", [])) - set(in_top3) if previous else set()
    text = {q.id: q.question for q in questions}
    result = GoldenCheck(
        len(questions),
        f.recall.get(3, 0.0),
        f.mrr,
        f.declined_off_topic,
        f.wrongly_declined,
        {k: previous[k] for k in ("recall_at_3", "mrr", "generation")} if previous else None,
        [text[i] for i in sorted(lost_ids) if i in text],
        answerable=f.answerable,
        unanswerable=f.unanswerable,
        from_staff=len(staff),
    )
    record = {
        "at": now_iso(),
        "generation": kb.generation.name,
        **{k: v for k, v in asdict(result).items() if k not in ("previous", "lost")},
        "in_top3": in_top3,
    }
    kb.backend.append_history("golden", record)
    return result


def golden_summary(kb: KnowledgeBase) -> str:
    """The golden questions' figures on the new index, or why there are none."""
    try:
        result = check(kb, kb.settings.golden_questions)
    except NotThisCollection as exc:
        return f"  golden questions: none apply to this collection; {exc}."
    except (KBError, ValueError) as exc:
        return f"  golden questions: not asked ({exc})"
    if result is None:
        return f"  golden questions: none ({kb.settings.golden_questions} not found, and none written on the staff page)"
    return result.summary()
