"""Intruders against the real app: anonymous staff calls by every route, files outside
documents/, hostile upload names, password guessing, stale sessions, anonymous uploads and
oversized questions. Each test fails when the protection it covers is removed (see
docs/RELIABILITY.md)."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from test_app import STAFF, STAFF_ACTIONS, RunningApp, copy_of

from kb.config import Settings
from kb.web.auth import hash_password

pytestmark = pytest.mark.slow

NURSE = ("nurse", "a long nurse passphrase 7")  # kept hashed in the staff file
WRONG = "wrong-guess-Zq8"
SECRET = "TOP SECRET outside the documents folder"

#: Every intrusion attempt the tests make and see refused, by kind (for the report).
REFUSED: dict[str, int] = {}


def refused(kind: str, n: int = 1) -> None:
    REFUSED[kind] = REFUSED.get(kind, 0) + n


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print(
        "\nintrusion attempts refused:", json.dumps(REFUSED, sort_keys=True), "total", sum(REFUSED.values())
    )


def _prepare(folder: Path) -> dict[str, str]:
    """Bait around the documents copy: a secret beside it, a symlink out, hidden files; a
    staff file with a hashed password; gradio's temporary files in a folder of our own."""
    documents = folder / "documents"
    (folder / "secret.txt").write_text(SECRET, encoding="utf-8")
    (documents / "link-out.txt").symlink_to(folder / "secret.txt")
    (documents / ".hidden.txt").write_text(SECRET, encoding="utf-8")
    (documents / ".removed").mkdir(exist_ok=True)
    (documents / ".removed" / "old.txt").write_text(SECRET, encoding="utf-8")
    staff_file = folder / "staff-users.txt"
    staff_file.write_text(f"# hashed\n{NURSE[0]}:{hash_password(NURSE[1])}\n", encoding="utf-8")
    (folder / "gradio-tmp").mkdir()
    # The tests pose as a reverse proxy on the loopback, forwarding other clients' addresses.
    return {
        "KB_STAFF_FILE": str(staff_file),
        "GRADIO_TEMP_DIR": str(folder / "gradio-tmp"),
        "KB_TRUSTED_PROXIES": "127.0.0.1",
    }


