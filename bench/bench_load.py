"""Many clients at once through HTTP, for each queue concurrency: the figures the app's
queue settings (KB_QUEUE_CONCURRENCY, KB_QUEUE_SIZE) were chosen from.

    python bench/bench_load.py [--seconds 20] [--clients 1,8,32] [--concurrency 1,2,4,8]

Builds an index of the shipped documents in a temporary folder, starts the real app on a
free loopback port once per concurrency setting, and runs each client count against it
with bench/load.py. One client with concurrency 2 (the default) is the baseline each
throughput is compared with, measured in the same run. Loopback only; every run is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.load import run_load  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.ingest import ingest  # noqa: E402

COMMAND = "python bench/bench_load.py"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="load per measurement (default 20)")
    parser.add_argument("--clients", default="1,8,32", help="client counts (default 1,8,32)")
    parser.add_argument("--concurrency", default="1,2,4,8", help="queue concurrency limits to try")
    parser.add_argument("--documents", type=Path, default=ROOT / "documents")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--quick", action="store_true", help="5 s per row, concurrency 1,2,4")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.concurrency = 5.0, "1,2,4"
    from test_app import RunningApp  # the same launcher the tests use

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shutil.copytree(args.documents, base / "documents")
        settings = Settings(documents_dir=base / "documents", index_dir=base / "index")
        ingest(settings)
        rows = []
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            app = RunningApp(settings, staff=False, env={"KB_SEARCHES_PER_MINUTE": "0", "KB_QUEUE_CONCURRENCY": str(concurrency)})
            try:
                run_load(app.url, clients=4, seconds=3)  # warm up
                for clients in [int(c) for c in args.clients.split(",")]:
                    result = run_load(app.url, clients=clients, seconds=args.seconds)
                    rows.append({"concurrency": concurrency, **result.summary()})
                    print(json.dumps(rows[-1]), flush=True)
            finally:
                app.stop()
    base_row = next((r for r in rows if r["clients"] == 1 and r["concurrency"] == 2), rows[0])
    lines = [
        "## Queue concurrency",
        "",
        f"`{COMMAND} --seconds {args.seconds:g} --concurrency {args.concurrency}`: the app restarted "
        "with each queue concurrency (KB_QUEUE_CONCURRENCY), gradio_client clients; the baseline is "
        "one client at concurrency 2 (the default), measured in the same run.",
        "",
        "| concurrency | clients | requests/s | x one client | p50 ms | p95 ms | p99 ms | failed | busy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["per_second"] / base_row["per_second"] if base_row["per_second"] else float("nan")
        lines.append(
            f"| {r['concurrency']} | {r['clients']} | {r['per_second']} | {ratio:.2f} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['failed']} | {r['busy']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    section = "\n".join([*lines, ""])
    print(section)
    return section


if __name__ == "__main__":
    main()
