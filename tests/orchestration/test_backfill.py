"""Airflow 3 backfills of corpus_refresh (`airflow backfill create` and POST /api/v2/backfills, run by
the scheduler) produce exactly what the nightly runs produce, and re-running a backfill is a no-op
(or, when reprocessing is asked for, rewrites byte-identical datasets)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.orchestration.conftest import (
    BACKFILL_DAYS,
    LOCAL,
    assert_published_cleanly,
    for_days,
    staging_files,
    tree_digest,
)

pytestmark = [pytest.mark.slow, pytest.mark.airflow]
DAG = "corpus_refresh"


def _latest_backfill(c: Any) -> dict[str, Any]:
    return max(c.get("backfills", dag_id=DAG)["backfills"], key=lambda b: b["id"])


def _wait_backfill(c: Any, backfill_id: int, timeout: float = 1500) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        b = c.get(f"backfills/{backfill_id}")
        if b["completed_at"]:
            return dict(b)
        if time.monotonic() > deadline:
            runs = [(r["dag_run_id"], r["state"]) for r in c.runs(DAG)]
            raise TimeoutError(f"backfill {backfill_id} not complete after {timeout}s: {runs}")
        time.sleep(3)


def _backfill_runs(c: Any) -> dict[str, dict[str, Any]]:
    return {r["logical_date"][:10]: r for r in c.runs(DAG) if r["run_type"] == "backfill"}


def _mtimes(root: Any, days: tuple[str, ...]) -> dict[str, int]:
    return {k: (root / k).stat().st_mtime_ns for k in for_days(tree_digest(root), days)}


def test_backfill_equals_nightly_runs_and_rerunning_it_is_a_no_op(airflow_ui, baseline):
    c, data, cli = airflow_ui.client, airflow_ui.data, airflow_ui.stack.airflow
    first, last = BACKFILL_DAYS[0], BACKFILL_DAYS[-1]
    c.unpause(DAG)  # backfill runs are only scheduled for an unpaused DAG

    dry = cli("backfill", "create", "--dag-id", DAG, "--from-date", first, "--to-date", last, "--dry-run").stdout
    assert all(d in dry for d in BACKFILL_DAYS), dry

    # 1. What a data engineer types: one backfill over the 3 days, one run at a time.
    cli("backfill", "create", "--dag-id", DAG, "--from-date", first, "--to-date", last, "--max-active-runs", "1",
        "--dag-run-conf", json.dumps(LOCAL))
    bf = _wait_backfill(c, _latest_backfill(c)["id"])
    runs = _backfill_runs(c)
    assert sorted(runs) == list(BACKFILL_DAYS)
    assert {d: r["state"] for d, r in runs.items()} == dict.fromkeys(BACKFILL_DAYS, "success")
    assert all(r["conf"] == LOCAL for r in runs.values()) and bf["dag_run_conf"] == LOCAL

    got = for_days(tree_digest(data), BACKFILL_DAYS)
    want = for_days(baseline.digest(), BACKFILL_DAYS)  # dag.test runs of the same days, own data root
    assert sorted(got) == sorted(want), set(got) ^ set(want)
    assert got == want, sorted(k for k in got if got[k] != want.get(k))
    assert {f"reports/corpus_refresh/{d}/funnel.json" for d in BACKFILL_DAYS} <= set(got)
    assert_published_cleanly(data, BACKFILL_DAYS)
    assert not for_days(dict.fromkeys(staging_files(data), ""), BACKFILL_DAYS)
    # Each day read its own landing folder (the slices differ), so the days' snapshots differ.
    snaps = {k.split("/")[2][:10]: v for k, v in got.items() if k.startswith("corpus/snapshot/")
             and k.endswith("_manifest.json")}
    assert len(set(snaps.values())) == len(BACKFILL_DAYS)

    # 2. The same backfill again (through the REST API): every day already ran, nothing is re-run.
    before, mtimes = tree_digest(data), _mtimes(data, BACKFILL_DAYS)
    body = {"dag_id": DAG, "from_date": f"{first}T00:00:00Z", "to_date": f"{last}T00:00:00Z",
            "max_active_runs": 1, "dag_run_conf": LOCAL}
    again = c.post("backfills", body)
    _wait_backfill(c, again["id"])
    runs2 = _backfill_runs(c)
    assert {d: (r["dag_run_id"], r["end_date"]) for d, r in runs2.items()} == \
        {d: (r["dag_run_id"], r["end_date"]) for d, r in runs.items()}
    assert for_days(tree_digest(data), BACKFILL_DAYS) == for_days(before, BACKFILL_DAYS)
    assert _mtimes(data, BACKFILL_DAYS) == mtimes

    # 3. Reprocessing one completed day really re-runs it and rewrites byte-identical datasets.
    day = BACKFILL_DAYS[1]
    redo = c.post("backfills", {**body, "from_date": f"{day}T00:00:00Z", "to_date": f"{day}T00:00:00Z",
                                "reprocess_behavior": "completed"})
    _wait_backfill(c, redo["id"])
    run = _backfill_runs(c)[day]
    assert run["state"] == "success" and run["end_date"] > runs[day]["end_date"]
    assert for_days(tree_digest(data), BACKFILL_DAYS) == for_days(before, BACKFILL_DAYS)
    new_mtimes = _mtimes(data, BACKFILL_DAYS)
    rewritten = {k for k in new_mtimes if new_mtimes[k] != mtimes[k]}
    assert rewritten and all(day in k for k in rewritten)
    assert any(k.startswith("corpus/snapshot/") for k in rewritten)
