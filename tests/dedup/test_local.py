"""The in-memory reference engine: decisions on planted duplicates, boilerplate, scopes,
earlier snapshots, and a large boilerplate component."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.decide import UnionFind, component_id, min_label_components
from sciforge.pipelines.dedup.local import dedup_tables
from sciforge.pipelines.pages import PAGE_SCHEMA
from tests.dedup.fixtures import COPYRIGHT, corpus, mutate, page, words


def _table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PAGE_SCHEMA)


def _reasons(res) -> dict[str, str]:
    q = res.quarantined.to_pylist()
    return {f"{r['source']}:{r['doc_id']}#{r['page']}": r["reason"] for r in q}


def test_planted_corpus() -> None:
    web, pdf, truth = corpus()
    rng = random.Random(5)
    # one word changed ("zz" prefix, so the copy is LONGER and becomes the representative): J ~ 0.92
    web.append(page("w_near2", 0, "web", mutate(rng, web[2]["text"], 0.005)))
    res = dedup_tables(_table(web + pdf), DedupConfig())
    reasons = _reasons(res)
    assert reasons["web:w_exact#0"] == "exact_duplicate"
    assert reasons["web:w02#0"] == "near_duplicate"
    assert reasons["web:w_empty#0"] == "empty"
    for key in truth["boiler"]:
        assert reasons[key] == "boilerplate_page"
    kept = {(r["doc_id"], r["page"]) for r in res.kept.to_pylist()}
    assert ("w00", 0) in kept and ("w_near2", 0) in kept and ("w_one", 0) in kept
    assert res.kept.num_rows + res.quarantined.num_rows == len(web) + len(pdf)
    c = res.counters
    assert c.input == len(web) + len(pdf) and c.kept == res.kept.num_rows
    assert sum(c.dropped.values()) == res.quarantined.num_rows
    near = [r for r in res.quarantined.to_pylist() if r["doc_id"] == "w02"][0]
    assert near["representative"] == "web:w_near2#0"
    assert near["component_id"] == component_id("web:w_near2#0")


def test_representative_is_longest_then_smallest_key() -> None:
    base = words(random.Random(1), 150)
    rows = [page("b", 0, "web", base), page("a", 0, "web", base + " extra"), page("c", 0, "web", base)]
    res = dedup_tables(_table(rows), DedupConfig(threshold=0.9))
    assert [r["doc_id"] for r in res.kept.to_pylist()] == ["a"]
    assert {r["doc_id"]: r["reason"] for r in res.quarantined.to_pylist()} == {
        "b": "near_duplicate", "c": "exact_duplicate"}


def test_near_dup_scope_document_and_off() -> None:
    rng = random.Random(2)
    p = [words(rng, 150) for _ in range(3)]
    rows = [page("d1", i, "pdf", t) for i, t in enumerate(p)]
    rows += [page("d2", i, "pdf", t) for i, t in enumerate(p)]  # a whole copy of d1
    rows += [page("d3", 0, "pdf", p[0]), page("d3", 1, "pdf", words(rng, 150))]  # shares one page
    by_mode = {}
    for mode in ("page", "document", "off"):
        res = dedup_tables(_table(rows), DedupConfig(near_dup_scope=mode, boilerplate_min_docs=4))
        by_mode[mode] = sorted((r["doc_id"], r["page"]) for r in res.kept.to_pylist())
    assert by_mode["page"] == [("d1", 0), ("d1", 1), ("d1", 2), ("d3", 1)]
    assert by_mode["document"] == [("d1", 0), ("d1", 1), ("d1", 2), ("d3", 0), ("d3", 1)]
    assert len(by_mode["off"]) == len(rows)


def test_previous_snapshot_pages_are_not_readmitted() -> None:
    rng = random.Random(4)
    old = [page(f"o{i}", 0, "web", words(rng, 120)) for i in range(3)]
    new = [page("n_same", 0, "web", old[0]["text"]), page("n_near", 0, "web", mutate(rng, old[1]["text"], 0.005)),
           page("n_new", 0, "web", words(rng, 120))]
    res = dedup_tables(_table(new), DedupConfig(), previous=_table(old))
    assert [r["doc_id"] for r in res.kept.to_pylist()] == ["n_new"]
    assert set(_reasons(res).values()) == {"already_published"}
    assert res.counters.metrics["previous_pages"] == 3


def test_boilerplate_component_of_thousands_of_pages() -> None:
    rng = random.Random(9)
    rows = []
    for d in range(3000):
        rows.append(page(f"doc{d:04d}", 0, "pdf", words(rng, 30)))
        text = COPYRIGHT.format(year=2000 + d % 25, page=d)
        if d % 3 == 0:  # a near-identical variant: one word more (one more shingle, J ~ 0.98)
            text += " Reprint."
        rows.append(page(f"doc{d:04d}", 1, "pdf", text))
    res = dedup_tables(_table(rows), DedupConfig())
    assert res.counters.dropped["boilerplate_page"] == 3000
    assert res.counters.metrics["largest_component"] == 3000
    assert res.kept.num_rows == 3000


@pytest.mark.parametrize("seed", [0, 1])
def test_union_find_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    edges = rng.integers(0, n, size=(40, 2))
    uf = UnionFind(n)
    for a, b in edges:
        uf.union(int(a), int(b))
    roots = uf.roots()
    # brute force: label propagation to the minimum
    label = np.arange(n)
    for _ in range(n):
        for a, b in edges:
            m = min(label[a], label[b])
            label[a] = label[b] = m
    assert np.array_equal(roots, label)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorized_components_match_union_find(seed: int) -> None:
    """`min_label_components` (the Spark job's one-task path) on sparse ids, a star, a long
    path and self loops: same roots as the union-find reference."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(10**12, size=400, replace=False)).astype(np.int64)
    pairs = [rng.integers(0, 300, size=(150, 2)), np.array([(300, 301 + i) for i in range(50)]),
             np.array([(360 + i, 361 + i) for i in range(39)]), np.array([(5, 5)])]
    edges = np.concatenate(pairs)[rng.permutation(sum(len(p) for p in pairs))]
    nodes, roots = min_label_components(ids[edges[:, 0]], ids[edges[:, 1]])
    uf = UnionFind(len(ids))
    for a, b in edges:
        uf.union(int(a), int(b))
    want_nodes = np.unique(edges)
    assert np.array_equal(nodes, ids[want_nodes])
    assert np.array_equal(roots, ids[[uf.find(int(x)) for x in want_nodes]])


def test_missing_contract_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="PAGE-TEXT CONTRACT"):
        dedup_tables(pa.table({"doc_id": ["a"], "text": ["x"]}), DedupConfig())


