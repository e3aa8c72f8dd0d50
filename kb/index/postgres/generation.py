"""One generation in Postgres, open for reading: what the search asks of it, in SQL.

- Nearest passages: pgvector's HNSW index (``ORDER BY embedding <#> q``; inner product of
  unit vectors is the cosine), or an exact scan when the plan has no index.
- Keywords: BM25 from the postings the ingest computed with the same parameters as the
  files backend (``terms``: each stem's passage rows and weights); a query's stems'
  postings are summed per row exactly as bm25s sums them. The postings read most recently
  are kept in memory, up to ``Settings.pg_postings_cache_mb`` per generation.
- Passages, sentences and headings by row.

A small collection (up to ``Settings.full_scan_passages`` passages) is mirrored in memory
when opened, a few MB: the search then scores every passage, as on files, and only the
keyword postings and the shown passages are read per query. A generation never changes
once written, so the mirror cannot go stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from kb.errors import IndexUnavailableError
from kb.index import lexical
from kb.index.base import (
    MIN_SENTENCE_WORDS,
    Cosines,
    DocumentRecord,
    Generation,
    Lexical,
    ScoringData,
    by_frequency,
    pick_sentences,
)
from kb.index.postgres.connection import translated
from kb.reading.chunking import Passage


class PostgresGeneration(Generation):
    def __init__(
        self,
        pool: ConnectionPool,
        url: str,
        record: tuple,
        full_scan_passages: int,
        ef_search: int,
        postings_cache_bytes: int = 0,
    ) -> None:
        name, schema, passages, manifest, glossary, lexical_stats = record
        self.name = name
        self.schema = schema
        self.manifest = manifest
        self.glossary_text = glossary
        self._pool, self._url = pool, url
        self._count = int(passages)
        self._ef_search = ef_search or auto_ef_search(self._count)
        self._s = sql.Identifier(schema)
        self._postings = _PostingsCache(postings_cache_bytes)
        self.lexical = PostgresLexical(self, lexical_stats)
        self._mirror: ScoringData | None = None
        if self._count <= full_scan_passages:
            self._mirror = self._load_mirror()

    # --- what the search reads -----------------------------------------------------------
    @property
    def passage_count(self) -> int:
        return self._count

    @property
    def exact(self) -> bool:
        return self._mirror is not None

    def nearest_passages(self, vector: np.ndarray, depth: int) -> np.ndarray:
        if self._mirror is not None:
            cosines = self._mirror.passage_vectors @ vector
            found = np.argsort(-cosines, kind="stable")[:depth]
            return np.pad(found, (0, depth - len(found)), constant_values=-1)
        query = sql.SQL("SELECT row FROM {}.passages ORDER BY embedding <#> %s LIMIT %s").format(self._s)
        with self._connection() as conn, conn.transaction():
            # ef_search caps how many rows an HNSW scan returns: never fewer than asked for.
            ef = sql.Literal(max(self._ef_search, depth))
            conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(ef))
            rows = [r for (r,) in conn.execute(query, (np.asarray(vector, np.float32), depth), prepare=False)]
        return np.array(rows + [-1] * (depth - len(rows)), dtype=np.int64)

    def scoring_data(self, rows: np.ndarray | None) -> ScoringData:
        if self._mirror is not None:
            return _subset(self._mirror, rows)
        return self._read_scoring_data(rows)

    def cosines(self, vector: np.ndarray, rows: np.ndarray | None) -> Cosines:
        if self._mirror is not None:
            return Cosines.of(_subset(self._mirror, rows), vector)
        # Computed where the vectors are: only numbers travel, never the vectors.
        wanted = (np.arange(self._count) if rows is None else np.asarray(rows, dtype=np.int64)).tolist()
        query = np.asarray(vector, dtype=np.float32)
        # The two reads go to two server processes at once (each reads its own pages). This
        # thread gives its connection back before it waits: no search holds one while it waits
        # for another, so a full pool only queues, it never deadlocks.
        sentences = _SIDE.submit(self._fetch_one, _COSINES["sentences"], (query, wanted))
        p_rows, p_cos, h_cos = self._fetch_one(_COSINES["passages"], (query, wanted))
        s_owner, s_words, s_question, s_cos = sentences.result()
        order, grouped, offsets, is_statement, is_question = _arrange(wanted, p_rows, s_owner, s_words, s_question)
        # <#> is the negative inner product (pgvector orders by it ascending).
        return Cosines(
            -np.array(p_cos or [], dtype=np.float32)[order],
            -np.array(s_cos or [], dtype=np.float32)[grouped],
            offsets,
            is_statement,
            is_question,
            -np.array(h_cos or [], dtype=np.float32)[order],
        )

    def _read_scoring_data(self, rows: np.ndarray | None) -> ScoringData:
        # Each table's vectors travel as one bytea (pgvector's binary form, end to end) with
        # their row numbers as arrays: three round trips and three numpy views, whatever the
        # number of rows.
        wanted = (np.arange(self._count) if rows is None else np.asarray(rows, dtype=np.int64)).tolist()
        with self._connection() as conn:
            p_rows, p_headings, p_blob = conn.execute(_AGGREGATE["passages"].format(self._s), (wanted,)).fetchone()
            s_owner, s_words, s_question, s_blob = conn.execute(
                _AGGREGATE["sentences"].format(self._s), (wanted,)
            ).fetchone()
            heading_rows = sorted(set(p_headings or []))
            h_rows, h_blob = conn.execute(_AGGREGATE["headings"].format(self._s), (heading_rows,)).fetchone()
        dimension = int(self.manifest["dimension"])
        order, grouped, offsets, is_statement, is_question = _arrange(wanted, p_rows, s_owner, s_words, s_question)
        heading_at = {h: i for i, h in enumerate(h_rows or [])}
        return ScoringData(
            _vectors(p_blob, dimension)[order],
            _vectors(s_blob, dimension)[grouped],
            offsets,
            is_statement,
            is_question,
            _vectors(h_blob, dimension),
            np.array([heading_at[p_headings[i]] for i in order], dtype=np.int64),
        )

    def passages_at(self, rows: Sequence[int]) -> list[Passage]:
        rows = [int(r) for r in rows]
        found = self._passages(sql.SQL("p.row = ANY(%s)"), [rows]) if rows else {}
        return [found[r] for r in rows]

    def passages_of(self, source: str) -> list[Passage]:
        return list(self._passages(sql.SQL("p.source = %s"), [source]).values())

    def texts_mentioning(self, word: str) -> list[tuple[str, str]]:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = sql.SQL("SELECT source, text FROM {}.passages WHERE text ILIKE %s ORDER BY row").format(
            self._s
        )
        with self._connection() as conn:
            return [tuple(r) for r in conn.execute(query, (pattern,)).fetchall()]

    def documents(self) -> list[DocumentRecord]:
        query = sql.SQL(
            "SELECT source, title, kind, pages, sha256, size, passages, ingested_at, notice "
            "FROM {}.documents ORDER BY source"
        ).format(self._s)
        with self._connection() as conn:
            return [DocumentRecord(*r) for r in conn.execute(query).fetchall()]

    # --- inside ----------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        try:
            with translated(self._url), self._pool.connection() as conn:
                yield conn
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            # Pruned under a server that had not switched (one that lagged, or could not
            # open the new generation): a moment's outage for this server, not a crash.
            raise IndexUnavailableError(
                f"The index this server was serving ({self.name}) has been replaced and removed. "
                "It switches to the one in service within seconds; try again."
            ) from None

    def _fetch_one(self, query: sql.SQL, args: tuple) -> tuple:
        with self._connection() as conn:
            return conn.execute(query.format(s=self._s), args).fetchone()

    def _passages(self, where: sql.Composable, args: list) -> dict[int, Passage]:
        query = sql.SQL(
            "SELECT p.row, p.id, p.source, p.title, p.page, p.section, p.start, p.end_, p.text, "
            "ARRAY(SELECT ARRAY[s.start, s.end_] FROM {s}.sentences s WHERE s.passage_row = p.row ORDER BY s.row) "
            "FROM {s}.passages p WHERE {where} ORDER BY p.row"
        ).format(s=self._s, where=where)
        with self._connection() as conn:
            found = conn.execute(query, args).fetchall()
        return {
            r[0]: Passage(*r[1:9], sentences=tuple((int(a), int(b)) for a, b in (r[9] or []))) for r in found
        }

    @property
    def postings_cache_limit(self) -> int:
        return self._postings.limit

    def postings(self, stems: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each stem's rows and BM25 weights; kept ones from memory, the others read."""
        found = self._postings.get_many(set(stems))
        missing = sorted(set(stems) - found.keys())
        if missing:
            query = sql.SQL("SELECT stem, rows, weights FROM {}.terms WHERE stem = ANY(%s)").format(self._s)
            with self._connection() as conn:
                read = conn.execute(query, (missing,), binary=True).fetchall()
            for stem, rows, weights in read:
                found[stem] = (np.frombuffer(rows, dtype=np.int32), np.frombuffer(weights, dtype=np.float32))
                self._postings.put(stem, found[stem])
        return found

    def _load_mirror(self) -> ScoringData:
        return self._read_scoring_data(None)


