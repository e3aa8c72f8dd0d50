"""Writing a generation into Postgres: one transaction from the first table to the switch.

The generation's schema, its rows (COPY, binary), its HNSW index and the BM25 postings are
written, counted back, granted to the reader role, recorded in ``generations`` and named
in ``pointer``, all in one transaction. Until it commits no other session sees any of it;
if the process is killed or the connection is lost, the server rolls all of it back, so
there is never a half-written generation to see or to clean up, and the generation in
service stays. Readers that look at the pointer see the old generation or the new one,
never a mix.
"""

from __future__ import annotations

import json
import time

import numpy as np
import psycopg
from pgvector import HalfVector
from psycopg import sql

from kb.errors import IndexDamagedError
from kb.index.base import (
    FORMAT_VERSION,
    IndexPlan,
    NewGeneration,
    heading_text,
    heading_texts,
    new_generation_name,
    sentence_table,
)
from kb.index.postgres import schema as tables

#: pgvector's HNSW build parameters. ef_construction is above pgvector's 64: at 1,000,000
#: generated passages 64 reached recall@10 0.834 at ef_search 400 and 200 reached 0.960
#: (0.986 at 800), for twice the build time; m 32 with ef_construction 128 did worse
#: (0.940) and built slower (docs/BENCHMARKS.md).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
#: The least memory an HNSW build is given (maintenance_work_mem, for its transaction only).
BUILD_MEMORY_MB = 2048


def build_memory_mb(n: int, dimension: int) -> int:
    """maintenance_work_mem for an HNSW build of ``n`` vectors: room for the whole graph
    (the vector, about 2·m neighbours per element and pgvector's bookkeeping). A graph that
    outgrows it is finished on disk, several times slower (pgvector logs "hnsw graph no
    longer fits into maintenance_work_mem")."""
    per_element = 4 * dimension + 2 * HNSW_M * 16 + 512
    return max(BUILD_MEMORY_MB, -(-n * per_element // 2**20))


def hnsw_plan(n: int, setting: str, full_scan_passages: int) -> IndexPlan:
    """The passages' vector index in Postgres: none (an exact scan; small collections are
    scored whole from memory anyway) up to ``full_scan_passages``, HNSW above. "Flat" asks
    for exact search at any size; any other FAISS setting means HNSW here. ``ef_search`` is
    not part of the plan: it is a query-time setting (``Settings.pg_ef_search``), changed
    without writing a new generation."""
    setting = setting.strip()
    if setting.lower() == "flat" or (setting.lower() == "auto" and n <= full_scan_passages):
        why = "set to 'Flat'" if setting.lower() == "flat" else f"{n:,} passages are scored whole"
        return IndexPlan(
            "exact", exact=True, chosen_by="setting" if setting.lower() == "flat" else "auto", reason=why
        )
    params = {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION}
    reason = f"{n:,} passages: pgvector HNSW, searched with KB_PG_EF_SEARCH (raised to the search's depth)"
    if setting.lower() != "auto":
        reason += f"; {setting!r} was set, which Postgres serves with HNSW"
    return IndexPlan(
        "hnsw",
        params,
        exact=False,
        chosen_by="auto" if setting.lower() == "auto" else "setting",
        reason=reason,
    )


def write(conn: psycopg.Connection, shared: str, new: NewGeneration, seconds: dict | None = None) -> str:
    """Write ``new`` and switch to it, in one transaction on ``conn`` (not in autocommit).
    ``seconds``, when given, gets the time each step took (for the benchmarks).

    Returns:
        The generation's name.

    Raises:
        IndexDamagedError: what was written did not count back whole (nothing switched).
    """
    from kb.index.lexical import LexicalIndex

    name = new_generation_name()
    manifest = {**new.manifest, "format": FORMAT_VERSION, "generation": name}
    dimension = (
        int(new.passage_vectors.shape[1]) if new.passage_vectors.ndim == 2 else int(manifest["dimension"])
    )
    clock = _Steps(seconds if seconds is not None else {})
    lexical = LexicalIndex.build([p.embedding_text for p in new.passages])
    clock.lap("bm25")
    with conn.transaction():
        sequence = sql.Identifier(shared, "generation_numbers").as_string(conn)
        number = conn.execute("SELECT nextval(%s::regclass)", (sequence,)).fetchone()[0]
        schema = f"{shared}_g{number}"
        s = sql.Identifier(schema)
        conn.execute(tables.generation_tables(schema, dimension))
        _copy_rows(conn, s, new)
        clock.lap("copy rows")
        terms = _copy_terms(conn, s, lexical)
        clock.lap("copy postings")
        conn.execute(tables.generation_indexes(schema))
        clock.lap("row indexes")
        if not new.plan.exact:
            memory = f"{build_memory_mb(len(new.passages), dimension)}MB"
            conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(memory)))
            params = new.plan.search_params
            conn.execute(
                sql.SQL(
                    "CREATE INDEX ON {}.passages USING hnsw (embedding vector_ip_ops) "
                    "WITH (m = {}, ef_construction = {})"
                ).format(s, sql.Literal(params["m"]), sql.Literal(params["ef_construction"]))
            )
            clock.lap("hnsw")
        _check_counts(conn, s, new, terms)
        conn.execute(sql.SQL("ANALYZE {}.passages").format(s))
        conn.execute(sql.SQL("ANALYZE {}.sentences").format(s))
        clock.lap("check and analyze")
        prewarm(conn, schema)
        clock.lap("prewarm")
        tables.grant_reading(conn, schema)
        stats = {"size": lexical.size, "rarest": lexical.rarest, "surface": lexical.surface}
        sh = sql.Identifier(shared)
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.generations (name, schema_name, passages, manifest, glossary, lexical) "
                "VALUES (%s, %s, %s, %s, %s, %s)"
            ).format(sh),
            (name, schema, len(new.passages), json.dumps(manifest), new.glossary, json.dumps(stats)),
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.pointer (one, generation) VALUES (true, %s) "
                "ON CONFLICT (one) DO UPDATE SET generation = EXCLUDED.generation, switched_at = now()"
            ).format(sh),
            (name,),
        )
    clock.lap("switch")
    return name


