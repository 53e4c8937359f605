"""Backfilling one training stage for a given corpus version re-runs that stage and the stages that
depend on it (through their checkpoint Assets), and nothing upstream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.orchestration.conftest import sciforge_env

pytestmark = [pytest.mark.slow, pytest.mark.airflow]
STAGES = ("cpt", "mmpt", "sft")


def _files(run_dir: Path) -> dict[str, int]:
    return {str(p.relative_to(run_dir)): p.stat().st_mtime_ns for p in sorted(run_dir.rglob("*")) if p.is_file()}


def _wait_counts(c, want: dict[str, int], timeout: float = 1200) -> dict[str, list[dict]]:
    deadline = time.monotonic() + timeout
    while True:
        runs = {s: c.runs(f"train_{s}") for s in STAGES}
        done = all(len(runs[s]) >= n and all(r["state"] in ("success", "failed") for r in runs[s])
                   for s, n in want.items())
        if done:
            return runs
        assert time.monotonic() < deadline, {s: [(r["dag_run_id"], r["state"]) for r in v] for s, v in runs.items()}
        time.sleep(3)


@pytest.fixture
def training_stack(tmp_path: Path, landing: Path) -> Iterator[tuple[Any, Path]]:
    """Airflow with the job schedule ON (asset-triggered runs are part of it); corpus_refresh stays paused."""
    from sciforge.infra.ui import AirflowStack
    from sciforge.pipelines.config import load_settings

    env = sciforge_env(tmp_path, landing)
    chats = [{"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                           {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."}]} for i in range(64)]
    (tmp_path / "sft.jsonl").write_text("".join(json.dumps(c) + "\n" for c in chats))
    settings = load_settings(storage={"data_root": str(tmp_path / "data")}, airflow={"home": str(tmp_path / "airflow")})
    stack = AirflowStack(settings, use_job_schedule=True, components=("api-server", "scheduler", "dag-processor"),
                         extra_env=env)
    with stack:
        yield stack, tmp_path


def test_backfilling_one_training_stage_reruns_it_and_its_dependents_only(training_stack):
    from sciforge.jobs.corpus import run_corpus
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.datasets import DatasetRef, write_dataset
    from sciforge.pipelines.storage import open_storage

    stack, base = training_stack
    c = stack.client()
    # A corpus snapshot to train on (the corpus_refresh path to it is tested elsewhere).
    s = load_settings(storage={"data_root": str(base / "data")}, stages={"corpus": {"seq_len": 32}})
    n = 48
    pages = DatasetRef("clean", "pages", "2026-02-01_training_fixture")
    write_dataset(open_storage(s.data_root), pages, [pa.table({
        "doc_id": [f"d{i}" for i in range(n)], "page": [0] * n, "source": ["web"] * n,
        "url": [f"https://a.org/{i}" for i in range(n)], "domain": ["a.org"] * n, "field": ["physics"] * n,
        "text": [f"Note {i}. A pendulum of length one metre swings with a period near two seconds. " * 3
                 for i in range(n)]})], logical_date="2026-02-01")
    snap = run_corpus(s, pages, "2026-02-01", engine="local")
    ckpt = base / "ckpt"
    for stage in STAGES:
        c.unpause(f"train_{stage}")

    # The chain: train_cpt on the snapshot, then mmpt and sft follow through their checkpoint Assets.
    c.trigger("train_cpt", conf={"corpus_ref": snap.key})
    runs = _wait_counts(c, dict.fromkeys(STAGES, 1))
    assert {s: [r["state"] for r in v] for s, v in runs.items()} == dict.fromkeys(STAGES, ["success"])
    assert [r["run_type"] for r in runs["mmpt"] + runs["sft"]] == ["asset_triggered"] * 2
    before = {st: _files(ckpt / st / snap.version) for st in STAGES}
    assert all(before.values()), before

    # Backfill train_mmpt for this corpus version, from scratch.
    c.trigger("train_mmpt", conf={"corpus_ref": snap.key, "fresh": True})
    runs = _wait_counts(c, {"cpt": 1, "mmpt": 2, "sft": 2})
    time.sleep(10)  # give the scheduler time to (wrongly) start anything else
    runs = {st: c.runs(f"train_{st}") for st in STAGES}
    assert {st: [r["state"] for r in v] for st, v in runs.items()} == {
        "cpt": ["success"], "mmpt": ["success"] * 2, "sft": ["success"] * 2}
    assert runs["sft"][-1]["run_type"] == "asset_triggered"
    after = {st: _files(ckpt / st / snap.version) for st in STAGES}
    assert after["cpt"] == before["cpt"]  # upstream untouched
    for st in ("mmpt", "sft"):  # the backfilled stage and its dependent were rewritten
        assert after[st] and all(after[st][k] != before[st].get(k) for k in after[st] if k.startswith("export/"))
    xcom = c.get(f"dags/train_sft/dagRuns/{runs['sft'][-1]['dag_run_id']}/taskInstances/sft/xcomEntries/"
                 "return_value")["value"]
    assert snap.key in str(xcom)
