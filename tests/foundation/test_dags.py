"""DAG integrity, and corpus_refresh end to end through Airflow (`dag.test`) on the sample corpus."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sciforge.pipelines.config import REPO_ROOT

DAG_FILES = sorted(p for p in (REPO_ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
HEAVY = ("torch", "pyspark", "deepspeed", "transformers", "pymupdf")


def _airflow_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SCIFORGE_AIRFLOW__HOME": str(tmp_path / "airflow"),
            "SCIFORGE_DATA_ROOT": str(tmp_path / "data"), "SCIFORGE_INGEST__LANDING_ROOT": str(tmp_path / "landing"),
            "SCIFORGE_SPARK__MASTER": "local[2]", "SCIFORGE_SPARK__DRIVER_MEMORY": "2g",
            "SPARK_LOCAL_IP": "127.0.0.1"}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_nothing_heavy(path):
    code = textwrap.dedent(f"""
        import runpy, sys
        runpy.run_path({str(path)!r})
        print(",".join(m for m in {HEAVY!r} if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"{path.name} imports {out.stdout}"


@pytest.mark.airflow
def test_dagbag_has_no_import_errors_or_cycles(tmp_path):
    code = textwrap.dedent("""
        from sciforge.pipelines.config import get_settings
        from sciforge.infra.airflow_env import configure, ensure_db, DAGS_FOLDER
        configure(get_settings())
        ensure_db()
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
        assert not bag.import_errors, bag.import_errors
        dag = bag.get_dag("corpus_refresh")
        order = [t.task_id for t in dag.topological_sort()]  # raises on a cycle
        assert order[-1] == "report", order
        assert type(dag.timetable).__name__ == "CronDataIntervalTimetable" and not dag.catchup
        assert dag.timetable.summary == "0 0 * * *"
        assert all(t.retries >= 1 and t.execution_timeout for t in dag.tasks)
        print(sorted(bag.dag_ids))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=_airflow_env(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "corpus_refresh" in out.stdout


def _run_twice(tmp_path: Path, engine: str) -> tuple[dict, dict]:
    code = textwrap.dedent("""
        import hashlib, json, pathlib, sys
        from sciforge.pipelines.config import get_settings
        from sciforge.fixtures.demo_data import write_demo_corpus
        from sciforge.infra.airflow_env import run_dag_test
        s = get_settings()
        write_demo_corpus(pathlib.Path(s.ingest.landing_root) / "dt=2026-01-01")
        snaps = []
        for attempt in range(2):
            dr = run_dag_test(s, "corpus_refresh", "2026-01-01", {"engine": sys.argv[1]})
            assert "success" in str(dr.state), dr.state
            root = pathlib.Path(s.data_root)
            snaps.append({str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                          for p in sorted(root.rglob("*")) if p.is_file()})
        print("SNAPSHOTS", json.dumps(snaps))
    """)
    out = subprocess.run([sys.executable, "-c", code, engine], capture_output=True, text=True, timeout=1800,
                         env=_airflow_env(tmp_path))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("SNAPSHOTS"))
    first, second = json.loads(line.split(" ", 1)[1])
    return first, second


@pytest.mark.airflow
def test_corpus_refresh_dag_test_is_idempotent(tmp_path):
    """Two runs of the same interval through Airflow: success both times, byte-identical datasets,
    and the funnel of every stage. (In-process engine: each job's Spark path is tested against it
    in its own tests; `test_demo_with_spark_is_idempotent` runs this with Spark.)"""
    first, second = _run_twice(tmp_path, "local")
    assert first == second
    names = set(first)
    assert names
    assert any(n.startswith("raw/web/2026-01-01_") and n.endswith("_manifest.json") for n in names), names
    assert any(n.startswith("quarantine/pdf/") for n in names)
    assert {"reports/corpus_refresh/2026-01-01/funnel.md", "reports/corpus_refresh/2026-01-01/funnel.png"} <= names
    funnel = json.loads((tmp_path / "data/reports/corpus_refresh/2026-01-01/funnel.json").read_text())
    by_stage = {r["stage"]: r for r in funnel}
    assert by_stage["ingest_pdf"]["reasons"] == {"pdf_corrupt": 1, "pdf_empty_file": 1, "pdf_encrypted": 1}
    assert by_stage["ingest_warc"]["reasons"] == {"truncated_record": 1}
    stages = [r["stage"] for r in funnel]
    assert stages == ["ingest_warc", "ingest_pdf", "ingest_jsonl", "web_filter", "pdf_parse", "text_pages",
                      "dedup", "corpus"]
    assert by_stage["web_filter"]["kept"] > 0 and by_stage["corpus"]["kept"] > 0
    assert any(n.startswith("corpus/snapshot/") and n.endswith("_manifest.json") for n in names)
    assert by_stage["dedup"]["reasons"].get("boilerplate_page", 0) >= 3  # the shared copyright page

    # The README's funnel block has the shape of this run's (stages, their outputs, the zones written).
    from sciforge.pipelines.config import REPO_ROOT
    from sciforge.pipelines.report import day_datasets, readme_block_of, readme_funnel
    from sciforge.pipelines.storage import open_storage
    from tests.orchestration.test_report import funnel_block_shape

    generated = readme_funnel(funnel, day_datasets(open_storage(str(tmp_path / "data")), "2026-01-01"))
    readme = readme_block_of((REPO_ROOT / "README.md").read_text())
    assert funnel_block_shape(readme) == funnel_block_shape(generated), (
        "README.md's funnel block is not the shape of a demo run: regenerate it with "
        "`sciforge demo --no-train && python -m sciforge.pipelines.report --readme README.md`\n" + generated)


@pytest.mark.slow
@pytest.mark.airflow
@pytest.mark.spark
def test_demo_with_spark_is_idempotent(tmp_path):
    first, second = _run_twice(tmp_path, "spark")
    assert first == second
    assert any(n.startswith("corpus/snapshot/") for n in first)


@pytest.mark.airflow
def test_training_dags_chain_on_assets(tmp_path):
    code = textwrap.dedent("""
        from sciforge.pipelines.config import get_settings
        from sciforge.infra.airflow_env import configure, ensure_db, DAGS_FOLDER
        configure(get_settings())
        ensure_db()
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
        assert not bag.import_errors, bag.import_errors
        names = {}
        for d in ("corpus_refresh", "train_cpt", "train_mmpt", "train_sft"):
            dag = bag.get_dag(d)
            outlets = [o.name for t in dag.tasks for o in t.outlets]
            names[d] = outlets
        print(names)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=_airflow_env(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "'corpus_refresh': ['corpus']" in out.stdout and "'train_sft': ['checkpoint_sft']" in out.stdout


@pytest.mark.airflow
def test_train_cpt_dag_runs_on_a_corpus_snapshot(tmp_path):
    """train_cpt through Airflow (`dag.test`) on a real snapshot, then a second run resumes it."""
    code = textwrap.dedent("""
        import json, pathlib
        import pyarrow as pa
        from sciforge.pipelines.config import get_settings
        from sciforge.pipelines.datasets import DatasetRef, write_dataset
        from sciforge.pipelines.storage import open_storage
        from sciforge.jobs.corpus import run_corpus
        from sciforge.infra.airflow_env import run_dag_test
        s = get_settings()
        rows = {"doc_id": [f"d{i}" for i in range(48)], "page": [0] * 48, "source": ["web"] * 48,
                "url": [f"https://a.org/{i}" for i in range(48)], "domain": ["a.org"] * 48,
                "field": ["physics"] * 48,
                "text": [f"Note {i}. A pendulum of length one metre swings with a period near two seconds. " * 3
                         for i in range(48)]}
        pages = DatasetRef("clean", "pages", "2026-01-01_fixture")
        write_dataset(open_storage(s.data_root), pages, [pa.table(rows)], logical_date="2026-01-01")
        snap = run_corpus(s, pages, "2026-01-01", engine="local")
        for attempt in range(2):
            dr = run_dag_test(s, "train_cpt", "2026-01-02", {"corpus_ref": snap.key, "max_steps": 2})
            assert "success" in str(dr.state), dr.state
        run = pathlib.Path(s.train.checkpoint_root) / "cpt" / snap.version
        print("RUN", json.dumps(sorted(p.name for p in run.iterdir())))
    """)
    env = {**_airflow_env(tmp_path), "SCIFORGE_TRAIN__CHECKPOINT_ROOT": str(tmp_path / "ckpt"),
           "SCIFORGE_STAGES__CORPUS__SEQ_LEN": "32", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    files = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("RUN")).split(" ", 1)[1])
    assert {"export", "metrics.jsonl", "summary.json"} <= set(files)
