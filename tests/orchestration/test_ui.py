"""`python -m sciforge.infra.ui` (what `sciforge ui` runs): Airflow on 127.0.0.1 with the project's DAGs,
checked through the REST API (/api/v2, token from the simple auth manager): the DAGs are listed and
a run triggered through the API succeeds."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.orchestration.conftest import LOCAL, UI_DAY, assert_published_cleanly

pytestmark = [pytest.mark.slow, pytest.mark.airflow]


def test_ui_lists_the_dags_and_a_triggered_run_succeeds(airflow_ui):
    c = airflow_ui.client
    assert airflow_ui.url.startswith("http://127.0.0.1:")
    # The API refuses anonymous calls and a wrong password.
    assert httpx.get(f"{airflow_ui.url}/api/v2/dags", timeout=10).status_code == 401
    bad = httpx.post(f"{airflow_ui.url}/auth/token", json={"username": airflow_ui.user, "password": "nope"},
                     timeout=10)
    assert bad.status_code == 401
    assert {"corpus_refresh", "train_cpt", "train_mmpt", "train_sft"} <= set(c.dag_ids())
    detail = c.get("dags/corpus_refresh")
    assert {t["name"] for t in detail["tags"]} == {"sciforge", "data"} and detail["max_active_runs"] == 1

    c.unpause("corpus_refresh")
    run_id = c.trigger("corpus_refresh", UI_DAY, LOCAL)
    run = c.wait_run("corpus_refresh", run_id, timeout=900)
    tis = c.task_instances("corpus_refresh", run_id)
    assert run["state"] == "success", {k: v["state"] for k, v in tis.items()}
    assert {k: v["state"] for k, v in tis.items()} == dict.fromkeys(
        ["ingest_warc", "ingest_pdf", "ingest_jsonl", "web_filter", "pdf_parse", "text_pages", "dedup", "corpus",
         "report"], "success")
    # The run owns its day's partition: every dataset version and the report are named by it.
    report = airflow_ui.data / "reports/corpus_refresh" / UI_DAY / "funnel.json"
    funnel = {r["stage"]: r for r in json.loads(report.read_text())}
    assert funnel["corpus"]["kept"] > 0
    assert_published_cleanly(airflow_ui.data, [UI_DAY])
    # The corpus task's XCom names the published snapshot (what the training DAGs receive).
    xcom = c.get(f"dags/corpus_refresh/dagRuns/{run_id}/taskInstances/corpus/xcomEntries/return_value")
    value = xcom["value"] if isinstance(xcom["value"], dict) else json.loads(xcom["value"])
    assert value["ref"].startswith(f"corpus/snapshot/{UI_DAY}_")
    # Task logs show the stage counters.
    log = c.get(f"dags/corpus_refresh/dagRuns/{run_id}/taskInstances/dedup/logs/1", full_content="true")
    assert "dedup ->" in json.dumps(log) and "kept=" in json.dumps(log)
