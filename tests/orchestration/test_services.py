"""Fast checks of the services layer (default suite): the Airflow stack's configuration, and the
private PostgreSQL server starting, serving and going away cleanly."""

from __future__ import annotations

import pytest

from sciforge.infra.services.postgres import unavailable_reason


def test_airflow_stack_binds_localhost_with_low_parallelism(tmp_path):
    from sciforge.infra.ui import AirflowStack
    from sciforge.pipelines.config import load_settings

    s = load_settings(airflow={"home": str(tmp_path / "af")}, storage={"data_root": str(tmp_path / "data")})
    stack = AirflowStack(s, port=18080, parallelism=2, use_job_schedule=False)
    env = stack.env
    assert stack.url == "http://127.0.0.1:18080"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1" and env["AIRFLOW__API__PORT"] == "18080"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "2" and env["AIRFLOW__API__WORKERS"] == "1"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'af' / 'airflow.db'}?timeout=60"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"].endswith("/dags")
    assert stack.password and stack.client().username == "admin"
    # A PostgreSQL URL is passed through untouched.
    pg = load_settings(airflow={"home": str(tmp_path / "af"), "sql_alchemy_conn": "postgresql+psycopg2://a@h:1/d"})
    assert AirflowStack(pg).env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://a@h:1/d"


@pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))
def test_private_postgres_serves_and_is_removed_on_stop():
    from sciforge.infra.services.postgres import PostgresServer

    pg = PostgresServer()
    with pg:
        assert pg.url.startswith("postgresql+psycopg2://airflow@127.0.0.1:")
        with pg.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (41), (1); SELECT sum(x) FROM t")
            assert cur.fetchone() == (42,)
    assert not pg.workdir.exists()
