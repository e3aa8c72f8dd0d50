"""A BEIR data set (corpus.jsonl, queries*.jsonl, qrels/*.tsv) through the project's own
ingest and search, scored by nDCG@10 as BEIR reports it.

Each corpus record becomes a text file (title on the first line, then the text) in a
documents folder, which the ordinary ``ingest`` reads, splits, embeds and indexes; a query
runs through ``KnowledgeBase.search``; passages map back to their record, the first
(best) passage of each record standing for it. The documents folder and index live in a
cache folder, so the slow embedding happens once per model and chunking.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.search import KnowledgeBase


@dataclass(frozen=True)
class BeirSet:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]  # id -> text
    qrels: dict[str, dict[str, int]]  # query id -> {corpus id: relevance}


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """Read a BEIR folder; only queries with relevance judgements in ``split`` are kept."""
    folder = Path(folder)
    corpus = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            corpus[str(item["_id"])] = (item.get("title") or "", item.get("text") or "")
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t")
        next(rows)  # header
        for query_id, corpus_id, score in rows:
            qrels.setdefault(query_id, {})[corpus_id] = int(score)
    queries = {}
    name = f"queries_{split}.jsonl" if (folder / f"queries_{split}.jsonl").exists() else "queries.jsonl"
    with open(folder / name, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            if str(item["_id"]) in qrels:
                queries[str(item["_id"])] = item["text"]
    return BeirSet(corpus, queries, qrels)


def corpus_fingerprint(corpus: dict[str, tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for key in sorted(corpus):
        digest.update(json.dumps([key, *corpus[key]]).encode())
    return digest.hexdigest()[:16]


def write_corpus(corpus: dict[str, tuple[str, str]], documents_dir: Path) -> None:
    """One ``<id>.txt`` per record, title first; files already written are left alone."""
    documents_dir = Path(documents_dir)
    documents_dir.mkdir(parents=True, exist_ok=True)
    for key, (title, text) in corpus.items():
        path = documents_dir / f"{_safe(key)}.txt"
        body = f"{title.strip()}\n\n{text.strip()}\n" if title.strip() else f"{text.strip()}\n"
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in key)


def record_id(source: str) -> str:
    return Path(source).stem


def ranked_records(kb: KnowledgeBase, query: str, k: int) -> list[str]:
    """Corpus ids, best first, each at the rank of its best passage."""
    seen: dict[str, None] = {}
    for hit in kb.search(query, k):
        seen.setdefault(record_id(hit.source))
    return list(seen)


def ndcg_at(ranking: Sequence[str], relevant: dict[str, int], depth: int = 10) -> float:
    """nDCG@depth with graded gains, as trec_eval computes it for BEIR."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranking[:depth], start=1))
    gains = sorted(relevant.values(), reverse=True)[:depth]
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))
    return dcg / ideal if ideal else 0.0


def recall_at(ranking: Sequence[str], relevant: dict[str, int], depth: int = 100) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranking[:depth])) / len(wanted) if wanted else 0.0


def evaluate(kb: KnowledgeBase, data: BeirSet, k: int = 50) -> dict[str, float]:
    """Mean nDCG@10 and Recall@k over the queries."""
    ndcgs, recalls = [], []
    for query_id, text in data.queries.items():
        ranking = ranked_records(kb, text, k)
        ndcgs.append(ndcg_at(ranking, data.qrels[query_id]))
        recalls.append(recall_at(ranking, data.qrels[query_id], k))
    n = max(len(ndcgs), 1)
    return {"nDCG@10": sum(ndcgs) / n, f"R@{k}": sum(recalls) / n, "queries": len(ndcgs)}


def signal_table(kb: KnowledgeBase, data: BeirSet):
    """``evaluation.SignalTable`` of the data set's queries: a passage is relevant when its
    record is; passages of one record are grouped, so the record counts once."""
    import numpy as np

    from kb.quality.evaluation import SIGNALS, SignalTable

    generation = kb.generation
    sources = [p.source for p in generation.passages_at(range(generation.passage_count))]
    records = [record_id(s) for s in sources]
    index = {r: i for i, r in enumerate(dict.fromkeys(records))}
    groups = np.array([index[r] for r in records], dtype=np.int64)
    rows: dict[str, list] = {name: [] for name in SIGNALS}
    relevant, known = [], []
    for query_id, text in data.queries.items():
        s = kb.signals(text)
        for name in SIGNALS:
            rows[name].append(getattr(s, name))
        known.append(s.known_words)
        wanted = {r for r, g in data.qrels[query_id].items() if g > 0}
        relevant.append(np.array([r in wanted for r in records], dtype=bool))
    return SignalTable(
        {name: np.vstack(v) for name, v in rows.items()},
        np.vstack(relevant),
        np.ones(len(relevant), dtype=bool),
        groups,
        np.array(known, dtype=np.int64),
    )