def prewarm(conn: psycopg.Connection, schema: str) -> int:
    """Read a new generation's vector index, row indexes and tables into shared buffers
    (pg_prewarm), while they fit in three quarters of them: bulk writes bypass shared
    buffers, so without it the first searches after the switch read every page from disk.
    The HNSW graph comes first, then the row indexes, then the passages, headings and
    sentences. Returns the blocks read; 0 where pg_prewarm is not installed."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'").fetchone() is None:
        return 0
    room = conn.execute("SELECT pg_size_bytes(current_setting('shared_buffers')) * 3 / 4").fetchone()[0]
    relations = conn.execute(
        "SELECT c.oid::regclass::text, pg_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_am a ON a.oid = c.relam "
        "JOIN pg_class t ON t.oid = coalesce((SELECT indrelid FROM pg_index WHERE indexrelid = c.oid), c.oid) "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'i') "
        "AND t.relname IN ('passages', 'sentences', 'headings') "
        "ORDER BY a.amname = 'hnsw' DESC NULLS LAST, c.relkind = 'i' DESC, c.relname",
        (schema,),
    ).fetchall()
    blocks = 0
    for relation, size in relations:
        if size > room:
            break
        blocks += conn.execute("SELECT pg_prewarm(%s::regclass)", (relation,)).fetchone()[0]
        room -= size
    return blocks


class _Steps:
    def __init__(self, seconds: dict) -> None:
        self.seconds, self._last = seconds, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._last
        self._last = now


def _copy_rows(conn: psycopg.Connection, s: sql.Identifier, new: NewGeneration) -> None:
    # FREEZE (the tables were made in this transaction): rows are written already frozen and
    # all-visible, so neither the first searches (hint bits) nor a later vacuum rewrite the
    # pages of a generation that never changes. At 1M passages it did not change `answer`'s
    # time measurably (docs/BENCHMARKS.md).
    with conn.cursor() as cur:
        with cur.copy(
            sql.SQL(
                "COPY {}.documents (source, title, kind, pages, sha256, size, passages, ingested_at, notice) "
                "FROM STDIN WITH (FREEZE)"
            ).format(s)
        ) as copy:
            for d in new.documents:
                copy.write_row(
                    (
                        d.source,
                        d.title,
                        d.kind,
                        d.pages,
                        d.sha256,
                        d.size,
                        d.passages,
                        d.ingested_at,
                        d.notice,
                    )
                )
        headings = {h: i for i, h in enumerate(heading_texts(new.passages))}
        with cur.copy(
            sql.SQL(
                "COPY {}.passages (row, id, source, title, page, section, start, end_, text, heading, embedding) "
                "FROM STDIN WITH (FORMAT BINARY, FREEZE)"
            ).format(s)
        ) as copy:
            copy.set_types(
                ["int4", "text", "text", "text", "int4", "text", "int4", "int4", "text", "int4", "vector"]
            )
            for row, (p, v) in enumerate(zip(new.passages, new.passage_vectors, strict=True)):
                heading = headings[heading_text(p.title, p.section)]
                copy.write_row(
                    (row, p.id, p.source, p.title, p.page, p.section, p.start, p.end, p.text, heading, v)
                )
        with cur.copy(
            sql.SQL(
                "COPY {}.sentences (row, passage_row, start, end_, words, question, embedding) "
                "FROM STDIN WITH (FORMAT BINARY, FREEZE)"
            ).format(s)
        ) as copy:
            copy.set_types(["int4", "int4", "int4", "int4", "int4", "bool", "halfvec"])
            table = sentence_table(new.passages)
            halves = np.asarray(new.sentence_vectors, dtype=np.float16)
            for row, ((passage_row, start, end, text), v) in enumerate(zip(table, halves, strict=True)):
                question = text.rstrip().endswith("?")
                copy.write_row((row, passage_row, start, end, len(text.split()), question, HalfVector(v)))
        with cur.copy(
            sql.SQL("COPY {}.headings (row, embedding) FROM STDIN WITH (FORMAT BINARY, FREEZE)").format(s)
        ) as copy:
            copy.set_types(["int4", "vector"])
            for row, v in enumerate(new.heading_vectors):
                copy.write_row((row, v))


def _copy_terms(conn: psycopg.Connection, s: sql.Identifier, lexical) -> int:
    count = 0
    with (
        conn.cursor() as cur,
        cur.copy(
            sql.SQL("COPY {}.terms (stem, best, rows, weights) FROM STDIN WITH (FORMAT BINARY, FREEZE)").format(s)
        ) as copy,
    ):
        copy.set_types(["text", "float4", "bytea", "bytea"])
        for stem, best, rows, weights in lexical.postings():
            copy.write_row(
                (stem, best, np.ascontiguousarray(rows).tobytes(), np.ascontiguousarray(weights).tobytes())
            )
            count += 1
    return count


def _check_counts(conn: psycopg.Connection, s: sql.Identifier, new: NewGeneration, terms: int) -> None:
    expected = {
        "documents": len(new.documents),
        "passages": len(new.passages),
        "sentences": sum(len(p.sentences) for p in new.passages),
        "headings": len(heading_texts(new.passages)),
        "terms": terms,
    }
    found = {
        table: conn.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(s, sql.Identifier(table))
        ).fetchone()[0]
        for table in expected
    }
    if found != expected:
        raise IndexDamagedError(
            f"The new index generation counted back incomplete ({found}; expected {expected}); it was "
            "discarded and the previous index stays in service. Run the ingest again."
        )
