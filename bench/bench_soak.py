"""A long run on each backend: mixed searches without pause, a re-ingest every few minutes,
and the app's resident memory, open files and database connections tracked throughout.

    python bench/bench_soak.py [--minutes 30] [--every 5] [--backends files,postgres]

For each backend the real app serves a copy of the shipped documents on a loopback port;
four clients ask the evaluation questions through ``GET /api/search`` without pause; every
``--every`` minutes a document is added or changed and ``ingest.py`` runs as a separate
process (the app switches to each new generation by itself). Every 10 s the app process's
resident memory and open file descriptors are sampled, and, on Postgres, the server's
connections. What counts is the trend: a leak shows as a climb from the first samples to
the last. Loopback only; bounded by ``--minutes``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.answers import eval_questions, percentile  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.ingest import ingest  # noqa: E402

COMMAND = "python bench/bench_soak.py"
SAMPLE_SECONDS = 10


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _status(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def soak(
    backend: str, minutes: float, every: float, url: str | None, app_url: str | None, admin_url: str | None
) -> dict:
    from test_app import RunningApp

    questions = eval_questions(400)
    with tempfile.TemporaryDirectory(prefix=f"bench-soak-{backend}-") as tmp:
        base = Path(tmp)
        shutil.copytree(ROOT / "documents", base / "documents")
        settings = Settings(documents_dir=base / "documents", index_dir=base / "index")
        env = {}
        if backend == "postgres":
            settings = settings.with_changes(database_url=url, pg_schema="bench_soak")
            env = {"KB_DATABASE_URL": app_url, "KB_PG_SCHEMA": "bench_soak"}
        ingest(settings)
        app = RunningApp(settings, staff=False, env={**env, "KB_SEARCHES_PER_MINUTE": "0"})
        stop = threading.Event()
        latencies: list[float] = []
        failures: list[str] = []

        def client(offset: int) -> None:
            with httpx.Client(timeout=30) as http:
                n = offset
                while not stop.is_set():
                    began = time.perf_counter()
                    try:
                        got = http.get(
                            app.url + "api/search", params={"q": questions[n % len(questions)], "k": 5}
                        )
                    except httpx.HTTPError as exc:  # a reset connection is a failed request too
                        failures.append(f"{type(exc).__name__}: {exc}")
                    else:
                        if got.status_code != 200:
                            failures.append(f"{got.status_code} {got.text[:120]}")
                    latencies.append((time.perf_counter() - began) * 1000)
                    n += 7

        clients = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for c in clients:
            c.start()
        samples, ingests, marks = [], [], []
        began = time.monotonic()
        next_ingest = began + every * 60
        try:
            while time.monotonic() - began < minutes * 60:
                time.sleep(SAMPLE_SECONDS)
                samples.append(
                    {
                        "t": time.monotonic() - began,
                        "rss": _status(app.process.pid, "VmRSS"),
                        "fds": _open_files(app.process.pid),
                        "connections": _connections(admin_url) if backend == "postgres" else None,
                    }
                )
                if time.monotonic() >= next_ingest:
                    next_ingest += every * 60
                    n = len(ingests) + 1
                    (settings.documents_dir / "soak-note.md").write_text(
                        f"# Soak note {n}\n\nThe clinic's soak note number {n} says the car park "
                        f"has {n + 20} spaces on weekdays.\n",
                        encoding="utf-8",
                    )
                    t = time.perf_counter()
                    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
                    if backend == "postgres":
                        environment |= {"KB_DATABASE_URL": url, "KB_PG_SCHEMA": "bench_soak"}
                    done = subprocess.run(
                        [
                            sys.executable,
                            str(ROOT / "ingest.py"),
                            "--quiet",
                            "--no-golden",
                            "--documents",
                            str(settings.documents_dir),
                            "--index",
                            str(settings.index_dir),
                        ],
                        env=environment,
                        capture_output=True,
                        timeout=600,
                    )
                    ingests.append((time.perf_counter() - t, done.returncode))
                    marks.append(len(samples))  # the samples taken before this re-ingest's end
                    log(f"{backend}: re-ingest {n} in {ingests[-1][0]:.0f} s (exit {done.returncode})")
        finally:
            stop.set()
            for c in clients:
                c.join(timeout=60)
            app.stop()
    return {"samples": samples, "latencies": latencies, "failures": failures, "ingests": ingests, "marks": marks}


def _connections(admin_url: str) -> int:
    """The app's connections to the server (only an administrator sees other roles' sessions)."""
    import psycopg

    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'kb_app' AND backend_type = 'client backend'"
        ).fetchone()[0]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=float, default=5, help="minutes between re-ingests")
    parser.add_argument("--backends", default="files,postgres")
    parser.add_argument("--quick", action="store_true", help="3 minutes each, a re-ingest every minute")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.every = 3, 1
    command = (COMMAND + " " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    results = {}
    server = None
    url = app_url = admin_url = None
    try:
        if "postgres" in args.backends:
            from kb.index.postgres.local import APP_USER, INGEST_USER, LocalPostgres

            server = LocalPostgres(Path(tempfile.mkdtemp(prefix="bench-soak-pg-")) / "server").start()
            url, app_url = server.url(INGEST_USER), server.url(APP_USER)
            admin_url = server.url()
        for backend in args.backends.split(","):
            results[backend] = soak(backend, args.minutes, args.every, url, app_url, admin_url)
    finally:
        if server is not None:
            server.remove()
    lines = [
        f"### Soak: {args.minutes:g} minutes per backend, 4 clients without pause, a re-ingest every {args.every:g} minutes",
        "",
        f"`{command}`",
        "",
        "| backend | requests | failed | p50 / p95 ms | re-ingests (s each) | app memory first → last (max) | "
        "open files first → last (max) | database connections first → last (max) |",
        "|---|---:|---:|---|---|---|---|---|",
    ]
    for backend, r in results.items():
        s = r["samples"]
        mb = [x["rss"] / 2**20 for x in s]
        fds = [x["fds"] for x in s]
        conns = [x["connections"] for x in s if x["connections"] is not None]
        lat = r["latencies"]
        lines.append(
            f"| {backend} | {len(lat):,} | {len(r['failures'])} | {percentile(lat, 50):.0f} / {percentile(lat, 95):.0f} | "
            f"{len(r['ingests'])} ({', '.join(f'{t:.0f}' for t, _ in r['ingests'])}) | "
            f"{mb[0]:.0f} → {mb[-1]:.0f} MB ({max(mb):.0f}) | {fds[0]} → {fds[-1]} ({max(fds)}) | "
            + (f"{conns[0]} → {conns[-1]} ({max(conns)})" if conns else "n/a")
            + " |"
        )
        if r["failures"]:
            lines.append(f"\n{backend} failures (first 5): " + "; ".join(r["failures"][:5]))
    lines += [
        "",
        "Resident memory after warm-up. Warm-up ends when the first re-ingest has switched in: the",
        "first switch is when the app first holds two generations at once, and what it allocates",
        "then is reused by every later switch. A leak shows as a climb over the later cycles.",
        "",
        "| backend | after warm-up | at each later re-ingest, MB | last | growth (max after warm-up) |",
        "|---|---|---|---|---|",
    ]
    for backend, r in results.items():
        mb = [x["rss"] / 2**20 for x in r["samples"]]
        if not r["marks"] or r["marks"][0] >= len(mb):
            lines.append(f"| {backend} | no re-ingest finished | | {mb[-1]:.0f} | |")
            continue
        warm = mb[r["marks"][0]]
        later = [mb[m] for m in r["marks"][1:] if m < len(mb)]
        after = mb[r["marks"][0] :]
        lines.append(
            f"| {backend} | {warm:.0f} MB | {', '.join(f'{x:.0f}' for x in later) or '-'} | {mb[-1]:.0f} MB | "
            f"{(mb[-1] - warm) / warm:+.1%} ({(max(after) - warm) / warm:+.1%}) |"
        )
    out = "\n".join(lines)
    print(out)
    return out


if __name__ == "__main__":
    main()
