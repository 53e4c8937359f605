"""A job's result file: what a Spark job published, for the process that launched it.

Every job's ``main`` takes ``--result-file PATH_OR_URI`` and, once its datasets are published, writes
one small JSON object there: the output dataset, its row count and counters (copied from the
manifest), and its quarantine dataset when it has one. The launcher (launch/spark.py) reads it back,
for a job run in-process and one run through ``spark-submit`` alike, so nothing depends on what a job
prints. The file is written atomically (a local file by rename, an S3 object by one PUT): a reader sees
the whole result or none. A local path works whenever the driver runs where the launcher does
(in-process, ``spark-submit`` in client mode); a driver deployed on the cluster writes to an
``s3://`` URI through sciforge.pipelines.storage instead.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sciforge.pipelines.config import Settings
from sciforge.pipelines.datasets import MANIFEST, DatasetRef, read_manifest
from sciforge.pipelines.storage import Storage, open_storage

FORMAT = "sciforge.job-result/1"
ARG = "--result-file"


def add_result_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(ARG, dest="result_file", default=None, metavar="PATH_OR_URI",
                        help="write the published dataset, its rows and counters here as JSON (for the launcher)")


def job_result(settings: Settings, job: str, ref: DatasetRef) -> dict[str, Any]:
    """The result of ``job``, which published ``ref``: from the manifests, so it says what readers see."""
    storage = open_storage(settings.data_root, settings.storage_options())
    m = read_manifest(storage, ref)
    out: dict[str, Any] = {"format": FORMAT, "job": job, "dataset": ref.key, "rows": m["rows"],
                           "counters": m["counters"]}
    q = ref.quarantine()
    if ref.zone != q.zone and storage.exists(f"{q.key}/{MANIFEST}"):  # the stages that quarantine rows
        out["quarantine"] = {"dataset": q.key, "rows": read_manifest(storage, q)["rows"]}
    return out


def locate(target: str, storage_options: dict[str, Any] | None = None) -> tuple[Storage, str]:
    """(storage rooted at the folder of ``target``, its file name): a local path or ``s3://bucket/key``."""
    parent, _, name = target.rstrip("/").rpartition("/")
    if not name or parent.endswith(":/"):
        raise ValueError(f"result file {target!r} names no file")
    return open_storage(parent or ".", storage_options), name


def write_result(target: str, result: dict[str, Any], storage_options: dict[str, Any] | None = None) -> None:
    """Write ``result`` to ``target`` (a local path or ``s3://bucket/key``) in one atomic step."""
    storage, key = locate(target, storage_options)
    storage.write_bytes(key, (json.dumps(result, indent=2, sort_keys=True) + "\n").encode())


def report(settings: Settings, job: str, ref: DatasetRef, target: str | None) -> dict[str, Any]:
    """The result of ``job``; written to ``target`` when one was given."""
    result = job_result(settings, job, ref)
    if target:
        write_result(target, result, settings.storage_options())
    return result


def read_result(target: str, storage_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The result a job wrote to ``target``; ValueError when it is not one."""
    storage, key = locate(target, storage_options)
    result = json.loads(storage.read_bytes(key))
    if not isinstance(result, dict) or result.get("format") != FORMAT:
        raise ValueError(f"{target} is not a job result ({FORMAT})")
    DatasetRef.parse(result["dataset"])  # a well-formed dataset key, or ValueError
    return result
