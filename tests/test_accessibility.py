"""Accessibility of the pages in headless Chromium: axe-core on the ask page, the documents
tab and the staff page, a keyboard-only question, the phone layout (390 x 844) and one font
face per heading and button. Counts and screenshots go to tests/artifacts/."""

from __future__ import annotations

import pytest
from axe import check_page
from conftest import ARTIFACTS
from test_app import STAFF
from test_app import app as running  # noqa: F401 - the running app, one for this module
from test_browser import ask, browser  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DESKTOP = {"width": 1200, "height": 1300}
PHONE = {"width": 390, "height": 844}
#: A question whose answer is long passages (the cards fill several phone screens).
LONG_ANSWER = "What should I do about aftercare and sun protection after the laser?"


@pytest.fixture
def open_page(browser, running):
    """A function opening the public page (or ``path``) in a new tab of ``viewport``."""
    tabs = []

    def open_(viewport: dict = DESKTOP, path: str = "", bypass_csp: bool = False) -> object:
        # bypass_csp: the viewer's Content-Security-Policy would refuse axe's injected script.
        context = browser.new_context(viewport=viewport, bypass_csp=bypass_csp)
        tab = context.new_page()
        tabs.append(context)
        tab.goto(running.url + path)
        if not path:
            tab.locator("#question textarea").wait_for(timeout=30_000)
        return tab

    yield open_
    for context in tabs:
        context.close()


def wait_for_cards(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".kb-card").first).to_be_visible(timeout=30_000)
    expect(page.locator(".kb-vote").first).to_be_visible()


# --- axe-core -------------------------------------------------------------------------------


def test_the_ask_page_has_no_serious_axe_violations_empty_or_with_results(open_page) -> None:
    page = open_page()
    check_page(page, "ask (empty)")
    ask(page, "How do I mix the vinegar soak for my face?")
    wait_for_cards(page)
    check_page(page, "ask (with results)")
    page.locator("button.kb-vote").first.click()
    page.locator(".kb-thanks").first.filter(has_text="Thank you").wait_for(timeout=10_000)
    check_page(page, "ask (a vote pressed)")
    ask(page, "I have blisters and a fever three days after my laser")
    page.locator(".kb-urgent").wait_for(timeout=30_000)
    check_page(page, "ask (urgent)")


def test_the_documents_tab_has_no_serious_axe_violations(open_page) -> None:
    from playwright.sync_api import expect

    page = open_page()
    page.get_by_role("tab", name="Documents").click()
    expect(page.locator(".kb-doclist li").first).to_be_visible(timeout=20_000)
    check_page(page, "documents")
    page.locator(".kb-doclist summary").first.click()  # a notice unfolded
    check_page(page, "documents (a notice open)")


def test_the_staff_page_after_login_has_no_serious_axe_violations(open_page) -> None:
    """Whatever the staff page shows once signed in: the whole page is checked."""
    page = open_page(path="staff/")
    page.get_by_label("username").wait_for(timeout=20_000)
    check_page(page, "staff (sign-in form)")
    assert page.title() == "Staff sign-in · Clinic knowledge base"
    page.get_by_label("username").fill(STAFF[0])
    page.get_by_label("password").fill(STAFF[1])
    page.get_by_role("button", name="Login").click()
    page.get_by_label("username").wait_for(state="detached", timeout=20_000)
    page.locator(".kb-staff-table").wait_for(timeout=20_000)  # the page's load event fills it
    page.wait_for_timeout(500)
    assert "Clinic staff only." not in page.content()  # signed in: no login form
    check_page(page, "staff (signed in)")
    page.get_by_role("button", name="Remove faq.md").click()  # the confirmation, shown
    page.locator("#confirm-remove").wait_for(timeout=20_000)
    check_page(page, "staff (confirming a removal)")
    page.locator("#keep-btn").click()
    page.get_by_role("button", name="Size", exact=True).click()  # sorted, then filtered
    page.locator("th[aria-sort=ascending]").wait_for(timeout=5_000)
    check_page(page, "staff (sorted table)")
    page.get_by_label("Filter the documents").fill("pdf")
    page.locator("#staff-filter-count").filter(has_text="files shown").wait_for(timeout=5_000)
    check_page(page, "staff (sorted and filtered table)")
    page.set_viewport_size(PHONE)  # the table as cards on a phone
    page.get_by_label("Filter the documents").fill("")
    check_page(page, "staff (phone)")


