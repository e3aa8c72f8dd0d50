"""Vector index build, save, load and search: the only module that imports faiss.

Vectors are L2-normalized, so the inner-product metric gives cosine similarity. The index
type is a FAISS factory string (``Settings.vector_index``): "Flat" for exact search,
"HNSW32" or "IVF{n},Flat" and the like for approximate search over large collections.
Row ``i`` of the index is passage row ``i`` of the same generation's passage store.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import faiss
import numpy as np

from kb.errors import KBError


def build_vector_index(vectors: np.ndarray, index_type: str = "Flat") -> faiss.Index:
    """An index over ``vectors`` (n, d) float32, rows in the given order."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D (n, d), got shape {vectors.shape}")
    n, dimension = vectors.shape
    try:
        index = faiss.index_factory(dimension, index_type, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise KBError(
            f"{index_type!r} is not a FAISS index type faiss can build ({exc}). "
            "Use 'Flat', 'HNSW32' or 'IVF256,Flat', for example."
        ) from exc
    if not index.is_trained:
        if n == 0:
            return faiss.IndexFlatIP(dimension)
        try:
            index.train(vectors)
        except RuntimeError as exc:
            raise KBError(
                f"The {index_type!r} index could not be trained on {n} passages ({exc}); it "
                "needs more passages than clusters. Use 'Flat' for small collections."
            ) from exc
    if n:
        index.add(vectors)
    return index


def save_vector_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_vector_index(path: Path) -> faiss.Index:
    index = faiss.read_index(str(path))
    with contextlib.suppress(RuntimeError):  # IVF indexes need a direct map to hand back vectors by row
        faiss.extract_index_ivf(index).make_direct_map()
    return index


def all_vectors(index: faiss.Index) -> np.ndarray:
    """Every stored vector, (ntotal, d) float32: a view of the index's own memory for flat
    indexes (no second copy), reconstructed for others."""
    n, d = index.ntotal, index.d
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    if isinstance(index, faiss.IndexFlat):
        return faiss.rev_swig_ptr(index.get_xb(), n * d).reshape(n, d)
    return index.reconstruct_n(0, n)
