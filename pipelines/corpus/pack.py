"""Tokenize pages, mix domains, pack documents into shards: pure functions, no engine.

Two steps, each run once per task by ``jobs/corpus.py`` (or in-process):

1. :func:`tokenize_pages` turns one Arrow batch of clean pages (the page contract, pipelines/pages.py) into token rows and
   counts tokens per domain and modality; rows go to a bucket chosen by ``doc_id`` (all pages of a document
   land in the same bucket, hence the same shard).
2. :func:`build_shard` takes one bucket's rows and the global mixture factors, joins each document's pages
   in page order, repeats or drops whole documents to reach the configured domain mixture, orders them by a
   seeded hash (a deterministic shuffle) and packs them into one ``.bin`` + ``.idx`` shard.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from sciforge.pipelines.corpus.config import CorpusConfig
from sciforge.pipelines.corpus.shards import ShardIndex, pack
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import REASON
from sciforge.pipelines.lineage import lineage_table
from sciforge.pipelines.pages import require_page_columns
from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer

TOKENS_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("page", pa.int32()), ("domain", pa.string()),
    ("tokens", pa.list_(pa.uint32())), ("modalities", pa.string()),
])
QUARANTINE_SCHEMA = pa.schema([("doc_id", pa.string()), ("page", pa.int32()), ("domain", pa.string()),
                               (REASON, pa.string())])
DOCUMENTS_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("domain", pa.string()), ("repeat", pa.int32()), ("shard", pa.int32()),
    ("start", pa.int64()), ("n_tokens", pa.int64()), ("pages", pa.int32()),
])
ENCODE_CHUNK = 256  # documents per tokenizer call (HF batches them over its threads)


def stable_uniform(seed: int, *parts: Any) -> float:
    """A uniform number in [0, 1) from a hash: the same on every machine and Python run."""
    h = hashlib.blake2b(json.dumps([seed, *parts], separators=(",", ":")).encode(), digest_size=8).digest()
    return struct.unpack("<Q", h)[0] / 2**64


def bucket_of(doc_id: str, n_buckets: int, seed: int) -> int:
    return min(int(stable_uniform(seed, "bucket", doc_id) * n_buckets), n_buckets - 1)


def domain_of(value: Any, cfg: CorpusConfig) -> str:
    return str(value) if value else cfg.unknown_domain


# -- step 1 ----------------------------------------------------------------------------------------


@dataclass
class Tokenized:
    buckets: dict[int, pa.Table]
    quarantined: pa.Table
    counters: StageCounters
    domain_tokens: Counter[str]


def tokenize_pages(table: pa.Table, tok: SciTokenizer, cfg: CorpusConfig, n_buckets: int) -> Tokenized:
    """Tokenize one batch of pages; split the token rows into buckets by ``doc_id``."""
    counters = StageCounters()
    cols = table.column_names
    require_page_columns(cols, ("doc_id", "text"))
    doc_ids = table.column("doc_id").to_pylist()
    pages = table.column("page").to_pylist() if "page" in cols else [0] * table.num_rows
    domains = [domain_of(v, cfg) for v in (table.column(cfg.domain_column).to_pylist()
                                             if cfg.domain_column in cols else [None] * table.num_rows)]
    texts = table.column("text").to_pylist()
    counters.input += table.num_rows
    rows: dict[int, dict[str, list[Any]]] = defaultdict(lambda: {k: [] for k in TOKENS_SCHEMA.names})
    quarantine: dict[str, list[Any]] = {k: [] for k in QUARANTINE_SCHEMA.names}
    domain_tokens: Counter[str] = Counter()

    def reject(i: int, reason: str) -> None:
        counters.drop(reason)
        for k, v in (("doc_id", doc_ids[i]), ("page", pages[i]), ("domain", domains[i]), (REASON, reason)):
            quarantine[k].append(v)

    todo = []
    for i, t in enumerate(texts):
        if doc_ids[i] is None:
            reject(i, "missing_doc_id")
        elif not t or not t.strip():
            reject(i, "empty_text")
        else:
            todo.append(i)
    for c in range(0, len(todo), ENCODE_CHUNK):
        idx = todo[c:c + ENCODE_CHUNK]
        for i, (ids, mods) in zip(idx, tok.encode_batch([texts[j] for j in idx], with_modalities=True), strict=True):
            if len(ids) < cfg.min_doc_tokens:
                reject(i, "too_short")
                continue
            b = bucket_of(doc_ids[i], n_buckets, cfg.seed)
            r = rows[b]
            r["doc_id"].append(doc_ids[i])
            r["page"].append(int(pages[i] or 0))
            r["domain"].append(domains[i])
            r["tokens"].append(np.asarray(ids, dtype=np.uint32))
            r["modalities"].append(json.dumps(dict(sorted(mods.items()))))
            counters.kept += 1
            counters.add("tokens", len(ids))
            domain_tokens[domains[i]] += len(ids)
            counters.add(f"chars/{domains[i]}", len(texts[i]))
    buckets = {b: pa.table(r, schema=TOKENS_SCHEMA) for b, r in rows.items()}
    return Tokenized(buckets, pa.table(quarantine, schema=QUARANTINE_SCHEMA), counters, domain_tokens)


# -- mixture ---------------------------------------------------------------------------------------


def mixture_factors(natural: dict[str, int], weights: dict[str, float], max_repeat: float) -> dict[str, float]:
    """Expected copies of each document per domain so the token shares follow ``weights``.

    Unlisted domains keep their natural share; listed ones split the rest by weight; the total token
    count stays the natural one (up to the ``max_repeat`` cap and rounding to whole documents).
    """
    total = sum(natural.values())
    if total == 0:
        return {d: 1.0 for d in natural}
    listed = {d: w for d, w in weights.items() if d in natural and natural[d] > 0}
    if not listed:
        return {d: 1.0 for d in natural}
    free = 1.0 - sum(natural[d] for d in natural if d not in listed) / total
    wsum = sum(listed.values())
    out = {}
    for d, n in natural.items():
        if d in listed:
            share = free * listed[d] / wsum if wsum > 0 else 0.0
            out[d] = min(share * total / n, max_repeat)
        else:
            out[d] = 1.0
    return out


def repeat_count(factor: float, doc_id: str, seed: int) -> int:
    """floor(factor), plus one more copy with probability frac(factor) (hash-seeded, deterministic)."""
    whole = math.floor(factor)
    return whole + (1 if stable_uniform(seed, "repeat", doc_id) < factor - whole else 0)


# -- step 2 ----------------------------------------------------------------------------------------


@dataclass
class Shard:
    tokens: np.ndarray
    index: ShardIndex
    documents: pa.Table
    counters: StageCounters
    domain_tokens: Counter[str]
    modality_tokens: Counter[str]
    lineage: pa.Table  # pipelines/lineage.py: LINEAGE_SCHEMA, one row per page piece per sequence


def build_shard(rows: pa.Table, shard: int, factors: dict[str, float], domains: list[str], cfg: CorpusConfig,
                *, eod_id: int, pad_id: int, separator_ids: list[int]) -> Shard:
    """Join pages, apply the mixture, shuffle by hash, pack. ``rows`` holds one bucket's token rows."""
    counters = StageCounters()
    dom_index = {d: i for i, d in enumerate(domains)}
    by_doc: dict[str, list[int]] = defaultdict(list)
    doc_col = rows.column("doc_id").to_pylist()
    for i, d in enumerate(doc_col):
        by_doc[d].append(i)
    page_col = rows.column("page").to_pylist()
    dom_col = rows.column("domain").to_pylist()
    mod_col = rows.column("modalities").to_pylist()
    tok_col = rows.column("tokens")
    sep = np.asarray(separator_ids, dtype=np.uint32)
    eod = np.asarray([eod_id], dtype=np.uint32)
    units: list[tuple[float, str, int, str, np.ndarray, int, Counter[str], list[tuple[int, int]]]] = []
    for doc_id in sorted(by_doc):
        idx = sorted(by_doc[doc_id], key=lambda i: (page_col[i], i))
        parts: list[np.ndarray] = []
        mods: Counter[str] = Counter()
        spans: list[tuple[int, int]] = []  # (page, tokens): the separator before a page and the EOD count in
        for n, i in enumerate(idx):
            if n:
                parts.append(sep)
                mods["text"] += len(sep)
            parts.append(tok_col[i].values.to_numpy(zero_copy_only=False).astype(np.uint32, copy=False))
            mods.update(json.loads(mod_col[i]))
            spans.append((int(page_col[i]), len(parts[-1]) + (len(sep) if n else 0)))
        parts.append(eod)
        mods["special"] += 1
        spans[-1] = (spans[-1][0], spans[-1][1] + 1)
        tokens = np.concatenate(parts)
        domain = dom_col[idx[0]]
        counters.input += 1
        k = repeat_count(factors.get(domain, 1.0), doc_id, cfg.seed)
        if k == 0:
            counters.drop("downsampled")
            continue
        counters.kept += 1
        if k > 1:
            counters.add("repeated_copies", k - 1)
        for rep in range(k):
            units.append((stable_uniform(cfg.seed, "order", doc_id, rep), doc_id, rep, domain, tokens, len(idx), mods,
                          spans))
    units.sort(key=lambda u: (u[0], u[1], u[2]))
    bin_tokens, index = pack([u[4] for u in units], [dom_index[u[3]] for u in units], cfg.seq_len, pad_id,
                             len(domains))
    domain_tokens: Counter[str] = Counter()
    modality_tokens: Counter[str] = Counter()
    for u in units:
        domain_tokens[u[3]] += len(u[4])
        modality_tokens.update(u[6])
    pad = int(index.n_tokens - sum(len(u[4]) for u in units))
    counters.add("pad_tokens", pad)
    counters.add("sequences", index.n_sequences)
    counters.add("documents_packed", len(units))
    documents = pa.table({
        "doc_id": [u[1] for u in units], "domain": [u[3] for u in units], "repeat": [u[2] for u in units],
        "shard": [shard] * len(units), "start": index.doc_start.astype(np.int64),
        "n_tokens": [len(u[4]) for u in units], "pages": [u[5] for u in units],
    }, schema=DOCUMENTS_SCHEMA)
    lineage = lineage_table(index.doc_start, [u[1] for u in units], [u[2] for u in units], [u[7] for u in units],
                            cfg.seq_len)
    return Shard(bin_tokens, index, documents, counters, domain_tokens, modality_tokens, lineage)
