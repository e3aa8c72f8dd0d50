"""The bundled model, loaded offline."""

from __future__ import annotations

import numpy as np
import pytest

from kb.embedding import Embedder
from kb.errors import KBError


def test_bundled_model_loads_offline_with_384_dimensions(embedder: Embedder) -> None:
    assert embedder.dimension == 384
    assert embedder.max_tokens == 256
    assert embedder.model_id == "all-MiniLM-L6-v2"


def test_vectors_are_unit_length_float32(embedder: Embedder) -> None:
    vectors = embedder.encode_passages(["Redness lasts weeks.", "The clinic opens at 8."], batch_size=1)
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.encode_query("How long is the redness?")
    assert query.shape == (384,)
    assert float(vectors[0] @ query) > float(vectors[1] @ query)


def test_progress_is_reported_per_batch(embedder: Embedder) -> None:
    seen = []
    embedder.encode_passages(["a", "b", "c"], batch_size=2, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 3), (3, 3)]


def test_count_tokens_uses_the_models_tokenizer(embedder: Embedder) -> None:
    assert embedder.count_tokens(["hello world", "treat-ment"]) == [2, 4]


def test_an_unknown_model_name_is_refused_clearly() -> None:
    with pytest.raises(KBError, match="neither the bundled 'all-MiniLM-L6-v2' nor a folder"):
        Embedder("no-such-model")
