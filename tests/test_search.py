"""Searching: validation of queries, and retrieval over the shipped documents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import IndexNotFoundError, QueryError
from kb.search import KnowledgeBase

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def shipped(shipped_index: Settings, embedder: Embedder) -> KnowledgeBase:
    return KnowledgeBase(shipped_index, embedder)


@pytest.mark.parametrize(
    ("query", "k", "message"),
    [
        ("", 5, "Type a question first"),
        ("   \n\t ", 5, "Type a question first"),
        (None, 5, "Type a question first"),
        ("x" * 1001, 5, "1,001 characters long; the limit is 1,000"),
        ("redness", 0, "k must be a whole number from 1 to 50; got 0"),
        ("redness", 51, "k must be a whole number from 1 to 50; got 51"),
        ("redness", "5", "k must be a whole number from 1 to 50; got '5'"),
        ("redness", 2.5, "k must be a whole number from 1 to 50; got 2.5"),
        ("redness", True, "k must be a whole number"),
    ],
)
def test_bad_queries_get_a_clear_error(shipped: KnowledgeBase, query, k, message: str) -> None:
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        shipped.search(query, k)


def test_hits_are_ranked_with_their_sources_and_falling_scores(shipped: KnowledgeBase) -> None:
    hits = shipped.search("  How long is the redness after a CO2 laser?  ", 10)
    assert [h.rank for h in hits] == list(range(1, 11))
    assert all(h.highlight and h.highlight in h.text for h in hits)
    assert all(0.0 <= h.score <= 1.0 and h.passage_id.startswith(h.source + "#") for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert "month" in " ".join(h.text for h in hits[:3])


def test_how_many_sessions_finds_the_faq_answer_first_and_the_articles_passage(
    shipped: KnowledgeBase,
) -> None:
    """The clinic's own answers come first; the general article's passage is still found,
    with its one precise sentence as the highlight."""
    hits = shipped.search("How many sessions will I need?", 20)
    assert hits[0].source == "faq.md" and hits[0].section == "How many sessions will I need?"
    article = [h for h in hits if h.source == "laser-skin-resurfacing-article.txt"]
    assert article and "3-4 sessions" in article[0].text
    assert article[0].highlight == "It typically takes 3-4 sessions to obtain the best outcomes."


def test_a_brand_name_finds_its_passage_through_the_glossary(shipped: KnowledgeBase) -> None:
    """The documents say isotretinoin; the patient says Roaccutane (the glossary maps it)."""
    question = "I was on roaccutane last year, can I still get lasered?"
    answer = shipped.answer(question, 3)
    assert "isotretinoin" in answer.searched_for
    assert "isotretinoin" in answer.hits[0].text.lower()
    without = shipped.configured(use_glossary=False).answer(question, 3)
    assert without.searched_for == ()


def test_an_faq_question_asked_in_other_words_finds_its_entry(shipped: KnowledgeBase) -> None:
    hits = shipped.search("does the co2 laser hurt", 3)
    assert ("faq.md", "Does it hurt?") in [(h.source, h.section) for h in hits]


def test_a_misspelt_word_is_searched_as_the_documents_spell_it(shipped: KnowledgeBase) -> None:
    answer = shipped.answer("how long is the reserfacing recovery", 3)
    assert "resurfacing" in answer.searched_for
    assert "redness" in shipped.answer("how lond does the rednes last", 3).searched_for


def test_real_words_are_never_corrected_into_other_words(shipped: KnowledgeBase) -> None:
    from wordfreq import top_n_list

    assert shipped.answer("Do you remove warts?", 3).searched_for == ()
    assert shipped.answer("hi there", 3).searched_for == ()
    # A word built on a real one is no misspelling: "presentable" is not "prevent".
    assert shipped.answer("how soon can I look presentable after co2", 3).searched_for == ()
    # "Also searched for" never repeats the question's own words.
    assert "makeup" not in shipped.answer("can i wear makeup after laser", 3).searched_for
    plain = shipped.configured(use_glossary=False)  # whatever is added is then a spelling fix
    changed = {w: plain.rewrite(w).added for w in top_n_list("en", 5000)}
    assert {w: added for w, added in changed.items() if added} == {}


def test_k_larger_than_the_index_returns_what_there_is(built: Settings, embedder: Embedder) -> None:
    kb = KnowledgeBase(built, embedder)
    assert len(kb.search("laser", 50)) == kb.generation.passage_count


def test_every_shipped_passage_fits_the_model(shipped: KnowledgeBase, embedder: Embedder) -> None:
    generation = shipped.generation
    passages = generation.passages_at(range(generation.passage_count))
    counts = embedder.count_tokens([p.embedding_text for p in passages])
    for p, n in zip(passages, counts, strict=True):
        assert n + 2 <= embedder.max_tokens, p.id  # [CLS] and [SEP] count too


def test_shipped_article_passages_carry_no_boilerplate(shipped: KnowledgeBase) -> None:
    passages = shipped.generation.passages_of("laser-skin-resurfacing-article.txt")
    text = "\n".join(p.text for p in passages)
    assert passages and "Share on" not in text and "Like this article" not in text


def test_questions_written_for_each_document_mostly_find_it_in_the_top_5(shipped: KnowledgeBase) -> None:
    """A quality floor over the question set written with the documents (several documents
    can answer many of these, so a few misses are expected; bench/ reports the figures)."""
    cases = json.loads((DATA / "pdf_questions.json").read_text())
    cases += json.loads((DATA / "other_questions.json").read_text())
    found = [case["source"] in [h.source for h in shipped.search(case["question"], 5)] for case in cases]
    assert sum(found) / len(found) >= 0.75, [
        c["question"] for c, f in zip(cases, found, strict=True) if not f
    ]


def test_no_index_says_how_to_build_one(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(documents_dir=tmp_path, index_dir=tmp_path / "index")
    with pytest.raises(IndexNotFoundError, match="No index in .*Build one with: python ingest.py"):
        KnowledgeBase(settings, embedder)


def _eval_questions(limit: int = 40) -> list[str]:
    rows = [json.loads(line) for line in (Path(__file__).parent.parent / "eval" / "questions.jsonl").open()]
    return [r["question"] for r in rows if r.get("split") == "dev"][:limit]


def test_scoring_only_candidates_ranks_as_scoring_every_passage(shipped: KnowledgeBase) -> None:
    """A large collection scores only the vector index's and BM25's candidates; on the
    shipped documents that finds the same hits, in the same order, as scoring all."""
    candidates = shipped.configured(full_scan_passages=0)
    for question in _eval_questions():
        every, some = shipped.search(question, 5), candidates.search(question, 5)
        assert [h.passage_id for h in some] == [h.passage_id for h in every], question
        assert [h.highlight for h in some] == [h.highlight for h in every], question
        assert np.allclose([h.score for h in some], [h.score for h in every], atol=1e-5)


def test_an_approximate_index_set_by_the_staff_is_built_recorded_and_searched(
    shipped_index: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    from kb.ingest import ingest

    settings = shipped_index.with_changes(index_dir=tmp_path / "index", vector_index="IVF8,Flat")
    assert ingest(settings, embedder=embedder).ok
    kb = KnowledgeBase(settings.with_changes(full_scan_passages=0), embedder)
    plan = kb.generation.manifest["vector_index"]
    assert plan["factory"] == "IVF8,Flat" and plan["chosen_by"] == "setting" and not plan["exact"]
    assert plan["params"]["nprobe"] >= 1
    assert kb.generation.passage_matrix is None  # the IVF index holds the only copy
    assert len(kb.signals("How long does the redness last?").passage) == kb.generation.passage_count
    exact = KnowledgeBase(shipped_index, embedder)
    small = KnowledgeBase(settings, embedder)  # under full_scan_passages, yet no matrix to scan
    for question in _eval_questions(15):
        expected = exact.search(question, 1)[0].passage_id
        assert kb.search(question, 1)[0].passage_id == expected, question
        assert small.search(question, 1)[0].passage_id == expected, question


def test_answers_asked_at_once_from_many_threads_match_those_asked_one_at_a_time(
    shipped: KnowledgeBase,
) -> None:
    """Concurrent questions share model calls (kb.embedding batches them); each answer is
    still the one its question gets alone."""
    import threading

    questions = _eval_questions(16)
    alone = {q: shipped.answer(q, 5) for q in questions}
    together: dict[str, object] = {}
    start = threading.Barrier(len(questions))

    def ask(question: str) -> None:
        start.wait()
        together[question] = shipped.answer(question, 5)

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for q in questions:
        assert [h.passage_id for h in together[q].hits] == [h.passage_id for h in alone[q].hits], q
        assert np.allclose([h.score for h in together[q].hits], [h.score for h in alone[q].hits], atol=1e-5)
        assert (together[q].answered, together[q].urgent) == (alone[q].answered, alone[q].urgent)


@pytest.mark.parametrize(
    "message",
    [
        "hello",
        "Hi there!",
        "thanks!",
        "thank you so much!!",
        "ok",
        "k",
        "?",
        "👍👍",
        "42",
        "asdf",
        "good morning",
        "are you a real person",
        "HELLO ANYONE THERE",
        "bye",
        "lol",
        "test",
        "hiii",
        "how are you",
        "whats up",
        "no worries",
        "what can you do",
        "can I talk to a human",
        "never mind",
        "sorry",
        "I have a question",
    ],
)
def test_small_talk_and_non_questions_are_recognised(message: str) -> None:
    from kb.search.smalltalk import is_small_talk

    assert is_small_talk(message)


@pytest.mark.parametrize(
    "message",
    [
        "how much",
        "help with redness",
        "Do you remove warts?",
        "fraxel?",
        "co2 downtime",
        "is it safe",
        "thanks, how long is the redness?",
        "hi, can I book for Saturday?",
        "spf",
        "ok to swim after laser?",
        "what is the name of the cream",
        "is my skin too old",
        "I have a question about peeling",
        "does it hurt",
    ],
)
def test_short_questions_are_not_small_talk(message: str) -> None:
    from kb.search.smalltalk import is_small_talk

    assert not is_small_talk(message)


@pytest.mark.parametrize(
    ("near", "covered"),
    [
        ("How long does HydraFacial take?", "How long does the treatment take?"),
        ("How long do Juvederm fillers last?", "How long do the results of laser resurfacing last?"),
        ("Is Ultherapy painful?", "Is laser resurfacing painful?"),
        # Named in the documents in passing; near questions of the golden set are the clue.
        ("How much does Botox cost?", "How much does a CO2 laser treatment cost?"),
        ("How many sessions of tattoo removal will I need?", "How many sessions of laser resurfacing will I need?"),
    ],
)
def test_a_question_about_another_treatment_is_declined_while_its_neighbour_is_answered(
    shipped: KnowledgeBase, near: str, covered: str
) -> None:
    declined = shipped.answer(near, 5)
    assert (declined.answered, declined.reason) == (False, "not_covered")
    assert declined.message.startswith("The clinic's documents don't cover")
    assert shipped.answer(covered, 5).answered


def test_the_keyword_weight_shrinks_only_past_the_full_length() -> None:
    from kb.search.ranking import keyword_weight

    assert keyword_weight(0.4, 12, 5) == keyword_weight(0.4, 12, 12) == 0.4
    assert keyword_weight(0.4, 12, 48) == pytest.approx(0.2)  # four times the words: half
    assert keyword_weight(0.4, 0, 48) == 0.4  # 0 keeps the weights at any length
    weights = [keyword_weight(0.4, 12, n) for n in range(12, 60)]
    assert weights == sorted(weights, reverse=True)


def test_a_long_question_moves_keyword_weight_to_the_passage_cosine() -> None:
    import numpy as np

    from kb.config import Settings
    from kb.search.ranking import Signals, combine

    one = np.array([1.0, 0.0], dtype=np.float32)  # passage 0: the model's pick
    other = np.array([0.0, 1.0], dtype=np.float32)  # passage 1: the keywords' pick
    zero = np.zeros(2, dtype=np.float32)

    def scores(known_words: int) -> np.ndarray:
        signals = Signals(None, one, zero, zero, zero, other, zero, np.zeros(3, np.int64), known_words)
        weights = {"weight_passage": 0.5, "weight_sentence": 0.1, "weight_lexical": 0.4}
        return combine(signals, Settings(lexical_full_length=12, **weights))

    short, long = scores(4), scores(48)
    assert short[0] == pytest.approx(0.5) and short[1] == pytest.approx(0.4)
    assert long[0] == pytest.approx(0.7) and long[1] == pytest.approx(0.2)


def test_a_question_no_phrase_matches_is_urgent_when_it_is_near_an_urgent_example(
    built: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """The second way a question is flagged: by meaning, nearest an urgent example."""
    rules = tmp_path / "warning-signs.txt"
    rules.write_text(
        "[eyes swollen shut]\nswollen shut\n"
        "[urgent examples]\nmy eyes have swollen shut and I cannot open them since the laser\n"
        "[not urgent examples]\nis some swelling normal on day 2\nhow long is the redness\n",
        encoding="utf-8",
    )
    kb = KnowledgeBase(built.with_changes(warning_signs=rules), embedder)
    question = "since the treatment my eyes are so puffy that I can't open them"
    assert kb.rules.matched_signs(question) == []  # no phrase of the file matches it
    answer = kb.answer(question, 3)
    assert answer.urgent and answer.warning_signs == ["eyes swollen shut"]
    calm = kb.answer("how long is the redness after the laser", 3)
    assert not calm.urgent
