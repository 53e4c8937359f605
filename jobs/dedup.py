"""Spark job: global page-level dedup of the union of page datasets -> ``clean/pages``.

    exact groups (content hash) -> MinHash LSH buckets -> star edges to each bucket's minimum
    -> verified edges -> connected components (large-star / small-star, DataFrame ops)
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

import pyarrow as pa

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
    page_reasons,
)
from pipelines.dedup.features import FEATURE_SCHEMA, PAGE_COLUMNS, STATUS_OK, Featurizer, decode_minhash
from pipelines.dedup.local import contract_table, dedup_tables
from pipelines.dedup.lsh import describe
from pipelines.dedup.minhash import exact_jaccard, jaccard_estimate, shingle_sets
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


def _pages_schema() -> pa.Schema:
    return pa.schema([("_rid", pa.int64()), ("is_prev", pa.bool_()), ("doc_id", pa.string()),
                      ("page", pa.int32()), ("source", pa.string()), ("url", pa.string()),
                      ("domain", pa.string()), ("field", pa.string()), ("text", pa.string())])


def read_pages(spark: Any, settings: Settings, refs: Sequence[DatasetRef], *, is_prev: bool,
               first_index: int = 0) -> Any:
    """The contract columns of ``refs`` as one DataFrame, plus a unique deterministic `_rid`
    and the `is_prev` flag. Executors read the parts (like jobs.io.read_df)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    storage = open_storage(settings.data_root, settings.storage_options())
    items = []
    for i, ref in enumerate(refs, start=first_index):
        for j, key in enumerate(part_keys(storage, ref)):
            items.append((len(items), (i << 20 | j) << _RID_PART_BITS, key))
    root, opts = settings.data_root, settings.storage_options()
    batch_rows = settings.spark.arrow_batch_size
    schema = _pages_schema()

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        st = open_storage(root, opts)
        for batch in batches:
            for base, key in zip(batch.column("base").to_pylist(), batch.column("key").to_pylist(),
                                 strict=True):
                table = contract_table(read_part(st, key))
                n = table.num_rows
                table = table.add_column(0, "is_prev", pa.array([is_prev] * n, pa.bool_()))
                table = table.add_column(0, "_rid", pa.array(range(base, base + n), pa.int64()))
                yield from table.cast(schema).to_batches(max_chunksize=batch_rows)

    df = spark.createDataFrame([(i, b, k) for i, b, k in items], "i long, base long, key string")
    return df.repartition(max(1, len(items)), "i").mapInArrow(read, from_arrow_schema(schema))


