"""kill -9 of a running task mid-write, then a rerun: nothing half-published in between, and after
the rerun the day's outputs are byte-identical to an uninterrupted run, with no leftovers or duplicates."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sciforge.pipelines.datasets import DatasetNotPublished, DatasetRef, list_versions, read_manifest
from sciforge.pipelines.storage import LocalStorage
from tests.orchestration.conftest import (
    KILL_DAY,
    LOCAL,
    assert_published_cleanly,
    for_days,
    staging_files,
    tree_digest,
)

pytestmark = [pytest.mark.slow, pytest.mark.airflow]
DAG = "corpus_refresh"
VICTIM = "corpus"  # tokenizes and packs the snapshot: many files written before the manifest


def _task_process(ti_id: str) -> psutil.Process | None:
    """The task's own process, titled `airflow worker -- <task instance id>` by the Task SDK (not the
    LocalExecutor worker that supervises it)."""
    title = f"airflow worker -- {ti_id}"
    for p in psutil.process_iter(["cmdline"]):
        if " ".join(p.info["cmdline"] or []).strip() == title:
            return p
    return None


def _staged(data: Path) -> list[str]:
    return [k for k in staging_files(data) if k.startswith(f"_staging/corpus/snapshot/{KILL_DAY}")]


def test_kill_9_mid_write_then_rerun_is_byte_identical(airflow_ui, baseline):
    c, data = airflow_ui.client, airflow_ui.data
    storage = LocalStorage(str(data))
    c.unpause(DAG)
    run_id = c.trigger(DAG, KILL_DAY, LOCAL)

    # Wait for the victim task's process, then for its first staged file, then kill -9 it.
    deadline, proc = time.monotonic() + 900, None
    while proc is None:
        ti = c.task_instances(DAG, run_id).get(VICTIM, {})
        assert ti.get("state") not in ("success", "failed"), f"{VICTIM} finished before it could be killed: {ti}"
        assert c.run(DAG, run_id)["state"] in ("queued", "running")
        if ti.get("state") == "running":
            proc = _task_process(ti["id"])
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.2)
    while not _staged(data):
        assert proc.is_running(), f"{VICTIM} exited before writing anything"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    killed_at = _staged(data)

    while (ti := c.task_instances(DAG, run_id)[VICTIM])["state"] in ("running", "queued", "scheduled"):
        time.sleep(1)
    assert ti["state"] in ("up_for_retry", "failed"), ti  # the supervisor saw the task die
    assert killed_at, "the kill did not land mid-write"
    # Nothing of the half-written snapshot is visible: no published version, readers refuse it.
    assert not [v for v in list_versions(storage, "corpus", "snapshot") if v.startswith(KILL_DAY)]
    for d in (data / "corpus/snapshot").glob(f"{KILL_DAY}_*"):
        with pytest.raises(DatasetNotPublished):
            read_manifest(storage, DatasetRef("corpus", "snapshot", d.name))
    assert not (data / "reports/corpus_refresh" / KILL_DAY).exists()
    # What finished before the kill stays published and intact.
    xcom = c.get(f"dags/{DAG}/dagRuns/{run_id}/taskInstances/dedup/xcomEntries/return_value")["value"]
    dedup_ref = DatasetRef.parse((xcom if isinstance(xcom, dict) else json.loads(xcom))["ref"])
    assert read_manifest(storage, dedup_ref)["rows"] > 0

    # The rerun: clear the killed task (and what follows it) instead of waiting for the retry delay.
    c.post(f"dags/{DAG}/clearTaskInstances", {"dry_run": False, "dag_run_id": run_id, "task_ids": [VICTIM],
                                              "include_downstream": True, "only_failed": False})
    run = c.wait_run(DAG, run_id, timeout=900)
    tis = c.task_instances(DAG, run_id)
    assert run["state"] == "success", {k: v["state"] for k, v in tis.items()}
    assert tis[VICTIM]["try_number"] >= 2

    got = for_days(tree_digest(data), [KILL_DAY])
    want = for_days(baseline.digest(), [KILL_DAY])
    assert got == want, sorted(set(got) ^ set(want)) or sorted(k for k in got if got[k] != want[k])
    assert not _staged(data), "staging of the killed attempt left behind"
    assert_published_cleanly(data, [KILL_DAY])
    # No duplicates: every page and every packed document once.
    (snap,) = [v for v in list_versions(storage, "corpus", "snapshot") if v.startswith(KILL_DAY)]
    m = read_manifest(storage, DatasetRef("corpus", "snapshot", snap))
    docs = pa.concat_tables([pq.read_table(data / "corpus/snapshot" / snap / f["path"]) for f in m["files"]
                             if f["path"].startswith("documents-")])
    keys = [json.dumps(r, sort_keys=True, default=str) for r in docs.to_pylist()]
    assert keys and len(keys) == len(set(keys))
    pages = read_manifest(storage, dedup_ref)
    table = pa.concat_tables([pq.read_table(data / dedup_ref.key / f["path"], columns=["doc_id", "page"])
                              for f in pages["files"]])
    pairs = list(zip(table["doc_id"].to_pylist(), table["page"].to_pylist(), strict=True))
    assert len(pairs) == len(set(pairs))
