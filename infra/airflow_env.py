"""Airflow wiring for the embedded default: AIRFLOW_HOME under var/, SQLite metadata DB,
examples off, DAG folder dags/. Import this BEFORE airflow (Airflow reads its config at import).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from sciforge.pipelines.config import REPO_ROOT, Settings

DAGS_FOLDER = REPO_ROOT / "dags"


def airflow_env(settings: Settings) -> dict[str, str]:
    a = settings.airflow
    home = Path(settings.resolve_path(a.home))
    conn = a.sql_alchemy_conn or f"sqlite:///{home / 'airflow.db'}"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": conn,
        "AIRFLOW__CORE__EXECUTOR": a.executor,
        "AIRFLOW__CORE__PARALLELISM": str(a.parallelism),
        "AIRFLOW__API__HOST": "127.0.0.1",  # `airflow standalone` would bind 0.0.0.0 otherwise
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
    }


def configure(settings: Settings) -> dict[str, str]:
    env = airflow_env(settings)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.update(env)
    return env


def settings_with_connection(settings: Settings) -> Settings:
    """Fill S3 credentials from the Airflow connection ``storage.airflow_conn_id`` (login = access
    key, password = secret, extra: endpoint_url, region_name) when the settings carry none."""
    st = settings.storage
    if not st.airflow_conn_id or st.s3_secret_access_key is not None:
        return settings
    from airflow.sdk import Connection

    conn = Connection.get(st.airflow_conn_id)
    extra = conn.extra_dejson or {}
    storage = st.model_copy(update={
        "s3_access_key_id": SecretStr(conn.login) if conn.login else None,
        "s3_secret_access_key": SecretStr(conn.password) if conn.password else None,
        "s3_endpoint_url": st.s3_endpoint_url or extra.get("endpoint_url"),
        "s3_region": extra.get("region_name", st.s3_region),
    })
    return settings.model_copy(update={"storage": storage})


# sciforge.pipelines.llm.LLMConfig.api_key_env's default (infra reads the settings only; a test checks they agree).
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"


def _llm_sections(node: Any) -> list[dict[str, Any]]:
    """Model-client sections (sciforge.pipelines.llm.LLMConfig: ``api_key_env`` + ``airflow_conn_id``) in
    the stages' configuration, e.g. stages.web.rewrite and stages.pdf.vlm."""
    if not isinstance(node, dict):
        return []
    found = [node] if node.get("airflow_conn_id") else []
    for v in node.values():
        found += _llm_sections(v)
    return found


def llm_env_from_connections(settings: Settings) -> dict[str, str]:
    """{api_key_env: key} for every model-client section naming an Airflow connection (its
    password is the API key); the task puts them in its environment, where the client and the
    Spark jobs it submits read them."""
    env: dict[str, str] = {}
    for sec in _llm_sections(dict(settings.stages)):
        var = sec.get("api_key_env") or DEFAULT_API_KEY_ENV
        if var in os.environ:
            continue
        from airflow.sdk import Connection

        conn = Connection.get(sec["airflow_conn_id"])
        if conn.password:
            env[var] = conn.password
    return env


def ensure_db() -> None:
    """Create or migrate the metadata DB (idempotent)."""
    from airflow.utils import db

    db.initdb()


def get_dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise KeyError(f"no DAG {dag_id!r} in {DAGS_FOLDER}")
    return dag


def run_dag_test(settings: Settings, dag_id: str, logical_date: str, conf: dict[str, Any] | None = None) -> Any:
    """Run one DAG run in-process (`dag.test`) against the configured metadata DB."""
    configure(settings)
    ensure_db()
    dag = get_dag(dag_id)
    when = dt.datetime.fromisoformat(logical_date).replace(tzinfo=dt.UTC)
    return dag.test(logical_date=when, run_conf=conf or {})
