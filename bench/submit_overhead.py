"""Fixed cost of one submitted job: `spark-submit jobs/<job>.py` on a one-record input vs a bare PySpark
application that only starts a session and runs one trivial job, both on the same local standalone
cluster (2 workers, spark.authenticate on), alternating in rounds; each application runs without and
with the JVM class archives (`spark.class_archive_dir`, infra/services/class_archives.py).

    python bench/submit_overhead.py --rounds 3 [--s3] [--class-archives both|on|off] [--check]

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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _goals import Goals, add_check_flag  # noqa: E402

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


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({p.returncode}):\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (bare, then each job)")
    ap.add_argument("--s3", action="store_true", help="data root on a local SeaweedFS S3 server instead of disk")
    ap.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--class-archives", choices=["both", "on", "off"], default="both",
                    help="run each application without (off) and/or with (on) the JVM class archives")
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

        modes = {"both": ["off", "on"], "on": ["on"], "off": ["off"]}[a.class_archives]
        archives = tmp / "class-archives"
        if "on" in modes:
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
        for mode in modes:
            mode_settings = settings.model_copy(update={"spark": settings.spark.model_copy(
                update={"class_archive_dir": str(archives) if mode == "on" else None})})
            conf: list[str] = []
            for k, v in sorted(spark_conf(mode_settings).items()):
                conf += ["--conf", f"{k}={v}"]
            submit = [spark_submit(), "--master", cluster.master_url, *conf]
            tag = "" if mode == "off" else "+cds"
            apps[f"bare{tag}"] = [submit[0], *secret_conf, *submit[1:], str(bare)]
            apps[f"ingest{tag}"] = [*submit, str(REPO_ROOT / "jobs" / "ingest.py"), "--source", str(landing),
                                    "--kind", "jsonl", "--date", "2026-01-01"]
            apps[f"text_pages{tag}"] = [*submit, str(REPO_ROOT / "jobs" / "text_pages.py"), "--input", raw.key,
                                        "--date", "2026-01-01"]
        jobs = [k for k in apps if not k.startswith("bare")]
        rows: list[dict[str, float]] = []
        for r in range(a.rounds):
            row = {name: _run(cmd, env) for name, cmd in apps.items()}
            rows.append(row)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v:.1f} s" for k, v in row.items()), flush=True)
    finally:
        cluster.stop()
        if s3 is not None:
            s3.stop()

    print(f"\nwall seconds per submitted application ({'S3' if a.s3 else 'local disk'} data root, "
          f"{a.rounds} rounds, median):")
    for k in rows[0]:
        print(f"  {k:<11} {statistics.median(r[k] for r in rows):6.1f} s")
    goals = Goals("submit_overhead")
    for name in jobs:
        floor = "bare+cds" if name.endswith("+cds") else "bare"
        ratio = statistics.median(r[name] / r[floor] for r in rows)
        extra = statistics.median(r[name] - r[floor] for r in rows)
        print(f"  {name}: {ratio:.2f}x the {floor} application (median of per-round ratios), +{extra:.1f} s")
    if "on" in modes and "off" in modes:
        for name in ["bare", *[j for j in jobs if not j.endswith("+cds")]]:
            ratio = statistics.median(r[f"{name}+cds"] / r[name] for r in rows)
            print(f"  {name} with class archives: {ratio:.2f}x its time without (median of per-round ratios)")
    best = {j.removesuffix("+cds") for j in jobs}
    for name in sorted(best):
        mode = f"{name}+cds" if "on" in modes else name
        goals.at_most(f"fixed cost of a submitted {name} job (s)", statistics.median(r[mode] for r in rows),
                      GOAL_FIXED_S, fmt="{:.1f}")
    sys.exit(goals.finish(a.check))


if __name__ == "__main__":
    main()
