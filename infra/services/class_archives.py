"""Class-data-sharing (JDK CDS) archives for the JVMs a submitted Spark job starts: its driver and its
executors.

Every `spark-submit` starts a fresh driver JVM and, on the standalone master, fresh executor JVMs, and
each loads and verifies thousands of classes from Spark's ~280 jars before it does any work. A CDS
archive holds those classes already parsed and verified; a JVM started with
``-XX:SharedArchiveFile=<archive>`` maps it instead. The archives are made on the machine that runs the
JVMs, for its JDK and Spark jars:

1. a short training application runs on the cluster with ``-XX:DumpLoadedClassList`` on its driver and
   on its one executor, through the code paths a job takes (session, Python tasks, an Arrow exchange,
   a shuffle, a Parquet write and read);
2. ``java -Xshare:dump`` turns each class list into an archive, with the classpath that JVM kind
   starts with (read from the launch commands Spark logs).

A JVM whose archive is missing, or was made for another JDK or classpath, starts without it
(``-Xshare:auto``, the JDK's default): an archive can make a start faster, never break one.
`spark.class_archive_dir` (SparkSettings) points the drivers and executors at the folder.

    python -m sciforge.infra.services.class_archives --master spark://127.0.0.1:7077 \
        --auth-secret-file var/services/spark/auth-secret --out var/services/spark/class-archives
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sciforge.infra.services.standalone import SPARK_HOME, spark_submit

DRIVER_ARCHIVE = "driver.jsa"
EXECUTOR_ARCHIVE = "executor.jsa"

# What a job's JVMs do, in small: the training run loads the classes of these paths.
TRAINING_APP = r'''
import sys
import pyarrow as pa
from pyspark.sql import SparkSession, functions as F

out = sys.argv[1]
s = SparkSession.builder.getOrCreate()
s.sparkContext.parallelize(range(8), 1).map(lambda x: x * 2).collect()
df = s.createDataFrame([(i, f"text {i}", i % 3) for i in range(200)], "id long, text string, k int")
df = df.mapInArrow(lambda it: (b for b in it), df.schema)
agg = df.groupBy("k").agg(F.count("*").alias("n"), F.min("text").alias("first"))
agg.write.mode("overwrite").parquet(out)
s.read.parquet(out).orderBy("k").collect()
s.stop()
'''


def archive_key() -> str:
    """What the archives are valid for: this JDK and this Spark's jars (an archive made for others is ignored)."""
    java = shutil.which("java", path=os.path.join(os.environ.get("JAVA_HOME", ""), "bin")) or "java"
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr.strip()
    jars = sorted(p.name for p in (SPARK_HOME / "jars").glob("*.jar"))
    return hashlib.sha256("\n".join([version, str(SPARK_HOME), *jars]).encode()).hexdigest()


def _launch_classpath(command: str) -> str:
    """The ``-cp`` argument of a logged JVM launch command."""
    args = shlex.split(command)
    for flag in ("-cp", "-classpath"):
        if flag in args:
            return args[args.index(flag) + 1]
    raise ValueError(f"no -cp in launch command: {command[:200]}")


def _dump(java: str, classpath: str, class_list: Path, archive: Path) -> None:
    tmp = archive.with_suffix(".tmp")
    proc = subprocess.run([java, "-Xshare:dump", f"-XX:SharedClassListFile={class_list}",
                           f"-XX:SharedArchiveFile={tmp}", "-cp", classpath],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not tmp.exists():
        raise RuntimeError(f"java -Xshare:dump for {archive.name} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    tmp.replace(archive)  # readers never see a half-written archive


def build_class_archives(master: str, auth_secret_file: Path | None, out: Path,
                         worker_logs: list[Path] | None = None) -> dict[str, Path]:
    """Run the training application on ``master`` and write driver.jsa and executor.jsa into ``out``.

    ``worker_logs``: the standalone workers' logs, where the executor's launch command is read (the
    executor's classpath); without them the executor's classpath is Spark's standard one.
    """
    out.mkdir(parents=True, exist_ok=True)
    java = shutil.which("java", path=os.path.join(os.environ.get("JAVA_HOME", ""), "bin")) or "java"
    with tempfile.TemporaryDirectory(prefix="sciforge-cds-") as tmpdir:
        tmp = Path(tmpdir)
        app = tmp / "train_classes.py"
        app.write_text(TRAINING_APP)
        driver_list, executor_list = tmp / "driver.classlist", tmp / "executor.classlist"
        conf = {
            "spark.driver.extraJavaOptions": f"-XX:DumpLoadedClassList={driver_list}",
            "spark.executor.extraJavaOptions": f"-XX:DumpLoadedClassList={executor_list}",
            "spark.cores.max": "1",  # one executor: one writer of the executor's class list
            "spark.executor.cores": "1", "spark.executor.memory": "512m", "spark.driver.memory": "512m",
            "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "1",
            "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
        }
        args = [spark_submit(), "--master", master]
        if auth_secret_file is not None:
            props = tmp / "secret.properties"
            fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write("spark.authenticate true\n"
                        f"spark.authenticate.secret {Path(auth_secret_file).read_text().strip()}\n")
            args = [spark_submit(), "--properties-file", str(props), "--master", master]
        for k, v in conf.items():
            args += ["--conf", f"{k}={v}"]
        env = {**os.environ, "SPARK_PRINT_LAUNCH_COMMAND": "1", "PYSPARK_PYTHON": sys.executable,
               "PYSPARK_DRIVER_PYTHON": sys.executable}
        proc = subprocess.run([*args, str(app), str(tmp / "out.parquet")], env=env, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the class-list training application failed ({proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
        launch = re.search(r"^Spark Command: (.*)$", proc.stderr, re.M)
        if launch is None:
            raise RuntimeError("spark-submit did not print its launch command (SPARK_PRINT_LAUNCH_COMMAND)")
        driver_cp = _launch_classpath(launch.group(1))
        executor_cp = f"{SPARK_HOME}/conf/:{SPARK_HOME}/jars/*"
        for log in worker_logs or []:
            found = re.findall(r"Launch command: (.*)$", log.read_text(errors="replace"), re.M)
            if found:
                executor_cp = _launch_classpath(found[-1])
        if not executor_list.exists():
            raise RuntimeError("the training application's executor wrote no class list")
        archives = {"driver": out / DRIVER_ARCHIVE, "executor": out / EXECUTOR_ARCHIVE}
        _dump(java, driver_cp, driver_list, archives["driver"])
        _dump(java, executor_cp, executor_list, archives["executor"])
    return archives


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--master", required=True, help="standalone master URL, e.g. spark://127.0.0.1:7077")
    p.add_argument("--auth-secret-file", type=Path, default=None, help="spark.authenticate's secret file")
    p.add_argument("--out", type=Path, required=True, help="folder for driver.jsa and executor.jsa")
    p.add_argument("--worker-log", type=Path, action="append", default=[],
                   help="a standalone worker's log (the executors' launch command); repeatable")
    a = p.parse_args()
    for kind, path in build_class_archives(a.master, a.auth_secret_file, a.out, a.worker_log).items():
        print(f"{kind:<9} {path} ({path.stat().st_size / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
