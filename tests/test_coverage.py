"""The not-covered decision follows the collection in service: which subjects its
documents name decides the examples, the decision never depends on k, a question never
counts as its own example, and what each card says agrees with the decision."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from kb.config import Settings
from kb.embedding import Embedder
from kb.golden_questions import load_questions, questions_from, questions_in
from kb.ingest import ingest
from kb.quality import evaluation
from kb.search import KnowledgeBase, coverage
from kb.search.coverage import Examples, Subject
from kb.web import render

SUBJECTS = (
    Subject(
        "Laser hair removal",
        "other",
        ("laser hair removal", "hair removal"),
        ("How many hair removal sessions?",),
    ),
    Subject("Tattoo removal", "other", ("tattoo removal", "tattoo"), ("Does tattoo removal hurt?",)),
    Subject("Waxing", "other", ("wax", "waxing"), ("Can I wax before?",)),
    Subject("Parking", "core", ("parking",), ("Where do I park?",)),
    Subject("Insurance", "core", ("insurance",), ("Do you take insurance?",)),
)


def test_a_subject_counts_the_passages_that_name_it_as_whole_words() -> None:
    passages = [
        ("Laser hair removal", "Six sessions of laser hair removal, four weeks apart."),
        ("Aftercare", "No waxing for two weeks. A waxy feel is normal."),  # "waxy" is no "wax"
        ("Aftercare", "Do not wax, pluck or use hair removal creams."),
        ("Parking", "Free parking behind the building."),
    ]
    mentions = coverage.subject_mentions(passages, SUBJECTS)
    assert mentions == {"Laser hair removal": 2, "Waxing": 2, "Parking": 1}


def test_the_examples_follow_what_the_collection_names() -> None:
    texts, covered = coverage.example_questions(
        {"Laser hair removal": 3, "Waxing": 2, "Parking": 1}, SUBJECTS
    )
    examples = dict(zip(texts, covered, strict=True))
    # Discussed: another service in 3 passages, the clinic's own business in one.
    assert examples["How many hair removal sessions?"] is True and examples["Where do I park?"] is True
    # Never named: another service the clinic does not offer.
    assert examples["Does tattoo removal hurt?"] is False
    # Named twice (more than in passing, less than discussed), or the clinic's own business
    # never named: an example of neither kind.
    assert "Can I wax before?" not in examples and "Do you take insurance?" not in examples


def test_a_question_never_counts_as_its_own_example() -> None:
    vectors = np.eye(3, dtype=np.float32)
    examples = Examples(("a", "b", "c"), vectors, np.array([True, False, False]))
    assert examples.likeness(vectors[1]) == (0.0, 1.0)
    assert examples.likeness(vectors[1], leave_out="b") == (0.0, 0.0)
    assert Examples.empty(3).likeness(vectors[0]) == (0.0, 0.0)


def test_golden_questions_are_examples_only_for_the_documents_they_were_written_for(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    rows = [
        {"id": "1", "question": "How long is the redness?", "split": "dev", "answers": [{"source": "faq.md", "contains": "x"}]},
        {"id": "2", "question": "How much is Botox?", "split": "dev", "kind": "near", "answers": []},
        {"id": "3", "question": "Test only", "split": "test", "answers": [{"source": "faq.md", "contains": "x"}]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    file = questions_in(path)
    assert coverage.golden_examples(file, {"faq.md"}) == (
        ["How long is the redness?", "How much is Botox?"],
        [True, False],
    )
    assert coverage.golden_examples(file, {"other.md"}) == ([], [])
    assert coverage.golden_examples(questions_in(tmp_path / "missing.jsonl"), {"faq.md"}) == ([], [])
    # Staff's, written from real questions for this collection, always count.
    staff = questions_from([{"id": "s1", "question": "do you do lip filler", "split": "dev", "kind": "near"}, {"bad": 1}])
    assert coverage.golden_examples(file, {"other.md"}, staff) == (["do you do lip filler"], [False])


def test_the_shipped_subjects_are_well_formed() -> None:
    subjects = coverage.load_subjects()
    assert len(subjects) > 100 and {s.kind for s in subjects} == {"core", "other"}
    for s in subjects:
        assert s.questions and all(t == t.lower() and t.strip() == t for t in s.terms), s.name
    assert sum(len(s.questions) for s in subjects) > 700


# --- the real model on collections the tests write ----------------------------------------

RESURFACING = {
    "aftercare.md": (
        "# Aftercare after laser resurfacing\n\n"
        "Sample document of a fictional clinic.\n\n"
        "## The first week\n\n"
        "Keep the treated skin moist with a plain ointment and wash it twice a day with cool water. "
        "Redness after a fractional CO2 laser usually lasts two to four weeks and then fades.\n\n"
        "## Sun\n\n"
        "Stay out of direct sun for at least four weeks and use a broad-spectrum sunscreen of SPF 30 "
        "or more every morning.\n\n"
        "## Warning signs\n\n"
        "Clear or straw-coloured oozing in the first two days is expected. "
        "These are not normal and need a call to the clinic: pus or thick yellow crusts, a fever, "
        "or redness that spreads.\n"
    ),
    "clinic.md": (
        "# Visiting the clinic\n\n"
        "Sample document of a fictional clinic.\n\n"
        "## Opening hours\n\nWe are open Monday to Friday, 8 am to 6 pm.\n\n"
        "## Parking\n\nFree parking is behind the building; the entrance is on the left.\n"
    ),
}
HAIR_REMOVAL = (
    "# Laser hair removal\n\n"
    "Sample document of a fictional clinic.\n\n"
    "## How many sessions\n\n"
    "Most people need six to eight sessions of laser hair removal, because the laser only affects "
    "hairs in their growing phase.\n\n"
    "## Spacing\n\n"
    "Laser hair removal sessions on the face are four to six weeks apart; on the body, six to eight "
    "weeks apart.\n\n"
    "## Before a session\n\n"
    "Shave the area the day before laser hair removal, and do not wax or pluck for four weeks.\n"
)
HAIR_QUESTION = "How many laser hair removal sessions will I need?"


def collection(folder: Path, embedder: Embedder, **extra: str) -> KnowledgeBase:
    folder.mkdir()
    for name, text in {**RESURFACING, **extra}.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings(
        documents_dir=folder,
        index_dir=folder.with_name(folder.name + "-index"),
        golden_questions=folder / "none",
    )
    assert ingest(settings, embedder=embedder).ok
    return KnowledgeBase(settings, embedder)


@pytest.fixture(scope="module")
def resurfacing(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> KnowledgeBase:
    return collection(tmp_path_factory.mktemp("a") / "resurfacing", embedder)


@pytest.mark.slow
def test_a_question_is_declined_where_its_subject_is_never_named_and_answered_where_it_is_covered(
    resurfacing: KnowledgeBase, tmp_path: Path, embedder: Embedder
) -> None:
    declined = resurfacing.answer(HAIR_QUESTION, 5)
    assert (declined.answered, declined.reason) == (False, "not_covered")
    with_hair_removal = collection(
        tmp_path / "with-hair-removal", embedder, **{"hair-removal.md": HAIR_REMOVAL}
    )
    answered = with_hair_removal.answer(HAIR_QUESTION, 5)
    assert answered.answered and answered.hits[0].source == "hair-removal.md"
    assert "six to eight sessions" in answered.hits[0].text
    # The collection's own questions are answered in both.
    for kb in (resurfacing, with_hair_removal):
        assert kb.answer("How long does the redness last after a CO2 laser?", 5).answered


@pytest.mark.slow
def test_answered_is_the_same_whatever_k(shipped_index: Settings, embedder: Embedder) -> None:
    kb = KnowledgeBase(shipped_index, embedder)
    questions = [
        "How long is the redness after a CO2 laser?",
        "Can I go back to work the next day?",
        "whats ur adress",
        "how much is botox",
        "How many sessions of tattoo removal will I need?",
        "makup after fraxel",
        "accutane",
        "Is Ultherapy painful?",
    ]
    for question in questions:
        answers = [kb.answer(question, k) for k in (1, 5, 20)]
        assert len({a.answered for a in answers}) == 1, question
        assert len({round(a.confidence, 9) for a in answers}) == 1, question
        assert [len(a.hits) for a in answers] == [1, 5, 20]


URGENT = "my face is oozing yellow crust and I have a fever 4 days after co2"


@pytest.mark.slow
def test_an_urgent_answer_marks_each_cards_warning_sign_sentence(resurfacing: KnowledgeBase) -> None:
    answer = resurfacing.answer(URGENT, 5)
    assert answer.urgent
    first = next(h for h in answer.hits if h.section == "Warning signs")
    assert first.highlight.startswith("These are not normal and need a call")
    # Where the sentence nearest the question is the reassuring one, the card still marks
    # the warning signs.
    closer = "oozing in the first two days after the laser and now a fever, is that expected?"
    nearest = next(h for h in resurfacing.search(closer, 5) if h.section == "Warning signs")
    assert nearest.highlight.startswith("Clear or straw-coloured oozing")
    marked = next(h for h in resurfacing.answer(closer, 5).hits if h.section == "Warning signs")
    assert marked.highlight.startswith("These are not normal and need a call")
    # No card marks a reassuring sentence, where its passage names a warning sign otherwise.
    for hit in answer.hits:
        assert not re.search(r"\bexpected\b", hit.highlight), hit.highlight
    # A question that describes no warning sign marks each passage's sentence nearest it.
    calm = "What does the skin look like in the first two days?"
    answer = resurfacing.answer(calm, 5)
    assert not answer.urgent
    assert [h.highlight for h in answer.hits] == [h.highlight for h in resurfacing.search(calm, 5)]


@pytest.mark.slow
def test_a_declined_answer_shows_no_match_and_labels_never_rise_with_rank(resurfacing: KnowledgeBase) -> None:
    declined = resurfacing.answer(HAIR_QUESTION, 5)
    assert not declined.answered and declined.hits
    for hit in declined.hits:
        assert hit.label == "Not an answer" and hit.match < resurfacing.decline_model.threshold
        card = render.card_html(hit, HAIR_QUESTION)
        assert "match" not in card.lower() and "kb-bar-good" not in card and "kb-bar-strong" not in card
    answered = resurfacing.answer("How long does the redness last after a CO2 laser?", 5)
    assert answered.answered and answered.hits[0].label in ("Strong match", "Good match")
    assert answered.hits[0].match == pytest.approx(answered.confidence)
    order = ["Strong match", "Good match", "Weak match"]
    ranks = [order.index(h.label) for h in answered.hits]
    matches = [h.match for h in answered.hits]
    assert ranks == sorted(ranks) and matches == sorted(matches, reverse=True)


@pytest.mark.slow
def test_a_later_card_never_matches_better_than_the_card_above_it(
    resurfacing: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even where the passage model rates a later passage higher than an earlier one."""
    rising = iter([0.3, 0.6, 0.9, 1.0])
    monkeypatch.setattr(coverage.NotCovered, "answers", lambda self, features: next(rising))
    answer = resurfacing.answer("How long does the redness last after a CO2 laser?", 5)
    matches = [h.match for h in answer.hits]
    assert len(matches) == 5 and matches[1] == pytest.approx(answer.confidence * 0.3)
    assert matches == sorted(matches, reverse=True)


