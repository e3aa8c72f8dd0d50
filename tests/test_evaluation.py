"""The evaluation harness: metrics on hand-checked rankings, judging by label, the shipped
evaluation set's shape, and the golden-question check after an ingest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kb.config import Settings
from kb.embedding import Embedder
from kb.golden_questions import Expected, Question, load_questions
from kb.quality import evaluation, golden
from kb.quality.evaluation import Outcome
from kb.search import Hit, KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent


def hit(source: str, text: str, page: int | None = None, rank: int = 1) -> Hit:
    return Hit(rank, 0.5, f"{source}#{rank}", text, source, "T", page, None, 0, len(text), text)


def test_reciprocal_rank_and_ndcg_of_known_rankings() -> None:
    # Relevant passages at ranks 2 and 4, two relevant in all.
    judged = [None, 0, None, 1, None]
    assert evaluation.first_relevant_rank(judged) == 2
    assert evaluation.reciprocal_rank(judged) == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert evaluation.ndcg(judged, relevant=2) == pytest.approx(dcg / ideal)
    # A perfect ranking scores 1; nothing relevant in the depth scores 0.
    assert evaluation.ndcg([0, 1, None], relevant=2) == pytest.approx(1.0)
    assert evaluation.reciprocal_rank([None] * 10 + [0]) == 0.0
    assert evaluation.ndcg([None] * 10 + [0], relevant=1) == 0.0


def test_a_label_matches_by_document_page_and_phrase_whatever_the_dashes() -> None:
    label = Expected("aftercare.pdf", "redness lasts 2–4 weeks", page=3)
    assert evaluation.matches(hit("aftercare.pdf", "Redness lasts 2-4\nweeks.", page=3), label)
    assert not evaluation.matches(hit("aftercare.pdf", "Redness lasts 2-4 weeks.", page=4), label)
    assert not evaluation.matches(hit("faq.md", "Redness lasts 2-4 weeks."), label)


def test_each_answer_counts_once() -> None:
    answers = [Expected("faq.md", "two to four weeks")]
    hits = [hit("faq.md", "It lasts two to four weeks.", rank=1), hit("faq.md", "two to four weeks", rank=2)]
    assert evaluation.judge(hits, answers) == [0, None]


def outcome(kind: str, rank: int | None, answered: bool, score: float) -> Outcome:
    answers = (Expected("faq.md", "x"),) if kind == "answerable" else ()
    q = Question("q", "question?", "dev", kind, answers)
    rr = 1 / rank if rank else 0.0
    return Outcome(q, answered, rank, rr, rr, "faq.md#1", score, "covered", confidence=score)


def test_figures_and_the_threshold_that_keeps_covered_questions() -> None:
    outcomes = [
        outcome("answerable", 1, True, 0.9),
        outcome("answerable", 3, True, 0.6),
        outcome("answerable", None, False, 0.2),
        outcome("near", None, False, 0.4),
        outcome("far", None, True, 0.1),
    ]
    f = evaluation.figures(outcomes)
    assert f.recall[1] == pytest.approx(1 / 3) and f.recall[3] == pytest.approx(2 / 3)
    assert f.mrr == pytest.approx((1 + 1 / 3) / 3)
    assert f.declined_off_topic == 0.5 and f.declined_near == 1.0 and f.declined_far == 0.0
    assert f.wrongly_declined == pytest.approx(1 / 3)
    # Declining at most a third of covered questions: the threshold is the second-lowest
    # covered score, which also declines both off-topic ones.
    threshold = evaluation.calibrate(outcomes, max_wrongly_declined=0.34)
    assert threshold == 0.6
    moved = evaluation.figures(evaluation.at_threshold(outcomes, threshold))
    assert moved.declined_off_topic == 1.0 and moved.wrongly_declined == pytest.approx(1 / 3)


def test_a_malformed_question_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "q", "split": "dev", "kind": "answerable", "answers": []}\n')
    with pytest.raises(ValueError, match="line 1: an answerable question needs answers"):
        load_questions(path)


def test_the_shipped_evaluation_set_is_large_split_and_labelled() -> None:
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    answerable = [q for q in questions if q.kind == "answerable"]
    off_topic = [q for q in questions if q.kind != "answerable"]
    assert len(answerable) >= 200 and len(off_topic) >= 40
    assert {q.split for q in questions} == {"dev", "test"}
    assert len({q.id for q in questions}) == len(questions)
    documents = {p.name for p in (ROOT / "documents").iterdir()}
    assert all(a.source in documents for q in answerable for a in q.answers)
    warnings = [json.loads(line) for line in (ROOT / "eval" / "warning_signs.jsonl").read_text().splitlines()]
    assert len(warnings) >= 40 and {w["split"] for w in warnings} == {"dev", "test"}


@pytest.mark.slow
def test_every_label_is_found_in_the_shipped_documents(shipped_index: Settings, embedder: Embedder) -> None:
    kb = KnowledgeBase(shipped_index, embedder)
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    assert evaluation.missing_labels(kb, questions) == []


def golden_file(folder: Path, *questions: tuple[str, str | None, str | None]) -> Path:
    """A golden file of dev questions: (question, source, phrase), or no source for one the
    documents should decline."""
    rows = [
        {"id": f"g{i}", "question": q, "split": "dev", "kind": "answerable" if source else "near",
         "answers": [{"source": source, "contains": phrase}] if source else []}
        for i, (q, source, phrase) in enumerate(questions, start=1)
    ]  # fmt: skip
    path = folder / "golden.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


@pytest.mark.slow
def test_golden_questions_written_for_other_documents_are_reported_as_such(
    built: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    path = golden_file(
        tmp_path,
        ("How long does the redness last?", "recovery-timelines.html", "redness"),
        ("How much is Botox?", None, None),
    )
    kb = KnowledgeBase(built.with_changes(golden_questions=path), embedder)
    with pytest.raises(golden.NotThisCollection):
        golden.check(kb, path)
    summary = golden.golden_summary(kb)
    assert "none apply to this collection" in summary and "KB_GOLDEN" in summary
    assert kb.backend.history("golden", 1) == []  # nothing recorded to compare against later


@pytest.mark.slow
def test_golden_questions_warn_when_quality_falls(
    built: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    path = golden_file(
        tmp_path,
        ("Does the laser hurt?", "faq.md", "prickling heat"),
        ("When are you open on Saturday?", "hours.txt", "Saturday mornings"),
    )
    kb = KnowledgeBase(built, embedder)
    first = golden.check(kb, path)
    assert first is not None and first.recall_at_3 == 1.0 and first.previous is None and not first.fell
    assert "golden questions: 2 asked" in first.summary()
    # The opening hours are gone from the documents: the next check reports the fall.
    (built.documents_dir / "hours.txt").unlink()
    from kb.ingest import ingest

    ingest(built, embedder=embedder)
    kb.refresh()
    second = golden.check(kb, path)
    assert second.fell and second.lost == ["When are you open on Saturday?"]
    assert "WARNING: search quality fell" in second.summary()
    assert golden.check(kb, tmp_path / "none.jsonl") is None
    # A crash mid-append tears the last line at most: the check before it still counts.
    with open(built.index_dir / "golden.jsonl", "a", encoding="utf-8") as history:
        history.write('{"generation": "g9", "recall_at')
    assert golden.check(kb, path).previous["generation"] == kb.generation.name


# --- the collections measured: added labels by position, the shared ones, the decline fit ---


def small_collection(folder: Path) -> Path:
    """A collection folder as ../shared/clinic-collections lays one out."""
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "faq.md").write_text(
        "# FAQ\n\n## Downtime\n\nMost people go back to work after three to five days.\n", encoding="utf-8"
    )
    rows = [
        {"id": "q1", "question": "When can I go back to work?", "split": "dev", "kind": "answerable",
         "answers": [{"source": "faq.md", "contains": "three to five days"}]},
        {"id": "q2", "question": "How much is Botox?", "split": "test", "kind": "near", "answers": []},
    ]  # fmt: skip
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return folder


def test_an_added_label_names_its_phrase_by_position_and_is_refused_once_the_text_moves(
    tmp_path: Path,
) -> None:
    from kb.quality.collections import Collection, label_for, load_collection

    folder = small_collection(tmp_path / "clinic")
    collection = Collection(
        "clinic", folder / "docs", folder / "questions.jsonl", tmp_path / "additions.jsonl"
    )
    label = {**label_for(collection, "faq.md", "Most people go back to work"), "pooled": True}
    assert "Most people" not in json.dumps(label)  # by position and hash, never the words
    own = {"id": "x1", "question": "days off work?", "split": "dev", "kind": "answerable", "answers": [label]}
    collection.additions.write_text(
        json.dumps({"id": "q1", "answers": [label]}) + "\n" + json.dumps(own) + "\n"
    )
    questions = {q.id: q for q in load_collection(collection)}
    assert [a.contains for a in questions["q1"].answers] == [
        "three to five days",
        "most people go back to work",
    ]
    assert questions["x1"].split == "dev" and questions["x1"].answers[0].source == "faq.md"
    # The document changes under the label: loading says which label to judge again.
    (folder / "docs" / "faq.md").write_text("# FAQ\n\nNew opening.\n\n## Downtime\n\nMost people go back.\n")
    with pytest.raises(ValueError, match=r"additions.jsonl, line 1: the label's phrase in faq.md has moved"):
        load_collection(collection)
    collection.additions.write_text(json.dumps({"id": "nope", "answers": []}) + "\n")
    with pytest.raises(ValueError, match="questions the collection does not have"):
        load_collection(collection)


@pytest.mark.skipif(
    not (ROOT.parent / "shared" / "clinic-collections").is_dir(), reason="../shared is absent"
)
def test_the_shared_collections_load_with_every_added_label_in_place() -> None:
    from kb.quality.collections import CLINIC, clinic_collection, load_collection

    for name in CLINIC[1:]:
        questions = load_collection(clinic_collection(name))
        assert {q.split for q in questions} == {"dev", "test"}
        own = [q for q in questions if q.id.split("-")[0].endswith("x")]
        assert own and all(q.split == "dev" for q in own)  # this project's questions are never test
        assert sum(len(q.answers) for q in questions) > len(questions)


def test_the_decline_fit_keeps_each_collections_covered_questions_and_reports_the_one_left_out() -> None:
    import numpy as np

    from kb.quality import decline
    from kb.search.coverage import FEATURES

    rng = np.random.default_rng(0)

    def table(shift: float, n: int = 200) -> decline.Table:
        covered = np.arange(n) % 3 != 0
        x = rng.normal(size=(n, len(FEATURES))) + np.where(covered, 1.0, -1.0)[:, None] + shift
        kinds = tuple("answerable" if c else "near" for c in covered)
        return decline.Table(x, covered, kinds, tuple("dev" if i % 2 else "test" for i in range(n)))

    tables = {"a": table(0.0), "b": table(0.5), "c": table(-0.5)}
    fit = decline.fit_tables(tables)
    for t in tables.values():  # every collection's dev split keeps its covered questions
        assert decline.declined(fit, t, "dev")["covered"] <= decline.MAX_WRONGLY_DECLINED
    left_out = decline.leave_one_out(tables)
    assert set(left_out) == {"a", "b", "c"} and all(0.0 <= v["near"] <= 1.0 for v in left_out.values())


@pytest.mark.slow
def test_evaluate_measures_a_collection_of_ones_own(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import evaluate

    folder = small_collection(tmp_path / "clinic")
    args = ["--questions", str(folder / "questions.jsonl"), "--documents", str(folder / "docs")]
    assert evaluate.main([*args, "--cache", str(tmp_path / "cache"), "--configs", "hybrid;dense"]) == 0
    out = capsys.readouterr().out
    assert "#### custom" in out and "| hybrid | 1 | 1.000 |" in out and "| dense | 1 |" in out
    assert "Questions whose 'answered' changes with k = 1, 5, 20 (hybrid): custom 0 of 2" in out
    assert evaluate.main([*args, "--configs", "no such"]) == 2
