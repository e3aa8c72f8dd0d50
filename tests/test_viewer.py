"""The passage in its document: where a passage lies in a page's text (pure), the /view and
/view-page routes of the real app (refusals, escaping, page images), and, in Debian's
Chromium, every result card of a question about each shipped document followed to its
passage, marked and in view."""

from __future__ import annotations

import http.client
import io
import shutil
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from conftest import ARTIFACTS, LOREM_PAGES, SHIPPED_DOCUMENTS, write_pdf
from test_app import DOCUMENT_QUESTIONS, RunningApp
from test_browser import ask, browser  # noqa: F401 - the shared Chromium

from kb.config import Settings
from kb.web import pdf_pages
from kb.web.alignment import normalize, place, place_across

# --- alignment: pure -------------------------------------------------------------------------


def marked(text: str, placement) -> list[str]:
    return [text[start:end] for start, end in placement.spans]


def test_a_passage_found_as_it_is_is_marked_exactly() -> None:
    page = "Opening Hours\n\nThe clinic is open Monday to Friday. We are closed on Sundays.\n"
    placement = place("The clinic is open Monday to Friday.", page)
    assert marked(page, placement) == ["The clinic is open Monday to Friday"]
    assert placement.coverage == 1.0 and placement.rest == len("The clinic is open Monday to Friday.")


def test_line_breaks_hyphenation_spacing_and_ligatures_do_not_matter() -> None:
    # The reader re-joined "treat-" + "ment", collapsed the spaces and wrote "fi" for "ﬁ".
    page = "signs of a de\ufb01nite infec-\r\ntion that needs treat-\r\nment   with\nantibiotics.\r\nPage 3"
    placement = place("signs of a definite infection that needs treatment with antibiotics.", page)
    assert marked(page, placement) == [page[: page.index(".")]] and placement.coverage == 1.0
    assert normalize("Ｔｒｅａｔ\u00admentﬁ")[0] == "treatmentfi"


def test_a_passage_not_in_the_text_is_not_placed() -> None:
    page = "Keep the treated skin moist with a plain ointment for the first five days."
    assert place("Where can I park when I visit the clinic on a Saturday?", page) is None
    assert place("", page) is None and place("!!!", page) is None
    # A few shared words are not enough: half the passage must be found.
    assert place("Keep the treated skin moist, then visit the car park on Harbour Lane twice.", page) is None


def test_a_table_row_marks_its_cells_not_the_header_that_labels_them() -> None:
    page = (
        "The table below summarises the options.\n"
        "Laser Wavelength Typical sessions Redness\n"
        "Fully ablative CO2 10,600 nm Usually 1 2–3 months\n"
        "Fully ablative Er:YAG 2,940 nm Usually 1 Several weeks\n"
    )
    row = "Fully ablative Er:YAG — wavelength: 2,940 nm; typical sessions: Usually 1; redness: Several weeks"
    placement = place(row, page)
    assert marked(page, placement) == ["Fully ablative Er:YAG 2,940 nm Usually 1 Several weeks"]
    assert 0.5 < placement.coverage < 1  # the labels are printed once, in the header


def test_a_passage_running_on_over_a_page_break_is_found_on_both_pages() -> None:
    pages = [
        "Aftercare\nKeep the skin moist with a plain ointment for the first five\nHarbour Lane · Page 1",
        "days, and wash it gently twice a day with lukewarm water.\nSun protection\nStay out of the sun.",
        "Prices\nA consultation costs 80 dollars.",
    ]
    passage = "Keep the skin moist with a plain ointment for the first five days, and wash it gently twice a day with lukewarm water."
    first, second = place_across(passage, pages)
    assert marked(pages[0], first) == ["Keep the skin moist with a plain ointment for the first five"]
    assert marked(pages[1], second) == ["days, and wash it gently twice a day with lukewarm water"]
    assert place_across("Nothing like this is on any page at all, not a word of it.", pages) == []


