"""launch/ and jobs/result.py without Airflow: a job's result file, run_job in-process, where a result
goes for each spark-submit deploy mode, and the launcher's own layering (no Airflow, anywhere)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from sciforge.jobs.ingest import run_ingest
from sciforge.jobs.result import FORMAT, job_result, locate, read_result, write_result
from sciforge.launch.spark import deploy_mode, result_target, run_job, submits
from sciforge.pipelines.config import REPO_ROOT, load_settings
from sciforge.pipelines.datasets import DatasetRef, read_manifest
from sciforge.pipelines.storage import open_storage

DAY = "2026-01-01"


def _landing(tmp_path: Path) -> Path:
    src = tmp_path / "landing"
    src.mkdir()
    lines = [json.dumps({"id": "a", "text": "Enzymes lower activation energies.", "field": "life_science"}),
             "{not json",
             json.dumps({"id": "b", "text": "A pendulum swings with a period near two seconds."})]
    (src / "notes.jsonl").write_text("\n".join(lines) + "\n")
    return src


def test_run_job_in_process_returns_the_result_the_job_wrote(tmp_path: Path, settings: Any) -> None:
    src = _landing(tmp_path)
    raw = run_job(settings, "ingest", ["--source", str(src), "--kind", "jsonl", "--date", DAY], engine="local")
    storage = open_storage(settings.data_root)
    m = read_manifest(storage, DatasetRef.parse(raw["dataset"]))
    assert raw["job"] == "ingest" and raw["dataset"].startswith("raw/text/2026-01-01_")
    assert raw["rows"] == m["rows"] == 2 and raw["counters"] == m["counters"]
    assert raw["quarantine"] == {"dataset": raw["dataset"].replace("raw/", "quarantine/", 1), "rows": 1}
    # the same job through the launcher and through its run_* function publish the same version
    ref, _, _ = run_ingest(settings, str(src), "jsonl", DAY, engine="local")
    assert ref.key == raw["dataset"]

    pages = run_job(settings, "text_pages", ["--input", raw["dataset"], "--date", DAY], engine="local")
    assert pages["dataset"].startswith("clean/text_pages/2026-01-01_") and pages["rows"] == 2
    assert pages["counters"] == read_manifest(storage, DatasetRef.parse(pages["dataset"]))["counters"]
    assert not list(tmp_path.glob("**/*.result.json"))  # the launcher's temporary result is gone


def test_run_job_refuses_an_unknown_job_and_a_job_that_fails(tmp_path: Path, settings: Any) -> None:
    with pytest.raises(ValueError, match="unknown job"):
        run_job(settings, "spark_submit", [], engine="local")
    with pytest.raises(SystemExit):  # argparse: a missing required argument
        run_job(settings, "web_filter", ["--date", DAY], engine="local")


def test_result_file_round_trip_and_refusals(tmp_path: Path, settings: Any) -> None:
    ref, _, _ = run_ingest(settings, str(_landing(tmp_path)), "jsonl", DAY, engine="local")
    result = job_result(settings, "ingest", ref)
    target = tmp_path / "out" / "r.json"
    write_result(str(target), result)
    assert read_result(str(target)) == result and result["format"] == FORMAT
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]  # no temporary file left beside it
    (tmp_path / "other.json").write_text(json.dumps({"dataset": ref.key}))
    with pytest.raises(ValueError, match="not a job result"):
        read_result(str(tmp_path / "other.json"))
    (tmp_path / "bad.json").write_text(json.dumps({**result, "dataset": "raw/text"}))
    with pytest.raises(ValueError, match="zone"):
        read_result(str(tmp_path / "bad.json"))
    storage, key = locate("s3://bucket/_job_results/dedup-1.json")
    assert storage.uri(key) == "s3://bucket/_job_results/dedup-1.json"
    with pytest.raises(ValueError, match="names no file"):
        locate("s3://bucket")


@pytest.mark.s3
def test_result_file_on_s3(s3_server: Any, tmp_path: Path) -> None:
    opts = s3_server.storage_options()
    uri = f"s3://sciforge/_job_results/{tmp_path.name}/ingest.json"
    result = {"format": FORMAT, "job": "ingest", "dataset": "raw/text/2026-01-01_0123456789ab", "rows": 1,
              "counters": {}}
    write_result(uri, result, opts)
    assert read_result(uri, opts) == result


def test_where_the_result_goes_for_each_deploy_mode(tmp_path: Path) -> None:
    assert deploy_mode([]) == "client" and deploy_mode(["--py-files", "x.zip"]) == "client"
    assert deploy_mode(["--deploy-mode", "cluster"]) == deploy_mode(["--deploy-mode=cluster"]) == "cluster"
    client = load_settings(spark={"submit": True}, storage={"data_root": "s3://b/data"})
    assert result_target(client, "dedup", str(tmp_path), submit=True) == str(tmp_path / "dedup.result.json")
    cluster = load_settings(spark={"submit": True, "submit_args": ["--deploy-mode", "cluster"]},
                            storage={"data_root": "s3://b/data"})
    target = result_target(cluster, "dedup", str(tmp_path), submit=True)
    assert target.startswith("s3://b/data/_job_results/dedup-") and target.endswith(".json")
    assert result_target(cluster, "dedup", str(tmp_path), submit=False).startswith(str(tmp_path))
    assert submits(client, "spark") and not submits(client, "local")
    assert not submits(load_settings(), "spark")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, at any depth (inside functions too), with its line."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append((node.lineno, node.module or ""))
    return out


def test_launch_imports_no_airflow_even_inside_functions() -> None:
    for path in sorted((REPO_ROOT / "launch").glob("*.py")):
        bad = [(n, m) for n, m in _imports(path) if m.split(".")[0] in ("airflow", "dags")]
        assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}"


def test_dag_tasks_leave_processes_and_files_to_the_launcher() -> None:
    """The DAG task bodies start no process and delete no file themselves: launch/ does."""
    for name in ("_tasks.py", "_train_tasks.py"):
        bad = [(n, m) for n, m in _imports(REPO_ROOT / "dags" / name)
               if m.split(".")[0] in ("subprocess", "shutil", "re", "deepspeed", "pyspark", "torch")]
        assert not bad, f"dags/{name} imports {bad}"
