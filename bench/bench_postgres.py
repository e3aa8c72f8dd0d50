"""Postgres beside files, in the same run: what a question costs, how the HNSW index builds
and finds, and what a second ingest worker adds.

    python bench/bench_postgres.py [--only shipped,scale,workers,recovery] [--sizes 100000] [--documents 60]

- shipped: ``answer`` on the shipped documents through each backend, question by question
  in turn (the evaluation questions, both splits), p50/p95 and the ratio.
- scale: generated generations of ``--sizes`` passages (bench/bench_search_scale.py's text
  and vectors), written by each backend's own writer: the write's steps (the HNSW build
  among them), the server's peak private memory meanwhile, the database's size, the
  HNSW index's recall@10 against exact search at the chosen ``ef_search``, and ``answer``
  p50/p95 on each backend.
- workers: the same generated corpus ingested into an empty collection by one worker and
  by two (the ingest itself and ``python ingest.py --worker``), each held to one thread, so
  the ratio is what a second machine would add.
- recovery: a local server of its own SIGKILLed under a running app and started again, five
  times: the seconds until ``/api/search`` answers 503, and from the server accepting
  connections again until it answers 200.

The database is ``KB_INGEST_DATABASE_URL`` or ``KB_DATABASE_URL`` (a role that can write) when set, else a local server
started for the run (kb/index/postgres/local.py). Loopback only; every run is bounded.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.answers import eval_questions, percentile, timed_answers  # noqa: E402
from bench.bench_scale import mixtures, real_generation  # noqa: E402
from bench.bench_search_scale import CHUNK, GeneratedPassages, build, measure, sentence_pool  # noqa: E402
from bench.corpus import generate_corpus  # noqa: E402
from bench.shipped import shipped_index  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.embedding import Embedder  # noqa: E402
from kb.index import copy_embeddings, open_backend  # noqa: E402
from kb.index.base import NewGeneration, heading_texts  # noqa: E402
from kb.index.postgres.writer import HNSW_EF_CONSTRUCTION, HNSW_M  # noqa: E402
from kb.ingest import ingest, manifest_for  # noqa: E402
from kb.search import CANDIDATES, KnowledgeBase  # noqa: E402

COMMAND = "python bench/bench_postgres.py"
SCHEMA = "bench"
#: The local server's settings for the benchmarks (the tests use PostgreSQL's defaults).
SERVER = {"shared_buffers": "12GB", "max_wal_size": "8GB", "effective_cache_size": "16GB"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def database():
    """A writer's URL: KB_DATABASE_URL, or a local server for the run."""
    given = Settings.from_env().for_writing().database_url
    if given:
        yield given
        return
    from kb.index.postgres.local import INGEST_USER, LocalPostgres

    with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        # Sized as a database server for a million passages would be: shared buffers that
        # hold the whole collection (10.3 GB at 1M: the HNSW graph, the rows and their
        # indexes), which the writer reads in (pg_prewarm) before the switch, and room for a
        # big write's WAL.
        server = LocalPostgres(Path(tmp) / "server", options=SERVER).start()
        try:
            yield server.url(INGEST_USER)
        finally:
            server.remove()


def _ms(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}"


# --- shipped --------------------------------------------------------------------------------


def shipped(url: str, queries: int) -> str:
    asked = eval_questions(queries)
    with shipped_index("bench_postgres") as files:
        on_pg = files.with_changes(database_url=url, pg_schema=f"{SCHEMA}_shipped")
        embedder = Embedder.for_settings(files)
        copy_embeddings(open_backend(files), open_backend(on_pg), embedder.dimension)
        ingest(on_pg, embedder=embedder)
        kbs = {"files": KnowledgeBase(files, embedder), "postgres": KnowledgeBase(on_pg, embedder)}
        for kb in kbs.values():
            kb.warm_up()
        took: dict[str, list[float]] = {name: [] for name in kbs}
        parts: dict[str, dict[str, list[float]]] = {name: {} for name in kbs}
        for q in asked:  # in turn, so both meet the same machine
            for name, kb in kbs.items():
                answer = kb.answer(q, 5)
                took[name].append(answer.took_ms)
                for part, ms in answer.parts.items():
                    parts[name].setdefault(part, []).append(ms)
        passages = kbs["files"].generation.passage_count
    ratio = percentile(took["postgres"], 95) / percentile(took["files"], 95)
    lines = [
        f"### Shipped documents: `answer` on each backend ({passages} passages, {len(asked)} questions, k=5)",
        "",
        "| part | files p50 / p95 ms | postgres p50 / p95 ms |",
        "|---|---|---|",
        f"| **answer** | {_ms(took['files'])} | {_ms(took['postgres'])} |",
    ]
    for part in parts["files"]:
        lines.append(f"| {part} | {_ms(parts['files'][part])} | {_ms(parts['postgres'].get(part, []))} |")
    lines += ["", f"Postgres p95 / files p95: **{ratio:.2f}x** (target ≤ 1.5x)."]
    return "\n".join(lines)


