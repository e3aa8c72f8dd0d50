"""Runs ingests to be killed or starved of disk, for tests/test_crash.py.

    python tests/crash_child.py plan.json

Loads the real model once, then forks one child per job, so a dozen crash points cost one
model load. Each child arms its job (a SIGKILL on the Nth call of some function, or a file
size limit from the moment the new generation is written) and runs a real ingest; this
process waits for it and prints one JSON line per job: {"job", "signal", "exit"}.

Torch is held to one thread before the model loads: its thread pool does not survive a fork.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["TOKENIZERS_PARALLELISM"] = "false"


def resolve(target: str) -> tuple[object, str]:
    """("kb.index.files.cache.EmbeddingCache.put_many") -> (the class, "put_many")."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1]
    raise ValueError(f"cannot resolve {target!r}")


def kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm_kill(job: dict) -> None:
    """Patch ``job["target"]`` so that its ``nth`` matching call kills this process, before
    or after the real call. ``match`` keeps only calls whose arguments mention it;
    ``within`` counts only calls made while that other function runs."""
    owner, name = resolve(job["target"])
    real = getattr(owner, name)
    state = {"calls": 0, "inside": job.get("within") is None}

    def patched(*args, **kwargs):
        match = job.get("match")
        wanted = state["inside"] and (match is None or match in " ".join(str(a) for a in args[:2]))
        if wanted:
            state["calls"] += 1
        hit = wanted and state["calls"] == job["nth"]
        if hit and job["when"] == "before":
            kill()
        result = real(*args, **kwargs)
        if hit:
            kill()
        return result

    setattr(owner, name, patched)
    if job.get("within"):
        w_owner, w_name = resolve(job["within"])
        w_real = getattr(w_owner, w_name)

        def within(*args, **kwargs):
            state["inside"] = True
            try:
                return w_real(*args, **kwargs)
            finally:
                state["inside"] = False

        setattr(w_owner, w_name, within)


def run_kill(job: dict, embedder) -> int:
    from kb.config import Settings
    from kb.ingest import ingest

    def tick(stage: str, done: int, total: int) -> None:
        if job["target"] == "progress" and stage == job["stage"] and done >= job["nth"]:
            kill()

    if job["target"] != "progress":
        arm_kill(job)
    settings = Settings(documents_dir=job["documents"], index_dir=job["index"], batch_size=1)
    if job.get("database_url"):  # the Postgres backend (tests/test_crash_postgres.py)
        settings = settings.with_changes(database_url=job["database_url"], pg_schema=job["pg_schema"])
    ingest(settings, embedder=embedder, progress=tick)
    return 0  # not killed: the test reports the job as never reaching its point


def run_cli(job: dict, embedder) -> int:
    """The real CLI, its model swapped for the loaded one, with a file size limit set
    when the new generation starts to be written (a disk that fills up then)."""
    import ingest as cli
    from kb.index import files as store

    real = store.write_generation

    def starved(*args, **kwargs):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (job["fsize"], resource.RLIM_INFINITY))
        return real(*args, **kwargs)

    store.write_generation = starved
    cli.Embedder = SimpleNamespace(for_settings=lambda settings: embedder)
    os.environ["KB_BATCH_SIZE"] = "1"
    return cli.main(job["argv"])


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from kb.embedding import Embedder

    embedder = Embedder().load()  # loaded once, before the forks share it
    jobs = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    for job in jobs:
        started = time.monotonic()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            out = os.open(Path(job["log"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(out, 1)
            os.dup2(out, 2)
            code = 3
            try:
                code = (run_cli if job["kind"] == "cli" else run_kill)(job, embedder)
            except BaseException:
                traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        report = {
            "job": job["name"],
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "seconds": round(time.monotonic() - started, 2),
        }
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
