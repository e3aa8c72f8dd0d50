"""Start-up: seconds from ``python app.py`` to the first answered ``GET /api/search``, then
to the pages and gradio's ``/search``, broken down.

    python bench/bench_startup.py [--runs 3]

Builds an index of the shipped documents in a temporary folder (and the model's ONNX
export, if this machine has none yet), then starts the real app ``--runs`` times on a
free loopback port, polls ``/api/search`` until it answers, then the public page until it
is served, then ``/search`` through gradio's REST API. The app prints its own breakdown
(index, model, warm-up; gradio's import, pages). ``import gradio`` alone, in a fresh
interpreter, is measured in the same run: what the first answer waited for before the
plain route was served ahead of the pages.
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
    r"Start-up: /api/search answered from [\d.]+ s \((.*); the model runs on (\w+)\); "
    r"pages from [\d.]+ s \((.*)\)\."
)
QUESTION = "How long is the redness after a CO2 laser?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(settings: Settings, log: Path) -> tuple[dict[str, float], dict[str, float], str]:
    """Seconds to the first answer of /api/search, the page and gradio's /search; the app's
    own laps; and the backend it reported."""
    import httpx

    port = _free_port()
    env = {**os.environ, "KB_STAFF_PASSWORD": "", "PYTHONPATH": str(ROOT)}
    env.pop("KB_STAFF_FILE", None)
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port)]
    command += ["--documents", str(settings.documents_dir), "--index", str(settings.index_dir)]
    url = f"http://127.0.0.1:{port}/"
    times: dict[str, float] = {}
    with log.open("wb") as out, httpx.Client(timeout=60) as http:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

        def until(name: str, answered) -> None:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the app exited: {log.read_text()[-2000:]}")
                if time.perf_counter() - began > 180:
                    raise RuntimeError(f"no {name} after 180 s: {log.read_text()[-2000:]}")
                try:
                    if answered():
                        times[name] = time.perf_counter() - began
                        return
                except (httpx.HTTPError, RuntimeError):  # not listening yet
                    pass
                time.sleep(0.02)

        try:
            until("/api/search", lambda: http.get(url + "api/search", params={"q": QUESTION}).status_code == 200)
            until("the public page", lambda: http.get(url).status_code == 200)
            client = RestClient(url)
            until("gradio's /search", lambda: bool(client.predict(QUESTION, 5)))
            client.close()
        finally:
            process.terminate()
            process.wait(30)
    found = _LAPS.search(log.read_text())
    laps = {}
    if found:
        for part in (found.group(1) + ", " + found.group(3)).split(", "):
            name, value, _ = part.rsplit(" ", 2)
            laps[name] = float(value)
    return times, laps, found.group(2) if found else "?"


def _row(name: str, seconds: float, bold: bool) -> str:
    return f"| **{name}** | **{seconds:.2f}** |" if bold else f"| {name} | {seconds:.2f} |"


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
            print(f"  start {n + 1}: {runs[-1][0]} {runs[-1][1]}", file=sys.stderr)
    names = list(runs[0][0])
    times = {name: statistics.median(r[0][name] for r in runs) for name in names}
    parts = list(runs[0][1])
    laps = {name: statistics.median(r[1].get(name, 0.0) for r in runs) for name in parts}
    lines = [
        "## Start-up",
        "",
        f"`{COMMAND}`: median of {args.runs} starts of `python app.py` on the shipped documents' "
        f"index (the model runs on {runs[0][2]}). The plain routes are served from the first "
        "moment; the pages once gradio has imported (kb/web/server.py).",
        "",
        "| to the first answer of | seconds |",
        "|---|---|",
        *(_row(name, seconds, bold=name == "/api/search") for name, seconds in times.items()),
        f"| baseline: `python -c 'import gradio'` alone | {gradio:.2f} |",
        "",
        "| part (the app's own figures) | seconds |",
        "|---|---|",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in laps.items()),
        "",
        "Every start: "
        + "; ".join(", ".join(f"{n} {t:.2f} s" for n, t in r[0].items()) for r in runs)
        + '. The index, the model and the warm-up load in one thread from the first line of '
        "app.py; gradio imports in another, meanwhile (\"waiting for the index and model\" is "
        "how long the pages then waited for them).",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    return section


if __name__ == "__main__":
    main()