def test_the_document_viewer_has_no_serious_axe_violations(open_page) -> None:
    """A PDF passage and a Markdown one, opened from their cards."""
    page = open_page(bypass_csp=True)
    base = page.url.split("?")[0].rstrip("/")
    for question, kind in (
        ("How do I mix the vinegar soak for my face?", "PDF"),
        ("Do you treat teenagers?", "Markdown"),
    ):
        page.goto(base + "/")
        page.locator("#question textarea").wait_for(timeout=30_000)
        ask(page, question)
        wait_for_cards(page)
        page.goto(base + page.locator(".kb-card a.kb-source").first.get_attribute("href"))
        page.locator("#passage").first.wait_for(timeout=20_000)
        check_page(page, f"viewer ({kind})")


# --- keyboard only --------------------------------------------------------------------------

#: What the focused element is: a card's source link, a vote button, or something else.
FOCUSED = """() => {
  const e = document.activeElement;
  if (e.matches('a.kb-source')) return 'link ' + e.closest('article').dataset.passage;
  if (e.matches('button.kb-vote')) return 'vote ' + e.textContent.trim();
  if (e.matches('#question textarea')) return 'question';
  if (e.matches('#answer-heading')) return 'answer heading';
  return e.tagName.toLowerCase() + ' ' + (e.textContent || '').trim().slice(0, 30);
}"""
#: The focused element's outline, as drawn (width in px, style).
OUTLINE = """() => { const s = getComputedStyle(document.activeElement);
  return [parseFloat(s.outlineWidth), s.outlineStyle, s.outlineColor]; }"""


def tab_until(page, wanted: str, limit: int = 30) -> int:
    """Press Tab until the focused element's description starts with ``wanted``."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED).startswith(wanted):
            return presses
    raise AssertionError(f"{limit} Tabs never reached {wanted!r}; last: {page.evaluate(FOCUSED)}")


def test_a_question_asked_and_its_sources_opened_with_the_keyboard_only(open_page) -> None:
    page = open_page()
    page.locator("body").focus()
    assert tab_until(page, "question", limit=10) <= 10  # the ask tab's first field, near the start
    page.keyboard.type("How do I mix the vinegar soak for my face?")
    page.keyboard.press("Enter")
    wait_for_cards(page)
    passages = page.eval_on_selector_all("article.kb-card", "cards => cards.map(c => c.dataset.passage)")
    assert len(passages) == 5

    # Enter takes the focus to the answer's heading, with no Tab; the next Tab is the first card.
    page.wait_for_function("document.activeElement.id === 'answer-heading'", timeout=10_000)
    assert page.evaluate(FOCUSED) == "answer heading"
    page.keyboard.press("Tab")
    # Each card's source link, then its two votes, card after card, focus drawn each time.
    expected = [f(p) for p in passages for f in (lambda p: f"link {p}", lambda _: "vote Helpful",
                                                  lambda _: "vote Not helpful")]  # fmt: skip
    seen, outlines = [page.evaluate(FOCUSED)], [page.evaluate(OUTLINE)]
    for _ in expected[1:]:
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED))
        outlines.append(page.evaluate(OUTLINE))
    assert seen == expected
    # Our own outline (style.css), not the browser's default "auto" ring, whose look and
    # contrast vary by browser (Chromium's is a thin two-tone ring).
    for where, (width, style, colour) in zip(seen, outlines, strict=True):
        assert width >= 2 and style == "solid", f"no outline of ours on {where}: {width}px {style} {colour}"

    # Back to the first card's link, and Enter opens its document at the passage's page,
    # in the same tab.
    for _ in expected[1:]:
        page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == expected[0]
    page.screenshot(path=str(ARTIFACTS / "keyboard-focus.png"))
    href = page.locator("a.kb-source").first.get_attribute("href")
    base = running_url(page)
    page.keyboard.press("Enter")
    page.wait_for_url("**/view/**")
    assert page.url == base + href.lstrip("/")
    assert "/view/" in page.url and page.url.endswith("#passage")
    from playwright.sync_api import expect

    expect(page.locator("#passage").first).to_be_in_viewport()  # opened at the passage


def running_url(page) -> str:
    return page.url.split("?")[0].split("#")[0]


# --- phones -------------------------------------------------------------------------------

LAYOUT = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  question: document.querySelector('#question').getBoundingClientRect().width,
  // Gradio clips what overflows, so a card too wide is cut off rather than scrolled.
  cardsOverflowing: [...document.querySelectorAll('.kb-card')].filter(c => c.scrollWidth > c.clientWidth + 1).length,
})"""


