"""The Spark job end to end on the demo corpus: ingest -> pdf_parse -> clean/pdf_pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from sciforge.jobs.ingest import run_ingest
from sciforge.jobs.pdf_parse import route_shares, run_pdf_parse
from sciforge.pipelines.config import load_settings
from sciforge.pipelines.datasets import read_manifest, read_table
from sciforge.pipelines.storage import open_storage

CONTRACT = ["doc_id", "page", "source", "url", "domain", "field", "text"]
# No OCR / layout model here: routes are still decided and recorded (tests/pdf/test_parse.py runs
# the expensive backends); scans are quarantined as scan_not_ocred.
FAST = {"ocr_backend": "none", "math_backend": "cheap", "pages_per_task": 3, "record_timings": False}


def _settings(tmp: Path, **pdf: Any) -> Any:
    return load_settings(storage={"data_root": str(tmp / "data")}, stages={"pdf": {**FAST, **pdf}})


def _run(tmp: Path, corpus: Path, engine: str, spark: Any = None) -> tuple[Any, Any]:
    s = _settings(tmp)
    raw, _, _ = run_ingest(s, str(corpus / "pdf"), "pdf", "2026-01-01", engine="local")
    ref = run_pdf_parse(s, raw, "2026-01-01", engine=engine, spark=spark)  # type: ignore[arg-type]
    return s, ref


def test_demo_corpus_routes_and_contract(tmp_path: Path, demo_corpus: Path) -> None:
    s, ref = _run(tmp_path, demo_corpus, "local")
    st = open_storage(s.data_root, s.storage_options())
    kept = read_table(st, ref).to_pylist()
    quar = read_table(st, ref.quarantine()).to_pylist()
    assert list(read_table(st, ref).schema.names[:7]) == CONTRACT
    assert {r["source"] for r in kept} == {"pdf"} and {r["domain"] for r in kept} == {""}
    routes = {(r["url"], r["page"]): r["route"] for r in kept + quar if r["page"] > 0}
    planted = json.loads((demo_corpus / "planted.json").read_text())["pdf"]
    checked = 0
    for doc in planted:
        for i, want in enumerate(doc["pages"], start=1):
            if want != "?":
                assert routes[(doc["file"].removeprefix("pdf/"), i)] == want, (doc["file"], i)
                checked += 1
    assert checked >= 13
    scans = [q for q in quar if q["route"] == "scan"]
    assert len(scans) == 2 and {q["reason"] for q in scans} == {"scan_not_ocred"}
    m = read_manifest(st, ref)
    c = m["counters"]
    assert c["input"] == m["rows"] + sum(c["dropped"].values())  # every page accounted for
    assert c["metrics"]["route_math"] == 2 and "math 1" in route_shares(c)
    # the copyright page shared by three PDFs has its running text, not page furniture
    quantum = [r for r in kept if r["url"] == "paper_quantum.pdf"]
    assert [r["page"] for r in quantum] == [1, 2, 3, 4]


def test_rerun_is_byte_identical(tmp_path: Path, demo_corpus: Path) -> None:
    s, ref1 = _run(tmp_path, demo_corpus, "local")
    st = open_storage(s.data_root, s.storage_options())
    files1 = {f["path"]: f["sha256"] for f in read_manifest(st, ref1)["files"]}
    _, ref2 = _run(tmp_path, demo_corpus, "local")
    assert ref1 == ref2
    assert {f["path"]: f["sha256"] for f in read_manifest(st, ref2)["files"]} == files1


@pytest.mark.spark
@pytest.mark.slow  # ~2 min on 2 busy cores (session start + Python workers); run with -m slow
def test_spark_engine_matches_local(tmp_path: Path, demo_corpus: Path, spark: Any) -> None:
    s, ref = _run(tmp_path / "spark", demo_corpus, "spark", spark)
    s2, ref2 = _run(tmp_path / "local", demo_corpus, "local")
    st, st2 = open_storage(s.data_root, s.storage_options()), open_storage(s2.data_root, s2.storage_options())
    assert ref == ref2
    m, m2 = read_manifest(st, ref), read_manifest(st2, ref2)
    assert m["rows"] == m2["rows"] and m["counters"] == m2["counters"]
    assert len(m["files"]) > 3  # pages spread over several tasks
    for f, f2 in zip(m["files"], m2["files"], strict=True):
        assert f["sha256"] == f2["sha256"]
    t = pq.read_table(Path(s.data_root) / ref.key / m["files"][0]["path"])
    assert t.num_rows >= 1