@pytest.fixture(scope="module")
def app(shipped_index: Settings, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("intruders")
    settings = copy_of(shipped_index, folder)
    running = RunningApp(settings, env=_prepare(folder))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(app: RunningApp) -> Client:
    return Client(app.url, verbose=False)


def login(app: RunningApp, user: str, password: str, address: str | None = None) -> httpx.Response:
    """POST the staff login form, as the login page does; ``address`` poses as another
    client (the app trusts X-Forwarded-For from the loopback: KB_TRUSTED_PROXIES)."""
    headers = {"X-Forwarded-For": address} if address else {}
    return httpx.post(
        app.url + "staff/login", data={"username": user, "password": password}, headers=headers, timeout=60
    )


@contextmanager
def staff_session(app: RunningApp, user: str = STAFF[0], password: str = STAFF[1]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app.url, timeout=120) as session:
        response = session.post("staff/login", data={"username": user, "password": password})
        assert response.status_code == 200, response.text
        yield session


# --- staff actions: refused anonymously by every route ------------------------------------


def test_the_public_api_has_no_staff_action(app: RunningApp, client: Client) -> None:
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/search", "/documents"}
    names = {d.get("api_name") for d in httpx.get(app.url + "config").json()["dependencies"]}
    assert not names & set(STAFF_ACTIONS)
    for name in STAFF_ACTIONS:
        with pytest.raises(Exception, match="Cannot find a function"):
            client.predict(api_name=f"/{name}")
        refused("staff action on the public API")
        for body in ({"data": []}, {"data": [], "fn_index": 99}):
            response = httpx.post(app.url + f"gradio_api/call/{name}", json=body)
            assert response.status_code != 200 and "event_id" not in response.text, name
        joined = httpx.post(
            app.url + "gradio_api/queue/join", json={"data": [], "api_name": name, "session_hash": "anon2"}
        )
        assert joined.status_code != 200 and "event_id" not in joined.text, name
        refused("staff action on the public API", 3)


def test_anonymous_clients_cannot_open_the_staff_page(app: RunningApp) -> None:
    with pytest.raises(Exception, match="credentials were not provided"):
        Client(app.url + "staff/", verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(app.url + "staff/", auth=("staff", WRONG), verbose=False)
    refused("anonymous staff page", 2)
    page = httpx.get(app.url + "staff/", follow_redirects=True)
    assert page.status_code == 200 and "Re-ingest the folder now" not in page.text  # the login form only


def test_raw_calls_to_staff_functions_are_refused(app: RunningApp) -> None:
    base = app.url + "staff/"
    assert httpx.get(base + "config").status_code == 401
    for fn_index in range(40):
        for body in (
            {"data": [], "fn_index": fn_index, "session_hash": "anon123"},
            {
                "data": [],
                "fn_index": fn_index,
                "session_hash": "anon123",
                "event_data": None,
                "trigger_id": 1,
            },
        ):
            assert httpx.post(base + "gradio_api/queue/join", json=body).status_code == 401, fn_index
            refused("raw staff queue call")
    for name in STAFF_ACTIONS:
        assert httpx.post(base + f"gradio_api/call/{name}", json={"data": []}).status_code == 401
        assert httpx.post(base + f"gradio_api/run/{name}", json={"data": []}).status_code in (401, 404)
        joined = httpx.post(
            base + "gradio_api/queue/join", json={"data": [], "api_name": name, "session_hash": "anon1"}
        )
        assert joined.status_code == 401
        refused("raw staff queue call", 3)
    assert httpx.post(base + "gradio_api/upload", files={"files": ("x.txt", b"x")}).status_code == 401
    refused("anonymous upload")


def test_the_staff_functions_themselves_require_a_staff_user(built: Settings, embedder) -> None:
    """The second line: the handlers refuse a request without a staff user wherever they
    end up mounted (gradio's login is the first)."""
    import gradio as gr

    from kb.index.files.votes import FeedbackStore
    from kb.search import KnowledgeBase
    from kb.web.app import ClinicApp

    clinic = ClinicApp(
        KnowledgeBase(built, embedder), FeedbackStore(built.index_dir / "feedback.sqlite"), {"staff": "pw"}
    )
    calls = {
        "upload": lambda r: clinic.upload([str(built.documents_dir / "hours.txt")], r),
        "remove": lambda r: clinic.remove("hours.txt", r),
        "reingest": lambda r: next(iter(clinic.reingest(r))),
        "feedback": lambda r: clinic.feedback_rows(r),
        "restore": lambda r: clinic.restore("20261205T004839-hours.txt", r),
        "cancel": lambda r: clinic.cancel_reingest(r),
        "status": lambda r: clinic.document_status(r),
        "report": lambda r: clinic.last_report(r),
        "upload and ingest": lambda r: next(iter(clinic.upload_and_ingest([str(built.documents_dir / "hours.txt")], r))),
        "remove and ingest": lambda r: next(iter(clinic.remove_and_ingest("hours.txt", r))),
        "restore and ingest": lambda r: next(iter(clinic.restore_and_ingest("20261205T004839-hours.txt", r))),
    }
    for call in calls.values():
        for request in (None, gr.Request(username=None), gr.Request(username="mallory")):
            with pytest.raises(gr.Error, match="Staff login required"):
                call(request)
            refused("staff handler without a staff user")
    assert (built.documents_dir / "hours.txt").exists()


# --- the file route -------------------------------------------------------------------------


def raw_get(app: RunningApp, path: str) -> tuple[int, str]:
    """GET a path byte for byte (httpx would normalize ../ away before sending it)."""
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def test_documents_are_served_inert(app: RunningApp) -> None:
    status, body = raw_get(app, "/files/faq.md")
    assert status == 200 and "teenagers" in body.lower()
    pdf = httpx.get(app.url + "files/treatment-options.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    page = httpx.get(app.url + "files/prices-and-packages.html")
    assert page.headers["content-security-policy"].startswith("sandbox")  # its scripts never run here
    assert page.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(app.url + "staff", follow_redirects=False).status_code in (307, 308)


def outside_paths(app: RunningApp) -> list[str]:
    secret = app.settings.documents_dir.parent / "secret.txt"
    return [
        "/files/../secret.txt",
        "/files/./../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/%2e%2e%2fsecret.txt",
        "/files/..%2fsecret.txt",
        "/files/%2E%2E%2Fsecret.txt",
        "/files/%252e%252e%252fsecret.txt",  # double-encoded
        "/files/..%5csecret.txt",  # backslash
        "/files/..\\secret.txt",
        f"/files/{secret}",  # absolute
        f"/files/{str(secret).replace('/', '%2f')}",
        f"/files//{secret}",
        "/files/link-out.txt",  # a symlink inside documents/ pointing out
        "/files/%2e%2e/index/CURRENT",
        "/files/%2e%2e/index/feedback.sqlite",
        "/files/../../../../../../etc/passwd",
        "/files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/files/.hidden.txt",
        "/files/.removed/old.txt",
        "/files/%2eremoved/old.txt",
        "/files/faq.md%00.txt",
        "/files/faq.md/..%2f..%2fsecret.txt",
    ]


def test_no_file_outside_documents_is_served(app: RunningApp) -> None:
    paths = outside_paths(app)
    for path in paths:
        status, body = raw_get(app, path)
        assert status == 404, (path, status, body[:200])
        assert SECRET not in body and "root:" not in body
    refused("file outside documents/", len(paths))


def test_gradio_file_routes_serve_nothing_of_ours(app: RunningApp) -> None:
    folder = app.settings.documents_dir.parent
    targets = [
        "/etc/passwd",
        str(folder / "secret.txt"),
        str(app.settings.documents_dir / "faq.md"),
        str(app.settings.index_dir / "feedback.sqlite"),
        str(app.settings.index_dir / "CURRENT"),
        str(folder / "staff-users.txt"),
    ]
    paths = [f"{prefix}gradio_api/file={target}" for prefix in ("/", "/staff/") for target in targets]
    paths += [
        "/gradio_api/file=..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/staff/gradio_api/file=../../etc/passwd",
    ]
    for path in paths:
        status, body = raw_get(app, path)
        assert status in (401, 403, 404), (path, status)
        assert SECRET not in body and "root:" not in body and "scrypt$" not in body
    refused("file outside documents/", len(paths))


# --- staff uploads ----------------------------------------------------------------------------


def upload_raw(session: httpx.Client, name: str, content: bytes) -> str:
    """Upload one file under any name, as a browser could, then run the staff page's
    upload action on it through the documented HTTP API; returns the report."""
    response = session.post("staff/gradio_api/upload", files=[("files", (name, content, "text/plain"))])
    assert response.status_code == 200, response.text
    [server_path] = response.json()
    file_data = {"path": server_path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}
    event = session.post("staff/gradio_api/call/upload", json={"data": [[file_data]]})
    assert event.status_code == 200, event.text
    stream = session.get(f"staff/gradio_api/call/upload/{event.json()['event_id']}")
    events = re.findall(r"event: (\w+)\ndata: (.*)", stream.text)
    kind, data = events[-1]
    return json.loads(data)[0] if kind == "complete" else f"{kind}: {data}"


def test_uploads_cannot_escape_documents_or_overwrite_the_index(app: RunningApp, tmp_path: Path) -> None:
    documents, index = app.settings.documents_dir, app.settings.index_dir
    current = (index / "CURRENT").read_bytes()
    before = {p for p in documents.parent.rglob("*") if "gradio-tmp" not in p.parts}
    with staff_session(app) as session:
        hostile = {
            "../../index/CURRENT": "Invalid file type",  # gradio's own type check
            "../../index/CURRENT.txt": "Added CURRENT.txt",
            "..\\..\\app.py": "Invalid file type",
            "../../../../tmp/evil.md": "Added evil.md",
            "/etc/cron.d/evil.txt": "Added evil.txt",
            ".hidden.txt": "Added hidden.txt",
            "-rf.txt": "Added -rf.txt",
            "%2e%2e%2fencoded.txt": "Added 2e_2e_2fencoded.txt",
        }
        for name, expected in hostile.items():
            report = upload_raw(session, name, b"Planted by a test. " + name.encode())
            assert expected in report, (name, report)
    refused("upload name escaping documents/", len(hostile))
    assert (index / "CURRENT").read_bytes() == current
    after = {p for p in documents.parent.rglob("*") if "gradio-tmp" not in p.parts}
    new = {p.relative_to(documents.parent).as_posix() for p in after - before}
    assert new == {
        "documents/CURRENT.txt",
        "documents/evil.md",
        "documents/evil.txt",
        "documents/hidden.txt",
        "documents/-rf.txt",
        "documents/2e_2e_2fencoded.txt",
    }
    assert not Path("/tmp/evil.md").exists()


def test_a_replaced_document_is_reported_and_temporary_uploads_are_removed(
    app: RunningApp, tmp_path: Path
) -> None:
    staff = Client(app.url + "staff/", auth=STAFF, verbose=False)
    notes = tmp_path / "hours-and-contacts.md"  # the name of a shipped document
    notes.write_text("# Hours\n\nReplaced by a test: open on Sundays.\n", encoding="utf-8")
    report = staff.predict([handle_file(str(notes))], api_name="/upload")
    assert "Replaced hours-and-contacts.md (the earlier version is overwritten)" in report
    assert "Sundays" in (app.settings.documents_dir / "hours-and-contacts.md").read_text()
    dash = tmp_path / "-leading-dash.txt"
    dash.write_text("A file whose name starts with a dash.", encoding="utf-8")
    assert "Added -leading-dash.txt" in staff.predict([handle_file(str(dash))], api_name="/upload")
    # gradio's temporary copies are gone once they are in documents/
    leftovers = [
        p for p in (app.settings.documents_dir.parent / "gradio-tmp").rglob("*") if p.is_file()
        if b"Replaced by a test" in p.read_bytes() or b"starts with a dash" in p.read_bytes()
    ]  # fmt: skip
    assert leftovers == []


def test_the_public_page_takes_no_uploads(app: RunningApp) -> None:
    for path in ("gradio_api/upload", "gradio_api/upload/", "gradio_api/upload?upload_id=x"):
        response = httpx.post(app.url + path, files={"files": ("x.txt", b"anonymous")})
        assert response.status_code in (404, 405), (path, response.status_code)
        refused("anonymous upload on the public page")
    tmp = app.settings.documents_dir.parent / "gradio-tmp"
    assert not [p for p in tmp.rglob("x.txt")]
    # the staff page still takes them from staff
    with staff_session(app) as session:
        response = session.post("staff/gradio_api/upload", files={"files": ("ok.txt", b"staff")})
        assert response.status_code == 200


# --- questions and k --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x" * 100_000,), "the limit is 1,000"),
        (("laser " * 20_000,), "the limit is 1,000"),
        (("redness", 10_000), "k must be a whole number from 1 to 50"),
        (("redness", -1), "k must be a whole number from 1 to 50"),
        (("redness", "5; drop table"), "k must be a whole number from 1 to 50"),
        (("redness", 2.5), "k must be a whole number from 1 to 50"),
        ((["redness"],), "Type a question first"),
    ],
    ids=["100k-chars", "100k-words", "k-10000", "k-minus-1", "k-sql", "k-float", "question-list"],
)
def test_oversized_or_malformed_questions_are_refused(client: Client, args: tuple, message: str) -> None:
    with pytest.raises(Exception, match=message) as info:
        client.predict(*args, api_name="/search")
    assert type(info.value).__name__ == "AppError" and "Traceback" not in str(info.value)
    refused("oversized or malformed question")


# --- password guessing, sessions, logs -------------------------------------------------------


def _guess_in_parallel(app: RunningApp, attempts: list[tuple[str, str, str]]) -> list[tuple[int, float]]:
    results: list[tuple[int, float]] = [(0, 0.0)] * len(attempts)

    def attempt(i: int, user: str, password: str, address: str) -> None:
        started = time.monotonic()
        results[i] = (login(app, user, password, address).status_code, time.monotonic() - started)

    threads = [threading.Thread(target=attempt, args=(i, *a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_failed_logins_for_a_user_are_slowed_then_locked(app: RunningApp) -> None:
    # Five wrong passwords for one account, from five addresses, all at once.
    results = _guess_in_parallel(app, [(NURSE[0], WRONG + str(i), f"10.0.0.{i}") for i in range(5)])
    assert [status for status, _ in results] == [400] * 5
    assert min(took for _, took in results) >= 0.9  # each failure is answered late
    # Now even the right password is refused, from anywhere, with a reason to wait.
    for address in ("10.0.0.9", None):
        locked = login(app, *NURSE, address=address)
        assert locked.status_code == 429, locked.text
        assert "Wait 15 minutes" in locked.json()["detail"]
        assert int(locked.headers["retry-after"]) > 800
    refused("password guess", 5)
    refused("sign-in while locked", 2)
    log = app.read_log()
    assert re.search(r"WARNING kb\.web\.auth: Staff sign-in locked for 15 minutes after 5 failed attempts: "
                     r"user 'nurse' from 10\.0\.0\.\d", log), log  # fmt: skip
    # The rest of the staff are not locked out by it.
    assert login(app, *STAFF).status_code == 200


def test_failed_logins_from_an_address_are_locked_whatever_the_user(app: RunningApp) -> None:
    attacker = "10.0.1.1"
    for user in ("admin", "root", "staff", "nurse2", "reception"):
        assert login(app, user, WRONG, attacker).status_code == 400
    locked = login(app, *STAFF, address=attacker)  # a right password, from the locked address
    assert locked.status_code == 429 and "locked" in locked.json()["detail"]
    refused("password guess", 5)
    refused("sign-in while locked")
    assert login(app, *STAFF, address="10.0.1.2").status_code == 200


def test_a_hashed_password_from_the_staff_file_signs_in(shipped_index: Settings, tmp_path: Path) -> None:
    """On its own app: the shared one has the nurse locked out by now."""
    settings = copy_of(shipped_index, tmp_path)
    env = {
        **_prepare(tmp_path),
        "KB_STAFF_PASSWORD": "",
        "KB_STAFF_SESSION_MINUTES": "0.05",  # 3 seconds
        "KB_LOGIN_LOCK_MINUTES": "0.1",  # 6 seconds
    }
    running = RunningApp(settings, env=env)
    try:
        nurse = Client(running.url + "staff/", auth=NURSE, verbose=False)
        assert isinstance(nurse.predict(api_name="/feedback")["data"], list)
        hashed = (tmp_path / "staff-users.txt").read_text().split(":", 1)[1].strip()
        assert login(running, NURSE[0], hashed).status_code == 400  # the hash is not the password
        refused("password guess")

        # A session expires.
        with staff_session(running, *NURSE) as session:
            assert session.get("staff/config").status_code == 200
            time.sleep(4)
            assert session.get("staff/config").status_code == 401
            refused("expired session")

        # A lock ends after its period.
        for i in range(5):
            assert login(running, NURSE[0], WRONG, f"10.0.2.{i}").status_code == 400
        assert login(running, *NURSE).status_code == 429
        time.sleep(7)
        assert login(running, *NURSE).status_code == 200
        refused("password guess", 5)
        refused("sign-in while locked")
    finally:
        running.stop()
    assert NURSE[1] not in running.read_log()


def test_passwords_never_reach_the_log(app: RunningApp) -> None:
    # Runs last: by now the app has seen right and wrong sign-ins, locks and staff work.
    assert login(app, STAFF[0], "yet-another-wrong-one").status_code in (400, 429)
    log = (app.settings.index_dir.parent / f"app-{app.port}.log").read_text(errors="replace")
    assert "kb.web.auth" in log  # the log did record the sign-in trouble
    for secret in (STAFF[1], NURSE[1], WRONG, "yet-another-wrong-one"):
        assert secret not in log
