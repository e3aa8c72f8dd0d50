"""Connections to the index database: the only place that opens them, hides the password
in what is shown, bounds every wait, and turns "the database is away" into one error.

Every connection registers pgvector's types (vectors travel as binary float32) and has a
connect timeout and a statement timeout, so a database that hangs or goes away fails a
request within a bounded time instead of holding it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from kb.errors import IndexUnavailableError, KBError
from kb.index.location import redact

#: Seconds to wait for a connection to open.
CONNECT_TIMEOUT = 5
#: Longest a reader's statement may run (the app answers 503 rather than hang).
READ_STATEMENT_TIMEOUT_MS = 10_000
#: The group roles the setup creates: members of the first may only read the index (the
#: app, and it may add votes); members of the second write it (ingest).
READER_ROLE = "kb_reader"
WRITER_ROLE = "kb_writer"

UNAVAILABLE = (
    "Search is unavailable for a moment: the index database cannot be reached ({why}). Try again shortly."
)


def explain(exc: BaseException, url: str) -> str:
    """The cause in ``exc``'s message, one line, with any trace of the password removed."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    password = psycopg.conninfo.conninfo_to_dict(url).get("password") if url else None
    if password:
        text = text.replace(str(password), "***")
    return text[:300]


def unavailable(exc: BaseException, url: str) -> IndexUnavailableError:
    return IndexUnavailableError(UNAVAILABLE.format(why=explain(exc, url)))


#: What the server says when it is up but will not let this user in: not "for a moment".
REFUSED = ("password authentication failed", "does not exist", "no pg_hba.conf entry")

#: What psycopg raises when the server is down, restarting, unreachable or cut off.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (psycopg.OperationalError, psycopg.InterfaceError)


@contextmanager
def translated(url: str) -> Iterator[None]:
    """Turn connection failures inside the block into ``IndexUnavailableError``."""
    from psycopg_pool import PoolTimeout

    try:
        yield
    except (PoolTimeout, *CONNECTION_ERRORS) as exc:
        raise unavailable(exc, url) from None


def connect(url: str, *, writer: bool = False, autocommit: bool = True) -> psycopg.Connection:
    """A configured connection.

    Raises:
        IndexUnavailableError: the server cannot be reached.
        KBError: pgvector is not installed in the database.
    """
    try:
        conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, autocommit=True)
    except CONNECTION_ERRORS as exc:
        why = explain(exc, url)
        if any(words in why for words in REFUSED):
            raise KBError(
                f"The database refused the sign-in to {redact(url)} ({why}). Check the user and "
                "password in the database URL (KB_DATABASE_URL / KB_INGEST_DATABASE_URL)."
            ) from None
        raise unavailable(exc, url) from None
    configure(conn, writer=writer)
    conn.autocommit = autocommit
    return conn


def configure(conn: psycopg.Connection, *, writer: bool = False) -> None:
    """Register pgvector's types and set the session up as a reader or a writer. A writer
    acts as the writer group role, when there is one, so every object it creates belongs to
    that role (any member can prune it later)."""
    try:
        register_vector(conn)
    except psycopg.ProgrammingError:
        raise KBError(
            "The database has no pgvector extension. Run the setup once as an administrator: "
            "python -m kb.index.postgres setup --admin-url postgresql://postgres@HOST/DB"
        ) from None
    if writer:
        if role_exists(conn, WRITER_ROLE) and member_of(conn, WRITER_ROLE):
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(WRITER_ROLE)))
    else:
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(READ_STATEMENT_TIMEOUT_MS)))
    if not conn.autocommit:
        conn.commit()


def role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def member_of(conn: psycopg.Connection, role: str) -> bool:
    return bool(conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (role,)).fetchone()[0])
