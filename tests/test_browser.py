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
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed; run `make test`, which installs it.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser, shipped_index: Settings, tmp_path_factory: pytest.TempPathFactory):
    running = RunningApp(copy_of(shipped_index, tmp_path_factory.mktemp("browser")))
    tab = browser.new_page(viewport={"width": 1200, "height": 1300})
    tab.goto(running.url)
    yield tab
    tab.close()
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
    assert href.startswith("/view/aftercare-day-by-day.pdf?passage=") and href.endswith("#passage")
    # The first card of an answered question is a match with a green bar; labels never
    # rise as rank falls.
    labels = [label.strip() for label in page.locator(".kb-relevance").all_inner_texts()]
    order = ["Strong match", "Good match", "Weak match"]
    assert labels[0] in order[:2] and [order.index(label) for label in labels] == sorted(order.index(x) for x in labels)
    color = first.locator(".kb-bar span").evaluate("s => getComputedStyle(s).backgroundColor")
    assert color == "rgb(60, 154, 107)"
    page.screenshot(path=str(ARTIFACTS / "ask.png"))


def test_a_vote_is_taken(page) -> None:
    from playwright.sync_api import expect

    page.locator(".kb-vote").first.click()
    expect(page.get_by_text("Thank you for the feedback.")).to_be_visible(timeout=10_000)


def test_off_topic_question_says_not_covered(page) -> None:
    from playwright.sync_api import expect

    ask(page, "What is the capital of Australia?")
    expect(page.locator(".kb-not-covered")).to_contain_text("don't cover this", timeout=30_000)
    # It points to the clinic's line for questions, as the documents state it.
    expect(page.locator(".kb-not-covered")).to_contain_text("Ask the clinic: Main phone")
    labels = page.locator(".kb-relevance").all_inner_texts()
    assert labels and all(label.strip() == "Not an answer" for label in labels)
    # No card of a declined answer says "match" or draws its bar green.
    bars = page.locator(".kb-bar span").evaluate_all("spans => spans.map(s => getComputedStyle(s).backgroundColor)")
    assert bars and "rgb(60, 154, 107)" not in bars
    page.screenshot(path=str(ARTIFACTS / "not-covered.png"))


def test_hello_gets_a_friendly_reply_not_passages(page) -> None:
    from playwright.sync_api import expect

    ask(page, "hello")
    expect(page.locator(".kb-small-talk")).to_contain_text("for example", timeout=30_000)
    expect(page.locator(".kb-card")).to_have_count(0)


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
    expect(page.get_by_text("Re-ingest the folder now")).to_have_count(0)
    expect(page.get_by_text("sign-in is locked for 15 minutes")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "staff-login.png"))


def test_staff_sign_in_in_the_browser_locks_after_five_failures(page) -> None:
    """Five wrong passwords in the login form, then the right one is refused too."""
    from playwright.sync_api import expect
    from test_app import STAFF

    def sign_in(password: str) -> None:
        page.get_by_label("username").fill(STAFF[0])
        page.get_by_label("password").fill(password)
        with page.expect_response(lambda r: r.url.endswith("/staff/login")) as response:
            page.get_by_role("button", name="Login").click()
        statuses.append(response.value.status)

    statuses: list[int] = []
    for i in range(5):
        sign_in(f"wrong password {i}")
    sign_in(STAFF[1])
    assert statuses == [400] * 5 + [429]
    expect(page.get_by_text("Incorrect credentials")).to_be_visible()
    page.wait_for_timeout(1000)
    expect(page.get_by_text("Re-ingest the folder now")).to_have_count(0)  # still only the login form


# --- hostile text is shown as text, never run ------------------------------------------------

HOSTILE_NAME = "<img src=x onerror=alert('name')>.txt"
HOSTILE_TEXT = (
    "Zebra Pumpkin <script>alert('title')</script> Notes\n\n"
    "The zebra pumpkin protocol says <img src=x onerror=alert('img')> keep the skin moist after "
    "the laser. Read <a href=\"javascript:alert('link')\">the zebra pumpkin leaflet</a> before "
    "your visit. <svg onload=alert('svg')></svg> Then rest.\n"
)
HOSTILE_MARKDOWN = (
    "# Zebra pumpkin <img src=x onerror=alert('heading')> guide\n\n"
    "## Section <script>alert('section')</script> zebra\n\n"
    "The zebra pumpkin guide tells you <b onmouseover=alert('bold')>bold</b> things about aftercare "
    "and <iframe src=javascript:alert('iframe')></iframe> more.\n"
)
#: Elements hostile text would create if it were ever taken as markup.
INJECTED = "img, script:not([src]):not([type]), svg[onload], iframe, a[href^='javascript'], b[onmouseover]"


@pytest.fixture(scope="module")
def hostile(browser, embedder, tmp_path_factory: pytest.TempPathFactory):
    """A page on an index of hostile documents, with a vote limit of 3 a minute."""
    from kb.ingest import ingest

    base = tmp_path_factory.mktemp("hostile")
    documents = base / "documents"
    documents.mkdir()
    (documents / HOSTILE_NAME).write_text(HOSTILE_TEXT, encoding="utf-8")
    (documents / "hostile.md").write_text(HOSTILE_MARKDOWN, encoding="utf-8")
    settings = Settings(documents_dir=documents, index_dir=base / "index")
    report = ingest(settings, embedder=embedder)
    assert report.ok, report.failed
    running = RunningApp(settings, env={"KB_VOTES_PER_MINUTE": "3"})
    tab = browser.new_page(viewport={"width": 1200, "height": 1300})
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.goto(running.url)
    yield tab, dialogs, running
    tab.close()
    running.stop()


