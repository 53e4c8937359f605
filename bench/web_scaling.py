"""Scaling of the web filter and dedup jobs from 1 to 2 Spark workers, through spark-submit, as users run them.

Input: ``--pages`` WARC response records built from the 990 real pages of ``web/trafilatura_eval``
(their original HTML bytes). Each repeat of the set gets its own registered domains
(``example.com`` -> ``example-r3.com``), so the domain step sees as many domains as pages
allow, as on a real crawl day. The WARCs are ingested into ``raw/web`` once, outside any timing.

Each run is one application: ``spark-submit jobs/web_filter.py --input raw/web/<v>`` against a local
standalone cluster (2 workers of 1 core, ``spark.authenticate`` on), with ``spark.cores.max`` 1 or 2,
on its own copy of the raw dataset (copied before the clock starts). Every worker (its executor
JVM and Python workers) and the driver (spark-submit, its JVM and Python) run under a CPU quota
(``--executor-cpus``, a cgroup, as Kubernetes limits a pod: bench/cpu_quota.py), so 1 -> 2 workers
measures the job, not the oversubscription of a small machine. A bare PySpark application
(session, one trivial task) runs beside each, with the same executors: the job's time over it is
the job without Spark's own start-up. Rounds alternate 1 and 2 workers; the speed-up is computed
per round (wall time with 1 worker / with 2), then the median.

With ``--jobs web_filter,dedup`` (the default), each run then submits ``jobs/dedup.py --engine spark`` on
the ``clean/web_pages`` dataset that run published, with the same workers, timed on its own. With
``--jobs dedup`` alone, dedup runs on ``--pages`` 20 Newsgroups posts and edited copies of them
(bench/dedup_throughput.py's corpus), published before any timing as a page dataset of
``DEDUP_PART_PAGES``-page parts: a day's pages arrive in a few large parts, as web_filter writes them.

Also checks that every run published byte-identical ``clean/web_pages`` (and ``clean/pages``) parts.

    python bench/web_scaling.py [--data ../shared/data] [--pages 50000] [--rounds 2] [--executor-cpus 0.5]
                                [--jobs web_filter,dedup]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_quota import CpuQuota  # noqa: E402
from dedup_profile import log_lines  # noqa: E402

from bench._goals import Goals, add_check_flag  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
GOAL_SPEEDUP = 1.7  # issue [cluster]: 1 -> 2 workers at least 1.7x at 50k+ pages
WARC_FILES = 16  # landing files: a crawl day arrives as many WARCs
# --jobs dedup: pages per part of its input (web_filter writes one part per 32 MiB of Parquet,
# spark.task_input_bytes: ~20k pages of 20 Newsgroups text)
DEDUP_PART_PAGES = 20000
BARE = """
from pyspark.sql import SparkSession
s = SparkSession.builder.getOrCreate()
s.sparkContext.parallelize([1], 1).map(lambda x: x).collect()
s.stop()
"""


def _renamed(url: str, rep: int) -> str:
    """``url`` with its registered domain made distinct per repeat (``a.example.com`` -> ``a.example-r3.com``)."""
    if rep == 0:
        return url
    parts = urlsplit(url)
    host = parts.hostname or "eval.invalid"
    labels = host.split(".")
    i = max(0, len(labels) - 2)
    labels[i] = f"{labels[i]}-r{rep}"
    return urlunsplit(parts._replace(netloc=".".join(labels)))


def build_warcs(eval_dir: Path, out: Path, pages: int) -> int:
    """``pages`` response records in WARC_FILES gzipped WARCs under ``out``."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    ev = sorted(json.loads((eval_dir / "evaldata.json").read_text()).items())
    bodies = {v["file"]: gzip.open(eval_dir / "html" / f"{v['file']}.gz").read() for _, v in ev}
    out.mkdir(parents=True, exist_ok=True)
    files = [open(out / f"day-{i:03d}.warc.gz", "wb") for i in range(WARC_FILES)]
    writers = [WARCWriter(f, gzip=True) for f in files]
    try:
        for n in range(pages):
            rep, (url, v) = divmod(n, len(ev))[0], ev[n % len(ev)]
            if not url.startswith("http"):  # a few eval keys are labels, not URLs
                url = f"https://eval.invalid/{v['file']}"
            body = bodies[v["file"]]
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            w = writers[n % WARC_FILES]
            w.write_record(w.create_warc_record(_renamed(url, rep), "response", payload=io.BytesIO(body),
                                                http_headers=http))
    finally:
        for f in files:
            f.close()
    return pages


