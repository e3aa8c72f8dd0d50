"""Vector index plan, build, save, load and search: the only module that imports faiss.

Vectors are L2-normalized, so the inner-product metric gives cosine similarity. Row ``i``
of the index is passage row ``i`` of the same generation's passage store.

Which index to build is an ``IndexPlan``. With the setting "auto" (``plan_index``) the
collection's size decides: exact search ("Flat") while one query scans every vector within
the latency budget, an inverted-file index ("IVF{nlist},Flat") above that, with the number
of lists it probes chosen so recall@10 against exact search stays >= 0.98. Any other
setting is a FAISS factory string ("Flat", "HNSW32", "IVF4096,SQ8", ...) used as given.

Memory: a flat index is the only copy of its vectors (``all_vectors`` is a view of it).
Over an approximate index the caller keeps no full matrix either: it asks
``search_vectors`` for candidates and ``vectors_at`` for the few vectors it needs.
"""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path

import faiss
import numpy as np

from kb.errors import KBError
from kb.index.base import IndexPlan

# Figures behind the constants below: `nice -n 5 python bench/bench_scale.py` (2-core
# machine, 384-d vectors generated from the real ones, one search thread; 13.9 min);
# docs/SCALING.md has the tables.
#
# Exact search scans every vector: single-query p95 (k=100) was 1.6 ms at 10,000 vectors,
# 25.7 ms at 100,000 and 260 ms at 1,000,000 (0.26 ms per 1,000: past 10 ms at ~38,000)
# while the machine was shared; 144 ms at 1,000,000 when it was quiet (past 10 ms at
# ~69,000, `--sizes 1000000 --skip-lexical`). 40,000 holds the budget on a busy machine.
#: Largest collection "auto" searches exactly.
EXACT_UP_TO = 40_000
#: Single-query search budget, milliseconds, for one index (the passage or sentence index).
SEARCH_BUDGET_MS = 10
# IVF at 1,000,000 vectors (train + add, 2 cores; recall@10 at nprobe 8/16/24/48):
#   2,048 lists, 32 training vectors per list, 10 k-means rounds: 18 + 29 s; .976/.986/.991/.993
#   4,096 lists, 32 per list:                                    82 + 52 s; .970/.982/.986/.992
# So about 2 sqrt(n) lists (half FAISS's usual 4 sqrt(n)): the same recall, a third of the
# build. The smallest nprobe reaching recall@10 0.98 was 4 of 512 lists at 100,000 and 6 of
# 2,048 at 1,000,000; a harder generated set (three times the noise) needed 24 of 1,024 at
# 100,000, about 0.75 sqrt(nlist). nprobe = sqrt(nlist) covers that with room for real text
# being harder still: recall .996 at 100,000 (23 probes), 1.000 at 1,000,000 (46 probes).
# Real questions were harder: the evaluation questions' own vectors, searched in the whole
# answer (bench/bench_search_scale.py), reached recall@10 only .973 at 100,000 with 23
# probes (.983 at 1,000,000 with 46). Twice sqrt(nlist) probes: 46 of 512 and 91 of 2,048,
# about 1 and 3 ms more a search.
#: IVF lists per sqrt(n), rounded to a power of two.
LISTS_PER_SQRT_N = 2
#: Probed lists per sqrt(number of lists).
NPROBE_PER_SQRT_NLIST = 2.0
#: Training sample per IVF list: FAISS warns below 39; more only slows training.
TRAIN_PER_LIST = 40
#: k-means rounds when training IVF (FAISS's default is 25; the recall above is with 10).
KMEANS_ITERATIONS = 10
#: HNSW's candidate list when a setting asks for HNSW without saying (HNSW32 needed
#: efSearch 96 for recall@10 0.98 at 100,000 vectors in the bench).
HNSW_EF_SEARCH = 128

_IVF = re.compile(r"IVF(\d+)")
_PQ = re.compile(r"PQ(\d+)(?:x(\d+))?")




def plan_from_manifest(recorded: dict | str) -> IndexPlan:
    """The plan a manifest records; older manifests hold only the factory string."""
    if isinstance(recorded, str):
        return _setting_plan(recorded, reason=f"recorded as {recorded!r} by an older version")
    return IndexPlan.from_manifest(recorded)