def assert_fits_the_phone(page, where: str) -> None:
    layout = page.evaluate(LAYOUT)
    assert layout["scrollWidth"] <= layout["innerWidth"], f"{where}: the page scrolls sideways: {layout}"
    assert layout["question"] >= 0.9 * layout["innerWidth"], f"{where}: the question box is narrow: {layout}"
    assert layout["cardsOverflowing"] == 0, f"{where}: cards cut off at the right: {layout}"


def test_on_a_phone_the_question_box_is_full_width_and_nothing_scrolls_sideways(open_page) -> None:
    from playwright.sync_api import expect

    page = open_page(PHONE)
    assert_fits_the_phone(page, "empty")
    page.screenshot(path=str(ARTIFACTS / "phone-ask.png"))
    ask(page, LONG_ANSWER)
    wait_for_cards(page)
    assert_fits_the_phone(page, "with results")
    page.locator("#question").evaluate("e => e.scrollIntoView()")  # the question, then the first card
    page.screenshot(path=str(ARTIFACTS / "phone-results.png"))
    page.get_by_role("tab", name="Documents").click()
    expect(page.locator(".kb-doclist li").first).to_be_visible(timeout=20_000)
    layout = page.evaluate(LAYOUT)
    assert layout["scrollWidth"] <= layout["innerWidth"], f"documents tab scrolls sideways: {layout}"
    # 13 documents on three phone screens at most (their notices folded): 5,500 px before.
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 3 * PHONE["height"], f"the documents tab is {height} px tall on a phone"
    page.screenshot(path=str(ARTIFACTS / "phone-documents.png"), full_page=True)


# --- fonts --------------------------------------------------------------------------------


def platform_fonts(page, selector: str) -> list[str]:
    """The font families Chromium drew ``selector``'s text with (CDP)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return sorted({f["familyName"] for f in fonts})


@pytest.mark.parametrize(
    ("selector", "text"),
    [("h1", "Ask the clinic"), ("#ask-btn", "Ask"), ("button[role=tab][data-tab-id=ask]", "Ask")],
)
def test_headings_and_buttons_are_drawn_in_one_font(open_page, selector: str, text: str) -> None:
    """Gradio's bundled semibold font has "A" and "B" only; a capital A must not be drawn
    in a different face from the rest of the word."""
    page = open_page()
    page.evaluate("document.fonts.ready")
    element = page.locator(selector).first
    assert element.inner_text().startswith(text)
    name = selector.split("[")[0].lstrip("#")
    element.screenshot(path=str(ARTIFACTS / f"font-{name}.png"))
    families = platform_fonts(page, selector)
    assert len(families) == 1, f"{selector} ({text!r}) is drawn in {families}"