def _feature_fn(cfg: DedupConfig) -> Any:
    feat = Featurizer(cfg)
    keys = ["_rid", "is_prev", "source", "doc_id", "page"]

    def fn(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            f = feat(batch.column("text"))
            cols = [batch.column(k) for k in keys] + [f.column(c).combine_chunks() for c in f.column_names]
            yield pa.RecordBatch.from_arrays(cols, names=keys + f.column_names)

    return fn


def _features_schema() -> pa.Schema:
    base = _pages_schema()
    return pa.schema([base.field(k) for k in ("_rid", "is_prev", "source", "doc_id", "page")]
                     + list(FEATURE_SCHEMA))


def _verify_fn(cfg: DedupConfig) -> Any:
    def fn(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if cfg.verify == "estimate":
                s1 = decode_minhash(batch.column("mh_u"), cfg.num_perm)
                s2 = decode_minhash(batch.column("mh_v"), cfg.num_perm)
                sim = jaccard_estimate(s1, s2)
            else:
                t1 = shingle_sets(batch.column("text_u").to_pylist(), cfg.ngram, norm_numbers=cfg.norm_numbers)
                t2 = shingle_sets(batch.column("text_v").to_pylist(), cfg.ngram, norm_numbers=cfg.norm_numbers)
                sim = [exact_jaccard(a, b) for a, b in zip(t1, t2, strict=True)]
            yield pa.RecordBatch.from_arrays([batch.column("u"), batch.column("v"), pa.array(sim, pa.float64())],
                                             names=["u", "v", "sim"])

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


def _phase1_fn(cfg: DedupConfig) -> Any:
    import pandas as pd

    def fn(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in frames:
            pdf = pdf.copy()
            pdf["reason"] = page_reasons(pdf, cfg)
            yield pdf

    return fn


def _phase2_fn(cfg: DedupConfig) -> Any:
    import pandas as pd

    def fn(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in frames:
            pdf = pdf.copy()
            pdf["reason"] = apply_scope(pdf["reason"].to_numpy(), pdf["doc_has_keep"].to_numpy(), cfg)
            yield pdf.drop(columns=["doc_has_keep"])

    return fn


def write_split_parts(df: Any, writers: dict[str, DatasetWriter], route: Any, *, partition_cols: list[str],
                      sort_cols: list[str], num_parts: int) -> None:
    """Write ``df`` into several datasets in ONE pass from the executors: ``route`` (a column
    expression) names the writer of each row. Rows are hash-partitioned by ``partition_cols``
    (all pages of a document land in one part number) and sorted by ``sort_cols`` inside a
    part, so a re-run writes the same bytes. Arrow end to end (no pandas), so text passes
    through untouched. Registers the part entries with their writers."""
    from pyspark.sql import functions as F

    targets = {name: (w.storage, w.staging, w.schema) for name, w in writers.items()}

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        tables = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
        out_names, out_entries = [], []
        if tables:
            t = pa.concat_tables(tables)
            parts = t.column("_part").to_numpy()
            dest = t.column("_dest").to_numpy(zero_copy_only=False)
            for p in sorted(set(parts.tolist())):
                for name, (storage, prefix, schema) in sorted(targets.items()):
                    mask = (parts == p) & (dest == name)
                    if not mask.any():
                        continue
                    g = t.filter(pa.array(mask)).sort_by([(c, "ascending") for c in sort_cols])
                    entry = write_part(storage, prefix, f"part-{int(p):05d}.parquet",
                                       g.select(schema.names).cast(schema))
                    out_names.append(name)
                    out_entries.append(json.dumps(entry, sort_keys=True))
        yield pa.RecordBatch.from_arrays([pa.array(out_names, pa.string()), pa.array(out_entries, pa.string())],
                                         names=["dest", "entry"])

    parted = (df.withColumn("_part", F.pmod(F.xxhash64(*partition_cols), F.lit(num_parts)))
              .withColumn("_dest", route))
    rows = parted.repartition(num_parts, "_part").mapInArrow(write, "dest string, entry string").collect()
    for name, w in writers.items():
        w.add_files(sorted((json.loads(r["entry"]) for r in rows if r["dest"] == name), key=lambda e: e["path"]))


def _run_spark(spark: Any, settings: Settings, cfg: DedupConfig, inputs: Sequence[DatasetRef],
               previous: Sequence[DatasetRef], kept_w: DatasetWriter, quar_w: DatasetWriter) -> StageCounters:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StringType, StructField, StructType

    counters = StageCounters()
    b, r = Featurizer(cfg).bands_rows
    pages = read_pages(spark, settings, inputs, is_prev=False)
    if previous:
        pages = pages.unionByName(read_pages(spark, settings, previous, is_prev=True, first_index=len(inputs)))

    # 1. features (map side, vectorized), then node ids in representative order
    feats = pages.mapInArrow(_feature_fn(cfg), from_arrow_schema(_features_schema()))
    if cfg.verify != "estimate":
        feats = feats.drop("minhash")
    # the global sort below samples its input first: without this, pages are read and
    # featurized twice (once for the range bounds, once for the sort)
    feats = feats.persist(StorageLevel.MEMORY_AND_DISK)
    nodes = (feats.orderBy(F.col("is_prev").desc(), F.col("norm_chars").desc(), "source", "doc_id", "page",
                           "content_hash")
             .withColumn("nid", F.monotonically_increasing_id())
             .persist(StorageLevel.MEMORY_AND_DISK))
    ok = F.col("status") == STATUS_OK

    # 2. exact duplicates: the smallest node of each content hash
    exact = nodes.where(ok).groupBy("content_hash").agg(F.min("nid").alias("exact_rep"))
    nodes2 = (nodes.join(exact, "content_hash", "left")
              .withColumn("exact_rep", F.when(ok, F.col("exact_rep")).otherwise(F.col("nid"))))

    # 3. LSH candidates among exact representatives: a star to each bucket's smallest node
    reps = nodes2.where(ok & (F.col("exact_rep") == F.col("nid"))).select(
        "nid", F.posexplode("bands").alias("band", "bucket"))
    bmin = reps.groupBy("band", "bucket").agg(F.min("nid").alias("m"), F.count("*").alias("n")).where("n > 1")
    cand = (reps.join(bmin.drop("n"), ["band", "bucket"]).where(F.col("nid") != F.col("m"))
            .select(F.col("nid").alias("u"), F.col("m").alias("v")).distinct())

    # 4. verification of each candidate edge (scored once, counted and filtered from the checkpoint)
    if cfg.verify == "none":
        scored = cand.withColumn("sim", F.lit(1.0))
    else:
        if cfg.verify == "estimate":
            side = nodes.select("nid", "minhash")
            col_u, col_v = "mh_u", "mh_v"
        else:
            # only the texts of nodes that have a candidate edge travel (a semi join: broadcast
            # when the candidate set is small, never a shuffle of the whole corpus for it)
            need = (cand.select(F.col("u").alias("nid")).unionByName(cand.select(F.col("v").alias("nid")))
                    .distinct().join(nodes.select("nid", "_rid"), "nid"))
            side = pages.select("_rid", "text").join(need, "_rid").select("nid", "text")
            col_u, col_v = "text_u", "text_v"
        both = (cand.join(side.withColumnRenamed("nid", "u").withColumnRenamed(side.columns[1], col_u), "u")
                .join(side.withColumnRenamed("nid", "v").withColumnRenamed(side.columns[1], col_v), "v")
                .select("u", "v", col_u, col_v))
        scored = both.mapInArrow(_verify_fn(cfg), "u long, v long, sim double")
    scored = scored.localCheckpoint(eager=True)
    passed = F.col("sim") >= cfg.threshold
    ec = scored.agg(F.count("*").alias("n"), F.sum(passed.cast("long")).alias("ok")).collect()[0]
    n_cand, n_edges = int(ec["n"]), int(ec["ok"] or 0)
    edges = scored.where(passed).select("u", "v")

    # 5. connected components of the exact representatives
    if n_edges:
        roots, rounds = connected_components(spark, edges, cfg.cc_max_iterations)
    else:  # nothing to connect: skip the rounds
        roots, rounds = spark.createDataFrame([], "node long, root long"), 0
    nodes3 = (nodes2.drop("bands", "minhash")
              .join(roots.withColumnRenamed("node", "exact_rep"), "exact_rep", "left")
              .withColumn("root", F.when(ok, F.coalesce("root", "exact_rep")).otherwise(F.col("nid")))
              .persist(StorageLevel.MEMORY_AND_DISK))

    # 6. per component: size, distinct documents, representative (= the root node)
    doc_pages = nodes.groupBy("source", "doc_id").agg(F.countDistinct("page").alias("doc_pages"))
    counts = (F.col("doc_pages") > 1) if cfg.boilerplate_multi_page_only else F.lit(True)
    stats = nodes3.where(ok).join(doc_pages, ["source", "doc_id"]).groupBy("root").agg(
        F.count("*").alias("comp_size"), F.countDistinct("source", "doc_id").alias("comp_docs"),
        F.countDistinct(F.when(counts, F.col("source")), F.when(counts, F.col("doc_id"))).alias("comp_bp_docs"))
    rep_key = F.concat_ws("", F.col("source"), F.lit(":"), F.col("doc_id"), F.lit("#"),
                          F.col("page").cast("string"))
    rootinfo = nodes.select(F.col("nid").alias("root"), F.col("is_prev").alias("root_is_prev"),
                            rep_key.alias("representative"))
    decided = (nodes3.join(stats, "root", "left").join(rootinfo, "root", "left")
               .withColumn("comp_size", F.coalesce("comp_size", F.lit(1)).cast("long"))
               .withColumn("comp_docs", F.coalesce("comp_docs", F.lit(1)).cast("long"))
               .withColumn("comp_bp_docs", F.coalesce("comp_bp_docs", F.lit(0)).cast("long"))
               .select("_rid", "is_prev", "source", "doc_id", "status", "nid", "exact_rep", "root",
                       "root_is_prev", "comp_size", "comp_docs", "comp_bp_docs", "representative", "content_hash", "n_words",
                       "minhash_truncated"))
    phase1_schema = StructType([*decided.schema.fields, StructField("reason", StringType())])
    p1 = decided.mapInPandas(_phase1_fn(cfg), phase1_schema)
    doc_keep = p1.groupBy("source", "doc_id").agg(F.max((F.col("reason") == KEEP).cast("int"))
                                                  .cast("boolean").alias("doc_has_keep"))
    p2 = (p1.join(doc_keep, ["source", "doc_id"]).mapInPandas(_phase2_fn(cfg), phase1_schema)
          .persist(StorageLevel.MEMORY_AND_DISK))
    final = (p2.where(F.col("reason") != PREVIOUS)
             .withColumn("representative", F.when(ok, F.col("representative")).otherwise(F.lit("")))
             .withColumn("component_id", F.when(ok, F.substring(F.sha2("representative", 256), 1, 16))
                         .otherwise(F.lit("")))
             .withColumnRenamed("comp_size", "component_size").withColumnRenamed("comp_docs", "component_docs"))

    # 7. counters: one global aggregate (the reasons are a closed set)
    reason_names = [KEEP, PREVIOUS, *ALL_DROP_REASONS]
    new_ok = ok & ~F.col("is_prev")
    agg = p2.agg(
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
                        ("largest_component", agg["largest"] or 0), ("cc_rounds", rounds)):
        counters.add(name, int(value))

    # 8. join the decisions back to the text; one pass writes both datasets from the executors
    text = pages.where(~F.col("is_prev")).select("_rid", *PAGE_COLUMNS)
    out = text.join(final.drop("source", "doc_id", "is_prev"), "_rid")
    num_parts = max(1, math.ceil(max(counters.kept, counters.total_dropped) / ROWS_PER_PART))
    write_split_parts(out, {"kept": kept_w, "quarantine": quar_w}, F.when(F.col("reason") == KEEP, "kept")
                      .otherwise("quarantine"), partition_cols=["source", "doc_id"], sort_cols=_SORT,
                      num_parts=num_parts)
    for df in (feats, nodes, nodes3, p2):
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