def plan_index(n: int, setting: str = "auto") -> IndexPlan:
    """The index for ``n`` vectors under ``setting``: "auto", or a FAISS factory string.

    "auto" searches exactly up to ``EXACT_UP_TO`` vectors and with an IVF index above.
    A factory string is used as given (``chosen_by="setting"``) unless the collection is
    too small to train it, in which case the plan is exact "Flat" and its reason says so.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    setting = setting.strip()
    if setting.lower() == "auto":
        if n <= EXACT_UP_TO:
            return IndexPlan(
                "Flat",
                exact=True,
                reason=f"{n:,} vectors: exact search stays under the {SEARCH_BUDGET_MS} ms budget "
                f"up to {EXACT_UP_TO:,}",
            )
        plan = approximate_plan(n)
        return IndexPlan(
            plan.factory,
            plan.params,
            exact=False,
            reason=f"{n:,} vectors: exact search passes the {SEARCH_BUDGET_MS} ms budget above "
            f"{EXACT_UP_TO:,}, so an IVF index probed for recall@10 >= 0.98",
        )
    needs = _training_points(setting)
    if n < needs:
        return IndexPlan(
            "Flat",
            exact=True,
            chosen_by="setting",
            reason=f"{setting!r} was set, but {n:,} vectors are too few to train it (needs "
            f"{needs:,}), so exact search instead",
        )
    return _setting_plan(setting, reason=f"set to {setting!r}")


def approximate_plan(n: int) -> IndexPlan:
    """The approximate index "auto" builds for ``n`` vectors (whatever the threshold):
    IVF with about 2 sqrt(n) lists (at most one per ``TRAIN_PER_LIST`` vectors, so each
    list's centroid is trained on enough of them), probed for recall@10 >= 0.98."""
    nlist = 2 ** round(math.log2(LISTS_PER_SQRT_N * math.sqrt(max(n, 1))))
    nlist = max(16, min(nlist, 2 ** int(math.log2(max(n // TRAIN_PER_LIST, 1)))))
    return IndexPlan(
        f"IVF{nlist},Flat",
        {"nprobe": _nprobe(nlist)},
        exact=False,
        reason=f"{n:,} vectors: IVF with {nlist:,} lists, probed for recall@10 >= 0.98",
    )


def _nprobe(nlist: int) -> int:
    return min(nlist, max(8, math.ceil(NPROBE_PER_SQRT_NLIST * math.sqrt(nlist))))


def _setting_plan(factory: str, reason: str) -> IndexPlan:
    params: dict[str, int] = {}
    ivf = _IVF.search(factory)
    if ivf:
        params["nprobe"] = _nprobe(int(ivf.group(1)))
    if "HNSW" in factory and not ivf:
        params["efSearch"] = HNSW_EF_SEARCH
    return IndexPlan(factory, params, exact=factory == "Flat", chosen_by="setting", reason=reason)


def _training_points(factory: str) -> int:
    """The fewest vectors that can train ``factory`` (1 for indexes that need none)."""
    needs = 1
    ivf = _IVF.search(factory)
    if ivf:
        needs = max(needs, int(ivf.group(1)))
    pq = _PQ.search(factory)
    if pq:
        needs = max(needs, 2 ** int(pq.group(2) or 8))
    return needs


def build_vector_index(vectors: np.ndarray, plan: IndexPlan | str = "Flat") -> faiss.Index:
    """An index over ``vectors`` (n, d) float32, rows in the given order.

    A string ``plan`` means ``plan_index(len(vectors), plan)``. IVF indexes are trained on a
    sample of at most ``TRAIN_PER_LIST`` vectors per list and get a direct map, so
    ``vectors_at`` works on them straight away.

    Raises:
        KBError: the factory string is not one faiss can build, or training failed.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D (n, d), got shape {vectors.shape}")
    n, dimension = vectors.shape
    if isinstance(plan, str):
        plan = plan_index(n, plan)
    try:
        index = faiss.index_factory(dimension, plan.factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise KBError(
            f"{plan.factory!r} is not a FAISS index type faiss can build ({exc}). "
            "Use 'auto', 'Flat', 'HNSW32' or 'IVF256,Flat', for example."
        ) from exc
    if not index.is_trained:
        if n == 0:
            return faiss.IndexFlatIP(dimension)
        with contextlib.suppress(RuntimeError):  # not an IVF index
            faiss.extract_index_ivf(index).cp.niter = KMEANS_ITERATIONS
        try:
            index.train(_training_sample(vectors, plan.factory))
        except RuntimeError as exc:
            raise KBError(
                f"The {plan.factory!r} index could not be trained on {n} passages ({exc}); it "
                "needs more passages than clusters. Use 'auto' or 'Flat' for small collections."
            ) from exc
    if n:
        index.add(vectors)
    _prepare(index, plan)
    return index


def _training_sample(vectors: np.ndarray, factory: str) -> np.ndarray:
    ivf = _IVF.search(factory)
    limit = TRAIN_PER_LIST * int(ivf.group(1)) if ivf else len(vectors)
    if len(vectors) <= limit:
        return vectors
    rows = np.random.default_rng(0).choice(len(vectors), size=limit, replace=False)
    return vectors[np.sort(rows)]


def _prepare(index: faiss.Index, plan: IndexPlan | None) -> None:
    """Apply the plan's search parameters and give IVF indexes the direct map that
    reconstructing a row by number needs."""
    with contextlib.suppress(RuntimeError):  # not an IVF index
        faiss.extract_index_ivf(index).make_direct_map()
    if plan is not None:
        set_search_params(index, plan.search_params)


def set_search_params(index: faiss.Index, params: dict[str, int]) -> None:
    """Set search-time parameters such as {"nprobe": 48} or {"efSearch": 96} on ``index``.

    Raises:
        KBError: a parameter the index does not have.
    """
    if not params:
        return
    try:
        faiss.ParameterSpace().set_index_parameters(index, ",".join(f"{k}={v}" for k, v in params.items()))
    except RuntimeError as exc:
        raise KBError(f"Search parameters {params} do not fit this index ({exc}).") from exc


def save_vector_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_vector_index(path: Path, plan: IndexPlan | None = None) -> faiss.Index:
    """The index saved at ``path``. ``plan``'s search parameters, when given, replace the
    ones saved with it, so a re-tuned nprobe or efSearch applies without a rebuild."""
    index = faiss.read_index(str(path))
    _prepare(index, plan)
    return index


def search_vectors(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows to each query.

    Args:
        queries: (m, d) float32 unit vectors.
        k: results per query; rows beyond what the index holds come back as -1.

    Returns:
        (scores, rows): (m, k) float32 cosines and (m, k) int64 rows, best first.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if queries.ndim != 2 or queries.shape[1] != index.d:
        raise ValueError(f"queries must be (m, {index.d}), got shape {queries.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    scores, rows = index.search(queries, k)
    return scores, rows


def vectors_at(index: faiss.Index, rows: np.ndarray) -> np.ndarray:
    """The stored vectors of ``rows``, (len(rows), d) float32: a copy of those rows only.

    Exact for flat, HNSW and IVF-flat indexes; SQ and PQ indexes return their lossy codes
    decoded. IVF indexes need the direct map that build and load give them.
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if len(rows) and (rows.min() < 0 or rows.max() >= index.ntotal):
        raise ValueError(f"rows must lie in 0..{index.ntotal - 1}; drop the -1 of missing results first")
    if isinstance(index, faiss.IndexFlat):
        return all_vectors(index)[rows]
    if not len(rows):
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_batch(rows)


def all_vectors(index: faiss.Index) -> np.ndarray:
    """Every stored vector, (ntotal, d) float32: a view of the index's own memory for flat
    indexes (no second copy). For approximate indexes this reconstructs a full copy, which
    at their sizes is what they exist to avoid: use ``search_vectors`` and ``vectors_at``."""
    n, d = index.ntotal, index.d
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    if isinstance(index, faiss.IndexFlat):
        return faiss.rev_swig_ptr(index.get_xb(), n * d).reshape(n, d)
    return index.reconstruct_n(0, n)


def set_search_threads(threads: int) -> None:
    """How many threads FAISS uses; for entry scripts to call (a process-wide setting).
    One thread gave the lowest single-query latency on a 2-core machine in the bench."""
    faiss.omp_set_num_threads(threads)


def index_bytes(index: faiss.Index) -> int:
    """Size of the index as saved, bytes: its memory footprint, near enough."""
    return int(faiss.serialize_index(index).nbytes)
