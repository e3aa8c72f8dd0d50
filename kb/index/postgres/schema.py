"""The tables, and the one-time setup an administrator runs.

Shared tables live in one schema per collection (``Settings.pg_schema``, default ``kb``)::

    kb.generations   one row per complete generation: name, its schema, manifest, glossary,
                     keyword statistics; a row exists only once the generation is whole
    kb.pointer       one row: the generation in service (switched in the same transaction
                     that writes the generation)
    kb.embeddings    the embedding cache every ingest worker shares: key -> float32 bytes
    kb.votes         helpful / not helpful votes
    kb.questions     the question log, masked (kb/index/questions.py)
    kb.golden_questions  golden questions staff wrote from real questions
    kb.golden_checks the golden questions' figures after each ingest (JSON), newest last
    kb.ingest_reports each ingest's report (JSON), newest last
    kb.ingest_tasks  the documents an ingest hands out to its workers (kb/index/postgres/tasks.py)

Each generation is a schema of its own, ``kb_g<number>``: documents, passages (with their
vectors), sentences, headings and terms (BM25 postings). Pruning drops the schema.

Sentence vectors, five or so per passage and most of the bytes, are ``halfvec`` (half
precision): half the disk and cache at a cost of about 1e-4 in a cosine. They are read back
as ``vector`` and their cosines computed in single precision against the query.
"""

from __future__ import annotations

import argparse
import sys

import psycopg
from psycopg import sql

from kb.errors import KBError
from kb.index.location import redact
from kb.index.postgres import tasks
from kb.index.postgres.connection import READER_ROLE, WRITER_ROLE, role_exists

#: Oldest server and extension versions the backend is tested to work with.
MIN_SERVER_VERSION = 150000
MIN_PGVECTOR = (0, 8)


#: The table of each history log (``IndexBackend.history``).
HISTORY_TABLES = {"golden": "golden_checks", "ingests": "ingest_reports"}


def shared_tables(schema: str) -> sql.Composed:
    s = sql.Identifier(schema)
    return sql.SQL(
        """
        CREATE TABLE IF NOT EXISTS {s}.generations (
            name text PRIMARY KEY,
            schema_name text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now(),
            passages integer NOT NULL,
            manifest jsonb NOT NULL,
            glossary text,
            lexical jsonb NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.pointer (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            generation text NOT NULL REFERENCES {s}.generations (name),
            switched_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS {s}.embeddings (
            key text PRIMARY KEY,
            vector bytea NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.votes (
            id bigserial PRIMARY KEY,
            question text NOT NULL,
            passage_id text NOT NULL,
            vote text NOT NULL,
            at text NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.questions (
            id bigserial PRIMARY KEY,
            at text NOT NULL,
            door text NOT NULL,
            reason text NOT NULL,
            urgent boolean NOT NULL,
            question text NOT NULL,
            passages jsonb NOT NULL,
            vote text,
            handled text);
        CREATE INDEX IF NOT EXISTS questions_at ON {s}.questions (at);
        CREATE TABLE IF NOT EXISTS {s}.golden_questions (
            id text PRIMARY KEY,
            record jsonb NOT NULL,
            added bigserial);
        CREATE TABLE IF NOT EXISTS {s}.golden_checks (
            id bigserial PRIMARY KEY,
            record jsonb NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.ingest_reports (
            id bigserial PRIMARY KEY,
            record jsonb NOT NULL);
        CREATE SEQUENCE IF NOT EXISTS {s}.generation_numbers;
        """
    ).format(s=s) + tasks.tables(schema)


def generation_tables(schema: str, dimension: int) -> sql.Composed:
    s, d = sql.Identifier(schema), sql.Literal(dimension)
    return sql.SQL(
        """
        CREATE SCHEMA {s};
        CREATE TABLE {s}.documents (
            source text PRIMARY KEY, title text NOT NULL, kind text NOT NULL, pages integer,
            sha256 text NOT NULL, size bigint NOT NULL, passages integer NOT NULL,
            ingested_at text NOT NULL, notice text);
        CREATE TABLE {s}.passages (
            row integer PRIMARY KEY, id text NOT NULL, source text NOT NULL, title text NOT NULL,
            page integer, section text, start integer NOT NULL, end_ integer NOT NULL,
            text text NOT NULL, heading integer NOT NULL, embedding vector({d}) NOT NULL);
        CREATE TABLE {s}.sentences (
            row integer PRIMARY KEY, passage_row integer NOT NULL, start integer NOT NULL,
            end_ integer NOT NULL, words integer NOT NULL, question boolean NOT NULL,
            embedding halfvec({d}) NOT NULL);
        CREATE TABLE {s}.headings (row integer PRIMARY KEY, embedding vector({d}) NOT NULL);
        CREATE TABLE {s}.terms (
            stem text PRIMARY KEY, best real NOT NULL, rows bytea NOT NULL, weights bytea NOT NULL);
        -- A passage's vector stays in its row (its text may move out of line): the cosines of
        -- candidates read one page each, not a row and then a TOAST chunk (pgvector's advice).
        ALTER TABLE {s}.passages ALTER COLUMN embedding SET STORAGE PLAIN;
        -- Postings are read whole and are already compact: stored uncompressed, read fast.
        ALTER TABLE {s}.terms ALTER COLUMN rows SET STORAGE EXTERNAL,
                              ALTER COLUMN weights SET STORAGE EXTERNAL;
        """
    ).format(s=s, d=d)


