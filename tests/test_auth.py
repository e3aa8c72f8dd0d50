"""Staff sign-in pieces: password hashes, the failed-sign-in lock, rate limits, expiring
sessions, the hash command, and the staff file that holds hashes."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from kb.config import staff_credentials
from kb.errors import LoginLockedError
from kb.web import auth
from kb.web.auth import LoginGuard, RateLimit, hash_password, session_store, verify_password

PASSWORD = "correct horse battery staple"


def test_a_hash_verifies_only_its_password() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + " ")
    assert not verify_password(stored, "")
    assert hash_password(PASSWORD) != stored  # salted
    assert not verify_password(stored[:-4] + "AAAA", PASSWORD)  # a tampered hash
    assert not verify_password("scrypt$garbage", PASSWORD)


def test_plain_passwords_still_verify() -> None:
    assert verify_password(PASSWORD, PASSWORD)
    assert not verify_password(PASSWORD, PASSWORD[:-1])
    assert not verify_password(PASSWORD, "")


def test_the_staff_file_takes_hashes_and_refuses_malformed_ones(tmp_path: Path) -> None:
    good = tmp_path / "staff.txt"
    good.write_text(f"# staff\nnurse:{hash_password(PASSWORD)}\nreception:plain-password\n", encoding="utf-8")
    users = staff_credentials({"KB_STAFF_FILE": str(good), "KB_STAFF_PASSWORD": "env-password"})
    assert set(users) == {"nurse", "reception", "staff"}
    assert verify_password(users["nurse"], PASSWORD) and users["staff"] == "env-password"
    bad = tmp_path / "bad.txt"
    bad.write_text("nurse:scrypt$16384$8$1$c2FsdA\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"bad.txt, line 1: a scrypt\$ password hash is malformed.*kb.web.auth hash"
    ):
        staff_credentials({"KB_STAFF_FILE": str(bad)})


def test_the_hash_command_reads_the_password_twice_and_prints_the_hash(monkeypatch, capsys) -> None:
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert auth.main(["hash"]) == 0
    printed = capsys.readouterr().out.strip()
    assert verify_password(printed, PASSWORD) and PASSWORD not in printed
    answers = iter([PASSWORD, "something else entirely"])
    assert auth.main(["hash"]) == 2
    assert "differ" in capsys.readouterr().err


def guard(**kwargs) -> LoginGuard:
    users = {"staff": PASSWORD, "nurse": hash_password(PASSWORD)}
    return LoginGuard(users, **{"max_failures": 3, "lock_seconds": 60, "failure_delay": 0.2, **kwargs})


def test_failed_sign_ins_are_slow_then_lock_the_user_even_for_the_right_password(caplog) -> None:
    g = guard()

    async def scenario() -> None:
        started = time.monotonic()
        results = await asyncio.gather(*(g.check("nurse", f"guess {i}", f"10.0.0.{i}") for i in range(3)))
        assert results == [False] * 3 and time.monotonic() - started >= 0.2
        with pytest.raises(LoginLockedError, match="Wait 1 minute and try again") as info:
            await g.check("nurse", PASSWORD, "10.9.9.9")
        assert 50 < info.value.retry_after <= 60
        assert await g.check("staff", PASSWORD, "10.9.9.9") is True  # other users are not locked

    with caplog.at_level(logging.INFO, logger="kb.web.auth"):
        asyncio.run(scenario())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "user 'nurse' from 10.0.0." in warnings[0].getMessage()
    assert all(PASSWORD not in r.getMessage() and "guess" not in r.getMessage() for r in caplog.records)


def test_failed_sign_ins_lock_the_address_whatever_the_user() -> None:
    g = guard()

    async def scenario() -> None:
        for user in ("admin", "root", "nobody"):
            assert await g.check(user, "guess", "10.0.0.1") is False
        with pytest.raises(LoginLockedError):
            await g.check("staff", PASSWORD, "10.0.0.1")
        assert await g.check("staff", PASSWORD, "10.0.0.2") is True

    asyncio.run(scenario())


def test_a_right_password_clears_the_count_and_the_lock_ends() -> None:
    g = guard(lock_seconds=1, failure_delay=0)

    async def scenario() -> None:
        for _ in range(2):
            assert await g.check("staff", "guess", "10.0.0.1") is False
        assert await g.check("staff", PASSWORD, "10.0.0.1") is True
        for _ in range(2):  # counted from zero again: not locked after 2 more
            assert await g.check("staff", "guess", "10.0.0.1") is False
        assert await g.check("staff", PASSWORD, "10.0.0.1") is True
        for _ in range(3):
            assert await g.check("staff", "guess", "10.0.0.1") is False
        with pytest.raises(LoginLockedError):
            await g.check("staff", PASSWORD, "10.0.0.1")
        await asyncio.sleep(1.2)
        assert await g.check("staff", PASSWORD, "10.0.0.1") is True

    asyncio.run(scenario())


def test_concurrent_guesses_cannot_slip_past_the_count() -> None:
    g = guard(max_failures=5, failure_delay=0)

    async def scenario() -> list[object]:
        return await asyncio.gather(
            *(g.check("nurse", f"guess {i}", "10.0.0.1") for i in range(40)), return_exceptions=True
        )

    results = asyncio.run(scenario())
    assert results.count(False) == 5
    assert sum(isinstance(r, LoginLockedError) for r in results) == 35


def test_a_rate_limit_counts_per_key() -> None:
    limit = RateLimit(3, 60)
    assert [limit.hit("a") for _ in range(4)] == [True, True, True, False]
    assert limit.hit("b") and 0 < limit.retry_after("a") <= 60 and limit.retry_after("b") == 0


def test_sessions_expire() -> None:
    sessions = session_store(minutes=0.5 / 60)
    sessions["token"] = "staff"
    assert sessions.get("token") == "staff"
    time.sleep(0.7)
    assert sessions.get("token") is None and "token" not in sessions
    with pytest.raises(ValueError, match="more than 0 minutes"):
        session_store(0)
