"""The machine a benchmark ran on: CPU, cores, memory, Python and package versions."""

from __future__ import annotations

import os
import platform
import re
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "onnxruntime",
    "torch",
    "sentence-transformers",
    "transformers",
    "tokenizers",
    "faiss-cpu",
    "bm25s",
    "numpy",
    "gradio",
    "gradio_client",
)


def _cpuinfo() -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            found.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return found


def cpu_mhz() -> float:
    """The CPU clock /proc/cpuinfo reports (MHz); 0 when unknown."""
    try:
        return float(_cpuinfo().get("cpu MHz", 0) or 0)
    except ValueError:
        return 0.0


def simd() -> str:
    flags = set(_cpuinfo().get("flags", "").split())
    return " ".join(f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni") if f in flags)


def memory_gib() -> float:
    try:
        text = Path("/proc/meminfo").read_text()
        return int(re.search(r"MemTotal:\s+(\d+)", text).group(1)) / 1024 / 1024
    except (OSError, AttributeError):
        return 0.0


def describe() -> str:
    """Markdown: one line per fact about this machine and the packages measured."""
    info = _cpuinfo()
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return "\n".join(
        [
            f"- CPU: {info.get('model name', platform.processor() or 'unknown')}, {cores} cores usable, "
            f"{cpu_mhz():.0f} MHz reported, SIMD: {simd() or 'unknown'}",
            f"- Memory: {memory_gib():.1f} GiB; no GPU",
            f"- OS: {platform.platform()}; Python {platform.python_version()}",
            f"- Packages: {', '.join(versions)}",
        ]
    )


if __name__ == "__main__":
    print(describe())
