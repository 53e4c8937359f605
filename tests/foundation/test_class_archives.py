"""The JVM class archives (infra/services/class_archives.py) are made on a real standalone cluster and
mapped by a submitted application's driver and executors: with ``-Xshare:on`` a JVM refuses to start
when its archive cannot be used, so the application finishing proves both archives load."""

import os
import subprocess
import sys

import pytest

from sciforge.infra.services.class_archives import (
    DRIVER_ARCHIVE,
    EXECUTOR_ARCHIVE,
    archive_key,
    build_class_archives,
)
from sciforge.infra.services.seaweed import pick_base
from sciforge.infra.services.standalone import StandaloneCluster, spark_submit

pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.spark]

APP = """
from pyspark.sql import SparkSession
s = SparkSession.builder.getOrCreate()
print("RESULT", s.sparkContext.parallelize(range(4), 2).map(lambda x: x + 1).sum())
s.stop()
"""


def test_archives_made_on_the_cluster_are_mapped_by_driver_and_executors(tmp_path):
    base = pick_base(30000, 40000)
    cluster = StandaloneCluster(tmp_path / "spark", port=base, ui_port=base + 1, workers=2, worker_memory="1g")
    cluster.start()
    try:
        out = tmp_path / "archives"
        made = build_class_archives(cluster.master_url, cluster.secret_file, out,
                                    sorted((tmp_path / "spark").glob("worker-*.log")))
        assert made == {"driver": out / DRIVER_ARCHIVE, "executor": out / EXECUTOR_ARCHIVE}
        assert all(p.stat().st_size > 1 << 20 for p in made.values())
        assert archive_key() == archive_key() and len(archive_key()) == 64
        app = tmp_path / "app.py"
        app.write_text(APP)
        props = tmp_path / "app.properties"
        props.write_text(f"spark.authenticate true\nspark.authenticate.secret {cluster.secret_file.read_text().strip()}\n")
        props.chmod(0o600)

        def submit(driver_archive, executor_archive):
            return subprocess.run(
                [spark_submit(), "--properties-file", str(props), "--master", cluster.master_url,
                 "--conf", "spark.ui.enabled=false", "--conf", "spark.executor.memory=512m",
                 "--conf", f"spark.driver.extraJavaOptions=-Xshare:on -XX:SharedArchiveFile={driver_archive}",
                 "--conf", f"spark.executor.extraJavaOptions=-Xshare:on -XX:SharedArchiveFile={executor_archive}",
                 "--conf", "spark.task.maxFailures=1", "--conf", "spark.cores.max=1", str(app)],
                env={**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                     "SPARK_LOCAL_IP": "127.0.0.1"}, capture_output=True, text=True, timeout=600)

        ok = submit(made["driver"], made["executor"])
        assert ok.returncode == 0 and "RESULT 10" in ok.stdout, ok.stdout[-2000:] + ok.stderr[-3000:]
        # the check can fail: a driver whose archive does not exist is refused under -Xshare:on
        bad = submit(out / "missing.jsa", made["executor"])
        assert bad.returncode != 0
    finally:
        cluster.stop()