def test_the_passage_is_boxed_line_by_line_on_a_real_pdf_page(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "aftercare.pdf", LOREM_PAGES, title="Aftercare Guide")
    page = pdf_pages.page_text(path, 3)
    # As the reader has it: "treat-" and "ment" re-joined, lines joined with spaces.
    passage = (
        "Call the clinic at once if you have a fever, pus, or spreading redness around the treated area, "
        "because these can be signs of an infection that needs treatment with antibiotics."
    )
    [placement] = place_across(passage, [page.text])
    assert placement.coverage == 1.0
    boxes = pdf_pages.line_boxes(page, placement.spans)
    assert len(boxes) == 3  # the three printed lines, one box each
    assert all(b.left >= 0 and b.left + b.width <= page.width and 0 < b.top < page.height for b in boxes)
    assert all(abs(b.left - 50) < 2 for b in boxes)  # write_pdf draws lines at x = 50
    assert boxes[0].top < boxes[1].top < boxes[2].top  # top to bottom
    png = pdf_pages.page_png(path, 3)
    assert png.startswith(b"\x89PNG") and max(image_size(png)) <= pdf_pages.MAX_SIDE
    with pytest.raises(pdf_pages.PageNotFound, match="has 3 pages; there is no page 4"):
        pdf_pages.page_png(path, 4)


def image_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(png)).size


# --- the routes of the real app ----------------------------------------------------------------

SECRET = "TOP SECRET outside the documents folder"
HOSTILE_MD = (
    "# Zebra <script>alert('title')</script> pumpkin guide\n\n"
    "## Aftercare <img src=x onerror=alert('heading')> zebra\n\n"
    "The zebra pumpkin protocol says <script>alert('text')</script> keep the skin moist after the "
    "laser, and <b onmouseover=alert('b')>rest</b> for two days & nights.\n"
)
HOSTILE_PDF_LINES = [
    "# Zebra <script>alert(1)</script> leaflet",
    "The zebra pumpkin leaflet says <img src=x onerror=alert(2)> wear a hat & rest in the shade",
    "for three days after the laser treatment.",
]


@pytest.fixture(scope="module")
def viewer_app(embedder, tmp_path_factory: pytest.TempPathFactory):
    """The shipped documents plus hostile ones, indexed; then bait put around them: a
    secret beside documents/, hidden copies, a file of an unknown type, and two indexed
    documents swapped for links pointing out."""
    from kb.ingest import ingest

    base = tmp_path_factory.mktemp("viewer")
    documents = base / "documents"
    shutil.copytree(SHIPPED_DOCUMENTS, documents)
    (documents / "hostile.md").write_text(HOSTILE_MD, encoding="utf-8")
    write_pdf(documents / "hostile.pdf", [HOSTILE_PDF_LINES])
    (documents / "swapped.txt").write_text("Swapped\n\nThe swapped note about zebra aftercare.\n")
    write_pdf(documents / "swapped.pdf", [["The swapped leaflet about zebra aftercare and sun."]])
    settings = Settings(documents_dir=documents, index_dir=base / "index")
    report = ingest(settings, embedder=embedder)
    assert report.ok, report.failed
    (base / "secret.txt").write_text(SECRET, encoding="utf-8")
    write_pdf(base / "secret.pdf", [[SECRET]])
    for name in ("swapped.txt", "swapped.pdf"):
        (documents / name).unlink()
        (documents / name).symlink_to(base / ("secret" + Path(name).suffix))
    (documents / "link-out.pdf").symlink_to(base / "secret.pdf")
    shutil.copy(base / "secret.pdf", documents / ".hidden.pdf")
    (documents / ".removed").mkdir()
    shutil.copy(base / "secret.pdf", documents / ".removed" / "old.pdf")
    (documents / "notes.csv").write_text(SECRET, encoding="utf-8")
    running = RunningApp(settings, staff=False)
    yield running
    running.stop()


def raw_get(app: RunningApp, path: str) -> tuple[int, str, dict[str, str]]:
    """GET a path byte for byte (httpx would normalize ../ away before sending it)."""
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=60)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace"), dict(response.getheaders())
    finally:
        conn.close()


def first_passage(app: RunningApp, question: str, source: str) -> str:
    answer = httpx.get(app.url + "api/search", params={"q": question, "k": 5}, timeout=60).json()
    return next(p["passage_id"] for p in answer["passages"] if p["source"] == source)


def view_path(source: str, passage_id: str) -> str:
    from kb.web.render import view_url

    return view_url(source, passage_id).split("#")[0]


