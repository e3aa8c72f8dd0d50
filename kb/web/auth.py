"""Staff sign-in and abuse limits: password hashes, constant-time checks, failed sign-ins
slowed then locked (per user name and per client address), expiring sessions, and a
per-client rate limit for anonymous actions such as votes.

The counting is the ``limits`` library's moving window, the session store ``cachetools``'
TTLCache, the hash the standard library's scrypt. Make a hash for the staff file with::

    python -m kb.web.auth hash
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import MutableMapping, Sequence
from contextvars import ContextVar
from ipaddress import IPv4Network, IPv6Network, ip_address

from cachetools import TTLCache
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from kb.errors import LoginLockedError

logger = logging.getLogger(__name__)

SCRYPT = "scrypt"
# OWASP's scrypt floor is N=2**17 with r=8; 2**15 keeps a check near 0.1 s on a small
# server while still costing an offline guesser 32 MiB per try.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_MAXMEM = 128 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash``: a form of the password that is safe to keep in a file."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, maxmem=_MAXMEM, dklen=32
    )
    return f"{SCRYPT}${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def is_hashed(stored: str) -> bool:
    return stored.startswith(SCRYPT + "$")


def check_stored(stored: str) -> None:
    """Raise ValueError if ``stored`` looks like a hash but is not a well-formed one."""
    if not is_hashed(stored):
        return
    parts = stored.split("$")
    try:
        if len(parts) != 6:
            raise ValueError
        n, r, p = (int(x) for x in parts[1:4])
        if n < 2 or n & (n - 1) or r < 1 or p < 1 or not _unb64(parts[4]) or len(_unb64(parts[5])) < 16:
            raise ValueError
    except (ValueError, TypeError):
        raise ValueError(
            "a scrypt$ password hash is malformed; make a new one with: python -m kb.web.auth hash"
        ) from None


def verify_password(stored: str, given: str) -> bool:
    """Whether ``given`` matches ``stored`` (a hash from ``hash_password`` or a plain
    password). Constant-time in the password's content either way."""
    if is_hashed(stored):
        try:
            _, n, r, p, salt, expected = stored.split("$")
            digest = hashlib.scrypt(
                given.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM,
                dklen=len(_unb64(expected)),
            )  # fmt: skip
        except (ValueError, TypeError):
            return False
        return hmac.compare_digest(digest, _unb64(expected))
    # Compare digests so neither the length nor the content of a plain password leaks.
    return hmac.compare_digest(
        hashlib.sha256(stored.encode()).digest(), hashlib.sha256(given.encode()).digest()
    )


# A hash no password matches in practice, checked for unknown user names so they cost
# as much as known ones.
_DUMMY = hash_password(secrets.token_urlsafe(24))


class RateLimit:
    """At most ``limit`` events per ``seconds`` for each key (a moving window)."""

    def __init__(self, limit: int, seconds: float) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError(f"A rate limit needs limit >= 1 and seconds > 0; got {limit}, {seconds}.")
        self.item = RateLimitItemPerSecond(limit, max(1, round(seconds)))
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, key: str) -> bool:
        """Count one event for ``key``; False (and not counted) when the limit is reached."""
        return self._limiter.hit(self.item, key)

    def full(self, key: str) -> bool:
        return not self._limiter.test(self.item, key)

    def remaining(self, key: str) -> int:
        return self._limiter.get_window_stats(self.item, key).remaining

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may have one more event (0 when it may now)."""
        if not self.full(key):
            return 0.0
        return max(0.0, self._limiter.get_window_stats(self.item, key).reset_time - time.time())

    def clear(self, key: str) -> None:
        self._limiter.clear(self.item, key)


class LoginGuard:
    """Checks staff sign-ins. Every attempt takes a slot of a moving window, both for the
    user name and for the client address, before the password is checked, so parallel
    guesses are counted too; a right password frees the slots. A failed attempt is
    answered only after ``failure_delay`` seconds. When either window is full, sign-in
    is refused without checking the password until the oldest attempt ages out.
    """

    def __init__(
        self,
        users: dict[str, str],
        max_failures: int = 5,
        lock_seconds: float = 900,
        failure_delay: float = 1.0,
    ) -> None:
        self.users = dict(users)
        self.max_failures = max_failures
        self.failure_delay = failure_delay
        self.attempts = RateLimit(max_failures, lock_seconds)

    def _keys(self, user: str, address: str) -> tuple[str, str]:
        return "user:" + user[:200], "address:" + address

    def locked_for(self, user: str, address: str) -> float:
        """Seconds left on a lock of this user name or this address (0: not locked)."""
        return max(self.attempts.retry_after(k) for k in self._keys(user, address))

    async def check(self, user: str, password: str, address: str) -> bool:
        """True for a right password.

        Raises:
            LoginLockedError: too many failed attempts for this user name or address.
        """
        started = time.monotonic()
        keys = self._keys(user, address)
        wait = self.locked_for(user, address)
        if wait > 0:
            logger.info("Refused a staff sign-in while locked: user %r from %s", user[:200], address)
            raise LoginLockedError(wait)
        for key in keys:  # no await in between: concurrent attempts each take a slot
            self.attempts.hit(key)
        fills = any(self.attempts.full(key) for key in keys)  # this attempt is the last allowed
        stored = self.users.get(user)
        ok = await asyncio.to_thread(verify_password, stored if stored is not None else _DUMMY, password)
        if ok and stored is not None:
            for key in keys:
                self.attempts.clear(key)
            return True
        if fills:
            logger.warning(
                "Staff sign-in locked for %.0f minutes after %d failed attempts: user %r from %s",
                self.attempts.item.get_expiry() / 60,
                self.max_failures,
                user[:200],
                address,
            )
        # Every failure takes the same time, whatever the user name or hash kind.
        await asyncio.sleep(max(0.0, self.failure_delay - (time.monotonic() - started)))
        return False


def session_store(minutes: float, max_sessions: int = 10_000) -> MutableMapping[str, str]:
    """Session token -> user name; each entry is forgotten ``minutes`` after sign-in."""
    if minutes <= 0:
        raise ValueError(f"A staff session must last more than 0 minutes; got {minutes}.")
    return TTLCache(maxsize=max_sessions, ttl=minutes * 60)


#: The address of the client whose request is being handled, as the server reports it
#: (after the proxy headers it trusts). Gradio calls the sign-in check with the user name
#: and password only; this is how the check learns where the attempt comes from.
client_address: ContextVar[str] = ContextVar("client_address", default="unknown")


def address_behind(peer: str, forwarded: Sequence[str], trusted: Sequence[IPv4Network | IPv6Network]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted reverse proxy, the
    last address of its ``X-Forwarded-For`` headers that is not itself a trusted proxy
    (anything further left was written by the client)."""

    def is_trusted(address: str) -> bool:
        try:
            found = ip_address(address)
        except ValueError:
            return False
        return any(found in network for network in trusted)

    if not trusted or not is_trusted(peer):
        return peer
    hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else peer


