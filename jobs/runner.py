"""Generic job runner: distribute work over Spark (or in-process), write kept and
quarantined rows as datasets, and sum the counters into their manifests.

Writers run on the executors and write Parquet through sciforge.pipelines.storage (local disk or
S3 via pyarrow/boto3, no Hadoop S3A needed); only small metadata (part entries and
counters as JSON) comes back to the driver, which publishes the manifests last.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pyarrow as pa
from tqdm import tqdm

from sciforge.pipelines.config import Settings
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import (
    DatasetRef,
    DatasetWriter,
    make_version,
    plan_part_slices,
    read_manifest,
)
from sciforge.pipelines.stage import MapStage
from sciforge.pipelines.storage import open_storage

log = logging.getLogger(__name__)
Engine = Literal["spark", "local"]
TaskFn = Callable[[dict[str, Any]], list[dict[str, Any]]]


def distribute(items: list[dict[str, Any]], fn: TaskFn, *, engine: Engine, spark: Any = None,
               desc: str = "tasks") -> list[dict[str, Any]]:
    """Run ``fn(item) -> [result, ...]`` for every item; results are small JSON-able dicts.

    With ``engine="spark"`` each item is one Spark task (one partition of a parallelized list); the
    driver only collects the results. Returns results in item order (deterministic).
    """
    if not items:
        return []
    if engine == "local":
        out: list[dict[str, Any]] = []
        for item in tqdm(items, desc=desc, unit="task", disable=None):
            out.extend(fn(item))
        return out
    payload = [(i, json.dumps(it, sort_keys=True)) for i, it in enumerate(items)]

    def run(part: Iterator[tuple[int, str]]) -> Iterator[tuple[int, int, str]]:
        for i, blob in part:
            for j, res in enumerate(fn(json.loads(blob))):
                yield i, j, json.dumps(res, sort_keys=True)

    # One partition per item straight from the driver's list: a single stage, no shuffle and no Arrow
    # conversion of the (small) items and results.
    rows = spark.sparkContext.parallelize(payload, len(items)).mapPartitions(run).collect()
    rows.sort(key=lambda r: (r[0], r[1]))
    return [json.loads(r[2]) for r in rows]


def output_parts(input_manifest: dict[str, Any], settings: Settings) -> int:
    """Parts of a dataset written from a shuffle: one per ``spark.task_input_bytes`` of input, at most
    ``spark.shuffle_partitions``. Sized by the data, a small day is not written as hundreds of tiny
    parts, each a task that starts a Python worker, and the layout does not depend on the cluster."""
    size = sum(int(f["bytes"]) for f in input_manifest["files"] if f["path"].endswith(".parquet"))
    return max(1, min(settings.spark.shuffle_partitions, -(-size // settings.spark.task_input_bytes)))


def publish_pair(
    kept: DatasetWriter, quarantine: DatasetWriter, results: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any], StageCounters]:
    """Register task results ({"dataset", "entry"} / {"counters"}) and publish both datasets."""
    counters = StageCounters()
    for r in results:
        if "counters" in r:
            counters.merge(r["counters"])
        elif r["dataset"] == "kept":
            kept.add_files([r["entry"]])
        else:
            quarantine.add_files([r["entry"]])
    qm = quarantine.publish(StageCounters(input=counters.input, dropped=counters.dropped.copy()))
    km = kept.publish(counters)
    return km, qm, counters


# --------------------------------------------------------------------------------------------
# map stages


def _map_task(stage: MapStage, storage_root: str, storage_options: dict[str, Any],
              out_staging: str, q_staging: str, batch_size: int) -> TaskFn:
    from sciforge.pipelines.datasets import read_part_slice, write_part

    def task(item: dict[str, Any]) -> list[dict[str, Any]]:
        storage = open_storage(storage_root, storage_options)
        key, idx = item["key"], item["index"]
        counters = StageCounters()
        kept_tables, q_tables = [], []
        table = read_part_slice(storage, key, item["start"], item["stop"])
        for batch in table.to_batches(max_chunksize=batch_size):
            res = stage.fn(pa.Table.from_batches([batch], schema=table.schema))
            kept_tables.append(res.kept.cast(stage.kept_schema))
            if res.quarantined is not None and res.quarantined.num_rows:
                q_tables.append(res.quarantined.cast(stage.quarantine_schema))
            counters.merge(res.counters)
        name = f"part-{idx:05d}.parquet"
        out = [{"dataset": "kept", "entry": write_part(
            storage, out_staging, name, pa.concat_tables(kept_tables) if kept_tables
            else stage.kept_schema.empty_table())}]
        if q_tables:
            out.append({"dataset": "quarantine",
                        "entry": write_part(storage, q_staging, name, pa.concat_tables(q_tables))})
        out.append({"counters": counters.to_dict()})
        return out

    return task


def run_map_stage(
    settings: Settings,
    stage: MapStage,
    inputs: DatasetRef,
    logical_date: str,
    *,
    engine: Engine = "spark",
    spark: Any = None,
) -> tuple[DatasetRef, dict[str, Any], dict[str, Any]]:
    """Apply ``stage.fn`` to every batch of ``inputs``; publish kept + quarantine datasets."""
    storage = open_storage(settings.data_root, settings.storage_options())
    in_manifest = read_manifest(storage, inputs)
    version = make_version(logical_date, {"stage": stage.name, "params": stage.params, "parents": [inputs.key]})
    ref = DatasetRef(stage.zone, stage.name, version)
    cfg = {"stage": stage.name, "params": stage.params}
    kept = DatasetWriter(storage, ref, logical_date=logical_date, config=cfg, parents=[inputs],
                         schema=stage.kept_schema)
    quar = DatasetWriter(storage, ref.quarantine(), logical_date=logical_date, config=cfg, parents=[inputs],
                         schema=stage.quarantine_schema)
    items = plan_part_slices(in_manifest, inputs, settings.spark.task_input_bytes)
    if engine == "spark" and spark is None:
        from sciforge.jobs.spark import get_spark

        spark = get_spark(settings)
    fn = _map_task(stage, settings.data_root, settings.storage_options(), kept.staging,
                   quar.staging, settings.spark.arrow_batch_size)
    results = distribute(items, fn, engine=engine, spark=spark, desc=stage.name)
    km, qm, counters = publish_pair(kept, quar, results)
    log.info("%s -> %s: %s", inputs, ref, counters.summary())
    return ref, km, qm
