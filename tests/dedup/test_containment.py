"""Containment mode (`DedupConfig.containment`): a kept page mostly contained in a better-ranked
page of another component goes as `contained`; the mode off publishes what the Jaccard path
publishes. The Spark job's agreement is in test_engines.py (`containment` case)."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.local import dedup_tables
from sciforge.pipelines.pages import PAGE_SCHEMA
from tests.dedup.fixtures import page, words
from tests.dedup.test_engines import partial_copies


def _run(rows: list[dict], **kw: object) -> tuple[set[str], dict[str, dict]]:
    res = dedup_tables(pa.Table.from_pylist(rows, schema=PAGE_SCHEMA), DedupConfig(**kw))
    q = {r["doc_id"]: r for r in res.quarantined.to_pylist()}
    return set(res.kept.column("doc_id").to_pylist()), q


def test_off_is_the_jaccard_path_and_on_links_excerpts_to_their_source() -> None:
    rows = partial_copies(0)
    res_off = dedup_tables(pa.Table.from_pylist(rows, schema=PAGE_SCHEMA), DedupConfig())
    assert "containment" not in res_off.quarantined.column_names
    assert "containment_edges" not in res_off.counters.metrics
    assert not any(k.startswith("containment") for k in DedupConfig().version_params())
    kept_off = set(res_off.kept.column("doc_id").to_pylist())
    assert {f"cut{i}" for i in range(6)} <= kept_off and "hub_q" in kept_off  # Jaccard never links them
    kept, q = _run(rows, containment="on")
    for i in range(6):
        assert q[f"cut{i}"]["reason"] == "contained" and q[f"cut{i}"]["representative"] == f"web:src{i}#0"
        assert 0.8 <= q[f"cut{i}"]["containment"] <= 1.0
        assert f"ctl{i}" in kept and f"src{i}" in kept
    # a quote inside two unrelated articles: the quote goes, both articles stay (no merging)
    assert q["hub_q"]["reason"] == "contained" and {"hub_a", "hub_b"} <= kept
    # two pages each mostly inside the other: only the worse-ranked (shorter) one goes
    assert "mut_a" in kept and q["mut_b"]["representative"] == "web:mut_a#0"
    # an excerpt and its near duplicate: their representative is contained, the other a near duplicate
    assert {q["nd_x"]["reason"], q["nd_y"]["reason"]} == {"contained", "near_duplicate"}
    assert all(r["containment"] is None for r in q.values() if r["reason"] != "contained")


def test_threshold_and_numbers() -> None:
    rng = random.Random(4)
    art = words(rng, 400).split()
    cut = " ".join(art[50:110])
    own = words(rng, 40)  # the copied share of the answer is 60 / 100 words
    table = " ".join(f"{rng.randrange(10**6)} {rng.randrange(10**4)}.{rng.randrange(100)}" for _ in range(30))
    rows = [page("src", 0, "web", " ".join(art)), page("answer", 0, "web", f"{cut} {own}"),
            # a prose page holding a small table, and the table alone: the numbers policy zeroes
            # the prose page's digits (digit share below 0.25) but keeps the table's
            page("report", 0, "pdf", f"{words(rng, 600)} {table} {words(rng, 100)}"),
            page("tab_cut", 0, "web", table)]
    kept, q = _run(rows, containment="on")
    assert "answer" in kept and q["tab_cut"]["representative"] == "pdf:report#0"
    assert q["tab_cut"]["containment"] == 1.0
    kept, q = _run(rows, containment="on", containment_threshold=0.5)
    assert q["answer"]["reason"] == "contained" and 0.5 <= q["answer"]["containment"] < 0.7


def test_containment_needs_exact_verification_and_page_scope() -> None:
    with pytest.raises(ValueError, match="containment"):
        DedupConfig(containment="on", verify="estimate")
    with pytest.raises(ValueError, match="containment"):
        DedupConfig(containment="on", near_dup_scope="document")