class ClientAddressMiddleware:
    """ASGI middleware that sets ``client_address`` for each HTTP request: the peer's
    address, or, when the peer is a trusted reverse proxy (``KB_TRUSTED_PROXIES``), the
    address its ``X-Forwarded-For`` names: the last one not itself a trusted proxy, since
    anything further left was written by the client."""

    def __init__(self, app, trusted: Sequence[IPv4Network | IPv6Network] = ()) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    def address(self, scope) -> str:
        client = scope.get("client")
        forwarded = [v.decode("latin-1") for n, v in scope.get("headers", []) if n == b"x-forwarded-for"]
        return address_behind(str(client[0]) if client else "unknown", forwarded, self.trusted)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = client_address.set(self.address(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            client_address.reset(token)


class SearchLimitMiddleware:
    """ASGI middleware: at most ``per_minute`` searches per client address through the
    plain route (``/api/search``) and the MCP tools (``POST /gradio_api/mcp/...``); beyond
    that, 429 with ``Retry-After``. ``per_minute`` 0 turns it off. Runs inside
    ``ClientAddressMiddleware``, which says whose request it is."""

    def __init__(self, app, per_minute: int) -> None:
        self.app = app
        self.limit = RateLimit(per_minute, 60) if per_minute > 0 else None
        self.per_minute = per_minute

    @staticmethod
    def counted(scope) -> bool:
        path = re.sub(r"/+", "/", scope.get("path", ""))
        return path.rstrip("/") == "/api/search" or (
            scope.get("method") == "POST" and path.startswith("/gradio_api/mcp")
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.limit is None or not self.counted(scope):
            await self.app(scope, receive, send)
            return
        address = client_address.get()
        if self.limit.hit(address):
            await self.app(scope, receive, send)
            return
        wait = int(self.limit.retry_after(address)) + 1
        detail = (
            f"Too many searches from your address: at most {self.per_minute} a minute. Try again in {wait} s."
        )
        body = json.dumps({"detail": detail}).encode()
        await send({
            "type": "http.response.start", "status": 429,
            "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(wait).encode()),
            ],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": body})


#: Sent with every page and answer that sets none of its own: the pages may run the scripts
#: and styles this app serves (gradio's pages need inline ones and ``eval``: its
#: configuration is an inline script and event handlers are compiled in the page), talk
#: only to this app, and be framed only by themselves. docs/RELIABILITY.md says why each.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; frame-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


class FramingMiddleware:
    """ASGI middleware: no other site may frame any page of the app (clickjacking the
    staff page's Remove button, say). Adds ``X-Frame-Options: SAMEORIGIN`` and, where a
    response sets no Content-Security-Policy of its own, ``PAGE_POLICY``; one that does
    (the viewer, a document's file) gets ``frame-ancestors 'self'`` added if it lacks it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != b"x-frame-options"]
                policies = [v for n, v in headers if n.lower() == b"content-security-policy"]
                if not policies:
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                elif not any(b"frame-ancestors" in v for v in policies):
                    headers = [
                        (n, v + b"; frame-ancestors 'self'" if n.lower() == b"content-security-policy" else v)
                        for n, v in headers
                    ]
                headers.append((b"x-frame-options", b"SAMEORIGIN"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class UploadOnlyUnder:
    """ASGI middleware: gradio's upload route answers 404 except under ``prefix`` (the
    staff page, behind its login). The public page has no file input, so an upload there
    could only be someone filling the server's disk."""

    def __init__(self, app, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path = re.sub(r"/+", "/", scope.get("path", "")).rstrip("/")
            if path.endswith("/gradio_api/upload") and not path.startswith(self.prefix):
                body = b'{"detail":"Not Found"}'
                await send({
                    "type": "http.response.start", "status": 404,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                })  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def main(argv: list[str] | None = None) -> int:
    """``python -m kb.web.auth hash``: read a password twice (not echoed), print its hash."""
    import argparse
    import getpass
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m kb.web.auth", description="Make a password hash for KB_STAFF_FILE (user:hash)."
    )
    parser.add_argument("command", choices=["hash"])
    parser.parse_args(argv)
    password = getpass.getpass("New staff password: ")
    if len(password) < 10:
        print("error: use at least 10 characters.", file=sys.stderr)
        return 2
    if getpass.getpass("Again: ") != password:
        print("error: the two passwords differ; nothing was made.", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