# --- scale ----------------------------------------------------------------------------------


class ServerMemory(threading.Thread):
    """The peak, while it runs, of the private memory of every postgres process."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self._done = 0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            total = shared = 0
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    text = status.read_text()
                except OSError:
                    continue
                if text.startswith("Name:\tpostgres"):
                    # Private memory, plus the shared memory a parallel HNSW build uses (counted once).
                    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
                    total += int(fields.get("RssAnon", "0 kB").split()[0])
                    shared = max(shared, int(fields.get("RssShmem", "0 kB").split()[0]))
            self.peak = max(self.peak, (total + shared) * 1024)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def scale(url: str, sizes: list[int], queries: int, backends: str = "files,postgres") -> str:
    generation = real_generation(ROOT / "index")
    base = np.concatenate([generation.passage_matrix, generation.sentence_matrix]).astype(np.float32)
    generation.close()
    text = sentence_pool(random.Random(0))
    asked = eval_questions(queries)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-pg-scale-") as tmp:
        work = Path(tmp)
        embedder = Embedder.for_settings(Settings())
        embedder.encode_query("load the model")
        for size in sizes:
            files = Settings(index_dir=work / f"index-{size}", model_cache=ROOT / ".cache/models")
            files = files.with_changes(
                glossary=ROOT / "glossary.txt", warning_signs=ROOT / "warning-signs.txt"
            )
            row = {"n": size}
            if "files" in backends:
                row["files"] = build(size, files, embedder, base, text, work)
                measure(row["files"], files, embedder, asked)
                shutil.rmtree(files.index_dir)
                gc.collect()
            on_pg = files.with_changes(database_url=url, pg_schema=f"{SCHEMA}_{size}")
            row["postgres"] = pg_build(size, on_pg, embedder, base, text)
            pg_measure(row["postgres"], on_pg, embedder, asked)
            rows.append(row)
            gc.collect()
    lines = [
        "### Generated collections: each backend's writer and `answer`",
        "",
        "| passages | backend | vector index | write s (steps) | memory | `answer` p50 / p95 ms | recall@10 |",
        "|---:|---|---|---|---|---|---:|",
    ]
    for row in rows:
        p = row["postgres"]
        if "files" in row:
            f = row["files"]
            fsteps = ", ".join(f"{k} {v:.0f}" for k, v in f["build"].items())
            lines.append(
                f"| {row['n']:,} | files | {f['plan'].factory} {f['plan'].search_params} | {sum(f['build'].values()):.0f} "
                f"({fsteps}) | app {f['hwm'] / 2**30:.1f} GB peak | {_ms(f['total'])} | {f['recall10']:.3f} |"
            )
        psteps = ", ".join(f"{k} {v:.0f}" for k, v in p["write"].items())
        lines.append(
            f"| {row['n']:,} | postgres | HNSW m {HNSW_M}, ef_construction {HNSW_EF_CONSTRUCTION}, ef_search {p['ef_search']} | "
            f"{sum(p['write'].values()):.0f} ({psteps}) | server {p['server_peak'] / 2**30:.1f} GB peak while "
            f"writing; database {p['database'] / 2**30:.1f} GB, HNSW {p['hnsw'] / 2**20:.0f} MB | {_ms(p['total'])} | "
            f"{p['recall10']:.3f} |"
        )
    lines += ["", "The parts of `answer` on Postgres, p50 / p95 ms:", ""]
    for row in rows:
        parts = row["postgres"]["parts"]
        lines.append(f"- {row['n']:,}: " + ", ".join(f"{p} {_ms(v)}" for p, v in parts.items()))
    lines += [
        "",
        "HNSW recall@10 against exact search, and the nearest-passages query alone, by `hnsw.ef_search` "
        "(asked for 100 rows, as the search asks):",
        "",
        "| passages | ef_search | recall@10 | p50 / p95 ms |",
        "|---:|---:|---:|---|",
    ]
    for row in rows:
        for ef, (recall, took) in row["postgres"]["sweep"].items():
            lines.append(f"| {row['n']:,} | {max(ef, CANDIDATES)} | {recall:.3f} | {_ms(took)} |")
    return "\n".join(lines)


def pg_build(size: int, settings: Settings, embedder: Embedder, base: np.ndarray, text: tuple) -> dict:
    """The same passages and vectors as ``build`` makes for files, through Postgres's writer."""
    passages = GeneratedPassages(size, *text, random.Random(size))
    rng = np.random.default_rng(size)
    vectors = mixtures(base, size, rng)
    sentences = int(passages.first[-1])
    sentence_vectors = np.concatenate(
        [mixtures(base, min(CHUNK, sentences - at), rng) for at in range(0, sentences, CHUNK)]
    )
    heading_vectors = mixtures(base, len(heading_texts(passages)), rng)
    backend = open_backend(settings)
    plan = backend.plan_index(size, settings.vector_index)
    records = passages.records()
    manifest = manifest_for(settings, embedder, records, size, plan.to_manifest())
    glossary = settings.glossary.read_text(encoding="utf-8")
    sampler = ServerMemory()
    sampler.start()
    backend.write_generation(
        NewGeneration(manifest, records, passages, vectors, sentence_vectors, heading_vectors, plan, glossary)
    )
    row = {"write": dict(backend.write_seconds), "server_peak": sampler.stop(), "vectors": vectors}
    import psycopg

    with psycopg.connect(settings.database_url) as conn:
        row["database"] = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        found = conn.execute(
            "SELECT coalesce(sum(pg_relation_size(indexrelid)), 0) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'hnsw'"
        ).fetchone()
        row["hnsw"] = found[0]
    log(f"{size:,}: postgres wrote in {sum(row['write'].values()):.0f} s ({row['write']})")
    backend.close()
    return row


