"""kb.index.files.vectors: the index plan (threshold, override, manifest), and real FAISS indexes
built from it (recall of the approximate index, stored vectors, tiny collections)."""

from __future__ import annotations

import numpy as np
import pytest

from kb.index.files.vectors import (
    EXACT_UP_TO,
    IndexPlan,
    all_vectors,
    approximate_plan,
    build_vector_index,
    load_vector_index,
    plan_from_manifest,
    plan_index,
    save_vector_index,
    search_vectors,
    vectors_at,
)

D = 384


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, seed: int, centers: np.ndarray) -> np.ndarray:
    """Unit vectors near random mixtures of two of ``centers``, like topics in text."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(centers), size=(n, 2))
    weights = rng.random((n, 1)).astype(np.float32)
    mixed = unit(weights * centers[picks[:, 0]] + (1 - weights) * centers[picks[:, 1]])
    noise = rng.standard_normal((n, D)).astype(np.float32)
    return unit(mixed + 0.35 * unit(noise))


@pytest.fixture(scope="module")
def collection() -> tuple[np.ndarray, np.ndarray]:
    """20,000 stored vectors and 200 held-out queries drawn the same way."""
    centers = unit(np.random.default_rng(0).standard_normal((300, D)))
    return clustered(20_000, 1, centers), clustered(200, 2, centers)


@pytest.mark.parametrize(
    ("n", "exact"), [(0, True), (EXACT_UP_TO, True), (EXACT_UP_TO + 1, False), (2_000_000, False)]
)
def test_auto_searches_exactly_up_to_the_threshold(n, exact):
    plan = plan_index(n)
    assert plan.exact is exact
    assert (plan.factory == "Flat") is exact
    assert plan.chosen_by == "auto"
    assert f"{n:,} vectors" in plan.reason
    if not exact:
        assert plan.factory.startswith("IVF") and plan.search_params["nprobe"] >= 1


def test_approximate_plans_grow_with_the_collection():
    small, large = approximate_plan(100_000), approximate_plan(1_000_000)
    assert small.factory == "IVF512,Flat" and large.factory == "IVF2048,Flat"
    assert small.search_params["nprobe"] < large.search_params["nprobe"]


@pytest.mark.parametrize(
    ("setting", "factory", "params"),
    [
        ("Flat", "Flat", {}),
        ("HNSW32", "HNSW32", {"efSearch": 128}),
        ("IVF1024,SQ8", "IVF1024,SQ8", {"nprobe": 64}),
    ],
)
def test_a_setting_overrides_auto_and_is_recorded(setting, factory, params):
    plan = plan_index(5_000_000 if setting == "Flat" else 100_000, setting)
    assert (plan.factory, plan.search_params, plan.chosen_by) == (factory, params, "setting")
    assert plan.exact is (factory == "Flat")


def test_manifest_round_trip():
    plan = plan_index(1_000_000)
    recorded = plan.to_manifest()
    assert recorded["params"] == {"nprobe": plan.search_params["nprobe"]}
    assert IndexPlan.from_manifest(recorded) == plan


def test_an_old_manifest_holds_a_plain_string():
    plan = plan_from_manifest("IVF256,Flat")
    assert (plan.factory, plan.exact, plan.chosen_by) == ("IVF256,Flat", False, "setting")
    assert plan.search_params["nprobe"] >= 1
    assert plan_from_manifest("Flat").exact


def test_params_given_as_a_dict_keep_the_plan_hashable():
    plan = IndexPlan("HNSW32", {"efSearch": 64}, exact=False)
    assert plan.params == (("efSearch", 64),) and hash(plan) == hash(
        IndexPlan("HNSW32", (("efSearch", 64),), False)
    )


def recall_at_10(index, queries: np.ndarray, truth: np.ndarray) -> float:
    _, rows = search_vectors(index, queries, 10)
    return float(np.mean([len(set(r) & set(t)) / 10 for r, t in zip(rows, truth, strict=True)]))


def test_approximate_index_keeps_recall_at_10(collection):
    stored, queries = collection
    _, truth = search_vectors(build_vector_index(stored, "Flat"), queries, 10)
    plan = approximate_plan(len(stored))
    recall = recall_at_10(build_vector_index(stored, plan), queries, truth)
    assert recall >= 0.98, f"recall@10 {recall:.3f} with {plan}"


def test_load_applies_the_plans_search_params(collection, tmp_path):
    stored, queries = collection
    _, truth = search_vectors(build_vector_index(stored, "Flat"), queries, 10)
    plan = approximate_plan(len(stored))
    save_vector_index(build_vector_index(stored, plan), tmp_path / "v.faiss")
    one_list = IndexPlan(plan.factory, {"nprobe": 1}, exact=False)
    assert recall_at_10(load_vector_index(tmp_path / "v.faiss", one_list), queries, truth) < 0.95
    assert recall_at_10(load_vector_index(tmp_path / "v.faiss", plan), queries, truth) >= 0.98


def test_vectors_at_returns_the_stored_vectors(collection, tmp_path):
    stored, _ = collection
    rows = np.array([0, 7, 19_999, 7])
    for plan in ("Flat", approximate_plan(len(stored))):
        save_vector_index(build_vector_index(stored, plan), tmp_path / "v.faiss")
        index = load_vector_index(tmp_path / "v.faiss")
        np.testing.assert_array_equal(vectors_at(index, rows), stored[rows])
    with pytest.raises(ValueError, match="drop the -1"):
        vectors_at(index, np.array([-1]))


def test_flat_vectors_are_a_view_not_a_copy():
    stored = unit(np.random.default_rng(3).standard_normal((50, D)))
    index = build_vector_index(stored, "Flat")
    view = all_vectors(index)
    np.testing.assert_array_equal(view, stored)
    assert not view.flags.owndata


def test_missing_results_come_back_as_minus_one():
    stored = unit(np.random.default_rng(4).standard_normal((3, D)))
    scores, rows = search_vectors(build_vector_index(stored), stored[:1], 5)
    assert rows.shape == (1, 5) and rows[0, 0] == 0 and list(rows[0, 3:]) == [-1, -1]
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_a_tiny_collection_falls_back_to_flat_and_says_so():
    stored = unit(np.random.default_rng(5).standard_normal((100, D)))
    plan = plan_index(len(stored), "IVF1024,Flat")
    assert plan.exact and plan.factory == "Flat" and plan.chosen_by == "setting"
    assert "too few to train" in plan.reason and "IVF1024,Flat" in plan.reason
    index = build_vector_index(stored, "IVF1024,Flat")  # a string is planned the same way
    assert index.ntotal == 100
    np.testing.assert_array_equal(all_vectors(index), stored)
