"""The question log's writer: masked before a byte is stored, written off the request's
path (a slow or failing log never holds up or fails a search), off when switched off, and
emptied of old entries at start-up."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kb.index.base import QuestionLog
from kb.index.files.questions import QuestionStore
from kb.index.questions import LoggedQuestion, mask
from kb.search import Answer, Hit
from kb.web.question_log import QuestionRecorder


def answer(question: str, reason: str = "not_covered", passages: tuple[str, ...] = ()) -> Answer:
    hits = [Hit(n + 1, 0.5, p, "text", "faq.md", "FAQ", None, None, 0, 4, "text") for n, p in enumerate(passages)]
    return Answer(question, reason == "covered", False, "", 1.0, hits, [], None, reason=reason)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("email me at jane.doe+laser@example.co.uk", "email me at [email]"),
        ("my number is +44 (0)20 7946-0958", "my number is [phone]"),
        ("call 07700 900123 or 555.123.4567", "call [phone] or [phone]"),
        ("my NHS number 943 476 5919", "my NHS number [phone]"),
        ("card 4111 1111 1111 1111 was charged twice", "card [number] was charged twice"),
        ("day 4 after co2, 38.9 degrees, SPF 30, 2-3 sessions", "day 4 after co2, 38.9 degrees, SPF 30, 2-3 sessions"),
    ],
)
def test_addresses_phone_numbers_and_long_digit_runs_are_masked(typed: str, kept: str) -> None:
    assert mask(typed) == kept


def test_no_stored_byte_holds_an_email_address_or_phone_number(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite"
    recorder = QuestionRecorder(lambda: QuestionStore(path), days=90)
    recorder.asked(answer("botox price? text me on 07700 900123 or ann.lee@example.org"), "page")
    recorder.voted("botox price? text me on 07700 900123 or ann.lee@example.org", "x#1", "helpful")
    assert recorder.flush()
    recorder.stop()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # the database and its journal
    assert b"botox price? text me on [phone] or [email]" in stored
    for secret in (b"07700", b"900123", b"ann.lee", b"example.org"):
        assert secret not in stored


class SlowLog(QuestionLog):
    """A log whose writes wait until released: a disk that has stopped answering."""

    def __init__(self) -> None:
        self.release, self.written = threading.Event(), []

    def record(self, entries):
        self.release.wait(30)
        self.written += entries

    def add_vote(self, question, passage_id, vote):
        return False

    def entries(self, since, until=None):
        return list(self.written)

    def forget_before(self, at):
        return 0

    def set_handled(self, ids, how):
        return None


class BrokenLog(SlowLog):
    def record(self, entries):
        raise OSError("disk full")


def test_a_slow_log_never_holds_up_the_question_that_is_logged() -> None:
    slow = SlowLog()
    recorder = QuestionRecorder(lambda: slow, days=90)
    for n in range(50):  # each returns at once although nothing can be written
        recorder.asked(answer(f"question {n}"), "api")
    assert slow.written == []
    slow.release.set()
    assert recorder.flush()
    assert [e.question for e in slow.written] == [f"question {n}" for n in range(50)]
    recorder.stop()


def test_a_failing_log_loses_its_entries_not_the_search(caplog: pytest.LogCaptureFixture) -> None:
    recorder = QuestionRecorder(lambda: BrokenLog(), days=90)
    recorder.asked(answer("how much is botox, my email is a@b.org"), "mcp")
    assert recorder.flush()
    assert recorder.failed == 1
    assert "not written (OSError)" in caplog.text and "a@b.org" not in caplog.text and "botox" not in caplog.text
    recorder.stop()


def test_a_full_queue_drops_entries_instead_of_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    from kb.web import question_log

    monkeypatch.setattr(question_log, "MAX_WAITING", 3)
    slow = SlowLog()
    recorder = QuestionRecorder(lambda: slow, days=90)
    for n in range(10):
        recorder.asked(answer(f"question {n}"), "api")
    assert recorder.dropped >= 6  # the thread holds one batch, the queue three
    slow.release.set()
    recorder.stop()


def test_switched_off_it_stores_nothing(tmp_path: Path) -> None:
    opened = []
    recorder = QuestionRecorder(lambda: opened.append(1) or QuestionStore(tmp_path / "q.sqlite"), days=90, enabled=False)
    recorder.asked(answer("how much is botox"), "page")
    recorder.voted("how much is botox", "x#1", "helpful")
    recorder.stop()
    assert opened == [] and list(tmp_path.iterdir()) == []


def test_entries_older_than_the_retention_are_gone_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite"
    store = QuestionStore(path)
    store.record([
        LoggedQuestion("asked long ago", "2020-01-01T00:00:00+00:00", "page", "not_covered", False),
        LoggedQuestion("asked yesterday", "2099-01-01T00:00:00+00:00", "page", "not_covered", False),
    ])  # fmt: skip
    store.close()
    recorder = QuestionRecorder(lambda: QuestionStore(path), days=90)  # the app starting
    recorder.asked(answer("asked now"), "page")
    assert recorder.flush()
    recorder.stop()
    kept = QuestionStore(path).entries("2000")
    assert [e.question for e in kept] == ["asked yesterday", "asked now"]
    assert b"asked long ago" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_one_command_deletes_every_logged_question(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from kb.web import question_log

    store = QuestionStore(tmp_path / "questions.sqlite")
    store.record([LoggedQuestion("how much is botox", "2026-12-01T00:00:00+00:00", "page", "not_covered", False)])
    store.close()
    assert question_log.main(["--index", str(tmp_path)]) == 0 and "1 logged questions" in capsys.readouterr().out
    assert question_log.main(["--forget-all", "--index", str(tmp_path)]) == 0
    assert "Deleted 1 logged questions" in capsys.readouterr().out
    assert QuestionStore(tmp_path / "questions.sqlite").entries("2000") == []
    assert b"botox" not in b"".join(p.read_bytes() for p in tmp_path.glob("questions.sqlite*"))