@pytest.mark.slow
def test_a_golden_question_is_never_its_own_example(
    built: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """The report after an ingest asks the golden questions of the index they are examples
    for: each is asked without itself, so a not-covered one cannot find itself (cosine 1)."""
    from kb.quality import golden

    near = "How much does a HydraFacial cost?"
    path = tmp_path / "golden.jsonl"
    rows = [
        {"id": "g1", "question": "Does the laser hurt?", "split": "dev", "answers": [{"source": "faq.md", "contains": "prickling heat"}]},
        {"id": "g2", "question": near, "split": "dev", "kind": "near", "answers": []},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    kb = KnowledgeBase(built.with_changes(golden_questions=path), embedder)
    assert near in kb.examples().texts
    ranking = kb.explain(near, 10)
    with_itself = kb.coverage_features(near, ranking)
    without = kb.coverage_features(near, ranking, leave_out=True)
    assert with_itself["like_covered"] + with_itself["nearer_other"] == pytest.approx(1.0, abs=1e-5)
    assert without["like_covered"] + without["nearer_other"] < 0.99
    # The golden check (and every evaluation) asks it without itself.
    outcome = next(
        o for o in evaluation.run(kb, load_questions(path)) if o.question.question == near
    )
    assert outcome.confidence == pytest.approx(kb.answer(near, 10, leave_out=True).confidence)
    assert outcome.confidence != pytest.approx(kb.answer(near, 10).confidence)
    assert golden.check(kb, path).questions == 2


@pytest.mark.slow
def test_golden_questions_staff_wrote_are_asked_after_an_ingest_and_are_examples(
    built: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """No golden file, but staff wrote two from real questions: the check asks them, and
    the not-covered decision counts them among its examples."""
    from kb.quality import golden

    kb = KnowledgeBase(built.with_changes(golden_questions=tmp_path / "none.jsonl"), embedder)
    assert golden.check(kb, kb.settings.golden_questions) is None
    kb.backend.save_golden(
        {"id": "staff-1", "question": "does the laser sting", "split": "dev",
         "answers": [{"source": "faq.md", "contains": "prickling heat"}]}
    )  # fmt: skip
    kb.backend.save_golden({"id": "staff-2", "question": "do you sell gift cards", "split": "dev", "kind": "near", "answers": []})
    result = golden.check(kb, kb.settings.golden_questions)
    assert result is not None and (result.questions, result.answerable) == (2, 1)
    fresh = KnowledgeBase(kb.settings, embedder)  # examples are made once per generation
    assert {"does the laser sting", "do you sell gift cards"} <= set(fresh.examples().texts)
