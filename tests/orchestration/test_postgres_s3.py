"""corpus_refresh with the LocalExecutor on a real PostgreSQL metadata DB (apt's postgresql, started by
the test as a private cluster) and a real S3 server (SeaweedFS): landing files and every dataset on
S3, the S3 credentials only in an Airflow connection (stored in PostgreSQL), none in the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sciforge.infra.services.postgres import unavailable_reason
from tests.orchestration.conftest import BACKFILL_DAYS, LOCAL, write_landing

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.s3,
              pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))]
DAY = BACKFILL_DAYS[0]
CONN_ID = "sciforge_s3"


def test_corpus_refresh_on_postgres_with_local_executor_and_s3(tmp_path: Path, demo_corpus, s3_server):
    from sciforge.infra.services.postgres import PostgresServer
    from sciforge.infra.ui import AirflowStack
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.datasets import DatasetRef, list_datasets, read_manifest, verify
    from sciforge.pipelines.storage import S3Storage

    # Landing files on S3, as a nightly job would find them.
    local = write_landing(demo_corpus, tmp_path / "landing", DAY, BACKFILL_DAYS.index(DAY))
    landing = S3Storage("s3://sciforge/landing", **s3_server.storage_options())
    landing.check()
    for p in sorted(local.rglob("*")):
        if p.is_file():
            landing.write_bytes(f"dt={DAY}/{p.relative_to(local)}", p.read_bytes())

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIFORGE_", "AWS_", "AIRFLOW"))}
    with PostgresServer() as pg:
        sciforge = {"SCIFORGE_DATA_ROOT": "s3://sciforge/data", "SCIFORGE_INGEST__LANDING_ROOT": "s3://sciforge/landing",
                    "SCIFORGE_STORAGE__S3_ENDPOINT_URL": s3_server.endpoint_url,
                    "SCIFORGE_STORAGE__AIRFLOW_CONN_ID": CONN_ID,  # credentials: from the connection only
                    "SCIFORGE_AIRFLOW__HOME": str(tmp_path / "airflow"), "SCIFORGE_AIRFLOW__SQL_ALCHEMY_CONN": pg.url,
                    "SCIFORGE_STAGES__CORPUS__SEQ_LEN": "32", "OMP_NUM_THREADS": "1"}
        settings = load_settings(storage={"data_root": "s3://sciforge/data"},
                                 airflow={"home": str(tmp_path / "airflow"), "sql_alchemy_conn": pg.url})
        stack = AirflowStack(settings, use_job_schedule=False, components=("api-server", "scheduler", "dag-processor"),
                             extra_env={**env, **sciforge})
        assert stack.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert stack.env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        with stack:
            c = stack.client()
            c.post("connections", {"connection_id": CONN_ID, "conn_type": "aws", "login": s3_server.access_key,
                                   "password": s3_server.secret_key,
                                   "extra": json.dumps({"endpoint_url": s3_server.endpoint_url})})
            c.unpause("corpus_refresh")
            run_id = c.trigger("corpus_refresh", DAY, LOCAL)
            run = c.wait_run("corpus_refresh", run_id, timeout=900)
            tis = c.task_instances("corpus_refresh", run_id)
            assert run["state"] == "success", {k: (v["state"], stack.log_tail("scheduler", 500)) for k, v in tis.items()}
        # The metadata lives in PostgreSQL (and no SQLite DB was made on the side).
        with pg.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT state FROM dag_run WHERE dag_id = 'corpus_refresh' AND run_id = %s", (run_id,))
            assert cur.fetchone() == ("success",)
            cur.execute("SELECT count(*) FROM task_instance WHERE run_id = %s AND state = 'success'", (run_id,))
            assert cur.fetchone() == (9,)
            cur.execute("SELECT login FROM connection WHERE conn_id = %s", (CONN_ID,))
            assert cur.fetchone() == (s3_server.access_key,)
        assert not list((tmp_path / "airflow").glob("*.db"))

    # Every dataset of the day is on S3, published and complete (checksums against the manifests), and
    # the report's funnel is there. (That the datasets equal a nightly run's byte for byte is the
    # backfill test's check; here the point is the services.)
    s3 = S3Storage("s3://sciforge/data", **s3_server.storage_options())
    on_s3 = {r for r in list_datasets(s3) if r.version.startswith(DAY)}
    assert {(r.zone, r.name) for r in on_s3} >= {
        ("raw", "web"), ("raw", "pdf"), ("raw", "text"), ("clean", "web_pages"), ("clean", "pdf_pages"),
        ("clean", "text_pages"), ("clean", "pages"), ("corpus", "snapshot"), ("quarantine", "pdf")}
    for ref in sorted(on_s3):
        verify(s3, ref)
    assert read_manifest(s3, DatasetRef("raw", "pdf", _version(on_s3, "raw", "pdf")))["inputs"]["source"] == \
        f"s3://sciforge/landing/dt={DAY}/pdf"
    funnel = {r["stage"]: r for r in json.loads(s3.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.json"))}
    assert funnel["corpus"]["kept"] > 0
    assert funnel["ingest_pdf"]["reasons"] == {"pdf_corrupt": 1}  # the day's bad PDF, quarantined with its reason
    assert s3.exists(f"reports/corpus_refresh/{DAY}/funnel.png")


def _version(refs: set, zone: str, name: str) -> str:
    (v,) = [r.version for r in refs if (r.zone, r.name) == (zone, name)]
    return str(v)