def generation_indexes(schema: str) -> sql.Composed:
    s = sql.Identifier(schema)
    return sql.SQL(
        """
        CREATE INDEX ON {s}.passages (source);
        CREATE INDEX ON {s}.sentences (passage_row);
        """
    ).format(s=s)


def grant_reading(conn: psycopg.Connection, *schemas: str, votes_in: str | None = None) -> None:
    """Let the reader role read these schemas (and add votes), where that role exists."""
    if not role_exists(conn, READER_ROLE):
        return
    reader = sql.Identifier(READER_ROLE)
    for schema in schemas:
        s = sql.Identifier(schema)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, reader))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(s, reader))
    if votes_in:
        s = sql.Identifier(votes_in)
        conn.execute(sql.SQL("GRANT INSERT ON {}.votes TO {}").format(s, reader))
        conn.execute(sql.SQL("GRANT USAGE ON SEQUENCE {}.votes_id_seq TO {}").format(s, reader))
        # The question log: the app writes it, sets votes on it and deletes what is too old.
        conn.execute(sql.SQL("GRANT INSERT, UPDATE, DELETE ON {}.questions TO {}").format(s, reader))
        conn.execute(sql.SQL("GRANT USAGE ON SEQUENCE {}.questions_id_seq TO {}").format(s, reader))
        # Staff write golden questions from the staff page, which reads with this role.
        conn.execute(sql.SQL("GRANT INSERT, UPDATE, DELETE ON {}.golden_questions TO {}").format(s, reader))
        conn.execute(sql.SQL("GRANT USAGE ON SEQUENCE {}.golden_questions_added_seq TO {}").format(s, reader))


def check_server(conn: psycopg.Connection) -> None:
    """Refuse a server or pgvector older than the backend needs, saying what is there."""
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        raise KBError(f"PostgreSQL {version // 10000} found; PostgreSQL 15 or later is needed.")
    found = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    if found is None:
        raise KBError("pgvector is not installed in this database.")
    have = tuple(int(x) for x in found[0].split(".")[:2])
    if have < MIN_PGVECTOR:
        raise KBError(f"pgvector {found[0]} found; pgvector 0.8 or later is needed.")


def setup(
    admin_url: str,
    app_user: str | None,
    app_password: str | None,
    ingest_user: str | None,
    ingest_password: str | None,
) -> list[str]:
    """Once per database, as an administrator: the pgvector extension, the two group roles
    (reader, writer), the writer's right to create schemas, and optionally a login role for
    the app (a reader) and one for ingest (a writer). Safe to run again.

    Returns:
        What was done, one line each.
    """
    done = []
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        check_server(conn)
        done.append(f"pgvector ready in {redact(admin_url)}")
        try:  # optional (contrib): new generations are read into memory before they serve
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except psycopg.Error as exc:
            done.append(f"pg_prewarm not available ({exc.sqlstate}): a new generation's first searches read from disk")
        for role in (READER_ROLE, WRITER_ROLE):
            if not role_exists(conn, role):
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                done.append(f"created group role {role}")
        database = sql.Identifier(conn.info.dbname)
        writer, reader = sql.Identifier(WRITER_ROLE), sql.Identifier(READER_ROLE)
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(database, reader, writer))
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(database, writer))
        # A writer can read what it wrote and what other writers wrote.
        conn.execute(sql.SQL("GRANT {} TO {}").format(reader, writer))
        for user, password, group in (
            (app_user, app_password, READER_ROLE),
            (ingest_user, ingest_password, WRITER_ROLE),
        ):
            if not user:
                continue
            name = sql.Identifier(user)
            if not role_exists(conn, user):
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
                done.append(f"created login role {user}")
            if password:
                conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))
            if not member_of_role(conn, user, group):
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), name))
            done.append(f"{user} is a member of {group}")
    return done


def member_of_role(conn: psycopg.Connection, user: str, group: str) -> bool:
    return bool(conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (user, group)).fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kb.index.postgres",
        description="Prepare a PostgreSQL database (15+, with pgvector 0.8+) for the knowledge base.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("setup", help="extension, roles and rights; run once as an administrator")
    init.add_argument("--admin-url", required=True, help="a superuser's (or the database owner's) URL")
    init.add_argument("--app-user", help="create this login role for the app (it can only read)")
    init.add_argument("--ingest-user", help="create this login role for ingest (it can write)")
    args = parser.parse_args(argv)
    import os

    try:
        lines = setup(
            args.admin_url,
            args.app_user,
            os.environ.get("KB_APP_DB_PASSWORD"),
            args.ingest_user,
            os.environ.get("KB_INGEST_DB_PASSWORD"),
        )
    except (psycopg.Error, KBError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