def auto_ef_search(passages: int) -> int:
    """``hnsw.ef_search`` for a collection of this size: the least that reached recall@10
    0.98 on generated passages (400 at 100,000: 0.988; 800 at 1,000,000: 0.986, where 400
    gave 0.960)."""
    return 400 if passages <= 300_000 else 800


#: At most this many of the commonest stems are read ahead when a generation opens.
_WARM_STEMS = 2_000


class _PostingsCache:
    """Postings by stem, the least recently used dropped past ``limit`` bytes. Shared by the
    searches of one generation (thread-safe); gone with it."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0
        self._kept: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, stems: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        found = {}
        with self._lock:
            for stem in stems & self._kept.keys():
                self._kept.move_to_end(stem)
                found[stem] = self._kept[stem]
        return found

    def put(self, stem: str, postings: tuple[np.ndarray, np.ndarray]) -> None:
        size = postings[0].nbytes + postings[1].nbytes
        if size > self.limit:
            return
        with self._lock:
            if stem in self._kept:
                return
            self._kept[stem] = postings
            self.size += size
            while self.size > self.limit:
                _, (rows, weights) = self._kept.popitem(last=False)
                self.size -= rows.nbytes + weights.nbytes


class PostgresLexical(Lexical):
    """BM25 over the generation's postings; the vocabulary and each stem's best score are
    read once when the generation opens."""

    def __init__(self, generation: PostgresGeneration, stats: dict) -> None:
        self._generation = generation
        self.size = int(stats["size"])
        self.surface = dict(stats.get("surface", {}))
        self._rarest = float(stats.get("rarest", 0.0))
        query = sql.SQL("SELECT stem, best, octet_length(rows) / 4 FROM {}.terms").format(generation._s)
        with generation._connection() as conn:
            found = conn.execute(query).fetchall()
        self._best = {stem: best for stem, best, _ in found}
        self._passages = {stem: passages for stem, _, passages in found}
        self._stems = by_frequency(self._passages)

    def warm(self) -> None:
        """Read the commonest stems' postings into the cache, up to half of it: they are the
        longest to read and in most questions, so a new generation's first searches (and
        questions never asked before) rarely wait for them."""
        budget, picked = self._generation.postings_cache_limit // 2, []
        for stem in self._stems[:_WARM_STEMS]:
            size = self._passages[stem] * 8  # a row (int32) and a weight (float32) each
            if size <= budget:
                picked.append(stem)
                budget -= size
        for at in range(0, len(picked), 100):
            self._generation.postings(picked[at : at + 100])

    def knows(self, stem: str) -> bool:
        return stem in self._best

    def stems(self) -> list[str]:
        return self._stems

    def scores(self, stems: list[str]) -> np.ndarray:
        known = [s for s in stems if s in self._best]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        found = self._generation.postings(known)
        return lexical.sum_postings(self.size, [found[s] for s in known])

    def attainable(self, stems: list[str]) -> float:
        if not self.size:
            return 0.0
        return lexical.attainable(self._best.get, self._rarest, stems)


#: Runs the second of a search's two cosine reads beside the first (see ``cosines``).
_SIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pg-cosines")

#: The query's cosines (negated) to the given passages, their headings and their sentences, with
#: the rows and flags, as arrays in row order.
_COSINES = {
    "passages": sql.SQL(
        "SELECT array_agg(p.row ORDER BY p.row), array_agg(p.embedding <#> q.v ORDER BY p.row), "
        "array_agg(h.embedding <#> q.v ORDER BY p.row) "
        "FROM (SELECT %s::vector AS v) q, {s}.passages p JOIN {s}.headings h ON h.row = p.heading "
        "WHERE p.row = ANY(%s)"
    ),
    "sentences": sql.SQL(
        "SELECT array_agg(s.passage_row ORDER BY s.row), array_agg(s.words ORDER BY s.row), "
        "array_agg(s.question ORDER BY s.row), array_agg(s.embedding::vector <#> q.v ORDER BY s.row) "
        "FROM (SELECT %s::vector AS v) q, {s}.sentences s WHERE s.passage_row = ANY(%s)"
    ),
}

#: Rows' numbers (and flags) as arrays and their vectors as one bytea, in row order.
_AGGREGATE = {
    "passages": sql.SQL(
        "SELECT array_agg(row ORDER BY row), array_agg(heading ORDER BY row), "
        "string_agg(vector_send(embedding), ''::bytea ORDER BY row) FROM {}.passages WHERE row = ANY(%s)"
    ),
    "sentences": sql.SQL(
        "SELECT array_agg(passage_row ORDER BY row), array_agg(words ORDER BY row), "
        "array_agg(question ORDER BY row), string_agg(vector_send(embedding::vector), ''::bytea ORDER BY row) "
        "FROM {}.sentences WHERE passage_row = ANY(%s)"
    ),
    "headings": sql.SQL(
        "SELECT array_agg(row ORDER BY row), string_agg(vector_send(embedding), ''::bytea ORDER BY row) "
        "FROM {}.headings WHERE row = ANY(%s)"
    ),
}


def _arrange(wanted: list[int], p_rows, s_owner, s_words, s_question) -> tuple:
    """From rows as the database sent them (in row order) to the positions of ``wanted``:
    the passages' order, the sentences' order (grouped passage by passage), their offsets,
    and which sentences are statements and questions."""
    at = {r: i for i, r in enumerate(p_rows or [])}
    order = np.array([at[r] for r in wanted], dtype=np.int64)
    position = {r: i for i, r in enumerate(wanted)}
    owner = np.array([position[r] for r in s_owner or []], dtype=np.int64)
    grouped = np.argsort(owner, kind="stable")
    words = np.array(s_words or [], dtype=np.int64)[grouped]
    question = np.array(s_question or [], dtype=bool)[grouped]
    offsets = np.append(0, np.cumsum(np.bincount(owner, minlength=len(wanted)))).astype(np.int64)
    return order, grouped, offsets, ~question & (words >= MIN_SENTENCE_WORDS), question


def _vectors(blob: bytes | None, dimension: int) -> np.ndarray:
    """Vectors from pgvector's binary form, one after another: per vector a 2-byte dimension,
    2 unused bytes, then big-endian float32s. (n, dimension) float32."""
    if not blob:
        return np.zeros((0, dimension), dtype=np.float32)
    raw = np.frombuffer(blob, dtype=np.uint8).reshape(-1, 4 + 4 * dimension)[:, 4:]
    return np.ascontiguousarray(raw).view(">f4").astype(np.float32)


def _subset(data: ScoringData, rows: np.ndarray | None) -> ScoringData:
    if rows is None:
        return data
    rows = np.asarray(rows, dtype=np.int64)
    picked, offsets = pick_sentences(data.offsets, rows)
    return ScoringData(
        data.passage_vectors[rows],
        data.sentence_vectors[picked],
        offsets,
        data.is_statement[picked],
        data.is_question[picked],
        data.heading_vectors,
        data.heading_of[rows],
    )
