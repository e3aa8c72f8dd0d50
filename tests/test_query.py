"""The patient's words -> the documents' words: glossary, joined variants, compounds and
spelling (pure functions; the vocabulary is a small set here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.search import query
from kb.search.query import parse_glossary, rewrite

GLOSSARY = parse_glossary(
    """
    # brand names
    accutane, roaccutane = isotretinoin
    co2 = carbon dioxide
    put to sleep = anaesthesia sedation
    """
)
VOCABULARY = {"isotretinoin", "resurfacing", "skin", "care", "co2", "laser", "redness"}


def known(word: str) -> bool:
    return word.lower() in VOCABULARY


def correct(word: str) -> str | None:
    return query.nearest(word, sorted(VOCABULARY))


def words(text: str) -> list[str]:
    return [w.lower() for w in text.replace("?", " ").replace(",", " ").split()]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accutane isotretinoin", "line 1: expected 'patient words = document words'"),
        ("\n\n = isotretinoin", "line 3: expected"),
        ("accutane =", "line 1: expected"),
    ],
)
def test_a_malformed_glossary_line_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_glossary(text)


def test_glossary_terms_match_whole_words_in_any_spelling_of_hyphens_and_case() -> None:
    assert query.apply_glossary("Can I have it after ROACCUTANE?", GLOSSARY) == ["isotretinoin"]
    assert query.apply_glossary("co-2 or co 2?", GLOSSARY) == ["carbon dioxide"]
    assert query.apply_glossary("will I be put to sleep", GLOSSARY) == ["anaesthesia sedation"]
    assert query.apply_glossary("accutanes", GLOSSARY) == []  # not a whole word


def test_rewrite_adds_glossary_words_joined_variants_compounds_and_spelling_fixes() -> None:
    searched = rewrite("accutane and co-2 laserskin reserfacing", GLOSSARY, known, correct, words)
    assert searched.added == ("isotretinoin", "carbon dioxide", "co2", "laser skin", "resurfacing")
    assert searched.expanded.startswith("accutane and co-2 laserskin reserfacing isotretinoin")


def test_real_words_are_neither_corrected_nor_split() -> None:
    # "skincare" and "warts" are English (wordfreq), though the documents never use them.
    assert rewrite("skincare", GLOSSARY, known, correct, words).added == ()
    assert query.likely_fix("rednes", "redness") and query.likely_fix("excercise", "exercise")
    assert not query.likely_fix("warts", "part") and not query.likely_fix("thanks", "than")
    # Rare but real, and the fix no commoner: "leathery" is not "feathering".
    assert not query.likely_fix("leathery", "feathering")


def test_known_words_short_words_and_glossary_terms_are_not_corrected() -> None:
    assert rewrite("laser redness", GLOSSARY, known, correct, words).added == ()
    assert rewrite("lazer", GLOSSARY, known, correct, words).added == ("laser",)
    assert rewrite("redns xyz", GLOSSARY, known, correct, words).added == ()  # under 5 letters, too far
    assert rewrite("roaccutane", GLOSSARY, known, correct, words).added == ("isotretinoin",)


def test_words_far_from_every_known_word_are_left_alone() -> None:
    assert query.nearest("microneedling", sorted(VOCABULARY)) is None
    assert query.nearest("isotretinon", sorted(VOCABULARY)) == "isotretinoin"


def test_the_shipped_glossary_parses(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parent.parent / "glossary.txt"
    entries = query.load_glossary(shipped)
    assert ("isotretinoin" in words for _, words in entries)
    assert query.load_glossary(tmp_path / "missing.txt") == ()


def test_the_length_grouped_vocabulary_finds_what_a_scan_of_every_word_finds() -> None:
    import random

    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    rng = random.Random(7)
    letters = "aeioulnrst"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    grouped = query.Vocabulary(words)
    for _ in range(300):
        word = "".join(rng.choice(letters) for _ in range(rng.randint(2, 10)))
        limit = 1 if len(word) <= 7 else 2
        scan = process.extractOne(word, words, scorer=DamerauLevenshtein.distance, score_cutoff=limit)
        assert grouped.nearest(word, limit) == (scan[0] if scan else None), word


def test_spelling_ties_do_not_depend_on_the_process_that_built_the_index() -> None:
    """bm25s numbers its words in an order that follows the building process's hash seed;
    the spelling vocabulary is ordered by how many passages hold a word, then alphabetically."""
    import os
    import subprocess
    import sys

    code = (
        "from kb.index.lexical import LexicalIndex\n"
        "ix = LexicalIndex.build(['pills and tablets', 'an illness', 'a filled form', 'pills again'])\n"
        "print(ix.stems())\n"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert seen == {"['pill', 'again', 'fill', 'form', 'ill', 'tablet']\n"}


def test_also_searched_for_lists_only_what_the_question_does_not_say() -> None:
    rewritten = query.Rewrite("makeup after fraxel", ("non-ablative fractional laser", "makeup"))
    assert rewritten.new_words == ("non-ablative fractional laser",)
    assert query.Rewrite("makup after fraxel", ("makeup",)).new_words == ("makeup",)
