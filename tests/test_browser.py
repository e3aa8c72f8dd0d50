"""The ask and documents pages in headless Chromium (Debian's package), with screenshots
saved to tests/artifacts/ (and the phone's, shown in the README, to docs/screenshots/)."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import ARTIFACTS, ROOT
from test_app import RunningApp, copy_of

from kb.config import Settings

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
#: Screenshots the README shows.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
URGENT_QUESTION = "my face is oozing yellow crust and I have a fever 4 days after co2"


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


def test_votes_sit_in_their_card_named_for_it_show_their_state_and_thank_in_place(page) -> None:
    """After the answer above: five cards, each with its own two vote buttons."""
    from playwright.sync_api import expect

    cards = page.locator("article.kb-card")
    expect(cards).to_have_count(5)
    buttons = page.locator("button.kb-vote")
    expect(buttons).to_have_count(10)
    assert page.locator("article.kb-card .kb-votes button.kb-vote").count() == 10  # inside the cards
    names = buttons.evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))")
    assert len(set(names)) == 10, names  # a screen reader tells every one apart
    titles = page.locator(".kb-source").all_inner_texts()
    for title, helpful, not_helpful in zip(titles, names[::2], names[1::2], strict=True):
        assert helpful.startswith("Helpful: " + title.split(" · ")[0]), (helpful, title)
        assert not_helpful.startswith("Not helpful: " + title.split(" · ")[0]), (not_helpful, title)

    second = cards.nth(1)
    helpful, not_helpful = second.locator("button.kb-vote").all()
    before = helpful.evaluate("b => getComputedStyle(b).backgroundColor")
    assert [helpful.get_attribute("aria-pressed"), not_helpful.get_attribute("aria-pressed")] == ["false", "false"]
    helpful.click()
    expect(second.locator(".kb-thanks")).to_have_text("Thank you for the feedback.", timeout=10_000)
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(not_helpful).to_have_attribute("aria-pressed", "false")
    assert helpful.evaluate("b => getComputedStyle(b).backgroundColor") != before  # drawn pressed
    assert cards.first.locator(".kb-thanks").inner_text() == ""  # only the card voted on
    # Thanked in the card alone: no toast, and nothing else for a screen reader to read out.
    expect(page.get_by_text("Thank you for the feedback.")).to_have_count(1)
    assert page.locator(".toast-body, [data-testid='toast-body']").count() == 0
    assert "common.complete" not in page.locator("body").inner_text()
    # Changing one's mind moves the pressed state to the other button.
    not_helpful.click()
    expect(not_helpful).to_have_attribute("aria-pressed", "true", timeout=10_000)
    expect(helpful).to_have_attribute("aria-pressed", "false")
    second.screenshot(path=str(ARTIFACTS / "card-voted.png"))


def phone_page(browser, page):
    """A phone-sized tab (390 x 844) of the app ``page`` shows, ready for a question."""
    tab = browser.new_context(viewport=PHONE).new_page()
    tab.goto(page.url.split("?")[0])
    tab.locator("#question textarea").wait_for(timeout=30_000)
    # Every state the Ask button and the status line go through, as the page draws them.
    tab.evaluate("""() => { window.seen = [];
      new MutationObserver(() => {
        const status = document.querySelector('#ask-status'), ask = document.querySelector('#ask-btn');
        window.seen.push([status ? status.innerText.trim() : '', ask.innerText.trim(), ask.disabled]);
      }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true}); }""")
    return tab


def in_viewport(tab, selector: str) -> dict:
    box = tab.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], f"{selector} is off screen: {box}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{selector} is off screen: {box}"
    return box


def test_on_a_phone_the_answer_comes_into_view_after_ask(browser, page) -> None:
    """At 390 x 844, pressing Ask shows that it is searching, then brings the first card's
    best sentence into view, with nothing (the Passages slider) between question and answer."""
    from playwright.sync_api import expect

    tab = phone_page(browser, page)
    try:
        question = "How long is the redness after a CO2 laser?"
        tab.locator("#question textarea").fill(question)
        tab.locator("#ask-btn").click()
        expect(tab.locator(".kb-card").first).to_be_visible(timeout=30_000)
        tab.wait_for_function("document.activeElement.id === 'answer-heading'", timeout=10_000)
        tab.wait_for_timeout(300)  # the scroll after the focus
        in_viewport(tab, ".kb-card .best")
        in_viewport(tab, "#answer-heading")
        seen = tab.evaluate("window.seen")
        assert ["Searching…", "Searching…", True] in seen, seen  # said, and Ask pressed once only
        expect(tab.locator("#ask-btn")).to_be_enabled()
        expect(tab.locator("#ask-status")).to_have_text("Found 5 passages.")
        assert tab.locator("#ask-status [role=status][aria-live=polite]").count() == 1  # read out
        # The Passages slider is folded away below the answer, not between it and the question.
        expect(tab.locator("#k input[type=range]")).to_be_hidden()
        answer_top = tab.locator("#answer").bounding_box()["y"]
        assert tab.locator("#more-options").bounding_box()["y"] > answer_top
        assert tab.locator("#question").bounding_box()["y"] < answer_top
        assert tab.url.endswith("/?q=How%20long%20is%20the%20redness%20after%20a%20CO2%20laser%3F")
        tab.screenshot(path=str(DOCS_SCREENSHOTS / "phone-after-ask.png"))
    finally:
        tab.context.close()


def test_on_a_phone_the_urgent_notice_and_its_phone_number_come_into_view(browser, page) -> None:
    from playwright.sync_api import expect

    tab = phone_page(browser, page)
    try:
        tab.locator("#question textarea").fill(URGENT_QUESTION)
        tab.locator("#question textarea").press("Enter")
        expect(tab.locator(".kb-urgent")).to_contain_text("555-0199", timeout=30_000)
        tab.wait_for_function("document.activeElement.id === 'answer-heading'", timeout=10_000)
        tab.wait_for_timeout(300)
        in_viewport(tab, ".kb-urgent")
        assert "555-0199" in tab.locator(".kb-urgent-line").inner_text()
        in_viewport(tab, ".kb-urgent-line")
        tab.screenshot(path=str(DOCS_SCREENSHOTS / "phone-urgent.png"))
    finally:
        tab.context.close()


def test_a_passage_opens_in_the_same_tab_and_back_leads_to_its_results(page) -> None:
    from playwright.sync_api import expect

    question = "How do I mix the vinegar soak for my face?"
    ask(page, question)
    first = page.locator("article.kb-card").first
    expect(first).to_be_visible(timeout=30_000)
    passage = first.get_attribute("data-passage")
    link = first.locator("a.kb-source")
    assert link.get_attribute("target") is None
    pages_before = len(page.context.pages)
    link.click()
    page.wait_for_url("**/view/**")
    assert len(page.context.pages) == pages_before  # the same tab
    expect(page.locator("#passage").first).to_be_attached()
    page.get_by_role("link", name="Back to the questions").click()
    page.wait_for_url("**/?q=*")
    # The question is back in its box and asked again: the same results.
    expect(page.locator("article.kb-card").first).to_have_attribute("data-passage", passage, timeout=30_000)
    assert page.locator("#question textarea").input_value() == question
    assert page.url.endswith("/?q=How%20do%20I%20mix%20the%20vinegar%20soak%20for%20my%20face%3F")


def test_a_long_question_is_shortened_at_a_word_and_the_page_says_where(page) -> None:
    from playwright.sync_api import expect

    long = "Hi, " + "how long does the redness last after my fractional laser treatment on the cheeks " * 13
    assert len(long.strip()) > 1000 and long[999] != " " != long[1000]  # 1,000 characters end mid-word
    ask(page, long)
    note = page.locator(".kb-shortened")
    expect(note).to_contain_text("was too long", timeout=30_000)
    text = note.inner_text()
    cut = long[:1000].rsplit(" ", 1)[0]
    long = long.strip()
    assert f"({len(long):,} characters)" in text and f"its first {len(cut):,} characters" in text
    assert f"ending at “…{' '.join(cut.split()[-6:])}”" in text, text
    expect(page.locator(".kb-card").first).to_be_visible()
    assert page.locator("#question textarea").input_value().strip() == long  # the box keeps what was typed


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
    listed = page.locator(".kb-doclist")
    expect(listed).to_be_visible(timeout=20_000)
    expect(listed.locator("li")).to_have_count(13)
    expect(page.locator(".kb-built")).to_contain_text("13 documents, the latest updated ")
    first = listed.locator("li").first
    expect(first.locator(".kb-doc-facts")).to_have_text(re.compile(r"^PDF · 4 pages · updated \d{1,2} [A-Z][a-z]{2} \d{4} · "))
    # No index internals: generation ids, passage counts, UTC times.
    shown = page.locator("#documents-table").inner_text()
    assert "UTC" not in shown and "generation" not in shown.lower() and "passage" not in shown.lower()
    # Each notice is folded, one click away.
    notice = first.locator("details.kb-notice")
    expect(notice.locator("summary")).to_have_text("About this document")
    assert notice.get_attribute("open") is None
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
#: An HTML heading holding an escaped tag: the reader unescapes it into the section's text,
#: so the card's section line holds "<img ... onerror=...>" as text, to be escaped again.
HOSTILE_HTML = (
    "<!doctype html><html><head><title>Zebra pumpkin steps</title></head><body>"
    "<h1>Zebra pumpkin steps</h1>"
    "<h2>Step &lt;img src=x onerror=alert('section')&gt; zebra pumpkin</h2>"
    "<p>The zebra pumpkin protocol steps: wash gently, keep the skin moist and rest after the laser.</p>"
    "</body></html>"
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
    (documents / "hostile-heading.html").write_text(HOSTILE_HTML, encoding="utf-8")
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
    expect(cards).to_have_count(3)
    text = " ".join(cards.all_inner_texts())
    # The HTML heading's section, on its card's source line, as text.
    section = page.locator("article.kb-card", has_text="wash gently").locator(".kb-source")
    expect(section).to_contain_text("Step <img src=x onerror=alert('section')> zebra pumpkin")
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

    page, dialogs, running = hostile
    page.goto(running.url)  # no cards left from an earlier test: the first ones seen are this answer's
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
    assert injected(page, "#answer") == [] and injected(page, "#ask-status") == []
    assert dialogs == []


def test_hostile_document_names_and_titles_are_shown_as_text_in_the_list(hostile) -> None:
    from playwright.sync_api import expect

    page, dialogs, _ = hostile
    page.get_by_role("tab", name="Documents").click()
    listed = page.locator(".kb-doclist")
    expect(listed).to_be_visible(timeout=20_000)
    expect(listed).to_contain_text(HOSTILE_NAME)
    page.wait_for_timeout(500)
    assert injected(page, ".kb-doclist") == [] and dialogs == []
    page.get_by_role("tab", name="Ask").click()


def test_votes_are_limited_per_client(hostile) -> None:
    """Votes through the page (there is no API for them): 3 a minute here, then refused,
    said in the card, the button left unpressed."""
    from playwright.sync_api import expect

    from kb.index.files.votes import FeedbackStore

    page, _, running = hostile
    page.goto(running.url)  # not the last answer's address, which would ask it again
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
    ask(page, "What does the zebra pumpkin protocol say?")
    expect(page.locator(".kb-card").first).to_be_visible(timeout=30_000)
    cards = page.locator("article.kb-card")
    for card, vote in ((0, "Helpful"), (0, "Not helpful"), (1, "Helpful")):
        cards.nth(card).get_by_role("button", name=re.compile(f"^{vote}:")).click()
        expect(cards.nth(card).locator(".kb-thanks")).to_have_text("Thank you for the feedback.", timeout=10_000)
    refused = cards.nth(1).get_by_role("button", name=re.compile("^Not helpful:"))
    refused.click()
    expect(cards.nth(1).locator(".kb-thanks")).to_have_text("Too many votes; try again in a minute.", timeout=10_000)
    expect(refused).to_have_attribute("aria-pressed", "false")
    votes = FeedbackStore(running.settings.index_dir / "feedback.sqlite").recent()
    assert len(votes) == 3 and sorted(v.vote for v in votes) == ["helpful", "helpful", "not helpful"]
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
