"""The funnel report: numbers checked against the manifests, written into the corpus snapshot and
registered in its manifest (so `verify` covers it), byte-identical on a re-run."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from sciforge.pipelines.config import REPO_ROOT
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import DatasetCorrupt, DatasetRef, read_manifest, verify, write_dataset
from sciforge.pipelines.report import (
    README_END,
    README_START,
    REPORT_FILES,
    STAGE_UNITS,
    all_checks_pass,
    day_datasets,
    funnel_rows,
    missing_stages,
    publish_report,
    readme_block_of,
    readme_funnel,
    replace_readme_block,
)
from sciforge.pipelines.storage import open_storage

DAY = "2026-01-01"
PAGES = pa.schema([("doc_id", pa.string()), ("page", pa.int32()), ("text", pa.string())])
Q = PAGES.append(pa.field("reason", pa.string()))


def _pages(n: int, prefix: str) -> pa.Table:
    return pa.table({"doc_id": [f"{prefix}{i}" for i in range(n)], "page": [0] * n,
                     "text": [f"text {i}" for i in range(n)]}, schema=PAGES)


def _quarantine(reasons: list[str]) -> pa.Table:
    n = len(reasons)
    return pa.table({"doc_id": [f"q{i}" for i in range(n)], "page": [0] * n, "text": [""] * n,
                     "reason": reasons}, schema=Q)


def _stage(st, stage: str, ref: DatasetRef, kept: pa.Table, reasons: list[str], parents=(),
           metrics: dict[str, int] | None = None, inputs: int | None = None, n_kept: int | None = None) -> dict:
    n = kept.num_rows if n_kept is None else n_kept
    c = StageCounters(input=n + len(reasons) if inputs is None else inputs, kept=n)
    for r in reasons:
        c.drop(r)
    for k, v in (metrics or {}).items():
        c.add(k, v)
    m = write_dataset(st, ref, [kept], counters=c, logical_date=DAY, parents=parents)
    write_dataset(st, ref.quarantine(), [_quarantine(reasons)], logical_date=DAY, parents=parents)
    return {"stage": stage, "ref": ref.key, "rows": m["rows"], "counters": m["counters"]}


def _run(st, web_input: int | None = None) -> list[dict]:
    raw = DatasetRef("raw", "web", f"{DAY}_aaaa")
    web = DatasetRef("clean", "web_pages", f"{DAY}_bbbb")
    pages = DatasetRef("clean", "pages", f"{DAY}_cccc")
    snap = DatasetRef("corpus", "snapshot", f"{DAY}_dddd")
    return [
        _stage(st, "ingest_warc", raw, _pages(6, "r"), ["truncated_record"]),
        _stage(st, "web_filter", web, _pages(4, "w"), ["http_status", "binary_payload"], [raw],
               inputs=web_input),
        _stage(st, "dedup", pages, _pages(3, "p"), ["exact_duplicate"], [web]),
        # corpus: 3 pages in, 2 documents out (rows), 900 tokens
        _stage(st, "corpus", snap, _pages(2, "d"), [], [pages], metrics={"documents": 2, "tokens": 900},
               n_kept=3),
    ]


def test_report_adds_up_and_lands_in_the_snapshot(settings):
    st = open_storage(settings.data_root)
    results = _run(st)
    rows = funnel_rows(results, st)
    assert all_checks_pass(rows), [c for r in rows for c in r["checks"] if not c["ok"]]
    by = {r["stage"]: r for r in rows}
    assert {c["check"] for c in by["web_filter"]["checks"]} == {"balance", "rows", "flow", "quarantine"}
    assert by["corpus"]["tokens_out"] == 900 and by["corpus"]["documents_out"] == 2
    assert by["web_filter"]["reasons"] == {"binary_payload": 1, "http_status": 1}

    uris = publish_report(settings, DAY, results)
    snap = DatasetRef.parse(results[-1]["ref"])
    m = verify(st, snap)  # checksums of the report files too
    report = {f["path"]: f for f in m["files"] if f.get("kind") == "report"}
    assert set(report) == {f"report/{n}" for n in REPORT_FILES}
    assert all(f["bytes"] > 0 for f in report.values())
    assert st.read_bytes(f"{snap.key}/report/funnel.png")[:8] == b"\x89PNG\r\n\x1a\n"
    md = st.read_bytes(f"{snap.key}/report/funnel.md").decode()
    assert "all numbers add up" in md and "| web_filter | documents → pages | 6 | 4 | 2 |" in md
    assert uris["funnel.md"].endswith(f"reports/corpus_refresh/{DAY}/funnel.md")
    assert json.loads(st.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.json"))[0]["stage"] == "ingest_warc"
    # The rest of the manifest is untouched: same rows, counters, other files.
    assert m["rows"] == 2 and m["counters"]["metrics"]["tokens"] == 900

    # A re-run replaces the entries (no duplicates) and writes the same bytes.
    before = st.read_bytes(f"{snap.key}/_manifest.json")
    publish_report(settings, DAY, results)
    assert st.read_bytes(f"{snap.key}/_manifest.json") == before

    # Tampering with a report file is caught by verify, like any other file of the snapshot.
    st.write_bytes(f"{snap.key}/report/funnel.md", b"edited")
    with pytest.raises(DatasetCorrupt):
        verify(st, snap)


def test_report_flags_numbers_that_do_not_add_up(settings):
    st = open_storage(settings.data_root)
    results = _run(st, web_input=9)  # web_filter claims 9 in, but 4 kept + 2 dropped and 6 handed on
    rows = funnel_rows(results, st)
    assert not all_checks_pass(rows)
    bad = {(r["stage"], c["check"]) for r in rows for c in r["checks"] if not c["ok"]}
    assert bad == {("web_filter", "balance"), ("web_filter", "flow")}
    publish_report(settings, DAY, results)
    md = st.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.md").decode()
    assert "MISMATCH" in md and "| web_filter | balance | ✗ |" in md


def test_quarantine_check_needs_the_rejects(settings):
    st = open_storage(settings.data_root)
    results = _run(st)
    # Drop the web stage's quarantine dataset: its 2 dropped documents are no longer accounted for.
    st.delete(f"{DatasetRef.parse(results[1]['ref']).quarantine().key}/_manifest.json")
    rows = funnel_rows(results, st)
    bad = {(r["stage"], c["check"]) for r in rows for c in r["checks"] if not c["ok"]}
    assert bad == {("web_filter", "quarantine")}
    assert read_manifest(st, DatasetRef.parse(results[1]["ref"]))["rows"] == 4


def test_partial_day_marks_the_missing_source(settings):
    """A PDF source that published nothing: its rows are marked, the others are checked as usual."""
    st = open_storage(settings.data_root)
    results = [*_run(st)[:2], {"stage": "ingest_pdf", "missing": True}, {"stage": "pdf_parse", "missing": True},
               *_run(st)[2:]]
    rows = funnel_rows(results, st)
    assert missing_stages(rows) == ["ingest_pdf", "pdf_parse"]
    assert all_checks_pass(rows)  # what was published still adds up (dedup's parents are the published ones)
    by = {r["stage"]: r for r in rows}
    assert by["ingest_pdf"]["missing"] is True and by["ingest_pdf"]["input"] is None
    assert by["ingest_pdf"]["checks"] == [] and by["web_filter"]["missing"] is False
    publish_report(settings, DAY, results)
    md = st.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.md").decode()
    assert "**Partial day: `ingest_pdf`, `pdf_parse` published nothing.**" in md
    assert "| ingest_pdf | PDF files → documents | – | – | – | – | – | – | **not published** |" in md
    assert "| pdf_parse | not published | – | – | – |" in md
    got = json.loads(st.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.json"))
    assert [r["stage"] for r in got if r["missing"]] == ["ingest_pdf", "pdf_parse"]
    snap = DatasetRef.parse(results[-1]["ref"])
    assert "Partial day" in st.read_bytes(f"{snap.key}/report/funnel.md").decode()  # in the snapshot too
    from sciforge.cli.demo import print_funnel  # what `sciforge demo` prints

    assert print_funnel(settings, DAY) == snap.key
    # a complete day says nothing of the kind
    publish_report(settings, DAY, _run(st))
    assert "Partial day" not in st.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.md").decode()


def test_a_source_without_landing_files_is_named(settings):
    st = open_storage(settings.data_root)
    results = _run(st)
    empty = DatasetRef("raw", "pdf", f"{DAY}_eeee")
    write_dataset(st, empty, [], schema=PAGES, counters=StageCounters(), logical_date=DAY,
                  inputs={"source": "/landing/dt=2026-01-01/pdf", "files": 0})
    write_dataset(st, empty.quarantine(), [], schema=Q, logical_date=DAY)
    rows = funnel_rows([*results, {"stage": "ingest_pdf", "ref": empty.key, "rows": 0,
                                   "counters": StageCounters().to_dict()}], st)
    assert all_checks_pass(rows)
    publish_report(settings, DAY, [*results, {"stage": "ingest_pdf", "ref": empty.key, "rows": 0,
                                              "counters": StageCounters().to_dict()}])
    md = st.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.md").decode()
    assert "**No landing files: `ingest_pdf`.**" in md and "Partial day" not in md
    publish_report(settings, DAY, results)  # the raw/web dataset of _run has no `inputs`: nothing said
    assert "No landing files" not in st.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.md").decode()


def funnel_block_shape(block: str) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """(stage, zone/name of its output) per funnel line, and zone -> dataset names, of a README funnel block."""
    stages: list[tuple[str, str]] = []
    zones: dict[str, list[str]] = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] in ("stage", "zone") or cells[0].startswith("---"):
            continue
        if len(cells) == 6:
            stages.append((cells[0], cells[5].strip("`").rsplit("/", 1)[0]))
        elif len(cells) == 2:
            zones[cells[0]] = [n.strip().strip("`") for n in cells[1].split(",")]
    return stages, zones


def test_readme_funnel_block_is_written_from_a_run(settings):
    """`python -m sciforge.pipelines.report --readme` writes the block from a run's funnel and datasets; the
    project README holds such a block, with every stage of corpus_refresh and every zone a day writes
    (tests/foundation/test_dags.py compares it with a real demo run)."""
    st = open_storage(settings.data_root)
    results = _run(st)
    publish_report(settings, DAY, results)
    rows = json.loads(st.read_bytes(f"reports/corpus_refresh/{DAY}/funnel.json"))
    block = readme_funnel(rows, day_datasets(st, DAY))
    stages, zones = funnel_block_shape(block)
    assert stages == [("ingest_warc", "raw/web"), ("web_filter", "clean/web_pages"), ("dedup", "clean/pages"),
                      ("corpus", "corpus/snapshot")]
    assert list(zones) == ["raw", "clean", "corpus", "quarantine"]  # the zones in the order data flows
    assert zones["quarantine"] == ["pages", "snapshot", "web", "web_pages"]
    assert "| web_filter | 6 | 4 | 2 | binary_payload 1, http_status 1 | `clean/web_pages/2026-01-01_bbbb` |" in block

    doc = f"intro\n{README_START}\nold\n{README_END}\nrest\n"
    new = replace_readme_block(doc, block)
    assert new.startswith("intro\n") and new.endswith(f"{README_END}\nrest\n") and "old" not in new
    assert readme_block_of(new) == block
    assert replace_readme_block(new, block) == new  # idempotent

    readme_stages, readme_zones = funnel_block_shape(readme_block_of((REPO_ROOT / "README.md").read_text()))
    assert [s for s, _ in readme_stages] == list(STAGE_UNITS)
    assert list(readme_zones) == ["raw", "interim", "clean", "corpus", "quarantine"]
