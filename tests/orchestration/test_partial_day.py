"""Partial days through Airflow (`dag.test`, in-process engine): the PDF landing storage is down, so
`ingest_pdf` fails; the web and text sources still publish, dedup and the corpus run on them, the report
marks the missing source and the run ends failed. When the source is back the day re-runs into NEW
dedup / corpus versions, while the unchanged sources rewrite theirs byte for byte.

The outage is injected where a real one surfaces (`sciforge.jobs.ingest.run_ingest` raising StorageError for the
PDF source); everything else is the real DAG. Retries are turned off for the run: the DAG's default (2
retries, 2 then 4 minutes apart) would only make `dag.test` wait out the same failure."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sciforge.pipelines.config import REPO_ROOT
from tests.orchestration.conftest import sciforge_env, tree_digest, write_landing

DAY = "2026-01-01"

_SCRIPT = textwrap.dedent("""
    import datetime as dt, json, pathlib, sys
    import sciforge.jobs.ingest as ji
    from sciforge.infra.airflow_env import configure, ensure_db, get_dag
    from sciforge.pipelines.config import get_settings
    from sciforge.pipelines.storage import StorageError

    s = get_settings()
    configure(s)
    ensure_db()
    dag = get_dag("corpus_refresh")
    for t in dag.tasks:
        t.retries = 0
    real = ji.run_ingest

    def outage(settings, source, kind, day, **kw):
        if kind == "pdf":
            raise StorageError(f"landing storage unavailable: {source}")
        return real(settings, source, kind, day, **kw)

    when = dt.datetime.fromisoformat(sys.argv[1]).replace(tzinfo=dt.UTC)
    root = pathlib.Path(s.data_root)
    out = {}
    for name, fn in (("partial", outage), ("complete", real)):
        ji.run_ingest = fn
        dr = dag.test(logical_date=when, run_conf={"engine": "local"})
        tis = {ti.task_id: str(ti.state).split(".")[-1].lower() for ti in dr.get_task_instances()}
        funnel = json.loads((root / f"reports/corpus_refresh/{sys.argv[1]}/funnel.json").read_text())
        md = (root / f"reports/corpus_refresh/{sys.argv[1]}/funnel.md").read_text()
        out[name] = {"state": str(dr.state).split(".")[-1].lower(), "tis": tis, "funnel": funnel, "md": md}
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.airflow
def test_one_failed_source_does_not_block_the_others(tmp_path: Path, demo_corpus: Path) -> None:
    landing = tmp_path / "landing"
    write_landing(demo_corpus, landing, DAY, 0)
    out = subprocess.run([sys.executable, "-c", _SCRIPT, DAY], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=1800, env=sciforge_env(tmp_path, landing))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    res = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))[len("RESULT "):])
    partial, complete = res["partial"], res["complete"]

    # the partial day: the PDF branch failed, everything else ran; the run shows failed
    assert partial["tis"] == {"ingest_warc": "success", "ingest_pdf": "failed", "ingest_jsonl": "success",
                              "web_filter": "success", "pdf_parse": "upstream_failed", "text_pages": "success",
                              "dedup": "success", "corpus": "success", "report": "failed"}, partial["tis"]
    assert partial["state"] == "failed"
    rows = {r["stage"]: r for r in partial["funnel"]}
    assert [s for s, r in rows.items() if r["missing"]] == ["ingest_pdf", "pdf_parse"]
    assert "**Partial day: `ingest_pdf`, `pdf_parse` published nothing.**" in partial["md"]
    assert rows["dedup"]["upstream"] == ["text_pages", "web_filter"]  # dedup ran on what was published
    assert rows["corpus"]["kept"] > 0
    assert all(c["ok"] for r in partial["funnel"] for c in r["checks"])  # what was published adds up

    # the source is back: the re-run succeeds, and what changed has new versions
    assert complete["state"] == "success" and set(complete["tis"].values()) == {"success"}, complete["tis"]
    full = {r["stage"]: r for r in complete["funnel"]}
    assert not any(r["missing"] for r in full.values()) and "Partial day" not in complete["md"]
    assert full["dedup"]["upstream"] == ["pdf_parse", "text_pages", "web_filter"]
    for stage in ("ingest_warc", "ingest_jsonl", "web_filter", "text_pages"):
        assert full[stage]["dataset"] == rows[stage]["dataset"], stage  # same inputs, same version
    for stage in ("dedup", "corpus"):
        assert full[stage]["dataset"] != rows[stage]["dataset"], stage  # new inputs, new version
    assert full["corpus"]["kept"] > rows["corpus"]["kept"]

    # both days' datasets stay published side by side, each complete and consistent
    digest = tree_digest(tmp_path / "data")
    for ds in (rows["corpus"]["dataset"], full["corpus"]["dataset"], rows["dedup"]["dataset"]):
        assert f"{ds}/_manifest.json" in digest, ds
