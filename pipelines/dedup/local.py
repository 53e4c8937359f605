"""The whole dedup in one process (pandas + union-find): the reference the Spark job is
tested against, and the `engine="local"` path for small inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.decide import (
    CONTAINED,
    CONTAINMENT_FIELD,
    KEEP,
    KEPT_SCHEMA,
    PREVIOUS,
    QUARANTINE_SCHEMA,
    UnionFind,
    apply_scope,
    component_id,
    page_key,
    page_reasons,
)
from sciforge.pipelines.dedup.features import STATUS_OK, Featurizer, decode_minhash, printable_text
from sciforge.pipelines.dedup.minhash import jaccard_estimate
from sciforge.pipelines.pages import PAGE_COLUMNS, require_page_columns

# Representative order: earlier snapshots first, then the longest normalized text, then a
# total order on the page identity (deterministic whatever the input order).
RANK_COLUMNS = ["is_prev", "norm_chars", "source", "doc_id", "page", "content_hash"]
RANK_ASCENDING = [False, False, True, True, True, True]


@dataclass
class DedupResult:
    kept: pa.Table
    quarantined: pa.Table
    counters: StageCounters
    info: dict[str, Any] = field(default_factory=dict)


def contract_table(table: pa.Table) -> pa.Table:
    """The contract columns, nulls in key columns replaced, types normalized."""
    require_page_columns(table.column_names)
    cols = {}
    for c in PAGE_COLUMNS:
        col = table[c]
        if c == "page":
            col = col.cast(pa.int32()).fill_null(0)
        elif c != "text":
            col = col.cast(pa.string()).fill_null("")
        cols[c] = col
    return pa.table(cols)


def concat_pages(tables: list[pa.Table]) -> pa.Table:
    """Contract tables of several inputs as one; when one of them carries its text as binary
    (bytes not checked as UTF-8) every text becomes large_binary, which the features decode."""
    tables = [contract_table(t) for t in tables]
    if len({t.schema.field("text").type for t in tables}) > 1:
        tables = [t.set_column(t.column_names.index("text"), "text", t["text"].cast(pa.large_binary()))
                  for t in tables]
    return pa.concat_tables(tables)


def verify_edges(edges: pd.DataFrame, cfg: DedupConfig, sig: np.ndarray,
                 texts: pa.ChunkedArray | None) -> np.ndarray:
    """Mask of edges (columns u, v: row indices) that pass `cfg.verify`."""
    if cfg.verify == "none" or edges.empty:
        return np.ones(len(edges), dtype=bool)
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    if cfg.verify == "estimate":
        return jaccard_estimate(sig[u], sig[v]) >= cfg.threshold
    assert texts is not None
    # the Spark job's check on the same values: sorted distinct shingle hashes of the full text
    nodes = np.unique(np.concatenate([u, v]))
    vals = Featurizer(cfg).verification_values(texts.take(pa.array(nodes)))
    offs = vals.offsets.to_numpy()
    flat = vals.values.to_numpy()
    pos = {int(x): i for i, x in enumerate(nodes)}
    out = np.empty(len(u), dtype=bool)
    for k, (a, b) in enumerate(zip(u.tolist(), v.tolist(), strict=True)):
        i, j = pos[a], pos[b]
        sa, sb = flat[offs[i]: offs[i + 1]], flat[offs[j]: offs[j + 1]]
        inter = len(np.intersect1d(sa, sb, assume_unique=True))
        union = len(sa) + len(sb) - inter
        # the same double division as the Spark job's size(array_intersect) / union
        out[k] = (float(inter) / float(union) if union else 1.0) >= cfg.threshold
    return out


def _bucket_pairs(bk: pd.DataFrame, centers: int) -> pd.DataFrame:
    """Distinct (band, bucket, u, v) of bucket table ``bk`` (row, key, band, bucket): in every
    bucket shared by 2+ members, each member paired with the bucket's ``centers`` members of
    smallest ``key``; u < v."""
    bk = bk[bk.duplicated(["band", "bucket"], keep=False)]
    if bk.empty:
        return pd.DataFrame({"band": np.zeros(0, np.int64), "bucket": np.zeros(0, np.int64),
                             "u": np.zeros(0, np.int64), "v": np.zeros(0, np.int64)})
    bk = bk.sort_values(["band", "bucket", "key"], kind="mergesort")
    rank = bk.groupby(["band", "bucket"]).cumcount().to_numpy()
    cen = bk.loc[rank < centers, ["band", "bucket", "row"]].rename(columns={"row": "c"})
    pairs = bk[["band", "bucket", "row"]].merge(cen, on=["band", "bucket"])
    pairs = pairs[pairs["row"] != pairs["c"]]
    a, c = pairs["row"].to_numpy(np.int64), pairs["c"].to_numpy(np.int64)
    return pd.DataFrame({"band": pairs["band"].to_numpy(), "bucket": pairs["bucket"].to_numpy(),
                         "u": np.minimum(a, c), "v": np.maximum(a, c)}).drop_duplicates()


def _sorted_edges(e: pd.DataFrame) -> pd.DataFrame:
    return e.sort_values(["u", "v"], kind="mergesort").reset_index(drop=True)


def candidate_edges(rows: np.ndarray, keys: np.ndarray, bands: np.ndarray, centers: int) -> pd.DataFrame:
    """Candidate edges (u, v: values of ``rows``, u < v, distinct) of LSH: in every band
    bucket shared by 2+ members, each member paired with the bucket's ``centers`` members of
    smallest ``keys`` (content hashes: unique among exact representatives). A bucket of at
    most ``centers`` + 1 members gets all its pairs."""
    nb = bands.shape[1]
    bk = pd.DataFrame({"row": np.repeat(rows, nb), "key": np.repeat(keys, nb),
                       "band": np.tile(np.arange(nb), len(rows)), "bucket": bands.reshape(-1)})
    return _sorted_edges(_bucket_pairs(bk, centers)[["u", "v"]].drop_duplicates())


def containment_candidates(rows: np.ndarray, keys: np.ndarray, samples: pa.ListArray, centers: int,
                           min_shared: int) -> pd.DataFrame:
    """Containment candidate edges (u, v: values of ``rows``, u < v): pages paired (the
    `candidate_edges` rule, each sampled shingle a bucket) in at least ``min_shared`` of the
    sampled shingles ``samples`` (one list per row of ``rows``) they share."""
    lens = pc.list_value_length(samples).to_numpy(zero_copy_only=False)
    bk = pd.DataFrame({"row": np.repeat(rows, lens), "key": np.repeat(keys, lens), "band": 0,
                       "bucket": samples.flatten().to_numpy()})
    n = _bucket_pairs(bk, centers).groupby(["u", "v"]).size()
    e = n[n >= min_shared].reset_index()[["u", "v"]]
    return _sorted_edges(e.astype(np.int64))


def containment_scores(edges: pd.DataFrame, nid: np.ndarray, cfg: DedupConfig,
                       texts: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(contained row, container row, |A n B| / |A|) per edge: A is the shingle set (full
    text, numbers kept: `Featurizer.containment_values`) of the end ranked worse in the
    representative order (larger node id)."""
    u, v = edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64)
    inner = np.where(nid[u] > nid[v], u, v)
    outer = np.where(nid[u] > nid[v], v, u)
    nodes = np.unique(np.concatenate([u, v]))
    vals = Featurizer(cfg).containment_values(texts.take(pa.array(nodes)))
    offs = vals.offsets.to_numpy()
    flat = vals.values.to_numpy()
    pos = {int(x): i for i, x in enumerate(nodes)}
    score = np.empty(len(u), dtype=np.float64)
    for k, (a, b) in enumerate(zip(inner.tolist(), outer.tolist(), strict=True)):
        i, j = pos[a], pos[b]
        sa, sb = flat[offs[i]: offs[i + 1]], flat[offs[j]: offs[j + 1]]
        inter = len(np.intersect1d(sa, sb, assume_unique=True))
        # the same double division as the Spark job's size(array_intersect) / size(a)
        score[k] = float(inter) / float(len(sa)) if len(sa) else 0.0
    return inner, outer, score