def test_wrong_config_key_is_rejected() -> None:
    with pytest.raises(ValueError):
        DedupConfig(treshold=0.7)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        DedupConfig(bands=4)


def test_invalid_utf8_in_a_binary_text_column_is_quarantined_not_a_crash() -> None:
    from tests.dedup.test_engines import binary_pages

    text = words(random.Random(4), 60)
    rows = [page("ok", 0, "text", text), page("bad", 0, "text", b"\xff\xfe " + text.encode()),
            page("none", 0, "text", None)]
    res = dedup_tables(binary_pages(rows), DedupConfig())
    assert res.kept.column("doc_id").to_pylist() == ["ok"]
    q = {r["doc_id"]: r for r in res.quarantined.to_pylist()}
    assert q["bad"]["reason"] == "invalid_utf8" and q["bad"]["text"] == "\ufffd\ufffd " + text
    assert q["none"]["reason"] == "empty"
    # against an earlier (string) snapshot too: the text types are unified, not refused
    prev = pa.Table.from_pylist([page("old", 0, "text", text)], schema=PAGE_SCHEMA)
    res = dedup_tables(binary_pages(rows), DedupConfig(), previous=prev)
    assert {r["doc_id"]: r["reason"] for r in res.quarantined.to_pylist()}["ok"] == "already_published"


def _data_volume(n: int, seed: int = 9) -> list[dict]:
    """Pages of a data volume: the same table layout, different measured values."""
    rng = random.Random(seed)
    rows = []
    for p in range(n):
        cells = " ".join(f"{rng.uniform(100, 999):.2f}" for _ in range(60))  # fixed width
        rows.append(page("vol", p, "pdf", f"Table {p + 10}. Lattice constants (pm). {cells}"))
    return rows


def test_numbers_policy_keeps_data_tables_and_still_finds_templates() -> None:
    """Data pages that differ only in values survive under the default (`zero_in_prose`) and
    `keep`; `zero` (every digit -> 0) collapses them into one. Copyright pages with different
    years and page numbers stay one boilerplate component under the default."""
    rng = random.Random(2)
    vol = _data_volume(40)
    boiler = []
    for d in range(4):
        boiler += [page(f"b{d}", 0, "pdf", words(rng, 150)), page(f"b{d}", 1, "pdf", COPYRIGHT.format(year=2000 + d, page=d))]
    for numbers, kept_vol in (("zero_in_prose", 40), ("keep", 40), ("zero", 1)):
        res = dedup_tables(_table(vol + boiler), DedupConfig(numbers=numbers))
        reasons = _reasons(res)
        assert sum(r["doc_id"] == "vol" for r in res.kept.to_pylist()) == kept_vol, numbers
        if numbers != "keep":
            assert {reasons[f"pdf:b{d}#1"] for d in range(4)} == {"boilerplate_page"}
    # exact duplicates keep their numbers under every policy: same values -> exact duplicate
    res = dedup_tables(_table(vol[:2] + [page("vol2", 0, "pdf", vol[0]["text"])]), DedupConfig(numbers="zero"))
    assert _reasons(res)["pdf:vol2#0"] == "exact_duplicate"
    assert _reasons(res)["pdf:vol#1"] == "near_duplicate"


def test_huge_pages_sharing_only_a_prefix_are_distinct() -> None:
    """MinHash sees the first `max_minhash_chars` only (identical here), the exact check the
    full text: candidates, not duplicates. A copy with one word changed near its end is."""
    from tests.dedup.test_engines import long_prefix_pair

    rows = long_prefix_pair(random.Random(0), 400, 1500)
    res = dedup_tables(_table(rows), DedupConfig(max_minhash_chars=2000))
    assert res.kept.column("doc_id").to_pylist() == ["long_a", "long_b"] or \
        sorted(res.kept.column("doc_id").to_pylist()) == ["long_a2", "long_b"]
    assert res.counters.metrics["minhash_truncated"] == 3
    assert res.counters.metrics["candidate_edges"] == 3  # all three share every band
    assert res.counters.metrics["verified_edges"] == 1
