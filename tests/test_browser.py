"""The ask and documents pages in headless Chromium (Debian's package), with screenshots
saved to tests/artifacts/."""

from __future__ import annotations

import shutil

import pytest
from conftest import ARTIFACTS
from test_app import RunningApp, copy_of

from kb.config import Settings

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def page(shipped_index: Settings, tmp_path_factory: pytest.TempPathFactory):
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed; run `make test`, which installs it.")
    running = RunningApp(copy_of(shipped_index, tmp_path_factory.mktemp("browser")))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 1300})
        tab.goto(running.url)
        yield tab
        browser.close()
    running.stop()


def ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask-btn").click()


def test_asking_shows_result_cards_with_source_and_page(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#disclaimer")).to_contain_text("not medical advice")
    ask(page, "How do I mix the vinegar soak for my face?")
    cards = page.locator(".kb-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    expect(cards).to_have_count(5)
    first = cards.first
    expect(first.locator(".kb-source")).to_contain_text("page")
    expect(first.locator(".kb-text .best")).to_be_visible()
    expect(first.locator("mark").first).to_be_visible()
    href = first.locator(".kb-source").get_attribute("href")
    assert href.startswith("/files/") and "#page=" in href
    page.screenshot(path=str(ARTIFACTS / "ask.png"))


def test_a_vote_is_taken(page) -> None:
    from playwright.sync_api import expect

    page.locator(".kb-vote").first.click()
    expect(page.get_by_text("Thank you for the feedback.")).to_be_visible(timeout=10_000)


def test_off_topic_question_says_not_covered(page) -> None:
    from playwright.sync_api import expect

    ask(page, "What is the capital of Australia?")
    expect(page.locator(".kb-not-covered")).to_contain_text("don't cover this", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "not-covered.png"))


def test_warning_signs_show_the_urgent_notice(page) -> None:
    from playwright.sync_api import expect

    ask(page, "I have blisters and a fever three days after my laser")
    expect(page.locator(".kb-urgent")).to_contain_text("555-0199", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "urgent.png"))


def test_documents_page_lists_the_index(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Documents").click()
    table = page.locator(".kb-documents")
    expect(table).to_be_visible(timeout=20_000)
    expect(table.locator("tbody tr")).to_have_count(13)
    expect(page.locator(".kb-built")).to_contain_text("Index built")
    page.screenshot(path=str(ARTIFACTS / "documents.png"))


def test_staff_page_asks_for_a_login_first(page, shipped_index) -> None:
    from playwright.sync_api import expect

    base = page.url.split("?")[0].rstrip("/")
    page.goto(base + "/staff/")
    expect(page.get_by_label("username")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("Clinic staff only.")).to_be_visible()
    expect(page.get_by_text("Re-ingest now")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "staff-login.png"))
