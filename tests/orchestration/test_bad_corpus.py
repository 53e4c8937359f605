"""The bad-input corpus (fixtures/bad_corpus.py) through the whole corpus_refresh DAG (`dag.test`,
engine=local): no task fails or retries, every rejected item is in a quarantine dataset with its
reason, nothing is lost, the funnel report's numbers add up and the report lands in the snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from sciforge.fixtures.bad_corpus import (
    CASES_FILE,
    account,
    account_day,
    digest,
    load_cases,
    problems,
    summary,
    write_bad_corpus,
)

DAY = "2026-01-01"


def test_generator_is_deterministic_and_plants_enough_bad_cases(tmp_path):
    cases = write_bad_corpus(tmp_path / "a")
    write_bad_corpus(tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert len({c.id for c in cases}) == len(cases)
    bad = [c for c in cases if c.expect != "kept"]
    assert len(bad) >= 30, len(bad)
    assert Counter(c.kind for c in bad).keys() == {"warc", "pdf", "jsonl"}
    assert any(c.expect == "kept" for c in cases)  # good items mixed in
    assert [c.id for c in load_cases(tmp_path / "a" / CASES_FILE)] == [c.id for c in cases]
    for c in cases:  # every case points at a file that exists
        assert (tmp_path / "a" / c.kind / c.file).is_file(), c


def test_account_finds_a_lost_item(settings):
    """The accounting itself can fail: an item that is in no dataset at all is reported lost."""
    from sciforge.fixtures.bad_corpus import Case

    result = account(object(), {}, [Case("x", "pdf", "nowhere.pdf", "never ingested")])
    assert result["items"][0]["fate"] == "lost"
    assert problems(result) == ["x: lost (in no output and no quarantine dataset)"]


def test_ingest_of_the_bad_corpus_balances(settings, tmp_path):
    """Fast check of the ingest part (default suite): every raw item is kept or quarantined with a
    reason, the counters balance, nothing crashes (a record without WARC-Target-URI used to)."""
    from sciforge.jobs.ingest import run_ingest
    from sciforge.pipelines.datasets import read_table
    from sciforge.pipelines.storage import open_storage

    storage = open_storage(settings.data_root)
    cases = write_bad_corpus(tmp_path / "landing")
    for kind, n_files in (("warc", 4), ("pdf", 13), ("jsonl", 2)):
        ref, km, qm = run_ingest(settings, str(tmp_path / "landing" / kind), kind, DAY, engine="local")
        c = km["counters"]
        assert c["input"] == c["kept"] + sum(c["dropped"].values()), (kind, c)
        assert qm["rows"] == sum(c["dropped"].values()), (kind, c, qm["rows"])
        assert km["inputs"]["files"] == n_files
        reasons = read_table(storage, ref.quarantine(), ["reason"]).column("reason").to_pylist()
        assert reasons and all(reasons)
        named = {r for c_ in cases if c_.kind == kind and c_.expect == "quarantine" for r in c_.reasons}
        assert set(reasons) <= named | {"corrupt_warc", "corrupt_file"}, (kind, set(reasons) - named)
        if kind == "warc":  # ingest resumes after a record it cannot parse: the next one is read
            urls = read_table(storage, ref, ["url"]).column("url").to_pylist()
            assert "https://after-the-break.example.org/page" in urls


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SCIFORGE_AIRFLOW__HOME": str(tmp_path / "airflow"),
            "SCIFORGE_DATA_ROOT": str(tmp_path / "data"), "SCIFORGE_INGEST__LANDING_ROOT": str(tmp_path / "landing"),
            "SPARK_LOCAL_IP": "127.0.0.1", "OMP_NUM_THREADS": "1"}


@pytest.mark.slow  # ~60-110 s on 2 busy cores (Airflow DB + every stage); `make test-all` runs it
@pytest.mark.airflow
def test_bad_corpus_through_corpus_refresh(tmp_path):
    landing = tmp_path / "landing" / f"dt={DAY}"
    write_bad_corpus(landing)
    code = textwrap.dedent("""
        import json, sys
        from sciforge.pipelines.config import get_settings
        from sciforge.infra.airflow_env import run_dag_test
        s = get_settings()
        dr = run_dag_test(s, "corpus_refresh", sys.argv[1], {"engine": "local"})
        tis = [(ti.task_id, str(ti.state), ti.try_number) for ti in dr.get_task_instances()]
        print("RESULT", json.dumps({"state": str(dr.state), "tis": tis}))
    """)
    out = subprocess.run([sys.executable, "-c", code, DAY], capture_output=True, text=True, timeout=900,
                         env=_env(tmp_path))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    res = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("RESULT")).split(" ", 1)[1])
    # Zero task failures, zero retries.
    assert "success" in res["state"], res
    assert len(res["tis"]) == 9 and all("success" in st and tries == 1 for _, st, tries in res["tis"]), res["tis"]

    from sciforge.pipelines.datasets import DatasetRef, read_table, verify
    from sciforge.pipelines.storage import open_storage

    storage = open_storage(str(tmp_path / "data"))
    funnel = json.loads(storage.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.json"))
    # The report's numbers add up: every stage balances, hands on what the next one reads, and
    # its drops are in its quarantine dataset.
    failed = [(r["stage"], c["detail"]) for r in funnel for c in r["checks"] if not c["ok"]]
    assert not failed, failed
    refs = {r["stage"]: r["dataset"] for r in funnel}
    assert set(refs) == {"ingest_warc", "ingest_pdf", "ingest_jsonl", "web_filter", "pdf_parse", "text_pages",
                         "dedup", "corpus"}
    # Every input item accounted for: kept, or quarantined with a reason; no page lost on the way.
    result = account_day(storage, DAY, landing)
    assert problems(result) == [], problems(result)
    fates = summary(result)
    assert fates.get("lost", 0) == 0 and fates["quarantined"] >= 30 and fates["kept"] >= 10, fates
    items = {it["id"]: it for it in result["items"]}
    assert {"dedup:exact_duplicate"} <= set(items["jsonl/exact_duplicate_a"]["reasons"]
                                           + items["jsonl/exact_duplicate_b"]["reasons"])
    assert items["pdf/ten_thousand_pages"]["reasons"] == ["pdf_parse:pdf_too_many_pages"]
    # Every ingest quarantine row carries a reason.
    for stage in ("ingest_warc", "ingest_pdf", "ingest_jsonl"):
        q = DatasetRef.parse(refs[stage]).quarantine()
        assert all(read_table(storage, q, ["reason"]).column("reason").to_pylist())
    # The report is in the snapshot and covered by its manifest's checksums.
    snap = DatasetRef.parse(refs["corpus"])
    m = verify(storage, snap)
    assert {"report/funnel.md", "report/funnel.png", "report/funnel.json"} <= {f["path"] for f in m["files"]}
    md = storage.read_bytes(f"{snap.key}/report/funnel.md").decode()
    assert "all numbers add up" in md and "pdf_too_many_pages" in md


@pytest.mark.slow  # ~2 min on 2 busy cores; `make test-all` runs it
@pytest.mark.airflow
def test_hostile_corpus_through_corpus_refresh(tmp_path):
    """The hostile corpus (fixtures/hostile_corpus.py, over 100 cases) through the whole DAG: no task fails
    or retries, every case has its declared outcome end to end (domain decisions, dedup and the corpus
    stage included), the funnel adds up; the generator is byte-stable."""
    from sciforge.fixtures.hostile_corpus import write_hostile_corpus

    landing = tmp_path / "landing" / f"dt={DAY}"
    cases = write_hostile_corpus(landing)
    write_hostile_corpus(tmp_path / "again")
    assert digest(landing) == digest(tmp_path / "again")
    code = textwrap.dedent("""
        import json, sys
        from sciforge.pipelines.config import get_settings
        from sciforge.infra.airflow_env import run_dag_test
        s = get_settings()
        dr = run_dag_test(s, "corpus_refresh", sys.argv[1], {"engine": "local"})
        tis = [(ti.task_id, str(ti.state), ti.try_number) for ti in dr.get_task_instances()]
        print("RESULT", json.dumps({"state": str(dr.state), "tis": tis}))
    """)
    out = subprocess.run([sys.executable, "-c", code, DAY], capture_output=True, text=True, timeout=1500,
                         env=_env(tmp_path))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    res = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("RESULT")).split(" ", 1)[1])
    assert "success" in res["state"], res
    assert all("success" in st and tries == 1 for _, st, tries in res["tis"]), res["tis"]

    from sciforge.pipelines.storage import open_storage

    storage = open_storage(str(tmp_path / "data"))
    funnel = json.loads(storage.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.json"))
    failed = [(r["stage"], c["detail"]) for r in funnel for c in r["checks"] if not c["ok"]]
    assert not failed, failed
    result = account_day(storage, DAY, landing)
    assert problems(result) == [], problems(result)
    fates = summary(result)
    assert fates.get("lost", 0) == sum(c.expect == "absent" for c in cases), fates
    assert fates["kept"] >= 60 and fates["quarantined"] >= 50, fates
