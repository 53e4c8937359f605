"""SparkSession factory: local[*] by default, a cluster master under the `cluster` profile."""

from __future__ import annotations

import os
import sys
from typing import Any

from pipelines.config import REPO_ROOT, Settings

C1_ONLY = "-XX:TieredStopAtLevel=1"  # SparkSettings.driver_jit


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
        "spark.executorEnv.PYTHONPATH": str(REPO_ROOT),
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
    }
    if s.master.startswith("local"):
        # One machine: bind to loopback only and skip the UI port.
        conf.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                     "spark.ui.enabled": "false"})
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
    conf.update(s.extra_conf)
    if s.driver_jit == "c1" and not s.master.startswith("local"):
        opts = conf.get("spark.driver.extraJavaOptions", "")
        if "TieredStopAtLevel" not in opts and "TieredCompilation" not in opts:  # the user's choice wins
            conf["spark.driver.extraJavaOptions"] = f"{C1_ONLY} {opts}".strip()
    return conf


def get_spark(settings: Settings) -> Any:
    """Create (or reuse) the SparkSession for ``settings``."""
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers use the venv, not python3 from PATH
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(settings.spark.master)
    for k, v in spark_conf(settings).items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
