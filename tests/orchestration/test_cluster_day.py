"""A whole `corpus_refresh` day on the cluster path, as a data engineer runs it: the `cluster` profile,
every Spark job submitted with `spark-submit` to a standalone master (2 workers), landing files and
every dataset on S3 (a real SeaweedFS server), S3 credentials only in an Airflow connection. Every
published dataset and the report are byte-identical to the same day run in local mode on local disk
(manifests differ only in the recorded source location)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sciforge.pipelines.config import REPO_ROOT
from tests.orchestration.conftest import write_landing

pytestmark = [pytest.mark.services, pytest.mark.spark, pytest.mark.s3, pytest.mark.airflow]
DAY = "2026-01-01"
CONN_ID = "sciforge_s3"
PARTITIONS = 4  # shuffle partitions of both runs (the number of parts a shuffled dataset is written in)

_RUN = textwrap.dedent("""
    import json, sys, time
    from sciforge.pipelines.config import get_settings
    from sciforge.infra.airflow_env import run_dag_test
    t0 = time.monotonic()
    dr = run_dag_test(get_settings(), "corpus_refresh", sys.argv[1], json.loads(sys.argv[2]))
    print("DAG RUN", dr.state, f"{time.monotonic() - t0:.1f}s")
    assert "success" in str(dr.state), dr.state
