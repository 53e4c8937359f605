"""A job on a real Spark standalone cluster (master + 2 workers, spark.authenticate on) reading and
writing S3 gives the same dataset as the local[*] run on local disk; the cluster listens on loopback
only, with no REST submission server."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sciforge.infra.services.seaweed import pick_base
from sciforge.infra.services.standalone import StandaloneCluster, spark_submit
from sciforge.jobs.ingest import run_ingest
from sciforge.pipelines.config import REPO_ROOT
from sciforge.pipelines.datasets import read_manifest
from sciforge.pipelines.storage import S3Storage, open_storage
from tests.netcheck import listening

# Slow: tests/orchestration/test_cluster_day.py runs every job this way (ingest included) in the default
# suite; this one isolates the ingest job on its own.
pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.spark, pytest.mark.s3]


def test_standalone_cluster_on_s3_equals_local_run(spark, settings, s3_server, demo_corpus, tmp_path):
    opts = s3_server.storage_options()
    landing = S3Storage("s3://sciforge/landing/dt=2026-01-01", **opts)
    landing.check()
    for f in sorted((demo_corpus / "warc").iterdir()):
        landing.write_bytes(f"warc/{f.name}", f.read_bytes())

    base = pick_base(30000, 40000)
    cluster = StandaloneCluster(tmp_path / "spark", port=base, ui_port=base + 1, workers=2,
                                worker_memory="1g")
    cluster.start()
    try:
        env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
               "SPARK_LOCAL_IP": "127.0.0.1",
               "SCIFORGE_SPARK__MASTER": cluster.master_url, "SCIFORGE_SPARK__EXECUTOR_MEMORY": "768m",
               "SCIFORGE_SPARK__DRIVER_MEMORY": "1g", "SCIFORGE_DATA_ROOT": "s3://sciforge/cluster",
               "SCIFORGE_STORAGE__S3_ENDPOINT_URL": s3_server.endpoint_url,
               "SCIFORGE_STORAGE__S3_ACCESS_KEY_ID": opts["access_key"],
               "SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY": opts["secret_key"],
               "SCIFORGE_SPARK__AUTH_SECRET_FILE": str(cluster.secret_file)}
        assert cluster.secret_file.stat().st_mode & 0o077 == 0 and cluster.properties_file.stat().st_mode & 0o077 == 0
        for p in cluster.procs:  # master (RPC + UI) and workers: loopback only; no REST server (6066)
            ports = listening(p.pid)
            assert ports and all(addr == "127.0.0.1" for addr, _ in ports), ports
            assert 6066 not in {port for _, port in ports}
            assert cluster.secret_file.read_text().strip() not in " ".join(Path(f"/proc/{p.pid}/cmdline")
                                                                          .read_text().split("\0"))
        proc = subprocess.run(
            [spark_submit(), "--master", cluster.master_url, str(REPO_ROOT / "jobs" / "ingest.py"),
             "--source", "s3://sciforge/landing/dt=2026-01-01/warc", "--kind", "warc", "--date", "2026-01-01"],
            env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        master_log = (tmp_path / "spark" / "master.log").read_text()
        assert "Registered app" in master_log or "Registering app" in master_log
    finally:
        cluster.stop()

    ref, m_local, _ = run_ingest(settings, str(demo_corpus / "warc"), "warc", "2026-01-01", spark=spark)
    s3 = S3Storage("s3://sciforge/cluster", **opts)
    m_s3 = read_manifest(s3, ref)
    strip = lambda m: {k: v for k, v in m.items() if k not in ("inputs", "code_version")}  # noqa: E731
    assert json.dumps(strip(m_s3), sort_keys=True) == json.dumps(strip(m_local), sort_keys=True)
    local = open_storage(settings.data_root)
    for f in m_local["files"]:
        assert s3.read_bytes(f"{ref.key}/{f['path']}") == local.read_bytes(f"{ref.key}/{f['path']}")