def _apply_containment(df: pd.DataFrame, cfg: DedupConfig, samples: pa.ListArray, rep_rows: np.ndarray,
                       texts: pa.ChunkedArray) -> tuple[int, int]:
    """Containment mode on the decided frame ``df`` (in place): a kept page at least
    `containment_threshold` contained in a better-ranked page of another component becomes
    `contained`, its representative the container of highest containment (ties: the
    better-ranked container). Adds column ``containment`` (NaN elsewhere). Returns
    (candidate edges, edges at or above the threshold between components)."""
    df["containment"] = np.nan
    keys = df["content_hash"].to_numpy()[rep_rows]
    edges = containment_candidates(rep_rows, keys, samples.take(pa.array(rep_rows)), cfg.lsh_centers,
                                   cfg.containment_min_shared)
    if edges.empty:
        return 0, 0
    nid = df["nid"].to_numpy()
    inner, outer, score = containment_scores(edges, nid, cfg, texts)
    root = df["root"].to_numpy()
    hit = (score >= cfg.containment_threshold) & (root[inner] != root[outer])
    n_hit = int(hit.sum())
    reasons = df["reason"].to_numpy()
    hit &= reasons[inner] == KEEP
    if hit.any():
        h = pd.DataFrame({"c": inner[hit], "k": outer[hit], "s": score[hit], "kn": nid[outer[hit]]})
        best = h.sort_values(["c", "s", "kn"], ascending=[True, False, True], kind="mergesort") \
            .drop_duplicates("c")
        c, k = best["c"].to_numpy(), best["k"].to_numpy()
        src, doc, pg = (df[x].to_numpy() for x in ("source", "doc_id", "page"))
        df.loc[c, "reason"] = CONTAINED
        df.loc[c, "representative"] = [page_key(src[i], doc[i], pg[i]) for i in k]
        df.loc[c, "containment"] = best["s"].to_numpy()
    return len(edges), n_hit


