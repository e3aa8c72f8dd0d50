"""The benchmark's generated corpus: real files in every shipped format, new sentences,
the same files for the same seed (untimed; bench/bench_ingest.py does the timing)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import generate_corpus  # noqa: E402
from kb.reading.chunking import split_sentences  # noqa: E402
from kb.reading.documents import read_document  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_corpus(tmp_path_factory.mktemp("corpus"), documents=40, seed=3)


def test_every_shipped_format_is_written_and_reads_back(corpus: list[Path]) -> None:
    assert len(corpus) == 40
    assert set(Counter(p.suffix for p in corpus)) == {".pdf", ".docx", ".html", ".md", ".txt"}
    for path in corpus:
        document = read_document(path, path.parent)
        assert document.words > 20, path.name
        assert any(b.kind == "heading" for b in document.blocks), path.name
    assert max(read_document(p, p.parent).pages or 1 for p in corpus if p.suffix == ".pdf") > 1


def test_sentences_are_not_repeated(corpus: list[Path]) -> None:
    """Repeats would come from the embedding cache and make the ingest look faster."""
    sentences = []
    for path in corpus:
        document = read_document(path, path.parent)
        for block in document.blocks:
            if block.kind != "heading" and block.role == "text":
                sentences += [block.text[s:e] for s, e in split_sentences(block.text)]
    assert len(sentences) > 200
    assert len(set(sentences)) >= 0.99 * len(sentences)


def test_the_same_seed_writes_the_same_files(corpus: list[Path], tmp_path: Path) -> None:
    again = generate_corpus(tmp_path, documents=5, seed=3)
    assert [p.name for p in again] == [p.name for p in corpus[:5]]
    for a, b in zip(again, corpus[:5], strict=True):
        if a.suffix in (".md", ".txt", ".html"):
            assert a.read_bytes() == b.read_bytes()
