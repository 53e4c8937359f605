"""Spark job: global page-level dedup of the union of page datasets -> ``clean/pages``.

    exact groups (content hash) -> MinHash LSH buckets -> edges to each bucket's
    `lsh_centers` smallest content hashes    -> verified edges -> connected components (one executor task for graphs up to
    `cc_local_max_edges`, else large-star / small-star in DataFrame ops)
    -> boilerplate / duplicate / already-published decisions -> clean/pages + quarantine/pages

Nothing proportional to the data reaches the driver: only counters, the part list and the
per-round "did anything change" count of the components loop. ``engine="local"`` runs the
in-memory reference (`sciforge.pipelines.dedup.local`) on small inputs.

Run under spark-submit: ``python -m sciforge.jobs.dedup --input clean/web_pages/<v> --input clean/pdf_pages/<v>
--date 2026-01-01 [--previous clean/pages/<v>]``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sciforge.jobs.result import add_result_arg, report
from sciforge.pipelines.config import Settings, get_settings
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import (
    DatasetRef,
    DatasetWriter,
    make_version,
    part_keys,
    read_manifest,
    read_part,
    read_part_slice,
    read_table,
    write_part,
)
from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.decide import (
    ALL_DROP_REASONS,
    ALREADY_PUBLISHED,
    BOILERPLATE_PAGE,
    CONTAINED,
    CONTAINMENT_FIELD,
    EXACT_DUPLICATE,
    KEEP,
    KEPT_SCHEMA,
    NEAR_DUPLICATE,
    PREVIOUS,
    QUARANTINE_SCHEMA,
    min_label_components,
)
from sciforge.pipelines.dedup.features import STATUS_OK, Featurizer, feature_schema, printable_text
from sciforge.pipelines.dedup.local import concat_pages, contract_table, dedup_tables
from sciforge.pipelines.dedup.lsh import describe
from sciforge.pipelines.pages import PAGE_SCHEMA
from sciforge.pipelines.storage import open_storage

log = logging.getLogger(__name__)
Engine = Literal["spark", "local", "auto"]
OUTPUT_NAME = "pages"
# Rows per output Parquet part of the local engine: ~50k pages x ~3 KB of markdown ~ 150 MB,
# the size range Spark/Parquet readers handle best (the 128 MB-1 GB guidance of the Parquet
# docs). The Spark engine writes one output part per new input part instead (a map-side
# write: each part's text is read and written by one task, never shuffled).
ROWS_PER_PART = 50_000
_RID_PART_BITS = 32  # _rid = (input index, part index) << 32 | row index: unique, deterministic
_SORT = ["source", "doc_id", "page", "content_hash"]


def dedup_config(settings: Settings) -> DedupConfig:
    return DedupConfig(**settings.stage("dedup"))


def output_ref(cfg: DedupConfig, input_refs: Sequence[DatasetRef], logical_date: str,
               previous: Sequence[DatasetRef]) -> DatasetRef:
    version = make_version(logical_date, {
        "stage": OUTPUT_NAME, "params": cfg.version_params(),
        "parents": sorted(r.key for r in input_refs), "previous": sorted(r.key for r in previous)})
    return DatasetRef("clean", OUTPUT_NAME, version)


def quarantine_schema(cfg: DedupConfig) -> pa.Schema:
    """`QUARANTINE_SCHEMA`, plus ``containment`` when the containment mode is on."""
    return QUARANTINE_SCHEMA.append(CONTAINMENT_FIELD) if cfg.containment == "on" else QUARANTINE_SCHEMA


def choose_engine(cfg: DedupConfig, storage: Any, refs: Sequence[DatasetRef]) -> Literal["spark", "local"]:
    """``engine="auto"``: the local engine when the pages of ``refs`` (new and earlier
    snapshots, from their manifests) are at most `local_engine_max_pages`, else the Spark job.
    Both publish the same rows, so the choice changes only the time it takes."""
    pages = sum(int(read_manifest(storage, r).get("rows", 0)) for r in refs)
    return "local" if pages <= cfg.local_engine_max_pages else "spark"


def run_dedup(settings: Settings, input_refs: Sequence[DatasetRef], logical_date: str, *,
              engine: Engine = "spark", spark: Any = None, previous: Sequence[DatasetRef] = ()) -> DatasetRef:
    """Deduplicate the union of ``input_refs`` (PAGE-TEXT CONTRACT datasets), optionally
    against ``previous`` published ``clean/pages`` versions; publish ``clean/pages/<v>`` and
    ``quarantine/pages/<v>``. Returns the clean ref."""
    if not input_refs:
        raise ValueError("run_dedup needs at least one input dataset")
    cfg = dedup_config(settings)
    storage = open_storage(settings.data_root, settings.storage_options())
    for dataset in [*input_refs, *previous]:
        read_manifest(storage, dataset)  # refuses unpublished inputs before any work
    ref = output_ref(cfg, input_refs, logical_date, previous)
    if engine == "auto":
        engine = choose_engine(cfg, storage, [*input_refs, *previous])
        print(f"dedup: engine auto -> {engine} (local_engine_max_pages {cfg.local_engine_max_pages})", flush=True)
    if any(p.zone == ref.zone and p.name == ref.name and p.version[:10] >= ref.version[:10] for p in previous):
        raise ValueError(f"previous snapshots must be published before {logical_date}: got "
                         f"{[p.key for p in previous]} (a re-run would otherwise find its own output)")
    b, r = Featurizer(cfg).bands_rows
    print(describe(cfg.threshold, b, r), flush=True)
    params = {"stage": OUTPUT_NAME, "params": cfg.version_params(), "bands": b, "rows": r,
              "previous": [p.key for p in previous]}
    parents = [*input_refs, *previous]
    kept_w = DatasetWriter(storage, ref, logical_date=logical_date, config=params, parents=parents,
                           schema=KEPT_SCHEMA)
    quar_w = DatasetWriter(storage, ref.quarantine(), logical_date=logical_date, config=params,
                           parents=parents, schema=quarantine_schema(cfg))
    if engine == "local":
        counters = _run_local(storage, cfg, input_refs, previous, kept_w, quar_w)
    else:
        if spark is None:
            from sciforge.jobs.spark import get_spark

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
    # Arrow's buffers come from the C library's allocator for the run: the features build and
    # free the same few MiB of Arrow and numpy arrays once per 2 MiB slice of text, and
    # pyarrow's default pool (mimalloc) hands freed pages back to the kernel within
    # milliseconds, so every slice faults them in again (145k page faults, 0.4 system CPU-s
    # for the features of 20k pages), while the C allocator keeps reusing them (52k, 0.1 s).
    # The pool is restored afterwards; buffers keep the pool that allocated them.
    pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        new = concat_pages([read_table(storage, r) for r in inputs])
        prev = concat_pages([read_table(storage, r) for r in previous]) if previous else None
        res = dedup_tables(new, cfg, prev)
        for w, t in ((kept_w, res.kept), (quar_w, res.quarantined)):
            for i in range(0, t.num_rows, ROWS_PER_PART):
                w.write(t.slice(i, ROWS_PER_PART))
    finally:
        pa.set_memory_pool(pool)
    return res.counters


# ------------------------------------------------------------------------------------------
# Spark engine


#
# The text is read by Python tasks straight from storage and never enters the JVM; between
# the Python steps only small per-page metadata (~150 bytes a page) is shuffled or cached:
#   scan    one task per input part: read it, compute the features (exact hash, MinHash band
#           keys, lengths); only metadata leaves Python
#   JVM     exact groups (window), LSH buckets (shared buckets by a hash aggregate -> edges to
#           each bucket's `lsh_centers` smallest content hashes)
#   verify  one task per input part holding candidate pages re-reads their text and computes
#           their shingle sets (or signatures) only; |A n B| / |A u B| by array_intersect (or
#           equal slots by zip_with) in the JVM
#   JVM     components (one executor task for graphs up to `cc_local_max_edges`, else
#           large-star / small-star rounds), component stats, decisions (native expressions)
#   write   the decisions go to their output part (one per new input part: the part of the
#           document's first page); that task reads the part's text, joins, sorts, writes
# Candidate nodes and component roots are broadcast when small, so the per-page tables are
# not shuffled to meet a handful of edges.

# A side of a join with at most this many rows (8-16 bytes each, <= ~32 MB) is broadcast:
# the same order as Spark's autoBroadcastJoinThreshold, used here for sides whose size the
# job knows exactly (it counted them) while Spark's estimate of them is unknown.
_BROADCAST_MAX_ROWS = 2_000_000
# The verification values of the candidate pages (a few hundred int64 a page) are broadcast
# to meet their edges only when they total at most this many bytes (Spark's own default
# spark.sql.autoBroadcastJoinThreshold, 10 MiB); larger sets meet their edges by a shuffle
# join. A broadcast goes through the driver and is copied to every executor: at 100k pages
# (~40 MB of shingle sets) broadcasting them took 1.3 s more with 2 executors than with 1
# (standalone, steady state) while the rest of the verification halved.
_BROADCAST_MAX_BYTES = 10 * 2**20
# Representative order as ONE comparable struct (smaller = better representative): earlier
# snapshot first, longest normalized text, then the page identity; `_rid` breaks exact ties
# the way the local engine's stable sort does (input order).
_RANK_FIELDS = ("r_new", "r_len", "source", "doc_id", "page", "content_hash", "_rid")
# Pages of one scan task of the Spark engine: a part holding more is cut into row ranges, so a day
# spreads over the cluster whatever the number of parts it arrives in (a 50k-page day written as 3
# parts is 10 tasks, not 3 tasks for 2 or more executors). A task is seconds of feature and MinHash
# work, long against a Python task's start (~0.1 s). The shuffles after the scan get as many
# partitions as the scan has tasks, at most spark.shuffle_partitions: a small day is not shuffled
# into the cluster profile's 512 partitions (a 600-page day ran 4 stages of 512 near-empty tasks,
# 102 of its 141 s: bench/web_scaling.py --pages 600 --jobs web_filter,dedup, 1 worker).
SCAN_PAGES_PER_TASK = 5000


def _parts(storage: Any, inputs: Sequence[DatasetRef], previous: Sequence[DatasetRef]) -> list[tuple[int, str, bool]]:
    """(first _rid, part key, is_prev) of every part: _rid = (dataset index << 20 | part
    index) << 32 | row index, unique and the same on every run."""
    items = []
    for i, ref in enumerate([*inputs, *previous]):
        for j, key in enumerate(part_keys(storage, ref)):
            items.append(((i << 20 | j) << _RID_PART_BITS, key, i >= len(inputs)))
    return items


_M32 = 0xFFFFFFFF
_SPARK_HASH_SEED = 42  # the seed of Spark's `hash()` and of hash partitioning (Murmur3Hash)


def _rotl32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _mix(h: int, k: int) -> int:
    k = _rotl32((k * 0xCC9E2D51) & _M32, 15) * 0x1B873593 & _M32
    return (_rotl32(h ^ k, 13) * 5 + 0xE6546B64) & _M32


def spark_hash_long(value: int) -> int:
    """Spark's ``hash(bigint)`` (Murmur3 x86_32 of the 8 bytes, seed 42), as a signed int32:
    what `repartition(n, col)` partitions a bigint column by (``pmod(hash, n)``)."""
    v = value & 0xFFFFFFFFFFFFFFFF
    h = _mix(_mix(_SPARK_HASH_SEED, v & _M32), v >> 32) ^ 8
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & _M32
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def _one_per_partition(df: Any, column: str, keys: list[int]) -> Any:
    """``df`` hash-partitioned into ``len(keys)`` partitions with each value of ``column`` (one
    of ``keys``) in a partition of its own, plus a ``_slot`` column to group by along with it.

    `repartition(n, column)` alone puts ``pmod(murmur3(value), n)`` together: with 8 input parts
    in 8 partitions ~3 collide, and one executor got 2 tasks of 2 parts each while the other
    had empty ones (the verification's slowest executor 10.0 s, the other 5.8 s). The j-th key
    gets a surrogate bigint ``_slot`` whose Spark hash lands in partition j (`spark_hash_long`,
    Spark's own function computed here, so no Spark job is needed to find the slots). The
    grouping stays correct whatever the mapping: only the spread of the work depends on it.
    """
    from pyspark.sql import functions as F

    n = max(1, len(keys))
    slot_of: dict[int, int] = {}
    candidate = 0
    while len(slot_of) < n:  # ~n ln n integers cover every residue
        slot_of.setdefault(spark_hash_long(candidate) % n, candidate)  # Python % is pmod
        candidate += 1
    # both sides bigint: Spark hashes an int and a bigint of the same value differently
    pairs = [F.lit(x).cast("long") for j, k in enumerate(sorted(keys)) for x in (k, slot_of[j])]
    slot = F.element_at(F.create_map(*pairs), F.col(column).cast("long"))
    return df.withColumn("_slot", slot).repartition(n, "_slot")


def scan_slices(storage: Any, inputs: Sequence[DatasetRef], previous: Sequence[DatasetRef],
                pages_per_task: int | None = None) -> list[tuple[int, str, bool, int, int]]:
    """(part's first _rid, part key, is_prev, first row, end row) of every scan task: each part (in
    `_parts` order) cut into the fewest even row ranges of at most ``pages_per_task`` rows. End row -1:
    the whole part (a manifest entry without a row count)."""
    per_task = pages_per_task or SCAN_PAGES_PER_TASK
    out = []
    for i, ref in enumerate([*inputs, *previous]):
        files = [f for f in read_manifest(storage, ref)["files"] if f["path"].endswith(".parquet")]
        for j, f in enumerate(files):
            base, key, is_prev = (i << 20 | j) << _RID_PART_BITS, f"{ref.key}/{f['path']}", i >= len(inputs)
            rows = f.get("rows")
            if rows is None:
                out.append((base, key, is_prev, 0, -1))
                continue
            k = max(1, -(-int(rows) // per_task))
            out += [(base, key, is_prev, s * int(rows) // k, (s + 1) * int(rows) // k) for s in range(k)]
    return out


def _parts_df(spark: Any, slices: list[tuple[int, str, bool, int, int]]) -> Any:
    """The scan slices as a DataFrame with exactly one slice per partition (one task each)."""
    rdd = spark.sparkContext.parallelize(slices, max(1, len(slices)))
    return spark.createDataFrame(rdd, "base long, key string, is_prev boolean, start long, stop long")


def _scan_schema(cfg: DedupConfig) -> pa.Schema:
    fields = [pa.field("_rid", pa.int64()), pa.field("is_prev", pa.bool_()), pa.field("source", pa.string()),
              pa.field("doc_id", pa.string()), pa.field("page", pa.int32())]
    fields += [f for f in feature_schema(cfg) if f.name != "minhash"]
    return pa.schema(fields)


def _scan_fn(cfg: DedupConfig, root: str, opts: dict[str, Any], batch_rows: int) -> Any:
    """Executor side of the scan: read a slice of a part, featurize it batch by batch."""
    feat = Featurizer(cfg)
    schema = _scan_schema(cfg)

    def fn(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        st = open_storage(root, opts)
        for batch in batches:
            for base, key, is_prev, start, stop in zip(
                    *(batch.column(c).to_pylist() for c in ("base", "key", "is_prev", "start", "stop")), strict=True):
                table = contract_table(read_part(st, key) if stop < 0 else read_part_slice(st, key, start, stop))
                base += start  # the slice's first row
                for off in range(0, table.num_rows, batch_rows):
                    t = table.slice(off, batch_rows)
                    n = t.num_rows
                    f = feat(t.column("text"))
                    cols: dict[str, Any] = {
                        "_rid": pa.array(np.arange(base + off, base + off + n, dtype=np.int64)),
                        "is_prev": pa.array(np.full(n, bool(is_prev))),
                        "source": t.column("source"), "doc_id": t.column("doc_id"), "page": t.column("page")}
                    for c in f.column_names:
                        if c != "minhash":
                            cols[c] = f.column(c)
                    yield pa.RecordBatch.from_arrays(
                        [pa.chunked_array(cols[x.name]).combine_chunks() if not isinstance(cols[x.name], pa.Array)
                         else cols[x.name] for x in schema], schema=schema)

    return fn


def _verify_values_fn(cfg: DedupConfig, root: str, opts: dict[str, Any], keys: dict[int, str],
                      batch_rows: int) -> Any:
    """One call per input part holding candidate pages: re-reads that part's text and
    computes the edge check's input (`Featurizer.verification_values`) for those pages only,
    `batch_rows` pages at a time (the scan's bound on Python memory), so the scan never ships
    or caches per-shingle data. ``keys``: ``_rid >> 32`` -> part key. With containment on,
    also ``cvals`` (`Featurizer.containment_values`: numbers kept; the same lists as ``vals``
    when `numbers` is keep)."""
    feat = Featurizer(cfg)
    row_mask = np.int64((1 << _RID_PART_BITS) - 1)
    both = cfg.containment == "on"
    lt = pa.list_(pa.int64())

    def fn(need: pa.Table) -> pa.Table:
        rids = np.sort(need.column("_rid").to_numpy())
        if not len(rids):
            return pa.table({"_rid": pa.array([], pa.int64()), "vals": pa.array([], lt),
                             **({"cvals": pa.array([], lt)} if both else {})})
        texts = read_part(open_storage(root, opts), keys[int(rids[0] >> _RID_PART_BITS)], columns=["text"])
        texts = texts.column("text").take(pa.array(rids & row_mask))
        slices = [texts.slice(i, batch_rows) for i in range(0, len(rids), batch_rows)]
        vals = pa.chunked_array([feat.verification_values(t) for t in slices], lt)
        out = {"_rid": pa.array(rids), "vals": vals}
        if both:
            out["cvals"] = vals if cfg.numbers == "keep" else \
                pa.chunked_array([feat.containment_values(t) for t in slices], lt)
        return pa.table(out)

    return fn


def _pages_schema() -> pa.Schema:
    """The page contract's columns behind a row id (the input pages as the Spark job reads them)."""
    return pa.schema([pa.field("_rid", pa.int64()), *PAGE_SCHEMA])


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



def _reason_expr(cfg: DedupConfig, doc_has_keep: Any = None) -> Any:
    """`decide.page_reasons` then `decide.apply_scope` as one JVM expression over the same
    columns (the rules in the same order), so the decisions need no Python round trip."""
    from pyspark.sql import functions as F

    dup = F.col("exact_rep") != F.col("nid")
    reason = (F.when(F.col("is_prev"), F.lit(PREVIOUS))
              .when(F.col("status") != STATUS_OK, F.col("status"))
              .when(F.col("comp_bp_docs") >= cfg.boilerplate_min_docs, F.lit(BOILERPLATE_PAGE))
              .when(F.col("root_is_prev"), F.lit(ALREADY_PUBLISHED))
              .when(F.col("nid") == F.col("root"), F.lit(KEEP)))
    if cfg.near_dup_scope == "off":
        return reason.otherwise(F.lit(KEEP))
    if cfg.near_dup_scope == "document":  # a duplicate page stays while its document keeps a page
        return reason.when(doc_has_keep, F.lit(KEEP)).when(dup, F.lit(EXACT_DUPLICATE)).otherwise(
            F.lit(NEAR_DUPLICATE))
    return reason.when(dup, F.lit(EXACT_DUPLICATE)).otherwise(F.lit(NEAR_DUPLICATE))


_COUNTS = "counts"  # the write tasks' counter rows (dest column)
_COUNT_COLUMNS = ("_largest", "_trunc", "_dup_root")


def _write_counts(dec: pa.Table) -> dict[str, int]:
    """One write task's share of the counters: rows per reason (earlier snapshots' rows as
    `previous`), the largest component of a new page, truncated MinHash inputs, duplicate
    components (one representative row each)."""
    out = {str(v["values"]): int(v["counts"]) for v in pc.value_counts(dec.column("reason")).to_pylist()}
    out["largest"] = int(pc.max(dec.column("_largest")).as_py() or 0)
    out["trunc"] = int(pc.sum(dec.column("_trunc")).as_py() or 0)
    out["dup_comps"] = int(pc.sum(dec.column("_dup_root")).as_py() or 0)
    return out


def _write_fn(targets: dict[str, tuple[Any, str, pa.Schema]], parts: dict[int, tuple[int, str]]) -> Any:
    """Write side, one call per output part with that part's decisions (metadata only): the
    text is read here from the input part(s) the rows came from (``_rid`` locates each row:
    part in the high bits, row in the low ones), so it never travels through the JVM or a
    shuffle. Both datasets' parts are written from the executor, rows sorted (byte-identical
    re-runs). ``parts``: ``_rid >> 32`` -> (output part number, input part key) of every new
    input part. Returns (dest, manifest entry) per written file, plus one (``counts``, JSON)
    row with the group's share of the counters (`_write_counts`; earlier snapshots' rows are
    counted, never written)."""
    schema_in = _pages_schema()
    row_mask = np.int64((1 << _RID_PART_BITS) - 1)

    def fn(dec: pa.Table) -> pa.Table:
        names: list[str] = []
        entries: list[str] = []
        if dec.num_rows:
            names.append(_COUNTS)
            entries.append(json.dumps(_write_counts(dec), sort_keys=True))
            dec = dec.filter(pc.not_equal(dec.column("reason"), PREVIOUS)).drop_columns(list(_COUNT_COLUMNS))
        if dec.num_rows:
            st = targets["kept"][0]
            out_num = parts[int(dec.column("_src")[0].as_py())][0]
            dec = dec.drop_columns([c for c in ("_src", "_slot") if c in dec.column_names]).sort_by("_rid")
            rids = dec.column("_rid").to_numpy()
            srcs = rids >> _RID_PART_BITS
            pieces = []
            for src in np.unique(srcs):  # usually one part: a document's pages share a part
                sel = rids[srcs == src]
                pieces.append(contract_table(read_part(st, parts[int(src)][1])).take(pa.array(sel & row_mask)))
            text = pa.concat_tables(pieces)
            text = text.set_column(text.column_names.index("text"), "text", printable_text(text.column("text")))
            text = text.cast(pa.schema(list(schema_in)[1:]))
            t = pa.Table.from_arrays([*text.columns, *dec.columns], names=[*text.column_names, *dec.column_names])
            t = t.sort_by([(c, "ascending") for c in [*_SORT, "_rid"]])
            keep = pc.equal(t.column("reason"), KEEP)
            for name, mask in (("kept", keep), ("quarantine", pc.invert(keep))):
                storage, prefix, schema = targets[name]
                g = t.filter(mask)
                if g.num_rows:
                    entry = write_part(storage, prefix, f"part-{out_num:05d}.parquet",
                                       g.select(schema.names).cast(schema))
                    names.append(name)
                    entries.append(json.dumps(entry, sort_keys=True))
        return pa.table({"dest": pa.array(names, pa.string()), "entry": pa.array(entries, pa.string())})

    return fn


def _run_spark(spark: Any, settings: Settings, cfg: DedupConfig, inputs: Sequence[DatasetRef],
               previous: Sequence[DatasetRef], kept_w: DatasetWriter, quar_w: DatasetWriter) -> StageCounters:
    from sciforge.jobs.spark import shuffle_partitions

    storage = open_storage(settings.data_root, settings.storage_options())
    slices = scan_slices(storage, inputs, previous)
    with shuffle_partitions(spark, min(len(slices), settings.spark.shuffle_partitions)):
        return _run_spark_plan(spark, settings, cfg, inputs, previous, kept_w, quar_w, slices)


def _run_spark_plan(spark: Any, settings: Settings, cfg: DedupConfig, inputs: Sequence[DatasetRef],
                    previous: Sequence[DatasetRef], kept_w: DatasetWriter, quar_w: DatasetWriter,
                    slices: list[tuple[int, str, bool, int, int]]) -> StageCounters:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    counters = StageCounters()
    b, r = Featurizer(cfg).bands_rows
    storage = open_storage(settings.data_root, settings.storage_options())
    items = _parts(storage, inputs, previous)
    root, opts, batch_rows = settings.data_root, settings.storage_options(), settings.spark.arrow_batch_size
    disk = StorageLevel.MEMORY_AND_DISK

    def small(df: Any, n: int) -> Any:
        return F.broadcast(df) if n <= _BROADCAST_MAX_ROWS else df

    # 1. scan: read + features, one Python pass; the text stays in Python. Not cached itself:
    # its only consumer is the exact-group step, whose (persisted) output holds what follows
    nodes = _parts_df(spark, slices).mapInArrow(_scan_fn(cfg, root, opts, batch_rows),
                                               from_arrow_schema(_scan_schema(cfg)))
    ok = F.col("status") == STATUS_OK
    rank = F.struct((~F.col("is_prev")).alias("r_new"), (-F.col("norm_chars")).alias("r_len"),
                    *[F.col(c) for c in _RANK_FIELDS[2:]])

    # 2. exact groups: the best-ranked page of each content hash (one window, no join back)
    by_hash = Window.partitionBy("content_hash")
    containment = cfg.containment == "on"
    ex = (nodes.select("_rid", "is_prev", "source", "doc_id", "page", "status", "content_hash", "n_words",
                       "minhash_truncated", "bands", *(["samples"] if containment else []), rank.alias("rank"))
          .withColumn("exact_rep", F.when(ok, F.min(F.when(ok, F.col("rank"))).over(by_hash).getField("_rid"))
                      .otherwise(F.col("_rid")))
          .withColumn("exact_n", F.sum(ok.cast("long")).over(by_hash))
          .persist(disk))

    # 3. LSH among exact representatives: every member of a bucket shared by 2+ pages is
    # paired with the bucket's `lsh_centers` members of smallest content hash (the local
    # engine's `candidate_edges`: the same pairs whatever the engine or input order). The
    # shared buckets come from one hash aggregate of fixed-width values; only their members
    # (broadcast-joined when few, the usual case: most buckets hold one page) are ranked
    # within their bucket, so the sort touches candidate pages only.
    keys = (ex.where(ok & (F.col("exact_rep") == F.col("_rid")))
            .select("_rid", "content_hash", F.posexplode("bands").alias("band", "bucket")))
    shared = (keys.groupBy("bucket", "band").agg(F.count("*").alias("n"))
              .where(F.col("n") > 1).drop("n").localCheckpoint(eager=True))
    by_bucket = Window.partitionBy("band", "bucket").orderBy("content_hash")
    members = (keys.join(small(shared, shared.count()), ["bucket", "band"])
               .withColumn("_k", F.row_number().over(by_bucket)).localCheckpoint(eager=True))
    centers = members.where(F.col("_k") <= cfg.lsh_centers).select("bucket", "band", F.col("_rid").alias("_c"))
    cand = (members.join(centers, ["bucket", "band"]).where(F.col("_rid") != F.col("_c"))
            .select(F.least("_rid", "_c").alias("u"), F.greatest("_rid", "_c").alias("v")).distinct()
            .localCheckpoint(eager=True))
    n_cand = cand.count()
    # 3b. containment candidates (`local.containment_candidates`): each sampled shingle shared
    # by 2+ exact representatives is a bucket (the same centres rule); a pair is a candidate
    # when it is paired in `containment_min_shared` buckets
    n_ccand = 0
    if containment:
        skeys = (ex.where(ok & (F.col("exact_rep") == F.col("_rid")))
                 .select("_rid", "content_hash", F.explode("samples").alias("bucket")))
        sshared = (skeys.groupBy("bucket").agg(F.count("*").alias("n")).where(F.col("n") > 1).drop("n")
                   .localCheckpoint(eager=True))
        smembers = (skeys.join(small(sshared, sshared.count()), "bucket")
                    .withColumn("_k", F.row_number().over(Window.partitionBy("bucket").orderBy("content_hash")))
                    .localCheckpoint(eager=True))
        scenters = smembers.where(F.col("_k") <= cfg.lsh_centers).select("bucket", F.col("_rid").alias("_c"))
        ccand = (smembers.join(scenters, "bucket").where(F.col("_rid") != F.col("_c"))
                 .select("bucket", F.least("_rid", "_c").alias("u"), F.greatest("_rid", "_c").alias("v")).distinct()
                 .groupBy("u", "v").agg(F.count("*").alias("n"))
                 .where(F.col("n") >= cfg.containment_min_shared).select("u", "v").localCheckpoint(eager=True))
        n_ccand = ccand.count()

    # 4. verification: only the candidate pages' shingle sets / signatures are computed and travel
    check_j = cfg.verify != "none" and n_cand > 0
    if check_j or n_ccand:
        ends = ([cand] if check_j else []) + ([ccand] if n_ccand else [])
        need = ends[0].select(F.col("u").alias("_rid")).unionByName(ends[0].select(F.col("v").alias("_rid")))
        for e in ends[1:]:
            need = need.unionByName(e.select(F.col("u").alias("_rid"))).unionByName(e.select(F.col("v").alias("_rid")))
        need = need.distinct()
        part_of = {base >> _RID_PART_BITS: key for base, key, _ in items}
        # one Python task per input part (an explicit partition count, one part each: AQE would
        # coalesce this small shuffle of row ids into ONE task, serializing the Python work)
        side = (_one_per_partition(need.withColumn("_src", F.shiftright("_rid", _RID_PART_BITS)), "_src",
                                   sorted(part_of)).groupBy("_slot", "_src")
                .applyInArrow(_verify_values_fn(cfg, root, opts, part_of, batch_rows),
                              "_rid long, vals array<long>" + (", cvals array<long>" if containment else ""))
                .localCheckpoint(eager=True))
        # the (narrow, counted) edges meet the first end's values where they lie; the values
        # meet the second end by a shuffle join unless they are small enough to broadcast (the
        # planner cannot size them: they come from Python)
        n_vals = int(side.agg(F.sum(F.size("vals") + (F.size("cvals") if containment else F.lit(0))))
                     .collect()[0][0] or 0)
        def to_v(cols: list[str]) -> Any:
            sel = side.select(*cols)
            return F.broadcast(sel) if 8 * n_vals <= _BROADCAST_MAX_BYTES else sel
    if not check_j:
        scored = cand.withColumn("sim", F.lit(1.0))
    else:
        both = (side.select("_rid", "vals").toDF("u", "a").join(small(cand, n_cand), "u")
                .join(to_v(["_rid", "vals"]).toDF("v", "b"), "v"))
        if cfg.verify == "exact":  # |A n B| / |A u B| of the sorted distinct shingle hashes
            inter = F.size(F.array_intersect("a", "b"))
            sim = inter.cast("double") / (F.size("a") + F.size("b") - inter).cast("double")
        else:  # share of equal signature slots (datasketch MinHash.jaccard)
            eq = F.zip_with("a", "b", lambda x, y: (x == y).cast("int"))
            sim = F.aggregate(eq, F.lit(0), lambda acc, x: acc + x).cast("double") / F.lit(float(cfg.num_perm))
        scored = both.select("u", "v", sim.alias("sim"))
    scored = scored.localCheckpoint(eager=True)
    if n_ccand:  # |A n B| / |A|, A the end ranked worse (`local.containment_scores`)
        rk = ex.select("_rid", "rank")
        cs = (side.select("_rid", "cvals").toDF("u", "a").join(small(ccand, n_ccand), "u")
              .join(to_v(["_rid", "cvals"]).toDF("v", "b"), "v")
              .join(rk.toDF("u", "ru"), "u").join(rk.toDF("v", "rv"), "v"))
        u_in = F.col("ru") > F.col("rv")
        inner_vals = F.when(u_in, F.col("a")).otherwise(F.col("b"))
        outer_vals = F.when(u_in, F.col("b")).otherwise(F.col("a"))
        cscore = F.when(F.size(inner_vals) > 0, F.size(F.array_intersect(inner_vals, outer_vals)).cast("double")
                        / F.size(inner_vals).cast("double")).otherwise(F.lit(0.0))
        cscored = (cs.select(F.when(u_in, F.col("u")).otherwise(F.col("v")).alias("_c"),
                             F.when(u_in, F.col("v")).otherwise(F.col("u")).alias("_k"),
                             F.when(u_in, F.col("rv")).otherwise(F.col("ru")).alias("krank"), cscore.alias("score"))
                   .where(F.col("score") >= cfg.containment_threshold).localCheckpoint(eager=True))
    passed = F.col("sim") >= cfg.threshold
    n_edges = int(scored.agg(F.sum(passed.cast("long"))).collect()[0][0] or 0)
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
    comp = (ex.drop("bands", *(["samples"] if containment else []))
            .join(small(roots, 2 * n_edges).withColumnRenamed("node", "exact_rep"), "exact_rep", "left")
            # a page is connected when its exact group has another page or an edge: only those
            # pages need component statistics; every other page is its own representative
            .withColumn("connected", ok & (F.col("root").isNotNull() | (F.col("exact_n") > 1)))
            .withColumn("root", F.when(ok, F.coalesce("root", "exact_rep")).otherwise(F.col("_rid"))))

    # 6. per component: size, distinct documents (multi-page ones for boilerplate), best page
    by_doc = Window.partitionBy("source", "doc_id")
    # a multi-page document has two distinct page numbers: min < max (no per-document set)
    multi_page = (F.max("page").over(by_doc) > F.min("page").over(by_doc)).cast("int")
    # output part of a page: the input part of its document's first new page (a document's
    # pages stay together; most documents lie in one input part, whose text the write reads)
    first_src = F.min(F.when(~F.col("is_prev"), F.shiftright("_rid", _RID_PART_BITS))).over(by_doc)
    # materialized once: the components' statistics, the decisions of connected pages and those
    # of the others all read it (otherwise each re-scanned `ex` and shuffled and windowed it by
    # document again: three shuffles of every page instead of one), and the final query's plan
    # starts here instead of at the scan (re-planned by AQE at every stage boundary)
    comp = comp.withColumn("multi_page", multi_page).withColumn("_src", first_src).localCheckpoint(eager=True)
    ex.unpersist()
    counts = (F.col("dp") == 1) if cfg.boilerplate_multi_page_only else F.lit(True)
    conn = comp.where(F.col("connected"))
    # the struct minimum (best page) is a sort-based aggregate: over connected pages only
    stats = (conn.groupBy("root", "source", "doc_id")
             .agg(F.count("*").alias("n"), F.min("rank").alias("best"), F.max("multi_page").alias("dp"))
             .groupBy("root").agg(F.sum("n").alias("comp_size"), F.count("*").alias("comp_docs"),
                                  F.sum(counts.cast("long")).alias("comp_bp_docs"), F.min("best").alias("best")))

    def page_key_of(st: Any) -> Any:
        return F.concat_ws("", st.getField("source"), F.lit(":"), st.getField("doc_id"), F.lit("#"),
                           st.getField("page").cast("string"))

    common = ["_rid", "_src", "is_prev", "source", "doc_id", "status", F.col("_rid").alias("nid"), "exact_rep"]
    tail = ["content_hash", "n_words", "minhash_truncated"]
    decided = conn.join(stats, "root").select(
        *common,
        # page_reasons' `root` is the representative: the component's best page
        F.col("best._rid").alias("root"), (~F.col("best.r_new")).alias("root_is_prev"),
        F.col("comp_size").cast("long").alias("comp_size"), F.col("comp_docs").cast("long").alias("comp_docs"),
        F.col("comp_bp_docs").cast("long").alias("comp_bp_docs"), page_key_of(F.col("best")).alias("representative"),
        *tail,
    ).unionByName(comp.where(~F.col("connected")).select(
        *common, F.col("_rid").alias("root"), F.col("is_prev").alias("root_is_prev"),
        F.lit(1).cast("long").alias("comp_size"), F.lit(1).cast("long").alias("comp_docs"),
        F.lit(0).cast("long").alias("comp_bp_docs"),
        F.when(ok, page_key_of(F.col("rank"))).otherwise(F.lit("")).alias("representative"), *tail))
    if cfg.near_dup_scope == "document":  # a duplicate page goes only with its whole document
        keeps = F.max((_reason_expr(cfg.model_copy(update={"near_dup_scope": "page"})) == KEEP).cast("int"))
        dec = decided.withColumn("reason", _reason_expr(cfg, keeps.over(Window.partitionBy("source", "doc_id")) == 1))
    else:
        dec = decided.withColumn("reason", _reason_expr(cfg))

    # 7. write + counters: the decisions (metadata) are shuffled to their output part, one per
    # new input part; the text is read there from storage (it never enters the JVM) and
    # written. Each write task also counts its rows (reasons are a closed set), so the
    # decisions are computed once, neither cached nor scanned by a separate counting job.
    # Rows of earlier snapshots are only counted (documents with no new page: group -1).
    new_ok = ok & ~F.col("is_prev")
    final = (dec
             .withColumn("representative", F.when(ok, F.col("representative")).otherwise(F.lit("")))
             .withColumn("component_id", F.when(ok, F.substring(F.sha2("representative", 256), 1, 16))
                         .otherwise(F.lit(""))))
    n_chits = 0
    if containment:  # a kept page contained in a page of another component (`local._apply_containment`)
        hit = F.lit(False)
        final = final.withColumn("containment", F.lit(None).cast("double"))
        if n_ccand:
            rt = comp.select("_rid", "root")
            chits = (cscored.join(rt.toDF("_c", "rc"), "_c").join(rt.toDF("_k", "rk"), "_k")
                     .where(F.col("rc") != F.col("rk")).localCheckpoint(eager=True))
            n_chits = chits.count()
            best = (chits.groupBy("_c").agg(F.min(F.struct((-F.col("score")).alias("ns"), F.col("krank").alias("kr")))
                                            .alias("b"))
                    .select(F.col("_c").alias("_rid"), (-F.col("b.ns")).alias("_cval"),
                            page_key_of(F.col("b.kr")).alias("_container")))
            final = final.drop("containment").join(small(best, n_chits), "_rid", "left")
            hit = (F.col("reason") == KEEP) & F.col("_container").isNotNull()
            final = (final.withColumn("containment", F.when(hit, F.col("_cval")))
                     .withColumn("representative", F.when(hit, F.col("_container")).otherwise(F.col("representative")))
                     .withColumn("reason", F.when(hit, F.lit(CONTAINED)).otherwise(F.col("reason"))))
    final = (final
             .select("_rid", F.coalesce("_src", F.lit(-1).cast("long")).alias("_src"), "reason", "representative",
                     "component_id", "content_hash", "n_words", F.col("comp_size").alias("component_size"),
                     F.col("comp_docs").alias("component_docs"),
                     F.when(new_ok, F.col("comp_size")).alias("_largest"),
                     (~F.col("is_prev") & F.col("minhash_truncated")).cast("long").alias("_trunc"),
                     # one representative row per component: counting them counts the components
                     (ok & (F.col("comp_size") > 1) & (F.col("nid") == F.col("root"))).cast("long")
                     .alias("_dup_root"), *(["containment"] if containment else [])))
    writers = {"kept": kept_w, "quarantine": quar_w}
    targets = {name: (w.storage, w.staging, w.schema) for name, w in writers.items()}
    new_parts = {base >> _RID_PART_BITS: (i, key) for i, (base, key, is_prev) in enumerate(items) if not is_prev}
    # one write task per output part (+1 for earlier snapshots' rows): an explicit partition
    # count, one part each, so AQE does not coalesce the small metadata shuffle into fewer
    # tasks than executors
    rows = (_one_per_partition(final, "_src", [-1, *sorted(new_parts)]).groupBy("_slot", "_src")
            .applyInArrow(_write_fn(targets, new_parts), "dest string, entry string").collect())
    for name, w in writers.items():
        w.add_files(sorted((json.loads(x["entry"]) for x in rows if x["dest"] == name), key=lambda e: e["path"]))
    comp.unpersist()

    agg: dict[str, int] = {}
    for x in rows:
        if x["dest"] == _COUNTS:
            for k, v in json.loads(x["entry"]).items():
                agg[k] = max(agg.get(k, 0), v) if k == "largest" else agg.get(k, 0) + v
    by_reason = {x: agg.get(x, 0) for x in [KEEP, PREVIOUS, *ALL_DROP_REASONS]}
    counters.kept = by_reason.pop(KEEP)
    n_prev = by_reason.pop(PREVIOUS)
    for reason, n in sorted(by_reason.items()):
        if n:
            counters.drop(reason, n)
    counters.input = counters.kept + counters.total_dropped
    for name, value in (("previous_pages", n_prev), ("minhash_truncated", agg.get("trunc", 0)),
                        ("lsh_bands", b), ("lsh_rows", r), ("candidate_edges", n_cand),
                        ("verified_edges", n_edges), ("duplicate_components", agg.get("dup_comps", 0)),
                        ("largest_component", agg.get("largest", 0)), ("cc_rounds", rounds),
                        ("cc_single_task", int(single_task))):
        counters.add(name, int(value))
    if containment:
        counters.add("containment_candidates", n_ccand)
        counters.add("containment_edges", n_chits)
    return counters


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> None:
    """Run the job from its command line (``settings``: the launcher's, else get_settings())."""
    p = argparse.ArgumentParser(description="Global page-level dedup (MinHash + LSH + connected components) "
                                "of page datasets into clean/pages.")
    p.add_argument("--input", action="append", required=True, metavar="ZONE/NAME/VERSION",
                   help="an input page dataset (repeat for several)")
    p.add_argument("--previous", action="append", default=[], metavar="clean/pages/VERSION",
                   help="an earlier published clean/pages version whose pages must not be re-admitted")
    p.add_argument("--date", required=True, help="logical date YYYY-MM-DD")
    p.add_argument("--engine", choices=["spark", "local", "auto"], default="spark",
                   help="auto: the local engine up to stages.dedup.local_engine_max_pages input pages")
    add_result_arg(p)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    settings = settings or get_settings()
    ref = run_dedup(settings, [DatasetRef.parse(s) for s in a.input], a.date, engine=a.engine,
                    previous=[DatasetRef.parse(s) for s in a.previous])
    report(settings, "dedup", ref, a.result_file)
    print(ref.key)


if __name__ == "__main__":
    # spark-submit runs this file as `__main__`: run the importable `sciforge.jobs.dedup` instead, so that what
    # executors unpickle (task closures, cached helpers) refers to a module they can import.
    from sciforge.jobs.dedup import main as _main

    _main()
