"""BM25 keyword index: the only module that imports bm25s (and its stemmer).

Same shape as ``kb.vectors``: build, save, load, search; row ``i`` is passage row ``i``.
Keywords catch what the small embedding model misses: exact terms such as "sessions",
"isotretinoin" or a price, where a dense vector only sees the general topic.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _bm25s():
    import logging

    import bm25s

    # bm25s sets its own logger to DEBUG and prints progress notes; keep only warnings.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _tokenize(texts: list[str], return_ids: bool):
    bm25s = _bm25s()

    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer(), return_ids=return_ids, show_progress=False
    )


class LexicalIndex:
    """A BM25 index over passage texts (the same text the model embeds)."""

    def __init__(self, retriever, size: int) -> None:
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        bm25s = _bm25s()

        if not texts:
            return cls(None, 0)
        retriever = bm25s.BM25()
        retriever.index(_tokenize(texts, return_ids=True), show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "size.txt").write_text(str(self.size), encoding="utf-8")
        if self._retriever is not None:
            self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        bm25s = _bm25s()

        folder = Path(folder)
        size = int((folder / "size.txt").read_text(encoding="utf-8"))
        if size == 0:
            return cls(None, 0)
        return cls(bm25s.BM25.load(str(folder), mmap=False, show_progress=False), size)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores and passage rows of the best ``k`` matches, best first; rows with no
        matching keyword are left out."""
        k = min(k, self.size)
        tokens = _tokenize([query], return_ids=False)
        if k <= 0 or not tokens[0]:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        rows, scores = self._retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        keep = scores[0] > 0
        return scores[0][keep], rows[0][keep].astype(np.int64)
