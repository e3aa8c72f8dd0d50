"""Crashes: real ingests SIGKILLed at many points, a disk that fills up while the new
index is written, and the vote store killed mid-write.

After every kill the index in CURRENT is complete (the old one or the new one, never a
mix), every generation folder that is not ``.partial`` is complete, and a re-run finishes
the job and leaves no leftovers. The ingests run in tests/crash_child.py, which loads the
model once and forks one child per crash point.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import IndexNotFoundError
from kb.index import files as store
from kb.ingest import ingest
from kb.search import KnowledgeBase

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CHILD = Path(__file__).resolve().parent / "crash_child.py"

DOCUMENTS = {
    "hours.txt": "Opening Hours\n\nThe clinic is open Monday to Friday from 8 am to 6 pm and on Saturday "
    "mornings from 9 am to 2 pm. We are closed on Sundays and on public holidays.\n",
    "faq.md": "# Questions\n\n## Does the laser hurt?\n\nMost people feel a prickling heat. We apply a "
    "numbing cream for about an hour first. The cream is washed off before the treatment.\n\n"
    "## Can I wear makeup afterwards?\n\nWait until the skin has healed, typically seven to ten days "
    "after an ablative treatment. Mineral makeup is gentlest on new skin.\n",
    "aftercare.md": "# Aftercare\n\nKeep the treated skin moist with a plain ointment for five days. "
    "Wash it gently twice a day with lukewarm water. Redness usually fades within two weeks. "
    "Stay out of direct sun for four weeks and use sunscreen of SPF 30 or higher every morning. "
    "Call the clinic at once if you have a fever, pus or spreading redness.\n",
    # Many sentences, each with a vector of its own: the sentence vectors then outgrow the
    # passage store, so a file size limit can fall between the two.
    "treatments.md": "# Treatments\n\n"
    + "".join(
        f"Treatment {n} takes {10 + n} minutes and needs {n % 4 + 1} sessions. " for n in range(1, 61)
    )
    + "\n",
}
# The document the crashed ingest was adding; the re-run must index it.
NEW = (
    "parking.md",
    "# Getting Here\n\n## Parking\n\nThe basement car park under the clinic is free for patients. "
    "Take a ticket at the barrier and have it stamped at the front desk. Spaces for wheelchair users "
    "are next to the lift.\n\n## Public transport\n\nThe number 12 tram stops outside the door. "
    "The railway station is a ten minute walk away along the harbour.\n\n## Cycling\n\nBicycle racks "
    "stand in the courtyard behind the building. Lock your bicycle to the rack, not to the railings.\n",
)
NEW_QUESTION = "Is the car park free for patients?"

OLD, FRESH = "old", "new"  # which generation must be in CURRENT after the kill

# name: (how the child dies, which generation must be in service afterwards, what the
# kill must visibly have left, to show it struck where meant)
KILL_POINTS: dict[str, tuple[dict, str, str]] = {
    "reading documents": ({"target": "progress", "stage": "read", "nth": 1}, OLD, "nothing"),
    "embedding, after a cache write": (
        {"target": "kb.index.files.cache.EmbeddingCache.put_many", "when": "after", "nth": 1},
        OLD,
        "cache grew",
    ),
    "writing, passages stored, before the vectors": (
        {"target": "kb.index.files.vectors.save_vector_index", "when": "before", "nth": 1},
        OLD,
        "partial",
    ),
    "writing, after the sentence vectors": (
        {"target": "kb.index.files.vectors.save_vector_index", "when": "after", "nth": 2},
        OLD,
        "partial",
    ),
    "writing, after the keyword index": (
        {"target": "kb.index.lexical.LexicalIndex.save", "when": "after", "nth": 1},
        OLD,
        "partial",
    ),
    "syncing the written files": (
        {"target": "os.fsync", "when": "after", "nth": 3, "within": "kb.index.files.write_generation"},
        OLD,
        "partial",
    ),
    "before the generation is renamed into place": (
        {"target": "os.rename", "when": "before", "nth": 1, "match": ".partial"},
        OLD,
        "partial",
    ),
    "after the rename, before CURRENT is switched": (
        {"target": "os.rename", "when": "after", "nth": 1, "match": ".partial"},
        OLD,
        "unnamed generation",
    ),
    "CURRENT.tmp written, before the switch": (
        {"target": "os.replace", "when": "before", "nth": 1, "match": "CURRENT"},
        OLD,
        "CURRENT.tmp",
    ),
    "just after the CURRENT switch": (
        {"target": "os.replace", "when": "after", "nth": 1, "match": "CURRENT"},
        FRESH,
        "unpruned",
    ),
    "pruning, mid-delete of an old generation": (
        {"target": "os.unlink", "when": "after", "nth": 2, "within": "kb.index.files.prune_generations"},
        FRESH,
        "partial",
    ),
}

FIRST_BUILD = "first build, before its generation is renamed into place"

# A disk that fills up while the new generation is written: the file size limit each run
# gets, and the writer that must meet it. The limits are set from the sizes of the first
# index's files (see ``crash_runs``).
DISK_FULL = ("passages store", "vector index")


def _write_documents(folder: Path, extra: tuple[str, str] | None = None) -> None:
    folder.mkdir(parents=True)
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    if extra:
        (folder / extra[0]).write_text(extra[1], encoding="utf-8")


def _cache_rows(index_dir: Path) -> int:
    with sqlite3.connect(index_dir / store.CACHE) as db:
        return db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> dict:
    """One child process runs every crash point and every full disk on its own copy of a
    built index (two generations, so the crashed ingest also prunes one)."""
    base = tmp_path_factory.mktemp("crash")
    settings = Settings(documents_dir=base / "documents", index_dir=base / "index", batch_size=1)
    _write_documents(settings.documents_dir)
    first = ingest(settings, embedder=embedder).generation
    second = ingest(settings, embedder=embedder, rebuild=True).generation  # an unchanged ingest writes none
    sizes = {p.name: p.stat().st_size for p in (settings.index_dir / store.GENERATIONS / second).iterdir()}
    # Odd sizes: a limit in the middle of a block, as a disk fills up.
    limits = {
        "passages store": 1001,
        "vector index": sizes[store.PASSAGES] + 8192 + 333,
    }
    assert sizes[store.SENTENCE_VECTORS] > limits["vector index"], sizes  # the limit falls there

    jobs, runs = [], {}
    for number, (name, (spec, _, _)) in enumerate([*KILL_POINTS.items(), *((d, ({}, "", "")) for d in DISK_FULL)]):
        folder = base / f"job{number}"
        shutil.copytree(settings.index_dir, folder / "index")
        _write_documents(folder / "documents", NEW)
        job = {"name": name, "log": str(folder / "log.txt")}
        if name in DISK_FULL:
            # A killed ingest's leftovers, which the next ingest must clear before it writes.
            (folder / "index" / store.GENERATIONS / "20000101T000000.000000-dead.partial").mkdir()
            (folder / "index" / "CURRENT.tmp").write_text("junk", encoding="utf-8")
            argv = ["--documents", str(folder / "documents"), "--index", str(folder / "index")]
            job |= {"kind": "cli", "fsize": limits[name], "argv": [*argv, "--quiet", "--no-golden"]}
        else:
            job |= {"kind": "kill", "index": str(folder / "index"), "documents": str(folder / "documents")}
            job |= spec
        jobs.append(job)
        runs[name] = {"folder": folder, "cache_before": _cache_rows(folder / "index")}
    # The very first build, killed when its generation is complete but not yet in place.
    folder = base / "first-build"
    _write_documents(folder / "documents", NEW)
    jobs.append(
        {"name": FIRST_BUILD, "log": str(folder / "log.txt"), "kind": "kill", "index": str(folder / "index")}
        | {"documents": str(folder / "documents"), **KILL_POINTS["before the generation is renamed into place"][0]}
    )
    runs[FIRST_BUILD] = {"folder": folder}
    plan = base / "plan.json"
    plan.write_text(json.dumps(jobs), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(CHILD), str(plan)], capture_output=True, text=True, timeout=540, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
            runs[result["job"]].update(result)
    return {"runs": runs, "old": second, "first": first}


def _log(run: dict) -> str:
    return (run["folder"] / "log.txt").read_text(encoding="utf-8", errors="replace")


def _assert_complete(index_dir: Path, name: str) -> store.Generation:
    """The generation opens, and all its parts describe the same documents and passages."""
    generation = store.open_generation(index_dir, name)
    documents = {d.source for d in generation.documents()}
    assert set(generation.manifest["documents"]) == documents
    rows = generation.passages_at(range(generation.passage_count))
    assert {p.source for p in rows} == documents
    assert generation.manifest["counts"] == {"documents": len(documents), "passages": len(rows)}
    assert generation.lexical.size == len(rows)
    assert generation.sentence_vectors.ntotal == sum(len(p.sentences) for p in rows)
    assert generation.heading_vectors.ntotal == len(store.heading_texts(rows))
    return generation


def _assert_no_leftovers(index_dir: Path) -> None:
    names = sorted(p.name for p in (index_dir / store.GENERATIONS).iterdir())
    assert not [n for n in names if n.endswith(".partial")], names
    assert not (index_dir / "CURRENT.tmp").exists()
    assert len(names) <= 2, names  # pruned


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_kill_leaves_a_complete_index_and_a_rerun_finishes(
    point: str, crash_runs: dict, embedder: Embedder
) -> None:
    run = crash_runs["runs"][point]
    _, expected, evidence = KILL_POINTS[point]
    assert run.get("signal") == signal.SIGKILL, f"not killed at its point ({run}):\n{_log(run)}"
    index_dir = run["folder"] / "index"
    settings = Settings(documents_dir=run["folder"] / "documents", index_dir=index_dir)
    folders = sorted(p.name for p in (index_dir / store.GENERATIONS).iterdir())

    current = store.current_generation_name(index_dir)
    complete = [n for n in folders if not n.endswith(".partial")]
    # CURRENT names a complete generation: the old one or the new one, never a mix; and
    # every folder not marked .partial is complete too.
    _assert_complete(index_dir, current).close()
    assert (current == crash_runs["old"]) == (expected == OLD), current
    for name in complete:
        _assert_complete(index_dir, name).close()

    # The kill struck where it was meant to.
    assert {
        "nothing": folders == sorted([crash_runs["first"], crash_runs["old"]]),
        "cache grew": _cache_rows(index_dir) > run["cache_before"],
        "partial": any(n.endswith(".partial") for n in folders),
        "unnamed generation": len(complete) == 3 and current != complete[-1],
        "CURRENT.tmp": (index_dir / "CURRENT.tmp").exists(),
        "unpruned": len(complete) == 3 and current == complete[-1],
    }[evidence], folders

    kb = KnowledgeBase(settings, embedder)
    assert kb.generation.name == current
    sources = {d.source for d in kb.documents()}
    assert ("parking.md" in sources) == (expected == FRESH)
    assert kb.search("When is the clinic open on Saturday?", 1)[0].source == "hours.txt"

    # A re-run finishes the job and leaves nothing behind.
    report = ingest(settings, embedder=embedder)
    assert report.ok
    assert (report.added if expected == OLD else report.unchanged).count("parking.md") == 1
    _assert_no_leftovers(index_dir)
    _assert_complete(index_dir, store.current_generation_name(index_dir)).close()
    # Switched to the re-run's generation; when the new one was already in service, the
    # re-run had nothing to change and kept it.
    assert kb.refresh() == (expected == OLD)
    assert kb.search(NEW_QUESTION, 1)[0].source == "parking.md"


def test_a_kill_during_the_first_build_leaves_no_index_and_a_rerun_builds_it(
    crash_runs: dict, embedder: Embedder
) -> None:
    run = crash_runs["runs"][FIRST_BUILD]
    assert run.get("signal") == signal.SIGKILL, f"not killed at its point ({run}):\n{_log(run)}"
    index_dir = run["folder"] / "index"
    settings = Settings(documents_dir=run["folder"] / "documents", index_dir=index_dir)
    assert store.current_generation_name(index_dir) is None
    assert [p.name.endswith(".partial") for p in (index_dir / store.GENERATIONS).iterdir()] == [True]
    # No index yet, as before the build began: the app builds one at start (app.py).
    with pytest.raises(IndexNotFoundError, match="python ingest.py"):
        KnowledgeBase(settings, embedder)
    report = ingest(settings, embedder=embedder)
    assert report.ok and len(report.added) == len(DOCUMENTS) + 1
    _assert_no_leftovers(index_dir)
    assert KnowledgeBase(settings, embedder).search(NEW_QUESTION, 1)[0].source == "parking.md"


@pytest.mark.parametrize("case", DISK_FULL)
def test_a_full_disk_fails_the_ingest_clearly_and_keeps_the_old_index(
    case: str, crash_runs: dict, embedder: Embedder
) -> None:
    run = crash_runs["runs"][case]
    log = _log(run)
    assert run.get("exit") == 2, log  # the CLI's "nothing was done"
    assert "error: The disk is full (" in log and "while writing the new index" in log, log
    assert "free some space and run the ingest again. The previous index stays in service." in log
    assert "Traceback" not in log
    writer = {"passages store": "OSError: [Errno 27]", "vector index": "RuntimeError:"}[case]
    assert writer in log, log  # the disk filled up in the writer this case is about
    index_dir = run["folder"] / "index"
    assert store.current_generation_name(index_dir) == crash_runs["old"]
    _assert_complete(index_dir, crash_runs["old"]).close()
    _assert_no_leftovers(index_dir)  # its own partial, and the older leftovers, are gone
    # Space freed: the next run goes through.
    settings = Settings(documents_dir=run["folder"] / "documents", index_dir=index_dir)
    assert ingest(settings, embedder=embedder).added == ["parking.md"]


VOTER = """
import os, signal, sys
from kb.index.files.votes import FeedbackStore
votes = FeedbackStore(sys.argv[1])
kill_on_commit = int(sys.argv[2])
commits = 0
def trace(sql):
    global commits
    if sql == "COMMIT":
        commits += 1
        if commits == kill_on_commit:
            os.kill(os.getpid(), signal.SIGKILL)
votes._db.set_trace_callback(trace)
for i in range(100000):
    votes.record(f"question {i}", f"faq.md#{i}", "helpful")
    print(i, flush=True)
"""


@pytest.mark.parametrize("kill", ["at a commit", "from outside"])
def test_the_vote_store_survives_a_kill_mid_write(kill: str, tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    # "at a commit": killed as the 40th vote's transaction commits. "from outside": killed by
    # the parent while the child writes votes as fast as it can.
    argv = [sys.executable, "-c", VOTER, str(path), "40" if kill == "at a commit" else "0"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    recorded = []
    for line in child.stdout:
        recorded.append(int(line))
        if kill == "from outside" and len(recorded) == 150:
            child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        found = {q for (q,) in db.execute("SELECT question FROM votes")}
    assert recorded and {f"question {i}" for i in recorded} <= found
    if kill == "at a commit":
        assert len(recorded) == 39 and len(found) == 39  # the vote caught mid-commit is not half-kept

    from kb.index.files.votes import FeedbackStore

    votes = FeedbackStore(path)  # opens, and takes new votes
    votes.record("after the crash", "faq.md#1", "not helpful")
    assert votes.recent(1)[0].question == "after the crash"
    votes.close()
