"""Ingest job: register raw WARC / PDF / JSONL files of a source location as a raw dataset.

Each input file is one Spark task that streams it and writes bounded Parquet parts
(``part-<file>-<chunk>.parquet``) straight to the dataset's staging area.

    spark-submit jobs/ingest.py --source s3://landing/dt=2026-01-01/warc --kind warc --date 2026-01-01
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict
from typing import Any

from sciforge.jobs.result import add_result_arg, report
from sciforge.jobs.runner import Engine, distribute, publish_pair
from sciforge.pipelines.config import Settings, get_settings
from sciforge.pipelines.datasets import (
    DatasetRef,
    DatasetWriter,
    fingerprint_file,
    inputs_fingerprint,
    make_version,
    write_part,
)
from sciforge.pipelines.ingest.common import QUARANTINE_SCHEMA
from sciforge.pipelines.ingest.core import KINDS, IngestParams, ingest_file_to_tables, list_inputs
from sciforge.pipelines.storage import open_storage

log = logging.getLogger(__name__)
STAGE = "ingest"


def _task(source: str, options: dict[str, Any], params: IngestParams, data_root: str,
          kept_staging: str, q_staging: str) -> Any:
    def task(item: dict[str, Any]) -> list[dict[str, Any]]:
        out_storage = open_storage(data_root, options)
        chunks = {"kept": 0, "quarantine": 0}
        out: list[dict[str, Any]] = []
        for kind, table, counters in ingest_file_to_tables(source, options, item["key"], params):
            if kind == "done":
                out.append({"counters": counters.to_dict()})
                continue
            assert table is not None
            name = f"part-{item['index']:05d}-{chunks[kind]:04d}.parquet"
            chunks[kind] += 1
            prefix = kept_staging if kind == "kept" else q_staging
            out.append({"dataset": kind, "entry": write_part(out_storage, prefix, name, table)})
        return out

    return task


def _fingerprint_task(source: str, options: dict[str, Any]) -> Any:
    def task(item: dict[str, Any]) -> list[dict[str, Any]]:
        return [fingerprint_file(open_storage(source, options), item["key"])]

    return task


def run_ingest(
    settings: Settings, source: str, kind: str, logical_date: str, *, engine: Engine = "spark",
    spark: Any = None,
) -> tuple[DatasetRef, dict[str, Any], dict[str, Any]]:
    """Ingest every ``kind`` file under ``source`` as ``raw/<web|pdf|text>/<version>``."""
    ing = settings.ingest
    params = IngestParams(kind, ing.max_record_bytes, ing.max_pdf_bytes, ing.records_per_part)
    source = settings.resolve_path(source)
    opts = settings.storage_options()
    src = open_storage(source, opts)
    keys = list_inputs(src, kind)
    storage = open_storage(settings.data_root, opts)
    storage.check()
    items = [{"key": k, "index": i} for i, k in enumerate(keys)]
    if engine == "spark" and spark is None and items:
        from sciforge.jobs.spark import get_spark

        spark = get_spark(settings)
    # The version names the content: the config and every file's (relative path, size, sha256), hashed
    # in a streaming pass (one task per file) before anything is written. The source location is recorded
    # (manifest `inputs`) but not hashed: the same files on local disk or on S3 give the same version.
    files = distribute(items, _fingerprint_task(source, opts), engine=engine, spark=spark,
                       desc=f"fingerprint {kind}")
    cfg = {"stage": STAGE, "params": asdict(params)}
    fingerprint = inputs_fingerprint(files)
    ref = DatasetRef("raw", KINDS[kind]["dataset"], make_version(logical_date, {**cfg, "inputs": fingerprint}))
    inputs = {"source": source, "files": len(keys), "bytes": sum(f.get("bytes", 0) for f in files),
              "fingerprint": fingerprint, "landing": files}
    kept = DatasetWriter(storage, ref, logical_date=logical_date, config=cfg, schema=KINDS[kind]["schema"],
                         inputs=inputs)
    quar = DatasetWriter(storage, ref.quarantine(), logical_date=logical_date, config=cfg,
                         schema=QUARANTINE_SCHEMA, inputs=inputs)
    fn = _task(source, opts, params, settings.data_root, kept.staging, quar.staging)
    results = distribute(items, fn, engine=engine, spark=spark, desc=f"ingest {kind}")
    km, qm, counters = publish_pair(kept, quar, results)
    log.info("ingest %s %s -> %s: %s", kind, source, ref, counters.summary())
    return ref, km, qm


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Run the job from its command line (``settings``: the launcher's, else get_settings())."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", required=True, help="folder or s3://bucket/prefix holding the raw files")
    p.add_argument("--kind", required=True, choices=sorted(KINDS))
    p.add_argument("--date", required=True, help="logical date (YYYY-MM-DD) of the run")
    p.add_argument("--engine", default="spark", choices=["spark", "local"])
    add_result_arg(p)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = settings or get_settings()
    ref, km, qm = run_ingest(settings, a.source, a.kind, a.date, engine=a.engine)
    report(settings, "ingest", ref, a.result_file)
    print(f"{ref}: {km['rows']} rows; quarantined {qm['rows']}: {km['counters']['dropped']}")


if __name__ == "__main__":
    # spark-submit runs this file as `__main__`: run the importable `sciforge.jobs.ingest` instead, so that what
    # executors unpickle (task closures, cached helpers) refers to a module they can import.
    from sciforge.jobs.ingest import main as _main

    _main()
