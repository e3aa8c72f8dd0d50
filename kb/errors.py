"""Errors the library raises. Each message says what happened and what to do."""

from __future__ import annotations

import math


class KBError(Exception):
    """Base class for every error this library raises on purpose."""


class DocumentError(KBError):
    """A source document could not be read (corrupt, encrypted, empty, scanned, wrong type)."""


class QueryError(KBError):
    """A query or its options are not acceptable (empty, too long, k out of range)."""


class IndexNotFoundError(KBError):
    """There is no built index in the index folder."""


class IndexMismatchError(KBError):
    """The index was built differently (another model or format) from what is configured."""


class IndexFormatError(IndexMismatchError):
    """The index was written by another version of this program; an ingest rebuilds it."""


class IngestLockedError(KBError):
    """Another ingest holds the lock on the index folder."""


class IndexDamagedError(KBError):
    """A generation's files are missing or unreadable."""


class LoginLockedError(KBError):
    """Too many failed staff sign-ins for a user name or a client address."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins for this account or address; sign-in is locked. "
            f"Wait {minutes} minute{'s' if minutes != 1 else ''} and try again, or ask an administrator."
        )


class DiskFullError(KBError, OSError):
    """No room on the disk to write the index (or the embedding cache); nothing was switched,
    so the previous index stays in service. Also an OSError, as the failure it reports."""


class IndexUnavailableError(KBError):
    """The index's database cannot be reached right now (down, restarting, network); the
    request may succeed a moment later. The web app answers 503 with this message."""