def pg_measure(row: dict, settings: Settings, embedder: Embedder, asked: list[str]) -> None:
    kb = KnowledgeBase(settings, embedder)
    kb.warm_up()
    for q in asked[:10]:
        kb.answer(q, 5)
    row["total"], row["parts"] = timed_answers(kb, asked)
    found = np.stack([kb.explain(q, 5).vector for q in dict.fromkeys(asked)])
    exact = np.argsort(-(found @ row.pop("vectors").T), axis=1)[:, :10]
    generation = kb.generation
    chosen = row["ef_search"] = generation._ef_search
    row["sweep"] = {}
    for ef in sorted({chosen, 100, 200, 400, 800}):
        generation._ef_search = ef  # the search's depth (100 candidates) is the floor
        took, near = [], []
        for v in found:
            began = time.perf_counter()
            near.append(generation.nearest_passages(v, max(CANDIDATES, 20))[:10])
            took.append((time.perf_counter() - began) * 1000)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(near, exact, strict=True)]))
        row["sweep"][ef] = (recall, took)
    generation._ef_search = chosen
    row["recall10"] = row["sweep"][chosen][0]
    log(
        f"answer {_ms(row['total'])} ms, recall@10 {row['recall10']:.3f}; sweep {[(e, round(r, 3)) for e, (r, _) in row['sweep'].items()]}"
    )
    kb.backend.close()


# --- workers --------------------------------------------------------------------------------


def workers(url: str, documents: int) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-pg-workers-") as tmp:
        corpus = Path(tmp) / "documents"
        generate_corpus(corpus, documents=documents, seed=7)
        runs = {}
        for count in (1, 2):
            settings = Settings(
                documents_dir=corpus, index_dir=Path(tmp) / f"index-{count}", embedding_threads=1
            )
            settings = settings.with_changes(database_url=url, pg_schema=f"{SCHEMA}_workers_{count}")
            helpers = [_worker(settings) for _ in range(count - 1)]
            embedder = Embedder.for_settings(settings)
            embedder.encode_query("load the model")
            began = time.perf_counter()
            report = ingest(settings, embedder=embedder)
            runs[count] = (time.perf_counter() - began, report)
            for helper in helpers:
                helper.wait(timeout=120)
            log(
                f"{count} worker(s): {runs[count][0]:.0f} s, {report.embedded + report.embedded_sentences} texts"
            )
    one, two = runs[1][0], runs[2][0]
    texts = runs[1][1].embedded + runs[1][1].embedded_sentences
    return "\n".join(
        [
            f"### Ingest workers: {documents} generated documents ({runs[1][1].passages} passages, {texts:,} texts "
            "embedded), each worker one thread",
            "",
            "| workers | seconds | texts embedded / s |",
            "|---:|---:|---:|",
            f"| 1 | {one:.0f} | {texts / one:.1f} |",
            f"| 2 | {two:.0f} | {texts / two:.1f} |",
            "",
            f"Two workers: **{one / two:.2f}x** one worker's throughput (target ≥ 1.8x).",
        ]
    )


