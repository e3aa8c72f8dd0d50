"""One generation in Postgres, open for reading: what the search asks of it, in SQL.

- Nearest passages: pgvector's HNSW index (``ORDER BY embedding <#> q``; inner product of
  unit vectors is the cosine), or an exact scan when the plan has no index.
- Keywords: BM25 from the postings the ingest computed with the same parameters as the
  files backend (``terms``: each stem's passage rows and weights); a query's stems'
  postings are summed per row exactly as bm25s sums them.
- Passages, sentences and headings by row.

A small collection (up to ``Settings.full_scan_passages`` passages) is mirrored in memory
when opened, a few MB: the search then scores every passage, as on files, and only the
keyword postings and the shown passages are read per query. A generation never changes
once written, so the mirror cannot go stale.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from kb import lexical
from kb.chunking import Passage
from kb.index.base import MIN_SENTENCE_WORDS, DocumentRecord, Generation, Lexical, ScoringData
from kb.index.postgres.connection import translated
from kb.query import Vocabulary, parse_glossary


class PostgresGeneration(Generation):
    def __init__(
        self, pool: ConnectionPool, url: str, record: tuple, full_scan_passages: int, ef_search: int
    ) -> None:
        name, schema, passages, manifest, glossary, lexical_stats = record
        self.name = name
        self.schema = schema
        self.manifest = manifest
        self.glossary_text = glossary
        self.glossary = tuple(parse_glossary(glossary, "the index's glossary")) if glossary else ()
        self._pool, self._url = pool, url
        self._count = int(passages)
        self._ef_search = ef_search
        self._s = sql.Identifier(schema)
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

    def _read_scoring_data(self, rows: np.ndarray | None) -> ScoringData:
        rows = np.arange(self._count) if rows is None else np.asarray(rows, dtype=np.int64)
        wanted = rows.tolist()
        with self._connection() as conn:
            found = conn.execute(
                sql.SQL("SELECT row, heading, embedding FROM {}.passages WHERE row = ANY(%s)").format(
                    self._s
                ),
                (wanted,),
                binary=True,
            ).fetchall()
            sentences = conn.execute(
                sql.SQL(
                    "SELECT passage_row, words, question, embedding FROM {}.sentences "
                    "WHERE passage_row = ANY(%s) ORDER BY row"
                ).format(self._s),
                (wanted,),
                binary=True,
            ).fetchall()
            at = {r: i for i, (r, _, _) in enumerate(found)}
            order = [at[r] for r in wanted]
            heading_rows = sorted({found[i][1] for i in order})
            headings = dict(
                conn.execute(
                    sql.SQL("SELECT row, embedding FROM {}.headings WHERE row = ANY(%s)").format(self._s),
                    (heading_rows,),
                    binary=True,
                ).fetchall()
            )
        dimension = int(self.manifest["dimension"])
        position = {r: i for i, r in enumerate(wanted)}
        owner = np.array([position[s[0]] for s in sentences], dtype=np.int64)
        # Sentences come in row order, which is passage order: group them by position.
        order_s = np.argsort(owner, kind="stable")
        counts = np.bincount(owner, minlength=len(wanted))
        heading_at = {h: i for i, h in enumerate(heading_rows)}
        return ScoringData(
            _matrix([found[i][2] for i in order], dimension),
            _matrix([sentences[i][3] for i in order_s], dimension),
            np.append(0, np.cumsum(counts)).astype(np.int64),
            np.array([not sentences[i][2] and sentences[i][1] >= MIN_SENTENCE_WORDS for i in order_s], bool),
            np.array([bool(sentences[i][2]) for i in order_s], dtype=bool),
            _matrix([headings[h] for h in heading_rows], dimension),
            np.array([heading_at[found[i][1]] for i in order], dtype=np.int64),
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
        with translated(self._url), self._pool.connection() as conn:
            yield conn

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

    def postings(self, stems: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        query = sql.SQL("SELECT stem, rows, weights FROM {}.terms WHERE stem = ANY(%s)").format(self._s)
        with self._connection() as conn:
            found = conn.execute(query, (sorted(set(stems)),), binary=True).fetchall()
        return {
            s: (np.frombuffer(r, dtype=np.int32), np.frombuffer(w, dtype=np.float32)) for s, r, w in found
        }

    def _load_mirror(self) -> ScoringData:
        return self._read_scoring_data(None)


class PostgresLexical(Lexical):
    """BM25 over the generation's postings; the vocabulary and each stem's best score are
    read once when the generation opens."""

    def __init__(self, generation: PostgresGeneration, stats: dict) -> None:
        self._generation = generation
        self.size = int(stats["size"])
        self.surface = dict(stats.get("surface", {}))
        self._rarest = float(stats.get("rarest", 0.0))
        query = sql.SQL("SELECT stem, best FROM {}.terms").format(generation._s)
        with generation._connection() as conn:
            self._best = dict(conn.execute(query).fetchall())
        self._vocabulary: Vocabulary | None = None

    def knows(self, stem: str) -> bool:
        return stem in self._best

    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = Vocabulary(self._best)
        return self._vocabulary

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


def _matrix(vectors: list, dimension: int) -> np.ndarray:
    if not vectors:
        return np.zeros((0, dimension), dtype=np.float32)
    # pgvector's binary loader gives Vector objects, its text loader numpy arrays.
    return np.vstack([np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32) for v in vectors])


def _subset(data: ScoringData, rows: np.ndarray | None) -> ScoringData:
    if rows is None:
        return data
    rows = np.asarray(rows, dtype=np.int64)
    starts, ends = data.offsets[rows], data.offsets[rows + 1]
    picked = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)] or [[]]).astype(
        np.int64
    )
    return ScoringData(
        data.passage_vectors[rows],
        data.sentence_vectors[picked],
        np.append(0, np.cumsum(ends - starts)).astype(np.int64),
        data.is_statement[picked],
        data.is_question[picked],
        data.heading_vectors,
        data.heading_of[rows],
    )
