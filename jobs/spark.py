"""SparkSession factory: local[*] by default, a cluster master under the `cluster` profile."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sciforge.pipelines.config import IMPORT_ROOT, Settings

C1_ONLY = "-XX:TieredStopAtLevel=1"  # SparkSettings.driver_jit
DRIVER_ARCHIVE, EXECUTOR_ARCHIVE = "driver.jsa", "executor.jsa"  # infra/services/class_archives.py


def _add_java_opts(conf: dict[str, str], key: str, option: str, unless: tuple[str, ...]) -> None:
    """Put ``option`` before the JVM options already in ``conf[key]``, unless the user's set one of ``unless``."""
    mine = conf.get(key, "")
    if not any(u in mine for u in unless):
        conf[key] = f"{option} {mine}".strip()


def spark_conf(settings: Settings) -> dict[str, str]:
    s = settings.spark
    conf = {
        "spark.app.name": s.app_name,
        "spark.driver.memory": s.driver_memory,
        "spark.executor.memory": s.executor_memory,
        "spark.executor.cores": str(s.executor_cores),
        "spark.sql.shuffle.partitions": str(s.shuffle_partitions),
        "spark.default.parallelism": str(s.shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(s.arrow_batch_size),
        "spark.sql.codegen.cache.maxEntries": str(s.codegen_cache_entries),
        "spark.sql.session.timeZone": "UTC",  # logical dates are UTC everywhere
        "spark.ui.showConsoleProgress": "false",
        "spark.executorEnv.PYSPARK_PYTHON": sys.executable,
        "spark.executorEnv.PYTHONPATH": str(IMPORT_ROOT),
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
    }
    # The driver binds and advertises one configured address (loopback on one machine), never every
    # interface; its UI only when asked for.
    conf.update({"spark.driver.host": s.driver_host, "spark.driver.bindAddress": s.driver_host,
                 "spark.ui.enabled": str(s.ui_enabled).lower()})
    if s.auth_secret_file and not s.master.startswith("local"):
        conf["spark.authenticate"] = "true"  # the secret itself: auth_secret(), never in this dict
    if s.io_mode == "s3a":
        opts = settings.storage_options()
        conf.update(
            {
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                "spark.hadoop.fs.s3a.path.style.access": str(opts["path_style"]).lower(),
            }
        )
        if opts["endpoint_url"]:
            conf["spark.hadoop.fs.s3a.endpoint"] = opts["endpoint_url"]
        if opts["access_key"]:
            conf["spark.hadoop.fs.s3a.access.key"] = opts["access_key"]
            conf["spark.hadoop.fs.s3a.secret.key"] = opts["secret_key"] or ""
    if s.executor_allocation == "dynamic" and not s.master.startswith("local"):
        conf.update({"spark.dynamicAllocation.enabled": "true",
                     "spark.dynamicAllocation.shuffleTracking.enabled": "true",  # no external shuffle service
                     "spark.dynamicAllocation.minExecutors": "0",
                     "spark.dynamicAllocation.initialExecutors": str(s.initial_executors)})
    conf.update(s.extra_conf)
    if s.master.startswith("local"):
        return conf  # one JVM, started by the caller: no driver or executor options of ours
    if s.class_archive_dir:  # a missing or stale archive is ignored by the JVM (-Xshare:auto)
        for key, name in (("spark.driver.extraJavaOptions", DRIVER_ARCHIVE),
                          ("spark.executor.extraJavaOptions", EXECUTOR_ARCHIVE)):
            _add_java_opts(conf, key, f"-XX:SharedArchiveFile={Path(s.class_archive_dir) / name}",
                           unless=("SharedArchiveFile", "Xshare"))
    if s.driver_jit == "c1":  # the user's JIT options win
        _add_java_opts(conf, "spark.driver.extraJavaOptions", C1_ONLY,
                       unless=("TieredStopAtLevel", "TieredCompilation"))
    return conf


def auth_secret(settings: Settings) -> str | None:
    """spark.authenticate's shared secret, read from ``spark.auth_secret_file`` (None: auth off)."""
    s = settings.spark
    if not s.auth_secret_file or s.master.startswith("local"):
        return None
    try:
        secret = Path(s.auth_secret_file).read_text().strip()
    except OSError as e:
        raise RuntimeError(f"spark.auth_secret_file {s.auth_secret_file!r} cannot be read: {e}") from e
    if not secret:
        raise RuntimeError(f"spark.auth_secret_file {s.auth_secret_file!r} is empty")
    return secret


def get_spark(settings: Settings) -> Any:
    """Create (or reuse) the SparkSession for ``settings``."""
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers use the venv, not python3 from PATH
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(settings.spark.master)
    for k, v in spark_conf(settings).items():
        builder = builder.config(k, v)
    secret = auth_secret(settings)
    if secret is not None:
        builder = builder.config("spark.authenticate.secret", secret)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


@contextmanager
def shuffle_partitions(spark: Any, n: int) -> Iterator[None]:
    """``spark.sql.shuffle.partitions`` = ``n`` for the queries planned inside, restored after (a session
    may serve several jobs). A job sizes its shuffles by its input: the profile's value (512 on the
    `cluster` profile) is a cap for the largest days, and a small day shuffled into 512 partitions runs
    512 near-empty tasks per exchange (a persisted plan keeps them all)."""
    key = "spark.sql.shuffle.partitions"
    old = spark.conf.get(key)
    spark.conf.set(key, str(max(1, n)))
    try:
        yield
    finally:
        spark.conf.set(key, old)