def driver_only_seconds(event_log: Path) -> tuple[float, float, int]:
    """(application seconds, seconds in which no task ran anywhere, stages) from a Spark event log: the
    driver-only time is what more executors cannot shorten (start-up, planning, metadata, commits)."""
    start = end = 0
    spans: list[tuple[int, int]] = []
    stages = 0
    for line in log_lines(event_log):
        e = json.loads(line)
        ev = e["Event"]
        if ev == "SparkListenerApplicationStart":
            start = e["Timestamp"]
        elif ev == "SparkListenerApplicationEnd":
            end = e["Timestamp"]
        elif ev == "SparkListenerTaskEnd":
            info = e["Task Info"]
            spans.append((info["Launch Time"], info["Finish Time"]))
        elif ev == "SparkListenerStageCompleted":
            stages += 1
    busy, cur_a, cur_b = 0, None, None
    for a, b in sorted(spans):
        if cur_b is None or a > cur_b:
            if cur_b is not None and cur_a is not None:
                busy += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_a is not None and cur_b is not None:
        busy += cur_b - cur_a
    app = (end - start) / 1000
    return app, app - busy / 1000, stages


def _digest(root: Path, name: str) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "clean" / name).rglob("*.parquet")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="the shared data folder (web/trafilatura_eval)")
    ap.add_argument("--pages", type=int, default=50000, help="WARC records in the day")
    ap.add_argument("--rounds", type=int, default=2, help="rounds; each runs 1 and 2 workers (order alternates)")
    ap.add_argument("--executor-cpus", type=float, default=0.5,
                    help="CPU quota of each worker and of the driver (0.5: driver + 2 workers take 1.5 of 2 "
                         "cores, leaving the rest to the master, the bench and the OS, so that no quota'd "
                         "process waits for a core)")
    ap.add_argument("--jobs", default="web_filter,dedup",
                    help="web_filter,dedup (dedup on web_filter's output), web_filter, or dedup (on a text corpus)")
    ap.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one; removed at the end)")
    add_check_flag(ap)
    a = ap.parse_args()
    jobs = [j.strip() for j in a.jobs.split(",") if j.strip()]
    if jobs not in (["web_filter", "dedup"], ["web_filter"], ["dedup"]):
        ap.error("--jobs: web_filter,dedup, web_filter or dedup")

    from sciforge.infra.services.seaweed import pick_base
    from sciforge.infra.services.standalone import StandaloneCluster, spark_submit
    from sciforge.jobs.ingest import run_ingest
    from sciforge.jobs.spark import spark_conf
    from sciforge.pipelines.config import load_settings

    tmp = Path(a.workdir or tempfile.mkdtemp(prefix="web-scaling-"))
    t0 = time.perf_counter()
    base_root = tmp / "base"
    os.environ["SCIFORGE_DATA_ROOT"] = str(base_root)
    if jobs[0] == "web_filter":
        build_warcs(Path(a.data) / "web" / "trafilatura_eval", tmp / "landing", a.pages)
        raw, _, _ = run_ingest(load_settings(), str(tmp / "landing"), "warc", "2026-01-01", engine="local")
        made = f"{a.pages} WARC records in {WARC_FILES} files ingested into {raw.key}"
    else:
        from dedup_common import write_pages
        from dedup_throughput import make_docs

        from sciforge.pipelines.storage import open_storage

        raw = write_pages(open_storage(str(base_root)), make_docs(a.data, a.pages), "2026-01-01_bench",
                          part_rows=DEDUP_PART_PAGES)
        made = f"{a.pages} pages published as {raw.key}"
    print(f"{made} in {time.perf_counter() - t0:.0f} s (not timed); cpus here: {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)

    base = pick_base(30000, 40000)
    cluster = StandaloneCluster(tmp / "spark", port=base, ui_port=base + 1, workers=2, worker_memory="3g")
    cluster.start()
    quotas: list[CpuQuota] = []
    rows: list[dict[str, float]] = []
    digests: dict[str, set[str]] = {"web_pages": set(), "pages": set()}
    stage_counts: dict[str, int] = {}
    try:
        driver_q = CpuQuota(f"sciforge-webscale-{os.getpid()}-driver", a.executor_cpus)
        driver_q.add(cluster.procs[0].pid)  # the master (idle but for scheduling) shares the driver's quota
        quotas.append(driver_q)
        for i, proc in enumerate(cluster.procs[1:]):
            q = CpuQuota(f"sciforge-webscale-{os.getpid()}-worker{i}", a.executor_cpus)
            q.add(proc.pid)
            quotas.append(q)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIFORGE_", "AWS_"))}
        env.update({"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                    "SPARK_LOCAL_IP": "127.0.0.1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO),
                    "SCIFORGE_PROFILE": "cluster", "SCIFORGE_SPARK__SUBMIT": "true",
                    "SCIFORGE_SPARK__MASTER": cluster.master_url,
                    "SCIFORGE_SPARK__AUTH_SECRET_FILE": str(cluster.secret_file),
                    "SCIFORGE_SPARK__DRIVER_MEMORY": "1g", "SCIFORGE_SPARK__EXECUTOR_MEMORY": "2g",
                    "SCIFORGE_SPARK__EXECUTOR_CORES": "1"})  # the workers here have one core each
        props = tmp / "bare.properties"  # the bare application's secret, in a 0600 file
        fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"spark.authenticate.secret {cluster.secret_file.read_text().strip()}\n")
        (tmp / "bare.py").write_text(BARE)

        def submit(workers: int, script: list[str], root: Path, event_log: Path | None = None) -> float:
            extra = {"spark.cores.max": str(workers)}
            if event_log is not None:
                event_log.mkdir(parents=True)
                extra.update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": event_log.as_uri(),
                              "spark.eventLog.compress": "false", "spark.eventLog.rolling.enabled": "false"})
            run_env = {**env, "SCIFORGE_DATA_ROOT": str(root), "SCIFORGE_SPARK__EXTRA_CONF": json.dumps(extra)}
            saved = {k: os.environ.get(k) for k in run_env if k.startswith("SCIFORGE_")}
            os.environ.update({k: v for k, v in run_env.items() if k.startswith("SCIFORGE_")})
            try:
                conf = spark_conf(load_settings())
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            cmd = [spark_submit(), "--properties-file", str(props), "--master", cluster.master_url]
            for k, v in sorted(conf.items()):
                cmd += ["--conf", f"{k}={v}"]
            procs_file = driver_q.path / "cgroup.procs"

            def into_quota() -> None:  # before exec: spark-submit, its JVM and Python inherit the quota
                procs_file.write_text(str(os.getpid()))

            t = time.perf_counter()
            p = subprocess.run([*cmd, *script], env=run_env, capture_output=True, text=True, preexec_fn=into_quota)
            took = time.perf_counter() - t
            if p.returncode != 0:
                raise SystemExit(f"{script[0]} with {workers} worker(s) failed ({p.returncode}):\n"
                                 f"{p.stdout[-2000:]}{p.stderr[-4000:]}")
            return took

        for r in range(a.rounds):
            row: dict[str, float] = {}
            for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
                root = tmp / f"run-{r}-{workers}"
                shutil.copytree(base_root, root)  # before the clock: the job's own input
                row[f"bare {workers}"] = submit(workers, [str(tmp / "bare.py")], root)
                pages = raw.key
                if "web_filter" in jobs:
                    result = root / "web_filter.json"
                    events = tmp / f"events-{r}-{workers}"
                    row[f"web_filter {workers}"] = submit(
                        workers, [str(REPO / "jobs" / "web_filter.py"), "--input", raw.key, "--date", "2026-01-01",
                                  "--result-file", str(result)], root, events)
                    _, row[f"web_filter driver-only {workers}"], stage_counts["web_filter"] = \
                        driver_only_seconds(events)
                    digests["web_pages"].add(_digest(root, "web_pages"))
                    pages = json.loads(result.read_text())["dataset"]
                if "dedup" in jobs:
                    events = tmp / f"events-dedup-{r}-{workers}"
                    row[f"dedup {workers}"] = submit(
                        workers, [str(REPO / "jobs" / "dedup.py"), "--input", pages, "--date", "2026-01-01",
                                  "--engine", "spark"], root, events)
                    _, row[f"dedup driver-only {workers}"], stage_counts["dedup"] = driver_only_seconds(events)
                    digests["pages"].add(_digest(root, "pages"))
                shutil.rmtree(root)
            rows.append(row)
            print(f"round {r + 1} (load average {os.getloadavg()[0]:.1f}): "
                  + ", ".join(f"{k} worker(s) {v:.1f} s" for k, v in row.items()), flush=True)
    finally:
        cluster.stop()
        for q in quotas:
            print(f"  {q.path.name}: throttled {q.throttled_s():.1f} s by its quota")
            q.remove()
        if not a.workdir:
            shutil.rmtree(tmp, ignore_errors=True)

    goals = Goals("web_scaling")
    for job in jobs:
        print(f"\n{job} on {a.pages} pages, {a.rounds} rounds, each worker and the driver under a "
              f"{a.executor_cpus}-CPU quota (median):")
        for w in (1, 2):
            t = statistics.median(x[f"{job} {w}"] for x in rows)
            bare = statistics.median(x[f"bare {w}"] for x in rows)
            over = statistics.median(x[f"{job} {w}"] - x[f"bare {w}"] for x in rows)
            alone = statistics.median(x[f"{job} driver-only {w}"] for x in rows)
            print(f"  {w} worker(s): application {t:.1f} s ({a.pages / t:.1f} pages/s), bare application "
                  f"{bare:.1f} s, job over bare {over:.1f} s; no task running for {alone:.1f} s of it "
                  f"(driver-only, event log; {stage_counts[job]} stages)")
        with_startup = [x[f"{job} 1"] / x[f"{job} 2"] for x in rows]
        without = [(x[f"{job} 1"] - x["bare 1"]) / (x[f"{job} 2"] - x["bare 2"]) for x in rows]
        print("  speed-up 1 -> 2 workers per round, start-up included: "
              + ", ".join(f"{s:.2f}x" for s in with_startup) + f"; median {statistics.median(with_startup):.2f}x")
        print("  speed-up 1 -> 2 workers per round, bare application subtracted: "
              + ", ".join(f"{s:.2f}x" for s in without) + f"; median {statistics.median(without):.2f}x")
        goals.at_least(f"{job}: 1 -> 2 workers speed-up at {a.pages} pages, start-up included",
                       statistics.median(with_startup), GOAL_SPEEDUP, fmt="{:.2f}")
    differ = [name for name, d in digests.items() if len(d) > 1]
    print(f"\n{' and '.join(f'clean/{n}' for n, d in digests.items() if d)} byte-identical across all runs: "
          f"{not differ}")
    if differ:
        print(f"ERROR: the runs published different bytes in clean/{', clean/'.join(differ)}", file=sys.stderr)
        return 1
    return goals.finish(a.check)


if __name__ == "__main__":
    sys.exit(main())
