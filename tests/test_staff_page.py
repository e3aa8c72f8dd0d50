"""The staff page in headless Chromium: the documents table with each file's state, upload
that indexes in one step (with progress, and cancel), remove with a confirmation and an
undo, the last ingest's report kept across a reload, sign-out. Screenshots go to
tests/artifacts/ (the README's are copied from there)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from conftest import ARTIFACTS
from gradio_client import Client, handle_file
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


# --- remove and undo: one action at a time on each document ----------------------------------


def test_undo_pressed_the_moment_it_appears_brings_the_document_back_into_the_search(
    staff, staff_app: RunningApp
) -> None:
    """Undo pressed while the removal is still being ingested: the restore waits for it, is
    ingested in turn, and the row says so meanwhile, with no other click."""
    import time

    from playwright.sync_api import expect

    def first_source(question: str) -> str:  # the plain search route, as programs call it
        return httpx.get(staff_app.url + "api/search", params={"q": question, "k": 3}).json()["passages"][0]["source"]

    question = "Do you treat teenagers?"
    assert first_source(question) == "faq.md"
    live = staff.locator(".kb-staff-table tbody tr:not(.kb-state-removed)", has=staff.locator(".kb-file", has_text="faq.md"))
    state = live.locator(".kb-state")
    staff.get_by_role("button", name="Remove faq.md").click()
    staff.locator("#confirm-remove").click()
    staff.locator("#undo-btn").click()  # waits only until it is shown
    pressed = time.monotonic()
    expect(staff.locator("#status textarea")).not_to_have_value(said("Taken out of the search"))  # still running
    expect(state).to_have_text("Restoring…")
    expect(state).to_have_text("Indexed", timeout=30_000)
    assert time.monotonic() - pressed < 30
    assert first_source(question) == "faq.md"
    assert (staff_app.settings.documents_dir / "faq.md").exists()
    expect(staff.locator("#status textarea")).to_have_value(said("Restored faq.md."))
    staff.reload()  # and it stays so
    expect(state).to_have_text("Indexed", timeout=30_000)


# --- uploads whose content is not their type ---------------------------------------------------

#: (file name, content): none of them is what its name says.
NOT_THEIR_TYPE = {
    "setup.pdf": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(range(256)) * 16,  # a program
    "random.docx": bytes((i * 73 + 41) % 256 for i in range(4096)),
    "leaflet.txt": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "prices.html": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4,
    "faq.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(256),
}


def test_uploads_whose_content_is_not_their_type_are_never_kept(
    staff, staff_app: RunningApp, tmp_path: Path
) -> None:
    """Through the staff API (gradio_client) and the page: refused before they are saved,
    in plain words, with no library exception name."""
    from playwright.sync_api import expect


    documents = staff_app.settings.documents_dir
    before = {p.name: p.read_bytes() for p in documents.iterdir() if p.is_file()}
    api = Client(staff_app.url + "staff/", auth=STAFF, verbose=False)
    for name, content in NOT_THEIR_TYPE.items():
        (tmp_path / name).write_bytes(content)
        said_ = api.predict([handle_file(str(tmp_path / name))], api_name="/upload")
        assert said_.startswith(f"NOT SAVED {name}: it is not "), said_
        assert "save" in said_.lower() and "Error" not in said_ and "Added" not in said_, said_
    assert {p.name: p.read_bytes() for p in documents.iterdir() if p.is_file()} == before  # faq.md kept as it was

    program = tmp_path / "page" / "setup.pdf"
    program.parent.mkdir()
    program.write_bytes(NOT_THEIR_TYPE["setup.pdf"])
    upload(staff, program)
    status = staff.locator("#status textarea")
    expect(status).to_have_value(
        said(
            "NOT SAVED setup.pdf: it is not a PDF (its content is another kind of file, such as a program "
            "or a picture). Save or export it as PDF again and upload that."
        ),
        timeout=30_000,
    )
    assert "Error" not in status.input_value() and not (documents / "setup.pdf").exists()
    expect(row(staff, "setup.pdf")).to_have_count(0)
    staff.screenshot(path=str(ARTIFACTS / "staff-upload-refused.png"))


# --- the table: sorted, filtered, marked; on a phone; the confirmation by its row ---------------


def test_the_table_sorts_filters_and_marks_new_rows(staff, staff_app: RunningApp) -> None:
    from playwright.sync_api import expect

    dropped = staff_app.settings.documents_dir / "dropped-in.txt"
    dropped.write_text("Put in the folder by hand.\n")
    try:
        staff.reload()
        expect(row(staff, "dropped-in.txt").locator(".kb-mark")).to_have_text("New", timeout=30_000)
        names = staff.locator(".kb-staff-table tbody tr:not([hidden]) .kb-file")
        sizes = """t => [...t.querySelectorAll('tbody tr:not([hidden])')].map(r => Number(r.cells[5].dataset.sort))"""
        table = staff.locator(".kb-staff-table")
        staff.get_by_role("button", name="Size", exact=True).click()
        expect(staff.locator("th[data-key=size]")).to_have_attribute("aria-sort", "ascending")
        ascending = table.evaluate(sizes)
        assert ascending == sorted(ascending) and len(ascending) >= 13
        staff.get_by_role("button", name="Size", exact=True).click()
        expect(staff.locator("th[data-key=size]")).to_have_attribute("aria-sort", "descending")
        assert table.evaluate(sizes) == sorted(ascending, reverse=True)
        staff.get_by_role("button", name="State", exact=True).click()  # what needs a look first
        expect(names.first).to_contain_text("dropped-in.txt")

        staff.get_by_label("Filter the documents").fill("pdf")
        expect(staff.locator("#staff-filter-count")).to_contain_text("files shown")
        visible = names.all_inner_texts()
        assert visible and all(".pdf" in n for n in visible)
        staff.screenshot(path=str(ARTIFACTS / "staff-table-filtered.png"))
        # A refresh of the table keeps the sort and the filter.
        staff.locator("#reingest-btn").click()
        expect(row(staff, "dropped-in.txt").locator(".kb-state")).to_have_text("Indexed", timeout=120_000)
        assert all(".pdf" in n for n in names.all_inner_texts())
        staff.get_by_label("Filter the documents").fill("")
        expect(names).to_have_count(staff.locator(".kb-staff-table tbody tr").count())
        expect(staff.locator("th[data-key=state]")).to_have_attribute("aria-sort", "ascending")
        expect(row(staff, "dropped-in.txt").locator(".kb-mark")).to_have_text("New")  # added by the last ingest
        staff.get_by_role("button", name="Document", exact=True).click()
        staff.locator(".kb-staff-table").screenshot(path=str(ARTIFACTS / "staff-table.png"))
    finally:
        dropped.unlink()


def test_the_confirmation_opens_under_its_row_without_moving_the_page(staff) -> None:
    from playwright.sync_api import expect

    target = row(staff, "treatment-options.pdf")
    target.scroll_into_view_if_needed()
    before = target.bounding_box()
    scrolled = staff.evaluate("window.scrollY")
    target.get_by_role("button", name="Remove treatment-options.pdf").click()
    confirm = staff.locator("#confirm")
    expect(confirm).to_be_visible()
    expect(staff.locator("#confirm-remove")).to_be_focused()
    after, box = target.bounding_box(), confirm.bounding_box()
    assert staff.evaluate("window.scrollY") == scrolled
    assert abs(after["y"] - before["y"]) < 2  # the page did not jump
    assert 0 <= box["y"] - (after["y"] + after["height"]) < 20  # right under its row
    staff.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(target.get_by_role("button", name="Remove treatment-options.pdf")).to_be_focused()


def test_on_a_phone_every_row_shows_its_name_and_remove_button(browser, staff_app: RunningApp) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        phone.goto(staff_app.url + "staff/")
        sign_in(phone)
        layout = phone.evaluate(
            """() => ({scroll: document.documentElement.scrollWidth, width: window.innerWidth,
                      buttons: [...document.querySelectorAll('.kb-staff-table button[data-action]')]
                        .map(b => b.getBoundingClientRect()).map(r => [r.left, r.right])})"""
        )
        assert layout["scroll"] <= layout["width"], layout
        assert layout["buttons"] and all(left >= 0 and right <= layout["width"] for left, right in layout["buttons"])
        target = row(phone, "faq.md")
        target.scroll_into_view_if_needed()
        y = target.bounding_box()["y"]
        target.get_by_role("button", name="Remove faq.md").click()
        expect(phone.locator("#confirm-remove")).to_be_in_viewport()
        assert abs(target.bounding_box()["y"] - y) < 2
        phone.locator("#keep-btn").click()
        phone.locator("#staff-filter-box").evaluate("e => e.scrollIntoView({block: 'start'})")
        phone.screenshot(path=str(ARTIFACTS / "staff-table-phone.png"))
    finally:
        context.close()


def test_a_title_with_markup_is_shown_as_text_in_the_table(staff, staff_app: RunningApp) -> None:
    """An ingested web page whose <title> holds escaped markup: the row's title is that text,
    and nothing of it runs (escape(r.title) in render.staff_table_html)."""
    from playwright.sync_api import expect

    title = "<img src=x onerror=alert('title')> Zebra notes"
    dialogs: list[str] = []
    staff.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page = staff_app.settings.documents_dir / "zebra-notes.html"
    page.write_text(
        "<html><head><title>&lt;img src=x onerror=alert('title')&gt; Zebra notes</title></head>"
        "<body><p>The zebra pumpkin protocol keeps the skin moist after the laser.</p></body></html>",
        encoding="utf-8",
    )
    try:
        staff.locator("#reingest-btn").click()
        shown = row(staff, "zebra-notes.html")
        expect(shown.locator(".kb-state")).to_have_text("Indexed", timeout=120_000)
        expect(shown.locator(".kb-title")).to_have_text(title)
        staff.wait_for_timeout(300)  # an image that failed to load would have fired by now
        assert injected(staff, ".kb-staff-table") == [] and dialogs == []
    finally:
        page.unlink()


def test_the_questions_tab_groups_unanswered_questions_and_writes_golden_ones(
    staff, staff_app: RunningApp, tmp_path: Path
) -> None:
    """Patients ask three wordings of something the documents do not cover; staff see one
    group on the Questions tab, mark it answered by a passage they pick, and the next
    ingest's report asks that golden question."""
    from playwright.sync_api import expect

    public = Client(staff_app.url, verbose=False)
    asked = ["do you do microneedling", "microneedling cost??", "is micro needling something your clinic offers"]
    for question in asked:
        public.predict(question, 3, api_name="/search")
    staff.get_by_role("tab", name="Questions").click()
    gaps = staff.locator("#gaps")
    for _ in range(20):  # the log is written off the request's path: a moment later
        if "microneedling" in gaps.inner_text().lower() or "micro needling" in gaps.inner_text().lower():
            break
        staff.locator("#gap-refresh").click()
        staff.wait_for_timeout(1000)
    group = gaps.locator("tbody tr", has_text=re.compile("micro ?needling", re.I))
    expect(group).to_have_count(1)
    expect(group.locator("td").first).to_have_text("3")
    staff.wait_for_timeout(3000)  # the chart draws itself after its data arrives
    staff.screenshot(path=str(ARTIFACTS / "staff-questions.png"), full_page=True)
    staff.get_by_label("Group").click()
    staff.get_by_role("option", name=re.compile("needling", re.I)).first.click()
    staff.locator("#gap-passage input[type=radio]").first.check()
    staff.locator("#gap-answered").click()
    expect(staff.locator("#gap-done")).to_contain_text("Saved as a golden question answered by", timeout=30_000)
    expect(group).to_have_count(0, timeout=30_000)  # handled: it leaves the list
    expect(staff.locator("#golden-count")).to_contain_text("real questions: 1")
    # The next ingest (one that changes something) asks it.
    signed_in = Client(staff_app.url + "staff/", auth=STAFF, verbose=False)
    note = tmp_path / "parking-note.md"
    note.write_text("# Parking note\n\nThe car park closes at 8 pm on weekdays.\n", encoding="utf-8")
    signed_in.predict([handle_file(str(note))], api_name="/upload")
    report = signed_in.predict(api_name="/reingest")
    assert "1 of the test questions was written from real questions on the Questions tab" in report
    signed_in.predict("parking-note.md", api_name="/remove")
    signed_in.predict(api_name="/reingest")
