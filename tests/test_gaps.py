"""Content gaps: the questions the documents did not answer, grouped by meaning with the
real model, largest first; answered questions never among them unless voted down."""

from __future__ import annotations

import json
from pathlib import Path

from kb.embedding import Embedder
from kb.index.questions import LoggedQuestion
from kb.quality import gaps

ROOT = Path(__file__).resolve().parent.parent


def asked(question: str, at: str, reason: str = "not_covered", vote: str | None = None) -> LoggedQuestion:
    return LoggedQuestion(question, f"2026-12-0{at}T10:00:00+00:00", "page", reason, False, ("faq.md#1",), vote)


def test_paraphrases_of_one_need_are_one_group_and_answered_questions_are_none(embedder: Embedder) -> None:
    entries = [
        asked("how much is botox", "1"),
        asked("do you do tattoo removal", "2"),
        asked("botox price for forehead lines?", "3"),
        asked("what do you charge for anti wrinkle injections like botox", "4"),
        asked("How long is the redness after a CO2 laser?", "4", reason="covered"),
        asked("Can I wear makeup after the laser?", "5", reason="covered", vote="not helpful"),
        asked("hello", "5", reason="small_talk"),
    ]
    found = gaps.group(entries, embedder)
    assert [(g.count, g.reason) for g in found] == [(3, "not_covered"), (1, "not_helpful"), (1, "not_covered")]
    botox = found[0]
    assert set(botox.examples) == {
        "how much is botox",
        "botox price for forehead lines?",
        "what do you charge for anti wrinkle injections like botox",
    }
    assert botox.label in botox.examples and (botox.first, botox.last) == (
        "2026-12-01T10:00:00+00:00",
        "2026-12-04T10:00:00+00:00",
    )
    assert found[1].label == "Can I wear makeup after the laser?"
    every = [e for g in found for e in g.examples]
    assert "How long is the redness after a CO2 laser?" not in every and "hello" not in every
    assert json.dumps([g.as_json() for g in found])  # the staff API's shape


def test_the_same_words_asked_again_count_again(embedder: Embedder) -> None:
    found = gaps.group([asked("do you do teeth whitening", str(n)) for n in (1, 2, 3)], embedder)
    assert [(g.count, g.examples) for g in found] == [(3, ("do you do teeth whitening",))]


def test_the_paraphrase_set_is_well_formed() -> None:
    rows = [json.loads(line) for line in (ROOT / "eval" / "question_groups.jsonl").read_text().splitlines()]
    groups = {r["group"] for r in rows}
    assert len(rows) == 160 and len(groups) == 40
    assert all(sum(r["group"] == g for r in rows) == 4 for g in groups)
    assert {r["split"] for r in rows} == {"dev", "test"}


def test_groups_staff_handled_leave_the_gaps_and_the_weeks_count_every_question(embedder: Embedder) -> None:
    import dataclasses

    entries = [
        asked("do you do teeth whitening", "1"),
        dataclasses.replace(asked("teeth whitening price", "2"), handled="fine"),
        asked("How long is the redness?", "8", reason="covered"),
        asked("hi", "8", reason="small_talk"),
    ]
    assert [g.count for g in gaps.group(entries, embedder)] == [1]
    assert gaps.weekly(entries) == [
        ("2026-11-30", "not covered", 2),  # Tuesday 1 Dec and Wednesday 2 Dec: the week of Monday 30 Nov
        ("2026-12-07", "answered", 1),
    ]