def test_the_viewer_page_is_standalone_and_links_back(viewer_app: RunningApp) -> None:
    passage = first_passage(viewer_app, DOCUMENT_QUESTIONS["faq.md"], "faq.md")
    status, body, headers = raw_get(viewer_app, view_path("faq.md", passage))
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"].startswith("default-src 'self';")
    assert '<html lang="en">' in body and "<title>Frequently Asked Questions · " in body
    assert '<a href="/">' in body and '<a href="/files/faq.md">Open the original file</a>' in body
    assert '<mark id="passage">' in body and "<script" not in body and "style=" not in body
    assert "http://" not in body and "https://" not in body  # nothing from another site
    css = httpx.get(viewer_app.url + "view-assets/viewer.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_the_way_back_leads_to_the_questions_results(viewer_app: RunningApp) -> None:
    """The card's link carries the question; the viewer's "Back to the questions" opens the
    public page asking it again (``/?q=...``), escaped, on a found passage or a 404 alike."""
    from kb.web.render import view_url

    question = 'What are "the hours" <script>alert(1)</script> & days?'
    passage = first_passage(viewer_app, DOCUMENT_QUESTIONS["faq.md"], "faq.md")
    back = '<a href="/?q=What%20are%20%22the%20hours%22%20%3Cscript%3Ealert%281%29%3C%2Fscript%3E%20%26%20days%3F">'
    status, body, _ = raw_get(viewer_app, view_url("faq.md", passage, question).split("#")[0])
    assert status == 200 and back + "Back to the questions</a>" in body and "<script" not in body
    status, body, _ = raw_get(viewer_app, view_url("faq.md", "faq.md#999", question).split("#")[0])
    assert status == 404 and back in body


def outside_paths(app: RunningApp, route: str) -> list[str]:
    secret = app.settings.documents_dir.parent / "secret.pdf"
    return [
        f"/{route}/../secret.pdf",
        f"/{route}/%2e%2e/secret.pdf",
        f"/{route}/..%2fsecret.pdf",
        f"/{route}/%252e%252e%252fsecret.pdf",
        f"/{route}/..%5csecret.pdf",
        f"/{route}/{secret}",
        f"/{route}//{secret}",
        f"/{route}/link-out.pdf",  # a link inside documents/ pointing out
        f"/{route}/swapped.pdf",  # an indexed document since swapped for such a link
        f"/{route}/swapped.txt",
        f"/{route}/.hidden.pdf",
        f"/{route}/.removed/old.pdf",
        f"/{route}/%2eremoved/old.pdf",
        f"/{route}/notes.csv",  # a type the app does not serve
        f"/{route}/faq.md%00.pdf",
        f"/{route}/%2e%2e/index/CURRENT",
    ]


@pytest.mark.parametrize("route", ["view", "view-page"])
def test_nothing_outside_documents_is_shown(viewer_app: RunningApp, route: str) -> None:
    swapped = {
        source: first_passage(viewer_app, "the swapped note about zebra aftercare", source)
        for source in ("swapped.txt", "swapped.pdf")
    }
    for path in outside_paths(viewer_app, route):
        name = path.rsplit("/", 1)[-1]
        # The swapped documents' passages are in the index: only the path check stands
        # between them and the files their links point to.
        passage = swapped.get(name, name + "#1")
        query = "?page=1" if route == "view-page" else "?passage=" + quote(passage, safe="")
        status, body, _ = raw_get(viewer_app, path + query)
        assert status == 404, (path, status, body[:300])
        assert SECRET not in body


def test_unknown_passages_and_pages_are_a_clear_404(viewer_app: RunningApp) -> None:
    for path in (
        "/view/faq.md?passage=faq.md%23999",
        "/view/faq.md",
        "/view/faq.md?passage=hours-and-contacts.md%231",  # a passage of another document
        "/view/gone.md?passage=gone.md%231",
    ):
        status, body, headers = raw_get(viewer_app, path)
        assert status == 404 and headers["content-type"].startswith("text/html"), path
        assert "<title>Not found" in body and '<a href="/">' in body
        assert "documents any more" in body or "no such document" in body
    assert raw_get(viewer_app, "/view-page/treatment-options.pdf?page=99")[:2] == (
        404,
        "treatment-options.pdf has 4 pages; there is no page 99.",
    )
    assert raw_get(viewer_app, "/view-page/faq.md?page=1")[0] == 404  # not a PDF
    assert raw_get(viewer_app, "/view-page/treatment-options.pdf?page=0")[0] == 422


def test_page_images_are_png_bounded_and_cached(viewer_app: RunningApp) -> None:
    image = httpx.get(viewer_app.url + "view-page/treatment-options.pdf", params={"page": 2}, timeout=60)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert "max-age" in image.headers["cache-control"] and image.content.startswith(b"\x89PNG")
    assert max(image_size(image.content)) <= pdf_pages.MAX_SIDE and len(image.content) < 2_000_000


@pytest.mark.parametrize(
    ("source", "escaped"),
    [
        (
            "hostile.md",
            ["&lt;img src=x onerror=alert(&#x27;heading&#x27;)&gt;", "&lt;b onmouseover=", "&amp;"],
        ),
        (
            "hostile.pdf",
            ["&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "&amp;"],
        ),
    ],
)
def test_document_text_is_shown_as_text(viewer_app: RunningApp, source: str, escaped: list[str]) -> None:
    passage = first_passage(viewer_app, "What does the zebra pumpkin protocol say about aftercare?", source)
    status, body, _ = raw_get(viewer_app, view_path(source, passage))
    assert status == 200 and 'id="passage"' in body
    assert "<script" not in body and "<img src=x" not in body and "<b onmouseover" not in body
    for literal in escaped:
        assert literal in body, literal


# --- in the browser: every card's link, to its passage ---------------------------------------


SCREENSHOTS = {"treatment-options.pdf": "viewer-pdf.png", "faq.md": "viewer-text.png"}


@pytest.mark.browser
def test_every_card_opens_its_passage_marked_and_in_view(browser, viewer_app: RunningApp) -> None:
    """A question about each shipped document (PDF, HTML, Markdown, text, Word), and every
    card of every answer followed on a phone-sized screen: the passage is marked, in view."""
    from playwright.sync_api import expect

    ask_page = browser.new_page(viewport={"width": 1200, "height": 1300})
    ask_page.goto(viewer_app.url)
    links: dict[str, str] = {}  # href -> the source it opens
    shown_ids = "() => [...document.querySelectorAll('.kb-card')].map(c => c.dataset.passage).join(' ')"
    for source, question in DOCUMENT_QUESTIONS.items():
        before = ask_page.evaluate(shown_ids)
        ask(ask_page, question)
        # The answer is in when five cards show and they are not the last answer's.
        ask_page.wait_for_function(
            f"before => ({shown_ids})() !== before && document.querySelectorAll('.kb-card').length === 5",
            arg=before,
            timeout=30_000,
        )
        cards = ask_page.locator(".kb-card").all()
        assert source in [card.locator(".kb-file").inner_text() for card in cards], question
        for card in cards:
            href = card.locator(".kb-source").get_attribute("href")
            assert href.startswith("/view/") and href.endswith("#passage"), href
            links[href] = card.locator(".kb-file").inner_text()
    ask_page.close()
    kinds = {Path(source).suffix for source in links.values()}
    assert {".pdf", ".html", ".md", ".txt", ".docx"} <= kinds

    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    errors: list[str] = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shown = set()
    for href, source in links.items():
        phone.goto(viewer_app.url.rstrip("/") + href)
        target = phone.locator("#passage")
        expect(target).to_be_in_viewport()
        tag = target.evaluate("e => e.tagName.toLowerCase()")
        if source.endswith(".pdf"):
            assert tag == "rect", (href, tag)  # a box over the page image, not the text below
            image = phone.locator(".sheet img").first
            expect(image).to_be_visible()
            phone.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        else:
            assert tag == "mark", (href, tag)
        assert phone.locator(".note").count() == 0, href  # nothing "could not be marked"
        expect(phone.get_by_role("link", name="Open the original file")).to_have_attribute(
            "href", "/files/" + source.replace(" ", "%20")
        )
        if source in SCREENSHOTS and source not in shown:
            shown.add(source)
            phone.screenshot(path=str(ARTIFACTS / SCREENSHOTS[source]))
    assert errors == []  # the CSP refused nothing: the page loads only what the app serves
    assert len(links) >= 30
    phone.close()