""")


def _run_day(env: dict[str, str], conf: dict, log: Path, timeout: int = 1500) -> str:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _RUN, DAY, json.dumps(conf)], cwd=REPO_ROOT, env=env,
                          stdout=open(log, "wb"), stderr=subprocess.STDOUT, timeout=timeout)
    out = log.read_text(errors="replace")
    assert proc.returncode == 0, out[-8000:]
    return f"{time.monotonic() - t0:.0f}s"


def _s3_tree(s3, prefix: str = "") -> dict[str, bytes]:
    return {k: s3.read_bytes(k) for k in s3.list(prefix)}


def _local_tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _comparable(path: str, data: bytes) -> bytes:
    if not path.endswith("_manifest.json"):
        return data
    m = json.loads(data)
    m.pop("inputs", None)  # where the raw files were read from (a local folder vs s3://...)
    return json.dumps(m, sort_keys=True).encode()


def test_cluster_day_through_spark_submit_on_s3_is_byte_identical_to_local(tmp_path, demo_corpus, s3_server):
    from sciforge.infra.services.seaweed import pick_base
    from sciforge.infra.services.standalone import StandaloneCluster
    from sciforge.pipelines.storage import S3Storage

    # The landing folder of the day: on local disk for the local run, the same bytes on S3.
    landing = write_landing(demo_corpus, tmp_path / "landing", DAY, 0)
    prefix = f"s3://sciforge/{tmp_path.name}"
    opts = s3_server.storage_options()
    s3_landing = S3Storage(f"{prefix}/landing", **opts)
    s3_landing.check()
    for p in sorted(landing.rglob("*")):
        if p.is_file():
            s3_landing.write_bytes(f"dt={DAY}/{p.relative_to(landing)}", p.read_bytes())

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIFORGE_", "AIRFLOW", "AWS_"))}
    # Both runs: the `cluster` profile's data configuration (what shapes the datasets), with this test's
    # memory, partitions and sequence length for 2 cores, and a SQLite metadata DB (dag.test runs the
    # tasks in-process).
    common = {**base_env, "SCIFORGE_PROFILE": "cluster", "SCIFORGE_SPARK__DRIVER_MEMORY": "1g",
              "SCIFORGE_SPARK__EXECUTOR_MEMORY": "768m", "SCIFORGE_SPARK__EXECUTOR_CORES": "1",
              "SCIFORGE_SPARK__SHUFFLE_PARTITIONS": str(PARTITIONS), "SCIFORGE_STAGES__CORPUS__SEQ_LEN": "32",
              "SPARK_LOCAL_IP": "127.0.0.1", "OMP_NUM_THREADS": "1"}

    # Local mode: every Spark job inside its task process (local[2]), landing and data on local disk.
    local = tmp_path / "local"
    local_env = {**common, "SCIFORGE_SPARK__MASTER": "local[2]", "SCIFORGE_SPARK__SUBMIT": "false",
                 "SCIFORGE_DATA_ROOT": str(local / "data"), "SCIFORGE_INGEST__LANDING_ROOT": str(landing.parent),
                 "SCIFORGE_STORAGE__AIRFLOW_CONN_ID": "", "SCIFORGE_AIRFLOW__HOME": str(local / "airflow"),
                 "SCIFORGE_AIRFLOW__SQL_ALCHEMY_CONN": f"sqlite:///{local / 'airflow' / 'airflow.db'}",
                 "SCIFORGE_TRAIN__CHECKPOINT_ROOT": str(local / "ckpt")}
    local_took = _run_day(local_env, {"engine": "spark"}, tmp_path / "local.log")

    # Cluster mode: each job submitted to an authenticated standalone master, everything on S3.
    base = pick_base(30000, 40000)
    cluster = StandaloneCluster(tmp_path / "spark", port=base, ui_port=base + 1, workers=2, worker_memory="1g")
    cluster.start()
    try:
        env = {
            **common,
            "SCIFORGE_SPARK__MASTER": cluster.master_url,
            "SCIFORGE_SPARK__AUTH_SECRET_FILE": str(cluster.secret_file),  # spark.authenticate's secret
            "SCIFORGE_DATA_ROOT": f"{prefix}/data", "SCIFORGE_INGEST__LANDING_ROOT": f"{prefix}/landing",
            "SCIFORGE_STORAGE__S3_ENDPOINT_URL": s3_server.endpoint_url,
            "SCIFORGE_AIRFLOW__HOME": str(tmp_path / "airflow"),
            "SCIFORGE_AIRFLOW__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}",
            "SCIFORGE_TRAIN__CHECKPOINT_ROOT": str(tmp_path / "ckpt"),
            # the only place the S3 credentials are: an Airflow connection (here from the environment,
            # Airflow's env-var secrets backend; on Kubernetes from the Secret)
            f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps({
                "conn_type": "aws", "login": opts["access_key"], "password": opts["secret_key"],
                "extra": {"endpoint_url": s3_server.endpoint_url}}),
        }
        cluster_took = _run_day(env, {"engine": "spark"}, tmp_path / "cluster.log")
        log = (tmp_path / "cluster.log").read_text(errors="replace")
        master_log = (tmp_path / "spark" / "master.log").read_text(errors="replace")
        _cluster_is_closed(cluster, tmp_path)
    finally:
        cluster.stop()

    # Every Spark job of the day was its own application on the standalone master.
    apps = re.findall(r"Registering app (\S+)", master_log)
    assert sorted(apps) == sorted(f"sciforge-{job}" for job in (
        "ingest", "ingest", "ingest", "web_filter", "pdf_parse", "text_pages", "dedup", "corpus")), apps
    assert "DAG RUN" in log

    data = S3Storage(f"{prefix}/data", **opts)
    on_s3 = {k: _comparable(k, v) for k, v in _s3_tree(data).items()}
    on_disk = {k: _comparable(k, v) for k, v in _local_tree(local / "data").items()}
    only_s3, only_disk = sorted(set(on_s3) - set(on_disk)), sorted(set(on_disk) - set(on_s3))
    assert not only_s3 and not only_disk, (local_took, cluster_took, only_s3[:12], only_disk[:12])
    differ = [k for k in on_disk if on_s3[k] != on_disk[k]]
    assert not differ, differ
    assert any(k.startswith("corpus/snapshot/") and k.endswith("_manifest.json") for k in on_s3)
    funnel = {r["stage"]: r for r in json.loads(data.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.json"))}
    assert funnel["ingest_jsonl"]["kept"] > 0 and funnel["corpus"]["kept"] > 0


def _cluster_is_closed(cluster, tmp_path: Path) -> None:
    """No unauthenticated door to code execution: the master and workers listen on loopback only, with
    no REST submission server, their secret is on no command line, and an application without
    spark.authenticate's secret cannot register (the master answers its first message with a SASL
    error, which the driver prints)."""
    from sciforge.infra.services.standalone import spark_submit
    from tests.netcheck import listening

    secret = cluster.secret_file.read_text().strip()
    assert cluster.secret_file.stat().st_mode & 0o077 == 0 and cluster.properties_file.stat().st_mode & 0o077 == 0
    for p in cluster.procs:
        ports = listening(p.pid)
        assert ports and all(addr == "127.0.0.1" for addr, _ in ports), ports
        assert 6066 not in {port for _, port in ports}
        assert secret not in Path(f"/proc/{p.pid}/cmdline").read_text()

    app = tmp_path / "intruder.py"
    app.write_text("from pyspark.sql import SparkSession\n"
                   "s = SparkSession.builder.getOrCreate()\n"
                   "print('RAN', s.sparkContext.parallelize(range(4), 2).sum())\n")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.Popen([spark_submit(), "--master", cluster.master_url, "--conf", "spark.ui.enabled=false",
                             str(app)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    deadline = time.monotonic() + 180
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if "SaslMessage" in line or time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait()
    out = "".join(seen)
    assert "Expected SaslMessage" in out, out[-3000:]
    assert "RAN" not in out
