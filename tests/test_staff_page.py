"""The staff page in headless Chromium: the documents table with each file's state, upload
that indexes in one step (with progress, and cancel), remove with a confirmation and an
undo, the last ingest's report kept across a reload, sign-out. Screenshots go to
tests/artifacts/ (the README's are copied from there)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ARTIFACTS
from gradio_client import Client
from test_app import STAFF, RunningApp
from test_app import app as staff_app  # noqa: F401 - the running app, one for this module
from test_browser import (
    HOSTILE_NAME,
    HOSTILE_TEXT,
    browser,  # noqa: F401 - the shared Chromium
    injected,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LEAFLET = (
    "# Gift vouchers\n\nGift vouchers for any laser treatment are sold at the front desk and are "
    "valid for twelve months from the date of purchase.\n"
)


@pytest.fixture
def staff(browser, staff_app: RunningApp):
    page = browser.new_page(viewport={"width": 1200, "height": 1300})
    page.goto(staff_app.url + "staff/")
    sign_in(page)
    yield page
    page.close()


def sign_in(page) -> None:
    from playwright.sync_api import expect

    page.get_by_label("username").fill(STAFF[0])
    page.get_by_label("password").fill(STAFF[1])
    page.get_by_role("button", name="Login").click()
    expect(page.locator(".kb-staff-table")).to_be_visible(timeout=30_000)


def row(page, source: str):
    return page.locator(".kb-staff-table tbody tr", has=page.locator(".kb-file", has_text=source))


def said(text: str) -> re.Pattern:
    """The status box's value containing ``text`` (a textarea's text is its value)."""
    return re.compile(re.escape(text))


def upload(page, path: Path) -> None:
    page.locator("input[type=file][data-testid$=upload-button]").set_input_files(str(path))


def test_the_table_lists_every_file_with_its_state(staff, staff_app: RunningApp) -> None:
    from playwright.sync_api import expect

    rows = staff.locator(".kb-staff-table tbody tr")
    expect(rows).to_have_count(13)
    expect(rows.locator(".kb-state", has_text="Indexed")).to_have_count(13)
    pdf = row(staff, "aftercare-day-by-day.pdf")
    expect(pdf).to_contain_text("PDF")
    expect(pdf.locator("td").nth(2)).to_have_text("4")  # pages
    expect(pdf).to_contain_text("KB")  # size
    expect(staff.get_by_role("link", name="Public page")).to_have_attribute("href", "/")
    staff.screenshot(path=str(ARTIFACTS / "staff-documents.png"), full_page=True)
    # A file dropped into the folder by other means shows as new until an ingest.
    (staff_app.settings.documents_dir / "dropped.txt").write_text("Dropped in by hand.\n")
    (staff_app.settings.documents_dir / "notes.xyz").write_text("Not a type that is read.\n")
    try:
        staff.reload()
        expect(row(staff, "dropped.txt").locator(".kb-state")).to_have_text("New: not ingested yet", timeout=30_000)
        expect(row(staff, "notes.xyz").locator(".kb-state")).to_have_text("Not read")
    finally:
        (staff_app.settings.documents_dir / "dropped.txt").unlink()
        (staff_app.settings.documents_dir / "notes.xyz").unlink()


def test_upload_indexes_at_once_then_remove_confirm_and_undo(
    staff, staff_app: RunningApp, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    public = Client(staff_app.url, verbose=False)
    leaflet = tmp_path / "gift-vouchers.md"
    leaflet.write_text(LEAFLET, encoding="utf-8")
    upload(staff, leaflet)  # one step: no other button
    status = staff.locator("#status textarea")
    expect(status).to_have_value(said("Added gift-vouchers.md"), timeout=30_000)
    expect(status).to_have_value(said("Added: gift-vouchers.md."), timeout=120_000)
    expect(row(staff, "gift-vouchers.md").locator(".kb-state")).to_have_text("Indexed", timeout=30_000)
    found = public.predict("Can I buy a gift voucher?", 3, api_name="/search")
    assert found["passages"][0]["source"] == "gift-vouchers.md"

    # Remove asks first; "Keep it" keeps it.
    staff.get_by_role("button", name="Remove gift-vouchers.md").click()
    expect(staff.locator("#confirm-text")).to_contain_text("Remove gift-vouchers.md from the search?")
    expect(staff.locator("#confirm-remove")).to_be_focused()
    staff.screenshot(path=str(ARTIFACTS / "staff-confirm-remove.png"))
    staff.locator("#keep-btn").click()
    expect(staff.locator("#confirm-remove")).to_be_hidden()
    assert (staff_app.settings.documents_dir / "gift-vouchers.md").exists()

    staff.get_by_role("button", name="Remove gift-vouchers.md").click()
    staff.locator("#confirm-remove").click()
    expect(status).to_have_value(said("Taken out of the search: gift-vouchers.md."), timeout=120_000)
    expect(row(staff, "gift-vouchers.md").locator(".kb-state")).to_have_text("Removed", timeout=30_000)
    assert not (staff_app.settings.documents_dir / "gift-vouchers.md").exists()
    found = public.predict("Can I buy a gift voucher?", 5, api_name="/search")
    assert all(p["source"] != "gift-vouchers.md" for p in found["passages"])

    staff.locator("#undo-btn").click()
    expect(status).to_have_value(said("Restored gift-vouchers.md."), timeout=30_000)
    expect(status).to_have_value(said("Added: gift-vouchers.md."), timeout=120_000)
    expect(row(staff, "gift-vouchers.md").locator(".kb-state")).to_have_text("Indexed", timeout=30_000)
    assert public.predict("Can I buy a gift voucher?", 3, api_name="/search")["passages"][0]["source"] == (
        "gift-vouchers.md"
    )

    # The report is kept: after a reload it is still there, in plain words, with no server path.
    staff.reload()
    report = staff.locator("#report")
    expect(report).to_contain_text("Last ingest:", timeout=30_000)
    expect(report).to_contain_text("Added: gift-vouchers.md.")
    expect(report).to_contain_text("found their answer in the top 3 (last time")
    assert str(staff_app.settings.documents_dir) not in report.inner_text()
    assert str(staff_app.settings.index_dir) not in report.inner_text()


def test_upload_shows_progress_and_can_be_cancelled(staff, staff_app: RunningApp, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    before = Client(staff_app.url, verbose=False).predict(api_name="/documents")
    words = ["voucher", "gift", "card", "value", "expiry", "balance", "refund", "treatment", "booking", "desk"]
    paragraphs = (" ".join(words[(i * 7 + j) % len(words)] + str(i) for j in range(60)) for i in range(3000))
    big = tmp_path / "gift-voucher-terms.md"
    big.write_text("# Gift voucher terms\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    upload(staff, big)
    status = staff.locator("#status textarea")
    expect(status).to_have_value(said("Embedding:"), timeout=120_000)
    staff.screenshot(path=str(ARTIFACTS / "staff-upload-progress.png"))
    staff.locator("#cancel-btn").click()
    expect(status).to_have_value(said("cancelled"), timeout=60_000)
    expect(status).to_have_value(said("The previous index stays in service"))
    assert Client(staff_app.url, verbose=False).predict(api_name="/documents") == before
    staff.reload()
    expect(row(staff, "gift-voucher-terms.md").locator(".kb-state")).to_have_text(
        "New: not ingested yet", timeout=30_000
    )
    (staff_app.settings.documents_dir / "gift-voucher-terms.md").unlink()


def test_hostile_file_names_and_titles_are_shown_as_text(staff, staff_app: RunningApp) -> None:
    """A file put in the folder by hand, named and titled with markup: the table and the
    confirmation show the text, and nothing of it runs."""
    from playwright.sync_api import expect

    dialogs: list[str] = []
    staff.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    hostile = staff_app.settings.documents_dir / HOSTILE_NAME
    hostile.write_text(HOSTILE_TEXT, encoding="utf-8")
    try:
        staff.reload()
        shown = row(staff, HOSTILE_NAME)
        expect(shown.locator(".kb-state")).to_have_text("New: not ingested yet", timeout=30_000)
        shown.get_by_role("button", name=f"Remove {HOSTILE_NAME}").click()
        expect(staff.locator("#confirm-text")).to_contain_text(f"Remove {HOSTILE_NAME} from the search?")
        staff.locator("#keep-btn").click()
        assert injected(staff, ".kb-staff-table") == [] and injected(staff, "#confirm-text") == []
        assert dialogs == []
    finally:
        hostile.unlink()


def test_sign_out_returns_to_the_login(staff, staff_app: RunningApp) -> None:
    from playwright.sync_api import expect

    staff.get_by_role("link", name="Sign out").click()
    expect(staff.get_by_label("username")).to_be_visible(timeout=30_000)
    staff.goto(staff_app.url + "staff/")
    expect(staff.get_by_label("username")).to_be_visible(timeout=30_000)  # the session is gone
    expect(staff.locator(".kb-staff-table")).to_have_count(0)
