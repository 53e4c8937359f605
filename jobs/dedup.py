"""Spark job: global page-level dedup of the union of page datasets -> ``clean/pages``.

    exact groups (content hash) -> MinHash LSH buckets -> star edges to each bucket's minimum
    -> verified edges -> connected components (one executor task for graphs up to
    `cc_local_max_edges`, else large-star / small-star in DataFrame ops)
    -> boilerplate / duplicate / already-published decisions -> clean/pages + quarantine/pages

Nothing proportional to the data reaches the driver: only counters, the part list and the
per-round "did anything change" count of the components loop. ``engine="local"`` runs the
in-memory reference (`pipelines.dedup.local`) on small inputs.

Run under spark-submit: ``python -m jobs.dedup --input clean/web_pages/<v> --input clean/pdf_pages/<v>
--date 2026-01-01 [--previous clean/pages/<v>]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.config import Settings, get_settings
from pipelines.counters import StageCounters
from pipelines.datasets import (
    DatasetRef,
    DatasetWriter,
    make_version,
    part_keys,
    read_manifest,
    read_part,
    read_table,
    write_part,
)
from pipelines.dedup.config import DedupConfig
from pipelines.dedup.decide import (
    ALL_DROP_REASONS,
    KEEP,
    KEPT_SCHEMA,
    PREVIOUS,
    QUARANTINE_SCHEMA,
    apply_scope,
    min_label_components,
    page_reasons,
)
from pipelines.dedup.features import FEATURE_SCHEMA, STATUS_OK, Featurizer, minhash_lists
from pipelines.dedup.local import contract_table, dedup_tables
from pipelines.dedup.lsh import describe
from pipelines.storage import open_storage

log = logging.getLogger(__name__)
Engine = Literal["spark", "local"]
OUTPUT_NAME = "pages"
# Rows per output Parquet part: ~50k pages x ~3 KB of markdown ~ 150 MB, the size range
# Spark/Parquet readers handle best (the 128 MB-1 GB guidance of the Parquet docs).
ROWS_PER_PART = 50_000
_RID_PART_BITS = 32  # _rid = (input index, part index) << 32 | row index: unique, deterministic
_SORT = ["source", "doc_id", "page", "content_hash"]


def dedup_config(settings: Settings) -> DedupConfig:
    return DedupConfig(**settings.stage("dedup"))


def output_ref(cfg: DedupConfig, input_refs: Sequence[DatasetRef], logical_date: str,
               previous: Sequence[DatasetRef]) -> DatasetRef:
    version = make_version(logical_date, {
        "stage": OUTPUT_NAME, "params": cfg.model_dump(),
        "parents": sorted(r.key for r in input_refs), "previous": sorted(r.key for r in previous)})
    return DatasetRef("clean", OUTPUT_NAME, version)


def run_dedup(settings: Settings, input_refs: Sequence[DatasetRef], logical_date: str, *,
              engine: Engine = "spark", spark: Any = None, previous: Sequence[DatasetRef] = ()) -> DatasetRef:
    """Deduplicate the union of ``input_refs`` (PAGE-TEXT CONTRACT datasets), optionally
    against ``previous`` published ``clean/pages`` versions; publish ``clean/pages/<v>`` and
    ``quarantine/pages/<v>``. Returns the clean ref."""
    if not input_refs:
        raise ValueError("run_dedup needs at least one input dataset")
    cfg = dedup_config(settings)
    storage = open_storage(settings.data_root, settings.storage_options())
    for r in [*input_refs, *previous]:
        read_manifest(storage, r)  # refuses unpublished inputs before any work
    ref = output_ref(cfg, input_refs, logical_date, previous)
    if any(p.zone == ref.zone and p.name == ref.name and p.version[:10] >= ref.version[:10] for p in previous):
        raise ValueError(f"previous snapshots must be published before {logical_date}: got "
                         f"{[p.key for p in previous]} (a re-run would otherwise find its own output)")
    b, r = Featurizer(cfg).bands_rows
    print(describe(cfg.threshold, b, r), flush=True)
    params = {"stage": OUTPUT_NAME, "params": cfg.model_dump(), "bands": b, "rows": r,
              "previous": [p.key for p in previous]}
    parents = [*input_refs, *previous]
    kept_w = DatasetWriter(storage, ref, logical_date=logical_date, config=params, parents=parents,
                           schema=KEPT_SCHEMA)
    quar_w = DatasetWriter(storage, ref.quarantine(), logical_date=logical_date, config=params,
                           parents=parents, schema=QUARANTINE_SCHEMA)
    if engine == "local":
        counters = _run_local(storage, cfg, input_refs, previous, kept_w, quar_w)
    else:
        if spark is None:
            from jobs.spark import get_spark

            spark = get_spark(settings)
        counters = _run_spark(spark, settings, cfg, input_refs, previous, kept_w, quar_w)
    quar_w.publish(StageCounters(input=counters.input, dropped=counters.dropped.copy()))
    kept_w.publish(counters)
    log.info("dedup -> %s: %s", ref, counters.summary())
    print(f"dedup -> {ref}: {counters.summary()}", flush=True)
    return ref


# ------------------------------------------------------------------------------------------
# local engine


def _run_local(storage: Any, cfg: DedupConfig, inputs: Sequence[DatasetRef], previous: Sequence[DatasetRef],
               kept_w: DatasetWriter, quar_w: DatasetWriter) -> StageCounters:
    new = pa.concat_tables([contract_table(read_table(storage, r)) for r in inputs])
    prev = pa.concat_tables([contract_table(read_table(storage, r)) for r in previous]) if previous else None
    res = dedup_tables(new, cfg, prev)
    for w, t in ((kept_w, res.kept), (quar_w, res.quarantined)):
        for i in range(0, t.num_rows, ROWS_PER_PART):
            w.write(t.slice(i, ROWS_PER_PART))
    return res.counters


# ------------------------------------------------------------------------------------------
# Spark engine


#
# Two Python passes over the text, everything between them on small per-page metadata:
#   scan   one task per input part: read it, compute the features; only metadata (+ the
#          shingle sets or signatures that verification needs) leaves Python, never the text
#   JVM    exact groups (window), LSH buckets (collect_list per bucket -> star edges),
#          verification (array_intersect / zip_with on the candidates' columns), components
#          (one executor task for graphs up to `cc_local_max_edges`, else large-star /
#          small-star rounds), component stats and decisions
#   write  one task per new input part re-reads its text; rows are shuffled once to their
#          output part and cogrouped with the decisions there, then written from the executor
# Candidate nodes and component roots are broadcast when small, so the per-page tables are
# not shuffled to meet a handful of edges.

# A side of a join with at most this many rows (8-16 bytes each, <= ~32 MB) is broadcast:
# the same order as Spark's autoBroadcastJoinThreshold, used here for sides whose size the
# job knows exactly (it counted them) while Spark's estimate of them is unknown.
_BROADCAST_MAX_ROWS = 2_000_000
# Representative order as ONE comparable struct (smaller = better representative): earlier
# snapshot first, longest normalized text, then the page identity; `_rid` breaks exact ties
# the way the local engine's stable sort does (input order).
_RANK_FIELDS = ("r_new", "r_len", "source", "doc_id", "page", "content_hash", "_rid")


def _parts(storage: Any, inputs: Sequence[DatasetRef], previous: Sequence[DatasetRef]) -> list[tuple[int, str, bool]]:
    """(first _rid, part key, is_prev) of every part: _rid = (dataset index << 20 | part
    index) << 32 | row index, unique and the same on every run."""
    items = []
    for i, ref in enumerate([*inputs, *previous]):
        for j, key in enumerate(part_keys(storage, ref)):
            items.append(((i << 20 | j) << _RID_PART_BITS, key, i >= len(inputs)))
    return items


def _parts_df(spark: Any, items: list[tuple[int, str, bool]]) -> Any:
    """The part list as a DataFrame with exactly one part per partition (one task each)."""
    rdd = spark.sparkContext.parallelize(items, max(1, len(items)))
    return spark.createDataFrame(rdd, "base long, key string, is_prev boolean")


def _scan_schema(cfg: DedupConfig) -> pa.Schema:
    fields = [pa.field("_rid", pa.int64()), pa.field("is_prev", pa.bool_()), pa.field("source", pa.string()),
              pa.field("doc_id", pa.string()), pa.field("page", pa.int32())]
    fields += [f for f in FEATURE_SCHEMA if f.name != "minhash"]
    if cfg.verify == "exact":
        fields.append(pa.field("shingles", pa.list_(pa.int64())))
    elif cfg.verify == "estimate":
        fields.append(pa.field("minhash", pa.list_(pa.int64())))
    return pa.schema(fields)


def _scan_fn(cfg: DedupConfig, root: str, opts: dict[str, Any], batch_rows: int) -> Any:
    """Executor side of the scan: read a part, featurize it batch by batch."""
    feat = Featurizer(cfg)
    schema = _scan_schema(cfg)

    def fn(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        st = open_storage(root, opts)
        for batch in batches:
            for base, key, is_prev in zip(batch.column("base").to_pylist(), batch.column("key").to_pylist(),
                                          batch.column("is_prev").to_pylist(), strict=True):
                table = contract_table(read_part(st, key))
                for off in range(0, table.num_rows, batch_rows):
                    t = table.slice(off, batch_rows)
                    n = t.num_rows
                    f = feat(t.column("text"), shingle_sets=cfg.verify == "exact")
                    cols: dict[str, Any] = {
                        "_rid": pa.array(np.arange(base + off, base + off + n, dtype=np.int64)),
                        "is_prev": pa.array(np.full(n, bool(is_prev))),
                        "source": t.column("source"), "doc_id": t.column("doc_id"), "page": t.column("page")}
                    for c in f.column_names:
                        cols[c] = f.column(c)
                    if cfg.verify == "estimate":
                        cols["minhash"] = minhash_lists(f.column("minhash"), cfg.num_perm)
                    yield pa.RecordBatch.from_arrays(
                        [pa.chunked_array(cols[x.name]).combine_chunks() if not isinstance(cols[x.name], pa.Array)
                         else cols[x.name] for x in schema], schema=schema)

    return fn


def _text_fn(root: str, opts: dict[str, Any], batch_rows: int) -> Any:
    """Executor side of the write's second pass: the contract columns of a part, with _rid."""
    schema = _pages_schema()

    def fn(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        st = open_storage(root, opts)
        for batch in batches:
            for base, key in zip(batch.column("base").to_pylist(), batch.column("key").to_pylist(), strict=True):
                table = contract_table(read_part(st, key))
                table = table.add_column(0, "_rid", pa.array(np.arange(base, base + table.num_rows, dtype=np.int64)))
                yield from table.cast(schema).to_batches(max_chunksize=batch_rows)

    return fn


def _pages_schema() -> pa.Schema:
    return pa.schema([("_rid", pa.int64()), ("doc_id", pa.string()), ("page", pa.int32()), ("source", pa.string()),
                      ("url", pa.string()), ("domain", pa.string()), ("field", pa.string()), ("text", pa.string())])


def _local_cc_fn() -> Any:
    """All edges in one task: vectorized components (`decide.min_label_components`)."""

    def fn(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        tables = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
        if not tables:
            return
        t = pa.concat_tables(tables)
        nodes, roots = min_label_components(t.column("u").to_numpy(), t.column("v").to_numpy())
        yield pa.RecordBatch.from_arrays([pa.array(nodes), pa.array(roots)], names=["node", "root"])

    return fn


def connected_components(spark: Any, edges: Any, max_iterations: int) -> tuple[Any, int]:
    """Connected components of an undirected graph given as DataFrame ``edges(u, v)`` (long).

    Alternates large-star and small-star (Kiveris et al., "Connected Components in MapReduce
    and Beyond", SoCC 2014) until the edge set stops changing; at the fixpoint every component
    is a star around its minimum node. Returns (DataFrame(node, root) for every node that has
    an edge, rounds). Only aggregates and joins: no per-node lists, nothing collected, and a
    node with a million neighbours is just a big group in a min() aggregation.
    """
    from pyspark.sql import functions as F

    e = (edges.select(F.greatest("u", "v").alias("a"), F.least("u", "v").alias("b"))
         .where(F.col("a") != F.col("b")).distinct().localCheckpoint(eager=True))
    rounds = 0
    while True:
        if rounds >= max_iterations:
            raise RuntimeError(f"connected components did not converge in {max_iterations} rounds; "
                               "raise stages.dedup.cc_max_iterations")
        rounds += 1
        # large-star: link every larger neighbour of x to min(N(x) U {x})
        sym = e.select(F.col("a").alias("x"), F.col("b").alias("y")).unionByName(
            e.select(F.col("b").alias("x"), F.col("a").alias("y")))
        m = sym.groupBy("x").agg(F.min("y").alias("my"))
        large = (sym.where(F.col("y") > F.col("x")).join(m, "x")
                 .select(F.col("y").alias("a"), F.least("my", "x").alias("b")).distinct())
        # small-star: link x and all its smaller neighbours to the smallest of them
        m2 = large.groupBy("a").agg(F.min("b").alias("m"))
        small = (large.join(m2, "a").where(F.col("b") != F.col("m"))
                 .select(F.col("b").alias("a"), F.col("m").alias("b"))
                 .unionByName(m2.select("a", F.col("m").alias("b"))).distinct()
                 .localCheckpoint(eager=True))
        changed = (small.withColumn("_new", F.lit(True))
                   .join(e.withColumn("_old", F.lit(True)), ["a", "b"], "full_outer")
                   .where(F.col("_new").isNull() | F.col("_old").isNull()).count())
        e.unpersist()
        e = small
        if changed == 0:
            break
    roots = e.select(F.col("a").alias("node"), F.col("b").alias("root")).unionByName(
        e.select(F.col("b").alias("node"), F.col("b").alias("root"))).distinct()
    return roots, rounds



def _reasons_fn(cfg: DedupConfig) -> Any:
    """Phase 1 (+ phase 2 when the scope needs no per-document view) of the decisions."""
    import pandas as pd

    def fn(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in frames:
            pdf = pdf.copy()
            reasons = page_reasons(pdf, cfg)
            if cfg.near_dup_scope != "document":
                reasons = apply_scope(reasons, np.zeros(len(pdf), dtype=bool), cfg)
            pdf["reason"] = reasons
            yield pdf

    return fn


def _scope_fn(cfg: DedupConfig) -> Any:
    import pandas as pd

    def fn(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in frames:
            pdf = pdf.copy()
            pdf["reason"] = apply_scope(pdf["reason"].to_numpy(), pdf["doc_has_keep"].to_numpy(), cfg)
            yield pdf.drop(columns=["doc_has_keep"])

    return fn


def _write_fn(targets: dict[str, tuple[Any, str, pa.Schema]]) -> Any:
    """Cogroup side of the write: the text rows and the decisions of ONE output part meet
    here; both datasets' parts are written from the executor, rows sorted (byte-identical
    re-runs). Returns (dest, manifest entry) per written file."""

    def fn(text: pa.Table, dec: pa.Table) -> pa.Table:
        names: list[str] = []
        entries: list[str] = []
        if text.num_rows and dec.num_rows:
            p = int(dec.column("_part")[0].as_py())
            t = text.drop_columns(["_part"]).join(dec.drop_columns(["_part"]), "_rid")
            t = t.sort_by([(c, "ascending") for c in [*_SORT, "_rid"]])
            keep = pc.equal(t.column("reason"), KEEP)
            for name, mask in (("kept", keep), ("quarantine", pc.invert(keep))):
                storage, prefix, schema = targets[name]
                g = t.filter(mask)
                if g.num_rows:
                    entry = write_part(storage, prefix, f"part-{p:05d}.parquet", g.select(schema.names).cast(schema))
                    names.append(name)
                    entries.append(json.dumps(entry, sort_keys=True))
        return pa.table({"dest": pa.array(names, pa.string()), "entry": pa.array(entries, pa.string())})

    return fn


def _run_spark(spark: Any, settings: Settings, cfg: DedupConfig, inputs: Sequence[DatasetRef],
               previous: Sequence[DatasetRef], kept_w: DatasetWriter, quar_w: DatasetWriter) -> StageCounters:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StringType, StructField, StructType

    counters = StageCounters()
    b, r = Featurizer(cfg).bands_rows
    storage = open_storage(settings.data_root, settings.storage_options())
    items = _parts(storage, inputs, previous)
    root, opts, batch_rows = settings.data_root, settings.storage_options(), settings.spark.arrow_batch_size
    disk = StorageLevel.MEMORY_AND_DISK

    def small(df: Any, n: int) -> Any:
        return F.broadcast(df) if n <= _BROADCAST_MAX_ROWS else df

    # 1. scan: read + features, one Python pass; the text stays in Python
    nodes = (_parts_df(spark, items).mapInArrow(_scan_fn(cfg, root, opts, batch_rows),
                                                from_arrow_schema(_scan_schema(cfg))).persist(disk))
    ok = F.col("status") == STATUS_OK
    rank = F.struct((~F.col("is_prev")).alias("r_new"), (-F.col("norm_chars")).alias("r_len"),
                    *[F.col(c) for c in _RANK_FIELDS[2:]])

    # 2. exact groups: the best-ranked page of each content hash (one window, no join back)
    by_hash = Window.partitionBy("content_hash")
    ex = (nodes.select("_rid", "is_prev", "source", "doc_id", "page", "status", "content_hash", "n_words",
                       "minhash_truncated", "bands", rank.alias("rank"))
          .withColumn("exact_rep", F.when(ok, F.min(F.when(ok, F.col("rank"))).over(by_hash).getField("_rid"))
                      .otherwise(F.col("_rid")))
          .persist(disk))

    # 3. LSH among exact representatives: each bucket's members become a star around its minimum
    buckets = (ex.where(ok & (F.col("exact_rep") == F.col("_rid")))
               .select("_rid", F.posexplode("bands").alias("band", "bucket"))
               .groupBy("band", "bucket").agg(F.collect_list("_rid").alias("m"))
               .where(F.size("m") > 1))
    cand = (buckets.select(F.array_min("m").alias("v"), F.explode("m").alias("u"))
            .where(F.col("u") != F.col("v")).select("u", "v").distinct().localCheckpoint(eager=True))
    n_cand = cand.count()

    # 4. verification: only the candidates' shingle sets / signatures travel (semi join)
    if cfg.verify == "none" or n_cand == 0:
        scored = cand.withColumn("sim", F.lit(1.0))
    else:
        col = "shingles" if cfg.verify == "exact" else "minhash"
        need = cand.select(F.col("u").alias("_rid")).unionByName(cand.select(F.col("v").alias("_rid"))).distinct()
        side = nodes.select("_rid", col).join(small(need, 2 * n_cand), "_rid", "left_semi")
        both = cand.join(side.toDF("u", "a"), "u").join(side.toDF("v", "b"), "v")
        if cfg.verify == "exact":  # |A n B| / |A u B| of the sorted distinct shingle hashes
            inter = F.size(F.array_intersect("a", "b"))
            sim = inter.cast("double") / (F.size("a") + F.size("b") - inter).cast("double")
        else:  # share of equal signature slots (datasketch MinHash.jaccard)
            eq = F.zip_with("a", "b", lambda x, y: (x == y).cast("int"))
            sim = F.aggregate(eq, F.lit(0), lambda acc, x: acc + x).cast("double") / F.lit(float(cfg.num_perm))
        scored = both.select("u", "v", sim.alias("sim"))
    scored = scored.localCheckpoint(eager=True)
    passed = F.col("sim") >= cfg.threshold
    ec = scored.agg(F.sum(passed.cast("long")).alias("ok")).collect()[0]
    n_edges = int(ec["ok"] or 0)
    edges = scored.where(passed).select("u", "v")

    # 5. connected components of the exact representatives
    single_task = 0 < n_edges <= cfg.cc_local_max_edges
    if n_edges == 0:  # nothing to connect
        roots, rounds = spark.createDataFrame([], "node long, root long"), 0
    elif single_task:
        roots = edges.repartition(1).mapInArrow(_local_cc_fn(), "node long, root long").localCheckpoint(eager=True)
        rounds = 0
    else:
        roots, rounds = connected_components(spark, edges, cfg.cc_max_iterations)
    comp = (ex.drop("bands")
            .join(small(roots, 2 * n_edges).withColumnRenamed("node", "exact_rep"), "exact_rep", "left")
            .withColumn("root", F.when(ok, F.coalesce("root", "exact_rep")).otherwise(F.col("_rid"))))

    # 6. per component: size, distinct documents (multi-page ones for boilerplate), best page
    doc_pages = F.size(F.collect_set("page").over(Window.partitionBy("source", "doc_id")))
    comp = comp.withColumn("doc_pages", doc_pages)
    counts = (F.col("dp") > 1) if cfg.boilerplate_multi_page_only else F.lit(True)
    stats = (comp.where(ok).groupBy("root", "source", "doc_id")
             .agg(F.count("*").alias("n"), F.min("rank").alias("best"), F.max("doc_pages").alias("dp"))
             .groupBy("root").agg(F.sum("n").alias("comp_size"), F.count("*").alias("comp_docs"),
                                  F.sum(counts.cast("long")).alias("comp_bp_docs"), F.min("best").alias("best")))
    rep_key = F.concat_ws("", F.col("best.source"), F.lit(":"), F.col("best.doc_id"), F.lit("#"),
                          F.col("best.page").cast("string"))
    decided = (comp.join(stats, "root", "left")
               .select("_rid", "is_prev", "source", "doc_id", "status", F.col("_rid").alias("nid"), "exact_rep",
                       # page_reasons' `root` is the representative: the component's best page
                       F.coalesce(F.col("best._rid"), F.col("_rid")).alias("root"),
                       F.coalesce(~F.col("best.r_new"), F.col("is_prev")).alias("root_is_prev"),
                       F.coalesce(F.col("comp_size"), F.lit(1)).cast("long").alias("comp_size"),
                       F.coalesce(F.col("comp_docs"), F.lit(1)).cast("long").alias("comp_docs"),
                       F.coalesce(F.col("comp_bp_docs"), F.lit(0)).cast("long").alias("comp_bp_docs"),
                       F.coalesce(rep_key, F.lit("")).alias("representative"),
                       "content_hash", "n_words", "minhash_truncated"))
    schema = StructType([*decided.schema.fields, StructField("reason", StringType())])
    dec = decided.mapInPandas(_reasons_fn(cfg), schema)
    if cfg.near_dup_scope == "document":  # a duplicate page goes only with its whole document
        has_keep = F.max((F.col("reason") == KEEP).cast("int")).over(Window.partitionBy("source", "doc_id"))
        dec = dec.withColumn("doc_has_keep", has_keep.cast("boolean")).mapInPandas(_scope_fn(cfg), schema)
    dec = dec.persist(disk)

    # 7. counters: one global aggregate (the reasons are a closed set)
    reason_names = [KEEP, PREVIOUS, *ALL_DROP_REASONS]
    new_ok = ok & ~F.col("is_prev")
    agg = dec.agg(
        *[F.sum((F.col("reason") == x).cast("long")).alias(x) for x in reason_names],
        F.max(F.when(new_ok, F.col("comp_size"))).alias("largest"),
        F.sum(F.when(~F.col("is_prev"), F.col("minhash_truncated").cast("long"))).alias("trunc"),
        F.countDistinct(F.when(ok & (F.col("comp_size") > 1), F.col("root"))).alias("dup_comps"),
    ).collect()[0]
    by_reason = {x: int(agg[x] or 0) for x in reason_names}
    counters.kept = by_reason.pop(KEEP)
    n_prev = by_reason.pop(PREVIOUS)
    for reason, n in sorted(by_reason.items()):
        if n:
            counters.drop(reason, n)
    counters.input = counters.kept + counters.total_dropped
    for name, value in (("previous_pages", n_prev), ("minhash_truncated", agg["trunc"] or 0),
                        ("lsh_bands", b), ("lsh_rows", r), ("candidate_edges", n_cand),
                        ("verified_edges", n_edges), ("duplicate_components", agg["dup_comps"] or 0),
                        ("largest_component", agg["largest"] or 0), ("cc_rounds", rounds),
                        ("cc_single_task", int(single_task))):
        counters.add(name, int(value))

    # 8. second pass over the new parts' text: shuffled once to its output part (all pages of
    # a document in one part), cogrouped there with the decisions, written by the executor
    num_parts = max(1, math.ceil(max(counters.kept, counters.total_dropped) / ROWS_PER_PART))
    out_part = F.pmod(F.xxhash64("source", "doc_id"), F.lit(num_parts))
    text = (_parts_df(spark, [it for it in items if not it[2]])
            .mapInArrow(_text_fn(root, opts, batch_rows), from_arrow_schema(_pages_schema()))
            .withColumn("_part", out_part))
    final = (dec.where(F.col("reason") != PREVIOUS)
             .withColumn("representative", F.when(ok, F.col("representative")).otherwise(F.lit("")))
             .withColumn("component_id", F.when(ok, F.substring(F.sha2("representative", 256), 1, 16))
                         .otherwise(F.lit("")))
             .withColumn("_part", out_part)
             .select("_rid", "_part", "reason", "representative", "component_id", "content_hash", "n_words",
                     F.col("comp_size").alias("component_size"), F.col("comp_docs").alias("component_docs")))
    writers = {"kept": kept_w, "quarantine": quar_w}
    targets = {name: (w.storage, w.staging, w.schema) for name, w in writers.items()}
    rows = (text.groupBy("_part").cogroup(final.groupBy("_part"))
            .applyInArrow(_write_fn(targets), "dest string, entry string").collect())
    for name, w in writers.items():
        w.add_files(sorted((json.loads(x["entry"]) for x in rows if x["dest"] == name), key=lambda e: e["path"]))
    for df in (nodes, ex, dec):
        df.unpersist()
    return counters


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Global page-level dedup (MinHash + LSH + connected components) "
                                "of page datasets into clean/pages.")
    p.add_argument("--input", action="append", required=True, metavar="ZONE/NAME/VERSION",
                   help="an input page dataset (repeat for several)")
    p.add_argument("--previous", action="append", default=[], metavar="clean/pages/VERSION",
                   help="an earlier published clean/pages version whose pages must not be re-admitted")
    p.add_argument("--date", required=True, help="logical date YYYY-MM-DD")
    p.add_argument("--engine", choices=["spark", "local"], default="spark")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    ref = run_dedup(get_settings(), [DatasetRef.parse(s) for s in a.input], a.date, engine=a.engine,
                    previous=[DatasetRef.parse(s) for s in a.previous])
    print(ref.key)


if __name__ == "__main__":
    main()
