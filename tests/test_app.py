"""The real app on a free port, driven through gradio_client and raw HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, write_pdf
from gradio_client import Client, handle_file

from kb.config import Settings

pytestmark = pytest.mark.slow

STAFF = ("staff", "correct horse battery staple")

#: One question per shipped document that only that document answers.
DOCUMENT_QUESTIONS = {
    "aftercare-day-by-day.pdf": "How do I mix the vinegar soak for my face?",
    "booking-and-cancellation-policy.txt": "What happens if I do not show up for my appointment?",
    "candidacy-and-contraindications.pdf": "What are the Fitzpatrick skin types?",
    "consent-form.docx": "What am I declaring when I sign the consent form?",
    "faq.md": "Do you treat teenagers?",
    "hours-and-contacts.md": "Where can I park when I visit the clinic?",
    "laser-skin-resurfacing-article.txt": "What are the benefits of laser skin resurfacing?",
    "preparing-for-your-treatment.pdf": "How long does the numbing cream stay on before the laser?",
    "prices-and-packages.html": "Do you offer a financing plan?",
    "recovery-timelines.html": "What does recovery look like at a glance for each laser?",
    "risks-and-complications.pdf": "What is delayed hypopigmentation after a CO2 laser?",
    "treatment-day-checklist.txt": "What should I do the night before my treatment?",
    "treatment-options.pdf": "What is the wavelength of the Er:YAG laser?",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningApp:
    def __init__(self, settings: Settings, staff: bool = True, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        overrides = env or {}
        env = {**os.environ, "PYTHONPATH": str(ROOT), "KB_STAFF_PASSWORD": STAFF[1] if staff else ""}
        env.pop("KB_STAFF_FILE", None)
        env.update(overrides)
        self.log = open(settings.index_dir.parent / f"app-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "app.py"),
                "--port",
                str(self.port),
                "--documents",
                str(settings.documents_dir),
                "--index",
                str(settings.index_dir),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited: {self.read_log()}")
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"app did not start: {self.read_log()}")

    def read_log(self) -> str:
        return (self.settings.index_dir.parent / f"app-{self.port}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def copy_of(shipped: Settings, folder: Path) -> Settings:
    shutil.copytree(shipped.documents_dir, folder / "documents")
    shutil.copytree(shipped.index_dir, folder / "index")
    return Settings(documents_dir=folder / "documents", index_dir=folder / "index")


@pytest.fixture(scope="module")
def app(shipped_index: Settings, tmp_path_factory: pytest.TempPathFactory):
    running = RunningApp(copy_of(shipped_index, tmp_path_factory.mktemp("app")))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(app: RunningApp) -> Client:
    return Client(app.url, verbose=False)


# --- the /search and /documents contract --------------------------------------------------


def test_hello_is_answered_as_small_talk_not_with_passages(client: Client) -> None:
    result = client.predict("hello", api_name="/search")
    assert (result["answered"], result["reason"], result["passages"]) == (False, "small_talk", [])
    assert "for example" in result["message"]
    covered = client.predict("How long is the redness after a CO2 laser?", api_name="/search")
    assert (covered["answered"], covered["reason"]) == (True, "covered")


def test_search_returns_the_documented_json_object(client: Client) -> None:
    result = client.predict("How long is the redness after a CO2 laser?", api_name="/search")
    assert set(result) == {
        "question",
        "searched_for",
        "answered",
        "reason",
        "confidence",
        "urgent",
        "message",
        "took_ms",
        "passages",
    }
    assert result["question"] == "How long is the redness after a CO2 laser?"
    assert result["answered"] is True and result["urgent"] is False
    assert 0.0 <= result["confidence"] <= 1.0
    assert isinstance(result["message"], str) and isinstance(result["took_ms"], float)
    assert len(result["passages"]) == 5  # k defaults to 5
    for rank, p in enumerate(result["passages"], start=1):
        assert set(p) == {
            "rank",
            "text",
            "highlight",
            "score",
            "match",
            "label",
            "source",
            "title",
            "page",
            "section",
            "passage_id",
        }
        assert p["rank"] == rank and isinstance(p["score"], float)
        assert p["label"] in ("Strong match", "Good match", "Weak match") and 0.0 <= p["match"] <= 1.0
        assert isinstance(p["text"], str) and p["highlight"] in p["text"]
        assert (Path("documents") / p["source"]).suffix and isinstance(p["title"], str)
        assert p["page"] is None or isinstance(p["page"], int)
        assert p["section"] is None or isinstance(p["section"], str)
        assert p["passage_id"].startswith(p["source"] + "#")
    assert "month" in result["passages"][0]["text"]
    scores = [p["score"] for p in result["passages"]]
    assert scores == sorted(scores, reverse=True) and result["searched_for"] == []
    matches = [p["match"] for p in result["passages"]]
    assert matches == sorted(matches, reverse=True) and matches[0] == result["confidence"]


def test_k_chooses_how_many_passages(client: Client) -> None:
    assert len(client.predict("aftercare", 12, api_name="/search")["passages"]) == 12
    assert len(client.predict("aftercare", k=1, api_name="/search")["passages"]) == 1


def test_documents_lists_what_is_indexed(client: Client) -> None:
    documents = client.predict(api_name="/documents")
    assert {d["source"] for d in documents} == set(DOCUMENT_QUESTIONS)
    pdf = next(d for d in documents if d["source"] == "treatment-options.pdf")
    assert pdf["type"] == "pdf" and pdf["pages"] >= 3 and pdf["passages"] > 5
    assert pdf["url"] == "/files/treatment-options.pdf" and pdf["ingested_at"].endswith("+00:00")
    # Each clinic sample's notice is shown with it (and kept out of what is searched); the
    # article, a real web page, has none.
    clinic = [d for d in documents if d["source"] != "laser-skin-resurfacing-article.txt"]
    assert all("fictional" in (d["notice"] or "").lower() for d in clinic)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("",), "Type a question first"),
        (("   \t",), "Type a question first"),
        (("x" * 1001,), "the limit is 1,000"),
        (("redness", 0), "k must be a whole number from 1 to 50"),
        (("redness", 51), "k must be a whole number from 1 to 50"),
    ],
    ids=["empty", "whitespace", "too-long", "k-0", "k-51"],
)
def test_bad_requests_raise_a_clear_error(client: Client, args: tuple, message: str) -> None:
    with pytest.raises(Exception, match=message) as info:
        client.predict(*args, api_name="/search")
    assert type(info.value).__name__ == "AppError"
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize(("source", "question"), DOCUMENT_QUESTIONS.items(), ids=list(DOCUMENT_QUESTIONS))
def test_a_question_about_each_document_is_answered_from_it(
    client: Client, source: str, question: str
) -> None:
    result = client.predict(question, 3, api_name="/search")
    assert result["answered"], result["message"]
    assert source in [p["source"] for p in result["passages"]]


def test_the_plain_json_route_answers_as_the_gradio_api(app: RunningApp, client: Client) -> None:
    question = "How long does the redness last after a CO2 laser?"
    plain = httpx.get(app.url + "api/search", params={"q": question, "k": 3}, timeout=60)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")
    via_gradio = client.predict(question, 3, api_name="/search")
    assert set(plain.json()) == set(via_gradio)
    assert [p["passage_id"] for p in plain.json()["passages"]] == [
        p["passage_id"] for p in via_gradio["passages"]
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "   "}, "Type a question first"),
        ({"q": "x" * 1001}, "the limit is 1,000"),
        ({"q": "redness", "k": 0}, "k must be a whole number from 1 to 50"),
        ({"q": "redness", "k": 51}, "k must be a whole number from 1 to 50"),
        ({"k": 3}, "The question is missing: pass it as q"),
        ({"q": "redness", "k": "abc"}, "k must be a whole number of passages (e.g. k=5); got 'abc'"),
        ({"q": "redness", "page": 2}, "Unknown parameter 'page': /api/search takes q"),
    ],
    ids=["whitespace", "too-long", "k-0", "k-51", "no-q", "k-abc", "unknown"],
)
def test_the_plain_json_route_refuses_bad_requests_clearly(
    app: RunningApp, params: dict, message: str
) -> None:
    """One shape for every refusal: 400 and {"detail": "<what to change>"}."""
    answer = httpx.get(app.url + "api/search", params=params, timeout=60)
    assert answer.status_code == 400 and set(answer.json()) == {"detail"}
    assert message in answer.json()["detail"]


def test_every_page_forbids_being_framed_by_another_site(app: RunningApp) -> None:
    for path in ("", "staff/", "api/search?q=parking", "files/faq.md", "view/faq.md", "config"):
        answer = httpx.get(app.url + path, timeout=60)
        policy = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'self'" in policy and answer.headers["x-frame-options"] == "SAMEORIGIN", path
    page_policy = httpx.get(app.url, timeout=60).headers["content-security-policy"]
    assert "default-src 'self'" in page_policy and "object-src 'none'" in page_policy


def test_one_address_gets_a_limited_number_of_searches(built: Settings, embedder) -> None:
    """400 searches back to back from one address: the first 120 (KB_SEARCHES_PER_MINUTE)
    are answered, the rest get 429 with Retry-After; another address is not held up, and
    a forwarded address counts only when a trusted proxy forwards it."""
    from fastapi.testclient import TestClient

    from kb.search import KnowledgeBase
    from kb.web.server import build_app

    kb = KnowledgeBase(built, embedder)
    settings = built.with_changes(trusted_proxies="10.0.0.1")
    assert settings.searches_per_minute == 120
    server = build_app(settings, {}, lambda timeout: kb)
    # Each TestClient is one address; unstarted, so only the plain routes answer (no pages).
    visitor, neighbour, proxy = (
        TestClient(server, client=(a, 5000)) for a in ("192.0.2.7", "192.0.2.8", "10.0.0.1")
    )
    codes = [visitor.get("/api/search", params={"q": "parking", "k": 1}) for _ in range(400)]
    assert [c.status_code for c in codes].count(200) == 120
    refused = codes[-1]
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "at most 120 a minute" in refused.json()["detail"]
    # A forwarded address from a peer that is no trusted proxy is ignored.
    spoofed = visitor.get("/api/search", params={"q": "parking"}, headers={"X-Forwarded-For": "198.51.100.1"})
    assert spoofed.status_code == 429
    assert neighbour.get("/api/search", params={"q": "parking"}).status_code == 200
    # Behind the trusted proxy, each visitor has their own allowance...
    fresh = proxy.get("/api/search", params={"q": "parking"}, headers={"X-Forwarded-For": "203.0.113.5"})
    assert fresh.status_code == 200
    # ...and the limited one stays limited, whatever it writes further left.
    forwarded = {"X-Forwarded-For": "203.0.113.9, 192.0.2.7"}
    assert proxy.get("/api/search", params={"q": "parking"}, headers=forwarded).status_code == 429
    # The MCP tools' requests count the same way (here before the pages are mounted).
    assistant = TestClient(server, client=("192.0.2.9", 5000))
    calls = [assistant.post("/gradio_api/mcp/", json={}).status_code for _ in range(121)]
    assert 429 not in calls[:120] and calls[120] == 429
    off = TestClient(
        build_app(built.with_changes(searches_per_minute=0), {}, lambda timeout: kb),
        client=("192.0.2.7", 5000),
    )
    assert all(off.get("/api/search", params={"q": "parking", "k": 1}).status_code == 200 for _ in range(150))


def test_in_flight_requests_past_the_limit_are_refused(built: Settings, embedder) -> None:
    from fastapi.testclient import TestClient

    from kb.search import KnowledgeBase
    from kb.web.api import BoundedCounter
    from kb.web.server import build_app

    counter = BoundedCounter(2)
    assert counter.enter() and counter.enter() and not counter.enter()
    counter.leave()
    assert counter.enter()

    kb = KnowledgeBase(built, embedder)
    server = build_app(built, {}, lambda timeout: kb)
    with TestClient(server) as http:
        answer = http.get("/api/search", params={"q": "Saturday opening hours", "k": 1})
        assert answer.json()["passages"][0]["source"] == "hours.txt"
        in_flight = server.state.searches_in_flight
        in_flight.count = in_flight.limit  # as many searches running as the queue allows
        refused = http.get("/api/search", params={"q": "Saturday opening hours", "k": 1})
        assert refused.status_code == 503 and "Busy" in refused.json()["detail"]
        in_flight.count = 0


def test_the_plain_route_answers_before_the_pages_are_mounted(built: Settings, embedder) -> None:
    """Start-up: /api/search answers as soon as the knowledge base is there, while the pages
    (gradio) are still on their way; until they are mounted a page says the app is starting."""
    from fastapi.testclient import TestClient

    from kb.errors import IndexUnavailableError
    from kb.search import KnowledgeBase
    from kb.web.server import build_app

    kb = KnowledgeBase(built, embedder)
    pages_may_load = threading.Event()
    loaded = threading.Event()

    def knowledge(timeout: float | None) -> KnowledgeBase:
        if timeout is None:  # the pages' thread waits for the whole load
            pages_may_load.wait(60)
        elif not loaded.is_set():
            raise IndexUnavailableError("The app is still starting.")
        return kb

    with TestClient(build_app(built, {}, knowledge)) as http:
        still_loading = http.get("/api/search", params={"q": "Saturday opening hours"})
        assert still_loading.status_code == 503 and still_loading.headers["Retry-After"]
        loaded.set()
        answer = http.get("/api/search", params={"q": "Saturday opening hours", "k": 1})
        assert answer.status_code == 200 and answer.json()["passages"][0]["source"] == "hours.txt"
        starting = http.get("/")
        assert starting.status_code == 503 and "is starting" in starting.text
        assert http.get("/staff/").status_code == 503
        pages_may_load.set()
        deadline = time.monotonic() + 120
        while http.get("/").status_code != 200:
            assert time.monotonic() < deadline, "the pages were never mounted"
            time.sleep(0.2)
        assert "Ask the clinic" in http.get("/config").text
        assert http.get("/api/search", params={"q": "Saturday opening hours"}).status_code == 200


def test_off_topic_question_is_not_answered(client: Client) -> None:
    result = client.predict("What is the capital of Australia?", api_name="/search")
    assert result["answered"] is False and result["urgent"] is False
    assert "don't cover" in result["message"]


def test_warning_signs_are_urgent_and_ordinary_questions_are_not(client: Client) -> None:
    urgent = client.predict("I have blisters and a fever three days after my laser", api_name="/search")
    assert urgent["urgent"] is True
    assert "555-0199" in urgent["message"]  # the urgent line, as the documents state it
    ordinary = client.predict("How long is the redness after a CO2 laser?", api_name="/search")
    assert ordinary["urgent"] is False


# The file route and every anonymous route to a staff action: tests/test_intruders.py.

STAFF_ACTIONS = {
    "upload",
    "remove",
    "restore",
    "reingest",
    "cancel_reingest",
    "feedback",
    "document_status",
    "last_report",
    "questions",
}


# --- staff work and hot reload ---------------------------------------------------------------


def test_login_upload_reingest_then_the_new_document_is_found(
    app: RunningApp, client: Client, tmp_path: Path
) -> None:
    staff = Client(app.url + "staff/", auth=STAFF, verbose=False)
    leaflet = write_pdf(
        tmp_path / "Chemical Peel Leaflet (v2).pdf",
        [
            [
                "# Chemical Peels",
                "A glycolic acid peel brightens dull skin in a lunchtime visit with no downtime.",
            ],
            ["# Peel Aftercare", "After a glycolic peel avoid exfoliating scrubs for one week."],
        ],
        title="Chemical Peel Leaflet",
    )
    report = staff.predict([handle_file(str(leaflet))], api_name="/upload")
    assert "Added Chemical Peel Leaflet (v2).pdf" in report
    report = staff.predict(api_name="/reingest")
    assert "Added: Chemical Peel Leaflet (v2).pdf." in report and "Could not be read" not in report
    assert str(app.settings.documents_dir) not in report  # no server folders in the report
    result = client.predict("Does a glycolic acid peel have downtime?", 3, api_name="/search")
    assert result["passages"][0]["source"] == "Chemical Peel Leaflet (v2).pdf"
    assert result["passages"][0]["page"] == 1
    # and removing it takes it out again
    assert "Removed" in staff.predict("Chemical Peel Leaflet (v2).pdf", api_name="/remove")
    assert "Taken out of the search: Chemical Peel Leaflet (v2).pdf." in staff.predict(api_name="/reingest")
    result = client.predict("Does a glycolic acid peel have downtime?", 5, api_name="/search")
    assert all(p["source"] != "Chemical Peel Leaflet (v2).pdf" for p in result["passages"])


def test_staff_cancel_a_reingest_and_the_site_keeps_its_index(app: RunningApp, client: Client) -> None:
    staff = Client(app.url + "staff/", auth=STAFF, verbose=False)
    assert staff.predict(api_name="/cancel_reingest") == "No re-ingest is running."
    before = client.predict(api_name="/documents")
    # Long enough that the worker is still embedding when the cancel arrives.
    words = [
        "voucher",
        "gift",
        "card",
        "value",
        "expiry",
        "balance",
        "refund",
        "treatment",
        "booking",
        "desk",
    ]
    paragraphs = (" ".join(words[(i * 7 + j) % len(words)] + str(i) for j in range(60)) for i in range(3000))
    (app.settings.documents_dir / "gift-vouchers.md").write_text(
        "# Gift vouchers\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
    )
    job = staff.submit(api_name="/reingest")
    deadline = time.monotonic() + 60
    while not job.outputs() and time.monotonic() < deadline:
        time.sleep(0.1)  # the first progress line: the worker has started
    second = staff.predict(api_name="/reingest")  # one re-ingest at a time
    assert second.startswith("A re-ingest is already running")
    assert "cancelled" in staff.predict(api_name="/cancel_reingest")
    assert "cancelled" in job.result(timeout=60)
    assert client.predict(api_name="/documents") == before
    (app.settings.documents_dir / "gift-vouchers.md").unlink()


def test_staff_upload_refuses_bad_names_and_types(app: RunningApp, tmp_path: Path) -> None:
    staff = Client(app.url + "staff/", auth=STAFF, verbose=False)
    script = tmp_path / "evil.sh"
    script.write_text("rm -rf /")
    with pytest.raises(Exception, match="Invalid file type"):
        staff.predict([handle_file(str(script))], api_name="/upload")
    assert not (app.settings.documents_dir / "evil.sh").exists()
    with pytest.raises(Exception, match="There is no document"):
        staff.predict("../app.py", api_name="/remove")


def test_votes_are_stored_and_listed_for_staff(app: RunningApp) -> None:
    from kb.index.files.votes import FeedbackStore

    store = FeedbackStore(app.settings.index_dir / "feedback.sqlite")
    store.record("How long is the redness?", "faq.md#22", "helpful")
    staff = Client(app.url + "staff/", auth=STAFF, verbose=False)
    rows = staff.predict(api_name="/feedback")["data"]
    assert ["helpful", "How long is the redness?", "faq.md#22"] in [r[1:] for r in rows]


def test_ingest_beside_the_live_app_is_picked_up_with_no_failed_request(app: RunningApp) -> None:
    errors: list[str] = []
    answers = 0
    stop = threading.Event()

    def keep_searching() -> None:
        nonlocal answers
        searcher = Client(app.url, verbose=False)
        deadline = time.monotonic() + 300  # bounded, on loopback
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                searcher.predict("sunscreen after the laser", 3, api_name="/search")
                answers += 1
            except Exception as exc:  # every failure is a test failure
                errors.append(repr(exc))

    (app.settings.documents_dir / "parking-update.md").write_text(
        "# Parking Update\n\n## Free bicycle racks\n\nFree bicycle racks are now at the clinic's side door.\n",
        encoding="utf-8",
    )
    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "ingest.py"),
                "--quiet",
                "--documents",
                str(app.settings.documents_dir),
                "--index",
                str(app.settings.index_dir),
            ],
            env=env,
            capture_output=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        client = Client(app.url, verbose=False)
        deadline = time.monotonic() + 30
        found = False
        while not found and time.monotonic() < deadline:
            result = client.predict("Where can I leave my bicycle?", 3, api_name="/search")
            found = any(p["source"] == "parking-update.md" for p in result["passages"])
            time.sleep(0.5)
    finally:
        stop.set()
        searcher.join(timeout=60)
    assert found, "the app did not switch to the new index"
    assert errors == [] and answers > 0


def test_with_no_staff_login_configured_no_staff_action_exists(
    shipped_index: Settings, tmp_path: Path
) -> None:
    running = RunningApp(copy_of(shipped_index, tmp_path), staff=False)
    try:
        page = httpx.get(running.url + "staff/config")
        assert page.status_code == 200
        names = {d.get("api_name") for d in page.json()["dependencies"]}
        assert not names & STAFF_ACTIONS
        assert "Staff page is off" in page.text and "KB_STAFF_PASSWORD" in page.text
    finally:
        running.stop()


def test_an_index_written_by_an_older_version_is_rebuilt_at_start(built: Settings) -> None:
    import json

    from kb.index import files as store
    from kb.web.startup import load_knowledge_base

    name = store.current_generation_name(built.index_dir)
    manifest_path = built.index_dir / store.GENERATIONS / name / store.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "format": 1}))
    kb = load_knowledge_base(built)
    assert kb.generation.name != name and kb.generation.manifest["format"] == store.FORMAT_VERSION
    assert kb.search("Saturday opening hours", 1)[0].source == "hours.txt"


def test_questions_are_logged_from_each_door_without_who_asked(app: RunningApp, client: Client) -> None:
    """The question log (on by default): the gradio API's and the plain route's questions,
    masked, with their door and outcome; nothing of the asker (address, browser)."""
    from kb.index.files.questions import QuestionStore

    typed = "log check: do you sell gift vouchers? mail me at zed.q@example.org"
    client.predict(typed, 3, api_name="/search")
    httpx.get(app.url + "api/search", params={"q": typed + " (plain)"}, headers={"User-Agent": "AskerBrowser/9"})
    path = app.settings.index_dir / "questions.sqlite"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        logged = [e for e in QuestionStore(path).entries("2000") if e.question.startswith("log check")] if path.exists() else []
        if len(logged) == 2:
            break
        time.sleep(0.2)
    assert sorted(e.door for e in logged) == ["api", "gradio_api"]
    assert all(e.question.startswith("log check: do you sell gift vouchers? mail me at [email]") for e in logged)
    assert all(e.reason in ("covered", "not_covered") and e.at.endswith("+00:00") for e in logged)
    stored = b"".join(p.read_bytes() for p in path.parent.glob("questions.sqlite*"))
    for trace in (b"zed.q", b"example.org", b"127.0.0.1", b"AskerBrowser", b"python-httpx"):
        assert trace not in stored



def test_staff_see_paraphrases_of_an_unanswered_question_as_one_group(app: RunningApp, client: Client) -> None:
    """The staff API's /questions: three wordings of one need the documents do not cover
    come back as one group of three; a covered question is in no group."""
    asked = ["do you offer teeth whitening", "teeth whitening price?", "can i get my teeth whitened at your clinic"]
    for question in asked:
        assert client.predict(question, 3, api_name="/search")["answered"] is False
    assert client.predict("How long is the redness after a CO2 laser?", 3, api_name="/search")["answered"]
    staff = Client(app.url + "staff/", auth=STAFF, verbose=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        groups = staff.predict(30, api_name="/questions")["groups"]
        whitening = [g for g in groups if set(asked) & set(g["examples"])]
        if whitening and whitening[0]["count"] >= 3:
            break
        time.sleep(0.5)
    [group] = whitening
    assert set(asked) <= set(group["examples"]) and group["reason"] == "not_covered"
    assert set(group) == {"label", "count", "reason", "first", "last", "examples"}
    assert all("redness" not in e for g in groups for e in g["examples"])


def test_with_the_question_log_off_nothing_is_stored(built: Settings, embedder) -> None:
    from fastapi.testclient import TestClient

    from kb.search import KnowledgeBase
    from kb.web.server import build_app

    kb = KnowledgeBase(built, embedder)
    for setting, kept in (("off", False), ("on", True)):
        server = build_app(built.with_changes(question_log=setting), {}, lambda timeout: kb)
        assert TestClient(server).get("/api/search", params={"q": "do you do botox"}).status_code == 200
        server.state.questions.flush()
        server.state.questions.stop()
        assert (built.index_dir / "questions.sqlite").exists() is kept, setting