def dedup_tables(pages: pa.Table, cfg: DedupConfig, previous: pa.Table | None = None) -> DedupResult:
    new = contract_table(pages)
    n_new = new.num_rows
    allp = concat_pages([new, previous]) if previous is not None else new
    feats = Featurizer(cfg)(allp["text"])
    b, r = Featurizer(cfg).bands_rows
    df = pd.DataFrame({c: allp[c].to_numpy(zero_copy_only=False) for c in PAGE_COLUMNS if c != "text"})
    for c in ("status", "n_words", "norm_chars", "content_hash", "minhash_truncated"):
        df[c] = feats[c].to_numpy(zero_copy_only=False)
    df["is_prev"] = np.arange(len(df)) >= n_new
    # nid = position in representative order
    order = df.sort_values(RANK_COLUMNS, ascending=RANK_ASCENDING, kind="mergesort").index.to_numpy()
    nid = np.empty(len(df), dtype=np.int64)
    nid[order] = np.arange(len(df))
    df["nid"] = nid
    row_of_nid = order  # row index holding node id k
    ok = (df["status"] == STATUS_OK).to_numpy()
    df["exact_rep"] = df["nid"]
    df.loc[ok, "exact_rep"] = df[ok].groupby("content_hash")["nid"].transform("min")
    rep_rows = np.flatnonzero(ok & (df["exact_rep"] == df["nid"]).to_numpy())

    # LSH: every member of a shared band bucket is checked against the bucket's
    # `lsh_centers` members of smallest content hash (a total order on content, the same
    # rule as the Spark job, whatever the input order or engine)
    bands = np.asarray(feats["bands"].combine_chunks().flatten().to_numpy()).reshape(-1, b)
    edges = candidate_edges(rep_rows, df["content_hash"].to_numpy()[rep_rows], bands[rep_rows], cfg.lsh_centers)
    sig = decode_minhash(feats["minhash"].combine_chunks(), cfg.num_perm)
    passed = verify_edges(edges, cfg, sig, allp["text"] if cfg.verify == "exact" else None)
    uf = UnionFind(len(df))
    for u_, v_ in zip(nid[edges["u"].to_numpy()[passed]], nid[edges["v"].to_numpy()[passed]], strict=True):
        uf.union(int(u_), int(v_))
    roots_by_nid = uf.roots()
    df["root"] = roots_by_nid[df["exact_rep"].to_numpy()]
    df.loc[~ok, "root"] = df.loc[~ok, "nid"]
    root_rows = row_of_nid[df["root"].to_numpy()]
    df["root_is_prev"] = df["is_prev"].to_numpy()[root_rows]
    doc_pages = df.groupby(["source", "doc_id"])["page"].transform("nunique").to_numpy()
    okdf = df[ok]
    bp = okdf[doc_pages[ok] > 1] if cfg.boilerplate_multi_page_only else okdf
    docs = okdf[["root", "source", "doc_id"]].drop_duplicates().groupby("root").size()
    bp_docs = bp[["root", "source", "doc_id"]].drop_duplicates().groupby("root").size()
    sizes = okdf.groupby("root").size()
    df["comp_docs"] = df["root"].map(docs).fillna(1).astype(np.int64)
    df["comp_bp_docs"] = df["root"].map(bp_docs).fillna(0).astype(np.int64)
    df["comp_size"] = df["root"].map(sizes).fillna(1).astype(np.int64)
    df["reason"] = page_reasons(df, cfg)
    df["doc_has_keep"] = (df["reason"] == KEEP).groupby([df["source"], df["doc_id"]]).transform("any")
    df["reason"] = apply_scope(df["reason"].to_numpy(), df["doc_has_keep"].to_numpy(), cfg)
    rep_keys = [page_key(s, d, p) for s, d, p in zip(df["source"].to_numpy()[root_rows],
                                                     df["doc_id"].to_numpy()[root_rows],
                                                     df["page"].to_numpy()[root_rows], strict=True)]
    df["representative"] = np.where(ok, np.array(rep_keys, dtype=object), "")
    df["component_id"] = [component_id(k) if o else "" for k, o in zip(rep_keys, ok, strict=True)]
    if cfg.containment == "on":
        n_ccand, n_cedges = _apply_containment(df, cfg, feats["samples"].combine_chunks(), rep_rows, allp["text"])

    out = pa.table({c: printable_text(allp[c]) if c == "text" else allp[c] for c in PAGE_COLUMNS})
    for c in ("content_hash", "n_words", "component_id", "representative", "reason"):
        out = out.append_column(c, pa.array(df[c].to_numpy()))
    out = out.append_column("component_size", pa.array(df["comp_size"].to_numpy(), pa.int64()))
    out = out.append_column("component_docs", pa.array(df["comp_docs"].to_numpy(), pa.int64()))
    qschema = QUARANTINE_SCHEMA
    if cfg.containment == "on":
        out = out.append_column("containment", pa.array(df["containment"].to_numpy(), pa.float64(), from_pandas=True))
        qschema = QUARANTINE_SCHEMA.append(CONTAINMENT_FIELD)
    reasons = df["reason"].to_numpy()
    sort_keys = [("source", "ascending"), ("doc_id", "ascending"), ("page", "ascending"),
                 ("content_hash", "ascending")]
    kept = out.filter(pa.array(reasons == KEEP)).sort_by(sort_keys).select(KEPT_SCHEMA.names).cast(KEPT_SCHEMA)
    qmask = (reasons != KEEP) & (reasons != PREVIOUS)
    quarantined = out.filter(pa.array(qmask)).sort_by(sort_keys).select(qschema.names).cast(qschema)

    counters = StageCounters(input=n_new, kept=kept.num_rows)
    for reason, n in pd.Series(reasons[qmask]).value_counts().sort_index().items():
        counters.drop(str(reason), int(n))
    counters.add("previous_pages", int(len(df) - n_new))
    counters.add("minhash_truncated", int(df["minhash_truncated"][: n_new].sum()))
    counters.add("lsh_bands", b)
    counters.add("lsh_rows", r)
    counters.add("candidate_edges", len(edges))
    counters.add("verified_edges", int(passed.sum()))
    comp = df.loc[ok & ~df["is_prev"].to_numpy(), "comp_size"]
    counters.add("duplicate_components", int(df.loc[ok & (df["comp_size"] > 1).to_numpy(), "root"].nunique()))
    counters.add("largest_component", int(comp.max()) if len(comp) else 0)
    if cfg.containment == "on":
        counters.add("containment_candidates", n_ccand)
        counters.add("containment_edges", n_cedges)
    return DedupResult(kept, quarantined, counters, {"bands": b, "rows": r})
