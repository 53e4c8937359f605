"""Datasets <-> Spark DataFrames through the storage layer (no Hadoop S3A connector needed).

Executors read and write Parquet parts themselves (pyarrow on local disk or S3); the driver
only sees file lists and small metadata, so this scales with the cluster, not the driver.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from sciforge.pipelines.config import Settings
from sciforge.pipelines.datasets import (
    DatasetRef,
    DatasetWriter,
    part_keys,
    read_manifest,
    read_part,
    write_part,
)
from sciforge.pipelines.storage import open_storage

PART_COL = "_part"


def arrow_schema_of(settings: Settings, ref: DatasetRef, columns: list[str] | None = None) -> pa.Schema:
    storage = open_storage(settings.data_root, settings.storage_options())
    keys = part_keys(storage, ref)
    import pyarrow.parquet as pq

    with storage.open_input(keys[0]) as f:
        schema = pq.ParquetFile(f).schema_arrow
    if columns:
        schema = pa.schema([schema.field(c) for c in columns])
    return schema


def group_parts(keys: list[str], sizes: dict[str, int], target_bytes: int) -> list[list[str]]:
    """``keys`` in order, cut into runs of at most ``target_bytes`` (a larger part alone)."""
    groups: list[list[str]] = []
    size = 0
    for k in keys:
        if not groups or size + sizes.get(k, 0) > target_bytes:
            groups.append([])
            size = 0
        groups[-1].append(k)
        size += sizes.get(k, 0)
    return groups


def read_df(spark: Any, settings: Settings, ref: DatasetRef, columns: list[str] | None = None) -> Any:
    """A Spark DataFrame over a published dataset (refuses an unpublished one)."""
    import pandas as pd
    from pyspark.sql.pandas.types import from_arrow_schema

    storage = open_storage(settings.data_root, settings.storage_options())
    manifest = read_manifest(storage, ref)
    keys = part_keys(storage, ref, manifest)
    schema = arrow_schema_of(settings, ref, columns)
    root, opts = settings.data_root, settings.storage_options()
    batch_rows = settings.spark.arrow_batch_size

    def read(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        st = open_storage(root, opts)
        for pdf in batches:
            for key in pdf["key"]:
                table = read_part(st, key, columns)
                for b in table.to_batches(max_chunksize=batch_rows):
                    yield b.to_pandas()

    # Parts grouped into partitions of about spark.task_input_bytes, cut on the driver: no shuffle (a list
    # given to createDataFrame is cut into spark.default.parallelism slices, 512 on the cluster profile,
    # that a repartition must then shuffle), and a small day's many small parts do not each cost a task.
    groups = group_parts(keys, {f"{ref.key}/{f['path']}": int(f["bytes"]) for f in manifest["files"]},
                         settings.spark.task_input_bytes)
    rdd = spark.sparkContext.parallelize(groups, max(1, len(groups))).flatMap(lambda g: [(k,) for k in g])
    keys_df = spark.createDataFrame(rdd, "key string")
    return keys_df.mapInPandas(read, from_arrow_schema(schema))


def write_df(df: Any, writer: DatasetWriter, key_cols: list[str], num_parts: int) -> list[dict[str, Any]]:
    """Write ``df`` into ``writer.staging`` as ``num_parts`` hash-partitioned parts sorted by
    ``key_cols`` (which should be unique for byte-identical re-runs); returns manifest entries
    and registers them with the writer. Columns are cast to ``writer.schema`` when it is set.
    """
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = writer.schema or to_arrow_schema(df.schema)
    writer.schema = schema
    storage, prefix = writer.storage, writer.staging
    cols = [f.name for f in schema]

    def write(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = [b for b in batches if len(b)]
        out = []
        if frames:
            pdf = pd.concat(frames, ignore_index=True)
            for part, g in pdf.groupby(PART_COL, sort=True):
                g = g.sort_values(key_cols, kind="mergesort")
                table = pa.Table.from_pandas(g[cols], schema=schema, preserve_index=False)
                entry = write_part(storage, prefix, f"part-{int(part):05d}.parquet", table)
                out.append(json.dumps(entry, sort_keys=True))
        yield pd.DataFrame({"entry": out}, dtype=object)

    parted = df.withColumn(PART_COL, F.pmod(F.xxhash64(*key_cols), F.lit(num_parts)))
    rows = parted.repartition(num_parts, PART_COL).mapInPandas(write, "entry string").collect()
    entries = sorted((json.loads(r["entry"]) for r in rows), key=lambda e: e["path"])
    writer.add_files(entries)
    return entries
