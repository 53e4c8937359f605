"""What happens to each page once its component is known: shared by both engines.

Nodes are numbered in representative order (earlier snapshot first, then longest normalized
text, then source/doc_id/page/content hash), so the representative of a component is simply
its smallest node id, which is also the root connected components converge to.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa

from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.features import EMPTY, INVALID_UTF8, STATUS_OK
from sciforge.pipelines.pages import page_schema

KEEP = "keep"
EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"
BOILERPLATE_PAGE = "boilerplate_page"
ALREADY_PUBLISHED = "already_published"  # (near-)duplicate of a page in an earlier snapshot
CONTAINED = "contained"  # containment mode: mostly contained in a better-ranked page of another component
PREVIOUS = "previous"  # rows of earlier snapshots: reference only, never written again
DUPLICATE_REASONS = (EXACT_DUPLICATE, NEAR_DUPLICATE)
ALL_DROP_REASONS = (EMPTY, INVALID_UTF8, BOILERPLATE_PAGE, ALREADY_PUBLISHED, EXACT_DUPLICATE, NEAR_DUPLICATE,
                    CONTAINED)


def page_key(source: str, doc_id: str, page: int) -> str:
    """Readable id of one page, used as `representative`."""
    return f"{source}:{doc_id}#{int(page)}"


def component_id(rep_key: str) -> str:
    """Stable 64-bit id (16 hex) of a component: sha256 of its representative's page key."""
    return hashlib.sha256(rep_key.encode("utf-8")).hexdigest()[:16]


def page_reasons(df: pd.DataFrame, cfg: DedupConfig) -> np.ndarray:
    """Phase 1, row-wise. Needs columns: status, is_prev, nid, exact_rep, root, root_is_prev,
    comp_bp_docs (distinct documents that count towards boilerplate). Returns the reason
    (or KEEP) per row."""
    status = df["status"].to_numpy(dtype=object)
    ok = status == STATUS_OK
    is_prev = df["is_prev"].to_numpy(dtype=bool)
    nid = df["nid"].to_numpy(dtype=np.int64)
    exact_rep = df["exact_rep"].to_numpy(dtype=np.int64)
    root = df["root"].to_numpy(dtype=np.int64)
    root_prev = df["root_is_prev"].to_numpy(dtype=bool)
    boiler = df["comp_bp_docs"].to_numpy(dtype=np.int64) >= cfg.boilerplate_min_docs
    return np.select(
        [is_prev, ~ok, boiler, root_prev, nid == root, exact_rep != nid],
        [PREVIOUS, status, BOILERPLATE_PAGE, ALREADY_PUBLISHED, KEEP, EXACT_DUPLICATE],
        default=NEAR_DUPLICATE,
    ).astype(object)


def apply_scope(reasons: np.ndarray, doc_has_keep: np.ndarray, cfg: DedupConfig) -> np.ndarray:
    """Phase 2: `near_dup_scope` decides whether duplicate pages really go."""
    reasons = np.asarray(reasons, dtype=object)
    dup = np.isin(reasons, DUPLICATE_REASONS)
    if cfg.near_dup_scope == "off":
        return np.where(dup, KEEP, reasons).astype(object)
    if cfg.near_dup_scope == "document":  # only whole-document copies go
        return np.where(dup & np.asarray(doc_has_keep, dtype=bool), KEEP, reasons).astype(object)
    return reasons


class UnionFind:
    """Reference connected components (in memory): the root of a set is its minimum id."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:
            p[x], x = root, p[x]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo

    def roots(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)


def min_label_components(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of the graph with edges (u[i], v[i]) (int64 ids), vectorized:
    hook every root onto the smallest root it shares an edge with, then compress paths
    (pointer jumping), until no edge joins two roots (Shiloach-Vishkin style). Returns
    (nodes, roots): every node that has an edge, sorted, and the minimum id of its component
    (the same root the union-find reference and large-star/small-star converge to)."""
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    nodes, idx = np.unique(np.concatenate([u, v]), return_inverse=True)
    a, b = idx[: len(u)], idx[len(u):]
    parent = np.arange(len(nodes), dtype=np.int64)  # dense ids follow node order: min id = min node
    while True:
        pa_, pb = parent[a], parent[b]
        differ = pa_ != pb
        if not differ.any():
            break
        np.minimum.at(parent, np.maximum(pa_, pb)[differ], np.minimum(pa_, pb)[differ])
        while True:  # path compression: every node points at a root afterwards
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    return nodes, nodes[parent]


# ---------------------------------------------------------------------------------------
# output schemas (the page contract's columns first, pipelines/pages.py)


def _schema(extra: list[tuple[str, str]]) -> pa.Schema:
    return page_schema((n, pa.type_for_alias(t)) for n, t in extra)


# clean/pages: one row per kept page; the component it represents (size 1 = unique page).
KEPT_SCHEMA = _schema([("content_hash", "string"), ("n_words", "int64"), ("component_id", "string"),
                       ("component_size", "int64"), ("component_docs", "int64")])
# quarantine/pages: why a page went, and which page was kept in its place.
QUARANTINE_SCHEMA = _schema([("reason", "string"), ("content_hash", "string"), ("n_words", "int64"),
                             ("component_id", "string"), ("representative", "string"),
                             ("component_size", "int64"), ("component_docs", "int64")])
# with containment "on" the quarantine also has |A n B| / |A| of each `contained` page (null
# for the other reasons); its `representative` is then the container
CONTAINMENT_FIELD = pa.field("containment", pa.float64())
