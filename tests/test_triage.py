"""Warning signs: the rules file's language, asking versus describing, likeness to
examples, and the shipped rules on questions of both kinds."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.search import triage
from kb.search.triage import parse_rules

RULES = parse_rules(
    """
    [fever]
    fever*
    [pus]
    yellow/green .. crust*
    [blisters]
    blister*
    [asking]
    what are the signs
    [describing]
    i have
    """
)
SHIPPED = triage.load_rules(Path(__file__).resolve().parent.parent / "warning-signs.txt")


def test_phrases_match_endings_alternatives_gaps_and_one_wrong_letter() -> None:
    assert RULES.warning_signs("I'm feverish tonight") == ["fever"]
    assert RULES.warning_signs("green and thick crusts on my chin") == ["pus"]
    assert RULES.warning_signs("yellow stuff that keeps coming back and is now a crust") == []  # gap of 8
    assert RULES.warning_signs("new blistres on my chin") == ["blisters"]  # seven letters, one wrong
    assert RULES.warning_signs("my chin has yelow crusting") == []  # shorter words must be spelt right


def test_asking_about_a_sign_is_not_urgent_unless_it_also_describes_one() -> None:
    assert RULES.warning_signs("What are the signs of a fever after laser?") == []
    assert RULES.warning_signs("What are the signs of fever? I have 39 degrees") == ["fever"]


def test_a_question_near_an_urgent_example_is_urgent_under_its_signs() -> None:
    rules = parse_rules(
        "[fever]\nfever\n[urgent examples]\nI have a fever since the laser\n"
        "[not urgent examples]\nis peeling normal on day 4\n"
    )
    assert rules.warning_signs(
        "burning up and shaking", nearest_example="I have a fever since the laser"
    ) == ["fever"]
    assert rules.warning_signs("is flaking ok", nearest_example="is peeling normal on day 4") == []
    assert rules.matched_signs("burning up and shaking") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fever\n[fever]", "line 1: 'fever' comes before any"),
        ("[]\nfever", "line 1: a heading needs a name"),
        ("[fever]\nfever\n[urgent examples]\nI feel hot", "give both"),
    ],
)
def test_a_malformed_rules_file_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rules(text)


@pytest.mark.parametrize(
    "question",
    [
        "I have blisters and a fever three days after my laser",
        "theres yellow crusty stuff on my cheeks and it smells",
        "my eye hurts and everything is blurry",
        "a patch on my cheek has gone white and looks burnt",
        "struggling to breathe after the laser",
    ],
)
def test_the_shipped_rules_flag_descriptions_of_warning_signs(question: str) -> None:
    assert SHIPPED.matched_signs(question)


@pytest.mark.parametrize(
    "question",
    [
        "What are the signs of infection?",
        "how do I prevent cold sores before treatment",
        "is it normal to be red for a week after co2?",
        "What is the cancellation policy?",
        "How much does a fractional CO2 laser cost?",
    ],
)
def test_the_shipped_rules_leave_questions_that_only_ask(question: str) -> None:
    assert SHIPPED.matched_signs(question) == []


def test_urgent_lines_found_around_urgent_words_are_those_the_full_pattern_finds() -> None:
    from kb.search.triage import _URGENT_LINE, _urgent_lines

    texts = [
        "Urgent after-treatment line (24 hours, on-call nurse): 555-0199. Office: 555-0100.",
        "Call us.\nIn an emergency after hours, phone +1 (555) 010-0199 at once\nThanks",
        "No number here, urgent or not. The emergency room is down the road.",
        "On call 24 hours: 555.0199. Emergency: 911 is not a clinic line.",
    ]
    for text in texts:
        assert list(_urgent_lines(text)) == [m.group(0) for m in _URGENT_LINE.finditer(text)], text
    # A line of 20,000 characters is looked at only near its urgent word.
    [line] = _urgent_lines("x " * 5000 + "urgent: 555 0199 " + "y " * 5000)
    assert "urgent: 555 0199" in line and len(line) < 1000
