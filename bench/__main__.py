"""Every benchmark, one after another; the figures go to docs/BENCHMARKS.md.

    python -m bench [--quick] [--only startup,query,...] [--out docs/BENCHMARKS.md]

Each benchmark is a script of its own in bench/ (run one alone while working on it) whose
``main(argv)`` prints a Markdown section and returns it. They run one at a time: on two
cores, two benchmarks at once would measure each other. ``make bench`` runs this.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench import machine  # noqa: E402

#: Section name -> module, in the order they run and appear.
BENCHMARKS = {
    "startup": "bench.bench_startup",
    "idle": "bench.bench_idle",
    "query": "bench.bench_query",
    "memory": "bench.bench_memory",
    "ingest": "bench.bench_ingest",
    "load": "bench.bench_load",
    "scale": "bench.bench_scale",
    "search_scale": "bench.bench_search_scale",
    "postgres": "bench.bench_postgres",
    "models": "bench.bench_models",
    "question_log": "bench.bench_question_log",
}
#: Arguments each benchmark gets in a full run: BM25 at scale is measured by search_scale.
FULL = {"load": ["--seconds", "10"], "scale": ["--skip-lexical"]}
#: Everything below this line in the output file is written by this runner.
MARKER = "<!-- Everything below is written by `make bench` (python -m bench). -->"
#: Arguments each benchmark gets under --quick (a few minutes in all).
QUICK = {"startup": ["--runs", "1"], "memory": []}
# The 30-minute soak on each backend runs on its own: python bench/bench_soak.py.


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs")
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown}; choose from {', '.join(BENCHMARKS)}")
    began = time.perf_counter()
    sections = []
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(BENCHMARKS[name])
        extra = QUICK.get(name, ["--quick"]) if args.quick else FULL.get(name, [])
        started = time.perf_counter()
        sections.append(module.main(extra))
        print(f"== {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    minutes = (time.perf_counter() - began) / 60
    command = "make bench" if not (args.quick or args.only) else "python -m bench " + " ".join(argv or sys.argv[1:])
    header = [
        "# Figures",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M')} in {minutes:.0f} minutes. "
        "Each section names the script that measures it (run one alone with its own command). "
        "These machines are noisy: where a figure has a natural baseline it is measured in the "
        "same run and the ratio is given. The test suite asserts no timings.",
        "",
        "## Machine",
        "",
        machine.describe(),
        "",
    ]
    # A hand-written part above the marker (what the figures mean, the targets) is kept, and
    # with --only, so are the sections of the benchmarks not run this time.
    kept, before = "", {}
    if args.out.exists() and MARKER in (text := args.out.read_text(encoding="utf-8")):
        kept = text[: text.index(MARKER)]
        if args.only:
            before = _sections(text[text.index(MARKER) :])
            note = f" Sections {', '.join(names)} re-run by `{command}`."
            earlier = before.get("", header[2])
            header[2] = earlier if note in earlier else earlier + note
    merged = {**before, **_sections("\n".join(sections))}
    merged.pop("", None)
    body = "\n".join(header + [merged[title] for title in _ordered(merged)])
    args.out.write_text(kept + MARKER + "\n\n" + body, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _sections(text: str) -> dict[str, str]:
    """Level-2 sections by title ("" holds the "Written by" line of an earlier run)."""
    found: dict[str, str] = {}
    for block in ("\n" + text).split("\n## ")[1:]:
        title = block.split("\n", 1)[0]
        if title != "Machine":
            found[title] = "## " + block.rstrip() + "\n"
    written = [line for line in text.splitlines() if line.startswith("Written by")]
    if written:
        found[""] = written[0]
    return found


def _ordered(sections: dict[str, str]) -> list[str]:
    """Section titles in the order the benchmarks run."""
    order = ["Start-up", "Idle CPU", "Query latency", "Memory", "Ingest", "Queue concurrency", "Scale"]
    order.append("Search at scale")
    return sorted(sections, key=lambda t: order.index(t) if t in order else len(order))


if __name__ == "__main__":
    raise SystemExit(main())