# --- recovery -------------------------------------------------------------------------------


def recovery(trials: int) -> str:
    """The database SIGKILLed under a running app, then started again: how long until
    ``/api/search`` answers 503, and how long after the server accepts connections again
    until it answers 200. A server of its own (it is killed), the app over loopback."""
    import httpx
    from test_app import RunningApp

    from kb.index.postgres.local import APP_USER, INGEST_USER, LocalPostgres

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-pg-recovery-") as tmp:
        base = Path(tmp)
        server = LocalPostgres(base / "server").start()
        app = None
        try:
            shutil.copytree(ROOT / "documents", base / "documents")
            settings = Settings(documents_dir=base / "documents", index_dir=base / "index")
            ingest(settings.with_changes(database_url=server.url(INGEST_USER), pg_schema=f"{SCHEMA}_recovery"))
            env = {"KB_DATABASE_URL": server.url(APP_USER), "KB_PG_SCHEMA": f"{SCHEMA}_recovery"}
            app = RunningApp(settings, staff=False, env={**env, "KB_SEARCHES_PER_MINUTE": "0"})

            def status() -> int:
                try:
                    return httpx.get(app.url + "api/search", params={"q": "redness", "k": 3}, timeout=30).status_code
                except httpx.HTTPError:
                    return 0

            def until(wanted: int) -> float:
                began = time.perf_counter()
                while status() != wanted:
                    if time.perf_counter() - began > 120:
                        raise RuntimeError(f"no {wanted} within 120 s")
                    time.sleep(0.05)
                return time.perf_counter() - began

            until(200)
            for _ in range(trials):
                server.kill()
                to_503 = until(503)
                time.sleep(2)  # down for a while, as a failover would be
                server.start()  # returns once the server accepts connections
                rows.append((to_503, until(200)))
                log(f"recovery: 503 after {rows[-1][0]:.2f} s, answering {rows[-1][1]:.2f} s after the restart")
        finally:
            if app is not None:
                app.stop()
            server.remove()
    lines = [
        f"### The database killed under a running app and started again ({trials} times)",
        "",
        "| trial | killed → first 503 s | server accepting → first 200 s |",
        "|---:|---:|---:|",
    ]
    lines += [f"| {n} | {a:.2f} | {b:.2f} |" for n, (a, b) in enumerate(rows, 1)]
    lines += ["", f"Slowest recovery: **{max(b for _, b in rows):.2f} s** (target ≤ 5 s)."]
    return "\n".join(lines)


def _worker(settings: Settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KB_DATABASE_URL": settings.database_url,
        "KB_PG_SCHEMA": settings.pg_schema,
        "KB_EMBEDDING_THREADS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "ingest.py"), "--worker", "--idle-exit", "5"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    process.stdout.readline()  # "Ingest worker ready"
    return process


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="shipped,scale,workers,recovery")
    parser.add_argument("--sizes", default="100000", help="generated passage counts, comma-separated")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--backends", default="files,postgres", help="scale: files,postgres or postgres alone")
    parser.add_argument("--documents", type=int, default=400, help="generated documents for the workers run")
    parser.add_argument("--quick", action="store_true", help="20,000 passages, 20 documents")
    args = parser.parse_args(argv)
    sizes = [20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    documents = 20 if args.quick else args.documents
    command = (COMMAND + " " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    sections = [f"## Postgres beside files\n\n`{command}`"]
    with database() as url:
        for name in args.only.split(","):
            began = time.perf_counter()
            if name == "shipped":
                sections.append(shipped(url, args.queries))
            elif name == "scale":
                sections.append(scale(url, sizes, min(args.queries, 200), args.backends))
            elif name == "workers":
                sections.append(workers(url, documents))
            elif name == "recovery":
                sections.append(recovery(trials=5))
            log(f"{name}: {time.perf_counter() - began:.0f} s")
    out = "\n\n".join(sections)
    print(out)
    return out


if __name__ == "__main__":
    main()
