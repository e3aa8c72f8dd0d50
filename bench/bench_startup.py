"""Start-up: seconds from ``python app.py`` to the first answered ``/search``, broken down.

    python bench/bench_startup.py [--runs 3]

Builds an index of the shipped documents in a temporary folder (and the model's ONNX
export, if this machine has none yet), then starts the real app ``--runs`` times on a
free loopback port and polls ``/search`` through gradio's REST API until it answers. The
app prints its own breakdown (imports, index, model, warm-up, pages); the rest, to the
first answer, is the server starting and the first request. ``import gradio`` alone, in
a fresh interpreter, is measured in the same run as the baseline no start-up can beat.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.load import RestClient  # noqa: E402
from bench.shipped import shipped_index  # noqa: E402
from kb.config import Settings  # noqa: E402

COMMAND = "python bench/bench_startup.py"
_LAPS = re.compile(
    r"Start-up took [\d.]+ s before the server: (.*) \(loaded alongside the imports: (.*); "
    r"the model runs on (\w+)\)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(settings: Settings, log: Path) -> tuple[float, dict[str, float], str]:
    """Seconds to the first answer, the app's own laps, and the backend it reported."""
    port = _free_port()
    env = {**os.environ, "KB_STAFF_PASSWORD": "", "PYTHONPATH": str(ROOT)}
    env.pop("KB_STAFF_FILE", None)
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port)]
    command += ["--documents", str(settings.documents_dir), "--index", str(settings.index_dir)]
    with log.open("wb") as out:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            client = RestClient(f"http://127.0.0.1:{port}/")
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the app exited: {log.read_text()[-2000:]}")
                if time.perf_counter() - began > 180:
                    raise RuntimeError(f"no answer after 180 s: {log.read_text()[-2000:]}")
                try:
                    client.predict("How long is the redness after a CO2 laser?", 5)
                    break
                except Exception:  # not listening yet
                    time.sleep(0.02)
            seconds = time.perf_counter() - began
            client.close()
        finally:
            process.terminate()
            process.wait(30)
    found = _LAPS.search(log.read_text())
    laps = {}
    if found:
        for group, prefix in ((1, ""), (2, "alongside: ")):
            for part in found.group(group).split(", "):
                name, value, _ = part.rsplit(" ", 2)
                laps[prefix + name] = float(value)
    return seconds, laps, found.group(3) if found else "?"


def _import_gradio() -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], check=True)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with shipped_index("startup") as settings:
        _import_gradio()  # the first run after an install compiles nothing, but warms the disk cache
        gradio = statistics.median(_import_gradio() for _ in range(args.runs))
        runs = []
        for n in range(args.runs):
            runs.append(one_start(settings, settings.index_dir.parent / f"app-{n}.log"))
            print(f"  start {n + 1}: {runs[-1][0]:.2f} s {runs[-1][1]}", file=sys.stderr)
    total = statistics.median(r[0] for r in runs)
    names = list(runs[0][1])
    laps = {name: statistics.median(r[1].get(name, 0.0) for r in runs) for name in names}
    rest = total - sum(v for name, v in laps.items() if not name.startswith("alongside"))
    lines = [
        "## Start-up",
        "",
        f"`{COMMAND}`: median of {args.runs} starts of `python app.py` on the shipped documents' "
        f"index (the model runs on {runs[0][2]}).",
        "",
        "| part | seconds |",
        "|---|---|",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in laps.items()),
        f"| server start and first answer | {rest:.2f} |",
        f"| **to the first answered /search** | **{total:.2f}** |",
        f"| baseline: `python -c 'import gradio'` alone | {gradio:.2f} |",
        "",
        f"Every start: {', '.join(f'{r[0]:.2f} s' for r in runs)}. \"imports\" runs from the "
        "interpreter reaching app.py to the end of its imports (mostly gradio's); the index, the "
        "model and the warm-up load in a thread meanwhile (\"alongside\", not on the critical "
        "path unless \"waiting\" is large).",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    return section


if __name__ == "__main__":
    main()