def injected(page, scope: str) -> list[str]:
    """Outer HTML of every element hostile text would have made inside ``scope``."""
    return page.eval_on_selector_all(
        ", ".join(f"{scope} {sel.strip()}" for sel in INJECTED.split(",")),
        "els => els.map(e => e.outerHTML)",
    )


def test_hostile_passages_are_shown_as_text(hostile) -> None:
    from playwright.sync_api import expect

    page, dialogs, _ = hostile
    ask(page, "What does the zebra pumpkin protocol say?")
    cards = page.locator(".kb-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    expect(cards).to_have_count(2)
    text = " ".join(cards.all_inner_texts())
    for literal in (
        "<img src=x onerror=alert('img')>",
        "<a href=\"javascript:alert('link')\">",
        "<svg onload=alert('svg')></svg>",
        "<b onmouseover=alert('bold')>bold",
        "<iframe src=javascript:alert('iframe')>",
        "<img src=x onerror=alert('heading')>",
        "<script>alert('title')</script>",
        HOSTILE_NAME,
    ):
        assert literal in text, literal
    page.locator(".kb-card").first.hover()
    page.wait_for_timeout(500)  # time for an onerror or onload to fire, if any could
    assert injected(page, ".kb-card") == []
    assert dialogs == []
    page.screenshot(path=str(ARTIFACTS / "hostile-cards.png"))


def test_hostile_questions_are_shown_as_text(hostile) -> None:
    from playwright.sync_api import expect

    page, dialogs, _ = hostile
    page.reload()  # no cards left from an earlier test: the first ones seen are this answer's
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
    covered = "<img src=x onerror=alert('q1')> zebra pumpkin <script>alert('q2')</script>"
    ask(page, covered)
    expect(page.locator(".kb-card").first).to_be_visible(timeout=30_000)
    # Misspelt "onmousover" is corrected to a word of the hostile documents, so the
    # "Also searched for" line shows too.
    not_covered = "<u onmousover=prompt(1)>What is the capital of Australia?</u>"
    ask(page, not_covered)
    expect(page.locator(".kb-not-covered")).to_contain_text("don't cover", timeout=30_000)
    expect(page.locator(".kb-searched")).to_contain_text("Also searched for: onmouseover")
    page.wait_for_timeout(500)
    assert page.locator("#question textarea").input_value() == not_covered
    assert injected(page, "#notice") == [] and injected(page, ".kb-card") == []
    assert dialogs == []


def test_hostile_document_names_and_titles_are_shown_as_text_in_the_list(hostile) -> None:
    from playwright.sync_api import expect

    page, dialogs, _ = hostile
    page.get_by_role("tab", name="Documents").click()
    table = page.locator(".kb-documents")
    expect(table).to_be_visible(timeout=20_000)
    expect(table).to_contain_text(HOSTILE_NAME)
    page.wait_for_timeout(500)
    assert injected(page, ".kb-documents") == [] and dialogs == []
    page.get_by_role("tab", name="Ask").click()


def test_votes_are_limited_per_client(hostile) -> None:
    """Votes through the page (there is no API for them): 3 a minute here, then refused."""
    from playwright.sync_api import expect

    from kb.index.files.votes import FeedbackStore

    page, _, running = hostile
    # A fresh page: a vote button left from an earlier answer would name an event the new
    # answer's render has replaced (gradio answers such a click with an error).
    page.reload()
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
    ask(page, "What does the zebra pumpkin protocol say?")
    expect(page.locator(".kb-card").first).to_be_visible(timeout=30_000)
    vote = page.locator(".kb-vote").first
    for _ in range(3):
        vote.click()
        expect(page.get_by_text("Thank you for the feedback.").last).to_be_visible(timeout=10_000)
    vote.click()
    expect(page.get_by_text("Too many votes; try again in a minute.")).to_be_visible(timeout=10_000)
    votes = FeedbackStore(running.settings.index_dir / "feedback.sqlite").recent()
    assert len(votes) == 3 and {v.vote for v in votes} == {"helpful"}
    page.screenshot(path=str(ARTIFACTS / "votes-limited.png"))


def test_no_other_site_can_frame_the_pages(browser, page) -> None:
    """A page of another origin that frames the staff page (to trick a signed-in staff
    member into pressing Remove) or the public page gets an empty, refused frame."""
    base = page.url.split("?")[0].rstrip("/")
    other = browser.new_page()
    try:
        other.set_content(
            f'<iframe title="staff" src="{base}/staff/"></iframe><iframe title="ask" src="{base}/"></iframe>'
            f'<iframe title="viewer" src="{base}/view/faq.md"></iframe>'
        )
        other.wait_for_timeout(3000)
        framed = [f for f in other.frames if f is not other.main_frame]
        assert len(framed) == 3
        for frame in framed:
            assert not frame.url.startswith(base), frame.url  # Chromium's error page instead
            assert "Clinic" not in frame.content()
    finally:
        other.close()
