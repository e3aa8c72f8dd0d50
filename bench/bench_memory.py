"""Memory: the app's resident memory, part by part, on the shipped documents.

    python bench/bench_memory.py

Builds an index of the shipped documents in a temporary folder, then, in a fresh
interpreter, loads what the app loads one part at a time and reads the process's resident
memory (VmRSS) after each: the growth is that part's share. The same is done with the
model on torch (sentence-transformers), the backend the app used before, as the baseline.
The index's own arrays are listed by size, with whether each is a view of the FAISS
index's memory (no second copy of any vector).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COMMAND = "python bench/bench_memory.py"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(index: Path, documents: Path, backend: str) -> None:
    """Load the app's parts one by one and print the RSS after each, as JSON."""
    import numpy as np

    steps = [("Python and numpy", rss_mb())]

    from kb.config import Settings
    from kb.embedding import Embedder

    settings = Settings(documents_dir=documents, index_dir=index, embedding_backend=backend)
    embedder = Embedder.for_settings(settings).load()
    embedder.encode_query("warm up")
    steps.append((f"model ({embedder.backend})", rss_mb()))
    from kb.search import KnowledgeBase

    kb = KnowledgeBase(settings, embedder)
    steps.append(("index: vectors, BM25, passage store", rss_mb()))
    kb.warm_up()
    for q in ("How long is the redness?", "Where do I park?", "Is it painful?"):
        kb.answer(q, 5)
    steps.append(("first answers (caches)", rss_mb()))
    import gradio  # noqa: F401

    steps.append(("gradio imported", rss_mb()))
    from kb.web.app import ClinicApp
    from kb.web.server import build_app, mount_pages

    server = build_app(settings, {}, lambda timeout: kb)
    mount_pages(server, ClinicApp(kb, kb.backend.feedback(), {}))
    steps.append(("pages built (public and staff)", rss_mb()))
    g = kb.generation
    arrays = []
    for name in ("passage_matrix", "sentence_matrix", "heading_matrix"):
        a = getattr(g, name)
        if a is not None:
            arrays.append((name, a.nbytes, not a.flags.owndata))
    retriever = g.lexical._retriever
    if retriever is not None:
        size = sum(v.nbytes for v in retriever.scores.values() if isinstance(v, np.ndarray))
        arrays.append(("BM25 score matrix (bm25s)", size, False))
    del server
    print(json.dumps({"steps": steps, "arrays": arrays, "passages": g.passage_count}))


def measure(index: Path, documents: Path, backend: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(index), str(documents), backend],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> str:
    from bench.shipped import shipped_index

    with shipped_index("memory") as settings:
        onnx = measure(settings.index_dir, settings.documents_dir, "onnx")
        torch = measure(settings.index_dir, settings.documents_dir, "torch")
    lines = [
        "## Memory",
        "",
        f"`{COMMAND}`: resident memory (VmRSS) of a fresh interpreter loading the app's parts "
        f"in turn, shipped documents ({onnx['passages']} passages).",
        "",
        "| part | MB added (ONNX Runtime) | MB total | MB added (torch, before) | MB total |",
        "|---|---|---|---|---|",
    ]
    previous = (0.0, 0.0)
    for (name, mb), (_, torch_mb) in zip(onnx["steps"], torch["steps"], strict=True):
        label = "model" if name.startswith("model") else name
        lines.append(
            f"| {label} | {mb - previous[0]:.0f} | {mb:.0f} | {torch_mb - previous[1]:.0f} | {torch_mb:.0f} |"
        )
        previous = (mb, torch_mb)
    lines += [
        "",
        "The index's arrays (a view shares the FAISS index's memory; nothing is held twice):",
        "",
        "| array | KB | view of the FAISS index |",
        "|---|---|---|",
        *(f"| {name} | {size / 1024:.0f} | {'yes' if view else 'no (its own data)'} |" for name, size, view in onnx["arrays"]),
        "",
    ]
    section = "\n".join(lines)
    print(section)
    return section


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
    else:
        main()
