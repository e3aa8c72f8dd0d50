"""BM25 keyword index: the only module that imports bm25s (and its stemmer).

Same shape as ``kb.index.files.vectors``: build, save, load, search; row ``i`` is passage row ``i``.
Keywords catch what the small embedding model misses: exact terms such as "sessions",
"isotretinoin" or a price, where a dense vector only sees the general topic.

The index keeps every word but the commonest few (Lucene's stopwords); queries also drop
the function words patients wrap questions in ("how", "does", "my", ...), so the words
that carry the question's intent decide the match. The same tokenizer marks the matched
words in a result, so what is highlighted is what was searched.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import numpy as np

from kb.index.base import Lexical, by_frequency

#: Words of the query that carry no intent, on top of the indexed stopwords.
QUERY_STOPWORDS = "en_plus"
#: ... but for the words that place things in time, which that list drops: what a question
#: about timing asks ("between sessions", "before treatment", "until results show").
#: Clinic dev MRR@10 0.797 -> 0.810; SciFact train and NFCorpus dev within 0.001.
TIME_WORDS = frozenset({"after", "before", "between", "until", "during", "again", "once"})
_WORDS = "words.json"
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@cache
def _stopwords(name: str) -> frozenset[str]:
    from bm25s import stopwords

    return frozenset({"en": stopwords.STOPWORDS_EN, "en_plus": stopwords.STOPWORDS_EN_PLUS}[name])


def _bm25s():
    import bm25s

    return bm25s


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``, as the index splits them (two characters or more)."""
    return _TOKEN.findall(text.lower())


def stem(word: str) -> str:
    return _stemmer().stemWord(word.lower())


@cache
def query_stopwords() -> frozenset[str]:
    """Words of a query that carry no intent."""
    return (_stopwords(QUERY_STOPWORDS) - TIME_WORDS) | _stopwords("en")


def query_stems(text: str) -> list[str]:
    """Stems of the words of a query that carry its intent (query stopwords dropped)."""
    drop = query_stopwords()
    return [stem(w) for w in words(text) if w not in drop]


def _tokenize(texts: list[str]):
    return _bm25s().tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=True, show_progress=False)


class LexicalIndex(Lexical):
    """A BM25 index over passage texts (the same text the model embeds)."""

    def __init__(self, retriever, size: int, surface: dict[str, str] | None = None) -> None:
        self._retriever = retriever
        self.size = size
        #: stem -> the commonest word in the documents with that stem, to show corrections.
        self.surface = surface or {}
        self._best: np.ndarray | None = None

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        if not texts:
            return cls(None, 0)
        retriever = _bm25s().BM25()
        retriever.index(_tokenize(texts), show_progress=False)
        counts: Counter[str] = Counter(w for t in texts for w in words(t) if not w.isdigit())
        surface: dict[str, str] = {}
        for word, _ in counts.most_common():
            surface.setdefault(stem(word), word)
        return cls(retriever, len(texts), surface)

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "size.txt").write_text(str(self.size), encoding="utf-8")
        (folder / _WORDS).write_text(json.dumps(self.surface, ensure_ascii=False), encoding="utf-8")
        if self._retriever is not None:
            self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        folder = Path(folder)
        size = int((folder / "size.txt").read_text(encoding="utf-8"))
        words_file = folder / _WORDS
        surface = json.loads(words_file.read_text(encoding="utf-8")) if words_file.exists() else {}
        if size == 0:
            return cls(None, 0, surface)
        retriever = _bm25s().BM25.load(str(folder), mmap=False, show_progress=False)
        return cls(retriever, size, surface)

    def knows(self, stem_: str) -> bool:
        return self._retriever is not None and stem_ in self._retriever.vocab_dict

    def stems(self) -> list[str]:
        if self._retriever is None:
            return []
        indptr = self._retriever.scores["indptr"]
        passages = np.diff(indptr)
        vocab = self._retriever.vocab_dict
        return by_frequency({s: int(passages[i]) for s, i in vocab.items() if i < len(passages)})

    def _ids(self, stems: list[str]) -> list[int]:
        vocab = self._retriever.vocab_dict
        return [vocab[s] for s in stems if s in vocab]

    def scores(self, stems: list[str]) -> np.ndarray:
        """BM25 score of every passage row for the query stems, float32 (size,)."""
        ids = self._ids(stems) if self._retriever is not None else []
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)

    def attainable(self, stems: list[str]) -> float:
        """The sum over the query stems of the best score any one passage gets for each: a
        passage scoring this much matches every query word as well as any passage does.
        Stems the index has never seen count as the rarest word, so a query about a
        subject the documents never name scores low against it."""
        if self._retriever is None:
            return 0.0
        best = self._best_per_stem()
        vocab = self._retriever.vocab_dict
        return attainable(lambda s: float(best[vocab[s]]) if s in vocab else None, self.rarest, stems)

    @property
    def rarest(self) -> float:
        """The best score of the rarest word: what an unknown word counts in ``attainable``."""
        return float(self._best_per_stem().max(initial=0.0)) if self._retriever is not None else 0.0

    def postings(self) -> Iterator[tuple[str, float, np.ndarray, np.ndarray]]:
        """(stem, best score, passage rows int32, BM25 weights float32) of every stem: the
        index as a table, for a backend that stores it so (kb/index/postgres). Summing a
        query's stems' weights per row (``sum_postings``) gives ``scores`` exactly."""
        if self._retriever is None:
            return
        data, indices, indptr = (self._retriever.scores[k] for k in ("data", "indices", "indptr"))
        best = self._best_per_stem()
        for stem_, i in self._retriever.vocab_dict.items():
            if i >= len(indptr) - 1:
                continue  # bm25s's own padding token, in no passage
            lo, hi = int(indptr[i]), int(indptr[i + 1])
            yield stem_, float(best[i]), indices[lo:hi].astype(np.int32), data[lo:hi].astype(np.float32)

    def _best_per_stem(self) -> np.ndarray:
        if self._best is None:
            data, indptr = self._retriever.scores["data"], self._retriever.scores["indptr"]
            best = np.zeros(len(indptr) - 1, dtype=np.float32)
            filled = np.diff(indptr) > 0
            best[filled] = np.maximum.reduceat(data, indptr[:-1][filled])
            self._best = best
        return self._best


def attainable(best: Callable[[str], float | None], rarest: float, stems: list[str]) -> float:
    """``Lexical.attainable`` from each stem's best score (None for a stem never seen)."""
    total = 0.0
    for s in stems:
        found = best(s)
        total += rarest if found is None else found
    return float(total)


def sum_postings(size: int, postings: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """BM25 scores of every row from the query stems' postings (rows, weights), one entry
    per query stem in query order: summed as bm25s sums them, float32 (size,)."""
    scores = np.zeros(size, dtype=np.float32)
    if postings:
        rows = np.concatenate([r for r, _ in postings]).astype(np.int64)
        weights = np.concatenate([w for _, w in postings]).astype(np.float32)
        np.add.at(scores, rows, weights)
    return scores


def matched_spans(text: str, stems: set[str]) -> list[tuple[int, int]]:
    """(start, end) of each word of ``text`` whose stem is one of ``stems``."""
    out = []
    for match in _TOKEN.finditer(text):
        if stem(match.group()) in stems:
            out.append((match.start(), match.end()))
    return out
