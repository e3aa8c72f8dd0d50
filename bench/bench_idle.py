"""Idle CPU: what the running app costs with nobody asking.

    python bench/bench_idle.py [--seconds 20]

Builds an index of the shipped documents in a temporary folder, starts the real app on a
free loopback port, answers one question (so everything is loaded and warm), waits five
seconds, then reads the app process's CPU time (user + system, /proc/PID/stat) over
``--seconds``. The baseline is the same reading of an idle ``python -c "import time;
time.sleep(...)"``, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.load import RestClient  # noqa: E402
from bench.shipped import shipped_index  # noqa: E402

COMMAND = "python bench/bench_idle.py"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(pid: int, seconds: float) -> float:
    """Share of one core the process used over ``seconds``."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="10 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 10.0
    from test_app import RunningApp  # the launcher the tests use

    with shipped_index("idle") as settings:
        app = RunningApp(settings, staff=True)
        try:
            client = RestClient(app.url)
            client.predict("How long is the redness after a CO2 laser?", 5)
            client.close()
            time.sleep(5)
            share = idle_share(app.process.pid, args.seconds)
        finally:
            app.stop()
    sleeper = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({args.seconds + 10})"])
    try:
        time.sleep(3)
        baseline = idle_share(sleeper.pid, args.seconds)
    finally:
        sleeper.kill()
        sleeper.wait()
    section = "\n".join(
        [
            "## Idle CPU",
            "",
            f"`{COMMAND}`: the app (public and staff pages, index watcher) after one answer, "
            f"{args.seconds:g} s with nobody asking.",
            "",
            "| process | share of one core |",
            "|---|---|",
            f"| the app, idle | {share:.2%} |",
            f"| baseline: a sleeping Python | {baseline:.2%} |",
            "",
            "Before issue 8 the app used about 9% of a core here when idle: gradio's queue loop "
            "polled every millisecond (two queues). It now sleeps until a request joins or a job "
            "ends (kb/web/webqueue.py).",
            "",
        ]
    )
    print(section)
    return section


if __name__ == "__main__":
    main()
