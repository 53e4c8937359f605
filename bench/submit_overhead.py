"""Fixed cost of one submitted job: `spark-submit jobs/<job>.py` on a one-record input vs a bare PySpark
application that only starts a session and runs one trivial job, both on the same local standalone
cluster (2 workers, spark.authenticate on), alternating in rounds. Each application runs under each of
``--variants``: ``static`` (every core the cluster offers, from the start), ``cds`` (+ the JVM class
archives, `spark.class_archive_dir`, infra/services/class_archives.py), ``cds+dynamic`` (+ executors
asked for as tasks queue up, `spark.executor_allocation: dynamic`, the default). Wall seconds and CPU
seconds (the driver's process tree and the executors the workers launched) per application.

    python bench/submit_overhead.py --rounds 3 [--s3] [--variants static,cds,cds+dynamic] [--check]

What a submitted job costs beyond the work itself: the JVM and Python start, imports, settings, the
session, reading the input manifest, one task, publishing. The bare application is the floor Spark
itself sets (JVM, Python, session, one job); the ratio ours / bare is computed per round, then the
median. Inputs (the one-record raw datasets, the bare script) are prepared before any timing. Goal
(issue [cluster]): fixed cost per submitted job at most 8 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _goals import Goals, add_check_flag  # noqa: E402
from dedup_throughput import tree_cpu_seconds  # noqa: E402

from sciforge.infra.services.seaweed import SeaweedS3, pick_base  # noqa: E402
from sciforge.infra.services.standalone import StandaloneCluster, spark_submit  # noqa: E402
from sciforge.pipelines.config import REPO_ROOT, load_settings  # noqa: E402

GOAL_FIXED_S = 8.0  # issue [cluster]: fixed cost per submitted job
BARE = """
from pyspark.sql import SparkSession
s = SparkSession.builder.getOrCreate()
s.sparkContext.parallelize([1], 1).map(lambda x: x).collect()
s.stop()
"""


EXECUTOR_EXIT_S = 2.0  # after an application ends, time for its executors to exit and be reaped (CPU count)


def _run(cmd: list[str], env: dict[str, str], cluster_pids: list[int]) -> tuple[float, float]:
    """Wall seconds of one application, and the CPU seconds it cost: spark-submit's process tree (the
    driver's JVM and Python) plus the workers' (the executors they launched for it)."""
    c0, r0 = tree_cpu_seconds(cluster_pids), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({p.returncode}):\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(EXECUTOR_EXIT_S)
    cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) + tree_cpu_seconds(cluster_pids) - c0
    return took, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (bare, then each job)")
    ap.add_argument("--s3", action="store_true", help="data root on a local SeaweedFS S3 server instead of disk")
    ap.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--variants", default="static,cds,cds+dynamic",
                    help="comma-separated settings each application runs under: `static` (every core the "
                         "cluster offers, no class archives), `cds` (+ the JVM class archives), `cds+dynamic` "
                         "(+ spark.executor_allocation dynamic: executors as tasks queue up), `dynamic`")
    add_check_flag(ap)
    a = ap.parse_args()

    tmp = Path(a.workdir or tempfile.mkdtemp(prefix="submit-overhead-"))
    base = pick_base(30000, 40000)
    cluster = StandaloneCluster(tmp / "spark", port=base, ui_port=base + 1, workers=2, worker_memory="1g")
    s3 = SeaweedS3(tmp / "s3", base_port=pick_base(41000, 49000)) if a.s3 else None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIFORGE_", "AWS_"))}
    env.update({"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                "SPARK_LOCAL_IP": "127.0.0.1", "OMP_NUM_THREADS": "1",
                "SCIFORGE_SPARK__MASTER": cluster.master_url, "SCIFORGE_SPARK__AUTH_SECRET_FILE": str(cluster.secret_file),
                "SCIFORGE_SPARK__DRIVER_MEMORY": "1g", "SCIFORGE_SPARK__EXECUTOR_MEMORY": "768m",
                "SCIFORGE_SPARK__SHUFFLE_PARTITIONS": "2"})
    cluster.start()
    try:
        if s3 is not None:
            s3.start()
            o = s3.storage_options()
            env.update({"SCIFORGE_DATA_ROOT": "s3://sciforge/bench", "SCIFORGE_STORAGE__S3_ENDPOINT_URL": s3.endpoint_url,
                        "SCIFORGE_STORAGE__S3_ACCESS_KEY_ID": str(o["access_key"]),
                        "SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY": str(o["secret_key"])})
        else:
            env["SCIFORGE_DATA_ROOT"] = str(tmp / "data")
        # Inputs, before any timing: a one-line JSONL landing file, its raw/text dataset (ingested in
        # process), and the bare application's script.
        landing = tmp / "landing" / "jsonl"
        landing.mkdir(parents=True, exist_ok=True)
        (landing / "one.jsonl").write_text(json.dumps({"id": "d1", "text": "One short record of text."}) + "\n")
        os.environ.update({k: v for k, v in env.items() if k.startswith("SCIFORGE_")})
        from sciforge.jobs.ingest import run_ingest

        settings = load_settings()
        raw, _, _ = run_ingest(settings, str(landing), "jsonl", "2026-01-01", engine="local")
        bare = tmp / "bare.py"
        bare.write_text(BARE)
        from sciforge.infra.services.class_archives import build_class_archives
        from sciforge.jobs.spark import spark_conf

        variants = [v.strip() for v in a.variants.split(",") if v.strip()]
        unknown = [v for v in variants if not set(v.split("+")) <= {"static", "cds", "dynamic"}]
        if unknown:
            ap.error(f"unknown --variants {unknown}")
        archives = tmp / "class-archives"
        if any("cds" in v for v in variants):
            t0 = time.perf_counter()
            build_class_archives(cluster.master_url, cluster.secret_file, archives,
                                 sorted((tmp / "spark").glob("worker-*.log")))
            print(f"class archives made in {time.perf_counter() - t0:.0f} s (not timed below)", flush=True)
        props = tmp / "bare.properties"  # the bare app's secret: in a 0600 file, as the daemons get it
        fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"spark.authenticate.secret {cluster.secret_file.read_text().strip()}\n")
        secret_conf = ["--properties-file", str(props)]
        apps: dict[str, list[str]] = {}
        app_env: dict[str, dict[str, str]] = {}
        for variant in variants:
            parts = set(variant.split("+"))
            mode_settings = settings.model_copy(update={"spark": settings.spark.model_copy(update={
                "class_archive_dir": str(archives) if "cds" in parts else None,
                "executor_allocation": "dynamic" if "dynamic" in parts else "static"})})
            conf: list[str] = []
            for k, v in sorted(spark_conf(mode_settings).items()):
                conf += ["--conf", f"{k}={v}"]
            submit = [spark_submit(), "--master", cluster.master_url, *conf]
            # a job builds its session from its own settings (the environment), on top of spark-submit's
            # --conf: the variant's settings go there too
            venv = {**env, "SCIFORGE_SPARK__EXECUTOR_ALLOCATION": mode_settings.spark.executor_allocation}
            if mode_settings.spark.class_archive_dir:
                venv["SCIFORGE_SPARK__CLASS_ARCHIVE_DIR"] = mode_settings.spark.class_archive_dir
            for name in ("bare", "ingest", "text_pages"):
                app_env[f"{name} [{variant}]"] = venv
            apps[f"bare [{variant}]"] = [submit[0], *secret_conf, *submit[1:], str(bare)]
            apps[f"ingest [{variant}]"] = [*submit, str(REPO_ROOT / "jobs" / "ingest.py"), "--source",
                                           str(landing), "--kind", "jsonl", "--date", "2026-01-01"]
            apps[f"text_pages [{variant}]"] = [*submit, str(REPO_ROOT / "jobs" / "text_pages.py"), "--input",
                                               raw.key, "--date", "2026-01-01"]
        jobs = [k for k in apps if not k.startswith("bare")]
        rows: list[dict[str, float]] = []
        cpus: list[dict[str, float]] = []
        pids = [p.pid for p in cluster.procs]
        for r in range(a.rounds):
            timed = {name: _run(cmd, app_env[name], pids) for name, cmd in apps.items()}
            rows.append({k: v[0] for k, v in timed.items()})
            cpus.append({k: v[1] for k, v in timed.items()})
            print(f"round {r + 1} (load average {os.getloadavg()[0]:.1f}): "
                  + ", ".join(f"{k} {w:.1f} s / {c:.1f} CPU-s" for k, (w, c) in timed.items()), flush=True)
    finally:
        cluster.stop()
        if s3 is not None:
            s3.stop()

    print(f"\nwall seconds per submitted application ({'S3' if a.s3 else 'local disk'} data root, "
          f"{a.rounds} rounds, median):")
    for k in rows[0]:
        print(f"  {k:<15} {statistics.median(r[k] for r in rows):6.1f} s, "
              f"{statistics.median(c[k] for c in cpus):5.1f} CPU-s (driver + executors)")
    goals = Goals("submit_overhead")
    for name in jobs:
        floor = "bare " + name.split(" ", 1)[1]
        ratio = statistics.median(r[name] / r[floor] for r in rows)
        extra = statistics.median(r[name] - r[floor] for r in rows)
        print(f"  {name}: {ratio:.2f}x the {floor} application (median of per-round ratios), +{extra:.1f} s")
    first = variants[0]
    for variant in variants[1:]:
        for job in ("bare", "ingest", "text_pages"):
            wall = statistics.median(r[f"{job} [{variant}]"] / r[f"{job} [{first}]"] for r in rows)
            cpu = statistics.median(c[f"{job} [{variant}]"] / c[f"{job} [{first}]"] for c in cpus)
            print(f"  {job} [{variant}]: {wall:.2f}x the wall time, {cpu:.2f}x the CPU seconds of [{first}] "
                  "(medians of per-round ratios)")
    last = variants[-1]
    for job in ("ingest", "text_pages"):
        goals.at_most(f"fixed cost of a submitted {job} job [{last}] (s)",
                      statistics.median(r[f"{job} [{last}]"] for r in rows), GOAL_FIXED_S, fmt="{:.1f}")
    sys.exit(goals.finish(a.check))


if __name__ == "__main__":
    main()
