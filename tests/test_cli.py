"""The ingest command line, run in-process through main(argv), and once as a real process
killed with SIGKILL part way."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT, SHIPPED_DOCUMENTS

import ingest as cli
from kb.config import Settings
from kb.embedding import Embedder
from kb.index import files as store
from kb.search import KnowledgeBase


@pytest.fixture
def quiet_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """Reuse the session's loaded model instead of loading it again in main()."""
    monkeypatch.setattr(sys.modules["kb.ingest.run"], "Embedder", SimpleNamespace(for_settings=lambda s: embedder))


def test_summary_and_exit_code_zero(settings: Settings, quiet_model, capsys) -> None:
    code = cli.main(
        ["--documents", str(settings.documents_dir), "--index", str(settings.index_dir), "--quiet"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "documents: 3 added, 0 changed, 0 removed, 0 unchanged, 0 failed" in out
    assert "passages:" in out and "time:" in out


def test_failed_file_is_listed_and_exit_code_is_one(settings: Settings, quiet_model, capsys) -> None:
    (settings.documents_dir / "scan.pdf").write_bytes(b"%PDF-1.4 nothing")
    code = cli.main(
        ["--documents", str(settings.documents_dir), "--index", str(settings.index_dir), "--quiet"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "3 added" in out and "1 failed" in out
    assert "FAILED scan.pdf: is not a readable PDF" in out


def test_locked_index_exits_three_with_a_message(settings: Settings, quiet_model, capsys) -> None:
    with store.ingest_lock(settings.index_dir):
        code = cli.main(["--documents", str(settings.documents_dir), "--index", str(settings.index_dir)])
    assert code == 3
    assert "Another ingest is running" in capsys.readouterr().err


def test_missing_documents_folder_exits_two(tmp_path: Path, quiet_model, capsys) -> None:
    code = cli.main(["--documents", str(tmp_path / "none"), "--index", str(tmp_path / "i")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_an_unchanged_reingest_never_imports_torch(built: Settings) -> None:
    """Nothing to embed: the index in service stays, and the model is never loaded."""
    before = store.current_generation_name(built.index_dir)
    script = (
        "import sys, ingest; "
        f"code = ingest.main(['--documents', {str(built.documents_dir)!r}, '--index', "
        f"{str(built.index_dir)!r}, '--quiet']); "
        "print('exit', code, 'torch', 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "0 added, 0 changed, 0 removed, 3 unchanged" in done.stdout
    assert done.stdout.strip().endswith("exit 0 torch False"), done.stdout
    assert store.current_generation_name(built.index_dir) == before  # no new generation


def test_help_documents_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "Exit codes: 0" in out and "--rebuild" in out and "--model" in out


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("KB_PASSAGE_TOKENS", "150")
    settings = Settings.from_env(documents_dir=tmp_path)
    assert settings.index_dir == tmp_path / "elsewhere" and settings.passage_tokens == 150
    monkeypatch.setenv("KB_PASSAGE_TOKENS", "lots")
    with pytest.raises(ValueError, match="KB_PASSAGE_TOKENS='lots' is not a whole number"):
        Settings.from_env()


def _start_ingest(documents: Path, index: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "ingest.py"), "--documents", str(documents), "--index", str(index)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _wait_for(process: subprocess.Popen, marker: bytes, timeout: float = 120) -> bytes:
    """Read the progress output until ``marker`` appears (or the process ends)."""
    seen = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(process.stderr.fileno(), False)
    while marker not in seen and time.monotonic() < deadline and process.poll() is None:
        chunk = process.stderr.read(4096)
        if chunk:
            seen += chunk
        else:
            time.sleep(0.02)
    return seen


@pytest.mark.slow
def test_sigkill_at_any_stage_leaves_the_previous_index_answering(
    built: Settings, embedder: Embedder
) -> None:
    before = store.current_generation_name(built.index_dir)
    shutil.copytree(SHIPPED_DOCUMENTS, built.documents_dir / "shipped")  # enough work to interrupt
    shipped = len(list(SHIPPED_DOCUMENTS.iterdir()))
    kb = KnowledgeBase(built, embedder)
    for moment in (b"", b"Reading documents", b"Embedding passages", b"Writing index"):
        process = _start_ingest(built.documents_dir, built.index_dir)
        try:
            if moment:
                _wait_for(process, moment)
            else:
                time.sleep(1.0)  # still loading the model
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=60)
            process.stdout.close()
            process.stderr.close()
        now = store.current_generation_name(built.index_dir)
        if process.returncode == -signal.SIGKILL:
            assert now == before, f"killed at {moment!r} yet the index changed"
        # Whatever is current loads and answers; the killed run's lock died with it.
        kb.refresh()
        assert kb.search("sunscreen after the laser", 3)
        assert {d.source for d in kb.documents()} >= {"aftercare.pdf", "faq.md", "hours.txt"}
    process = _start_ingest(built.documents_dir, built.index_dir)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode()[-2000:]
    assert b"0 failed" in out
    kb.refresh()
    assert len(kb.documents()) == 3 + shipped
    assert not list((built.index_dir / "generations").glob("*.partial"))
