"""jobs/dedup.py: the Spark job against the in-memory reference, connected components,
earlier snapshots, manifests and determinism."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from sciforge.jobs.dedup import (
    _one_per_partition,
    _parts,
    connected_components,
    run_dedup,
    scan_slices,
    spark_hash_long,
)
from sciforge.pipelines.datasets import DatasetRef, read_manifest, read_table, write_dataset
from sciforge.pipelines.dedup.decide import UnionFind
from sciforge.pipelines.pages import PAGE_SCHEMA
from sciforge.pipelines.storage import open_storage
from tests.dedup.fixtures import corpus, mutate, page, words, write_pages

SORT = [("source", "ascending"), ("doc_id", "ascending"), ("page", "ascending")]


def _invalid_utf8_ref(settings: Any) -> DatasetRef:
    """A raw-text-like dataset mapped to the contract, with one page that is not UTF-8."""
    good, bad = b"a perfectly fine note about enzymes and lattices", b"caf\xe9 \xff broken bytes"
    data = good + bad
    offsets = np.array([0, len(good), len(data)], dtype=np.int32)
    text = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)])
    cols = {"doc_id": pa.array(["t1", "t2"]), "page": pa.array([0, 0], pa.int32()),
            "source": pa.array(["text", "text"]), "url": pa.array(["", ""]), "domain": pa.array(["", ""]),
            "field": pa.array(["", ""]), "text": text}
    ref = DatasetRef("clean", "text_pages", "2026-01-01_test")
    write_dataset(open_storage(settings.data_root, settings.storage_options()), ref,
                  [pa.table(cols, schema=PAGE_SCHEMA)], schema=PAGE_SCHEMA, logical_date="2026-01-01")
    return ref


def _inputs(settings: Any) -> tuple[list[DatasetRef], list[DatasetRef]]:
    web, pdf, _ = corpus()
    rng = random.Random(7)
    old = [page(f"old{i}", 0, "web", words(rng, 120)) for i in range(4)]
    web += [page("re_crawl", 0, "web", old[0]["text"]), page("re_near", 0, "web", mutate(rng, old[1]["text"], 0.005))]
    prev_src = write_pages(settings, "web_pages", old, version="2025-12-31_test")
    prev = run_dedup(settings, [prev_src], "2025-12-31", engine="local")
    refs = [write_pages(settings, "web_pages", web), write_pages(settings, "pdf_pages", pdf), _invalid_utf8_ref(settings)]
    return refs, [prev]


def _tables(settings: Any, ref: DatasetRef) -> tuple[pa.Table, pa.Table, dict]:
    st = open_storage(settings.data_root, settings.storage_options())
    return read_table(st, ref), read_table(st, ref.quarantine()), read_manifest(st, ref)


@pytest.mark.spark
@pytest.mark.parametrize("mode", ["broadcast", "shuffle-joins", "sliced-scan"])
def test_spark_job_matches_local_reference(spark: Any, settings: Any, monkeypatch: Any, request: Any,
                                           mode: str) -> None:
    if mode == "sliced-scan":  # parts cut into row ranges of 2 pages: several scan tasks per part
        monkeypatch.setattr("sciforge.jobs.dedup.SCAN_PAGES_PER_TASK", 2)
    if mode == "shuffle-joins":  # the joins a large input takes: nothing is small enough to broadcast
        monkeypatch.setattr("sciforge.jobs.dedup._BROADCAST_MAX_ROWS", 0)
        monkeypatch.setattr("sciforge.jobs.dedup._BROADCAST_MAX_BYTES", 0)
        # nor does Spark broadcast anything, at planning or at run time (AQE)
        keys = ("spark.sql.autoBroadcastJoinThreshold", "spark.sql.adaptive.autoBroadcastJoinThreshold")
        old = {k: spark.conf.get(k, None) for k in keys}
        for k in keys:
            spark.conf.set(k, "-1")
        request.addfinalizer(lambda: [spark.conf.set(k, v) if v is not None else spark.conf.unset(k)
                                      for k, v in old.items()])
    refs, prev = _inputs(settings)
    local = run_dedup(settings, refs, "2026-01-01", engine="local", previous=prev)
    kl, ql, ml = _tables(settings, local)
    remote = run_dedup(settings, refs, "2026-01-01", engine="spark", spark=spark, previous=prev)
    assert remote == local  # same version id: same inputs and config
    ks, qs, ms = _tables(settings, remote)
    assert ks.sort_by(SORT).equals(kl.sort_by(SORT))
    assert qs.sort_by(SORT).equals(ql.sort_by(SORT))
    reasons = {(r["doc_id"], r["page"]): r["reason"] for r in qs.drop(["text"]).to_pylist()}
    assert reasons[("re_crawl", 0)] == reasons[("re_near", 0)] == "already_published"
    assert reasons[("t2", 0)] == "invalid_utf8" and reasons[("w_exact", 0)] == "exact_duplicate"
    assert {reasons[(f"p{d}", 3)] for d in range(4)} == {"boilerplate_page"}
    c = ms["counters"]
    assert c["input"] == c["kept"] + sum(c["dropped"].values()) == ks.num_rows + qs.num_rows
    # a graph this small gets its components in one executor task (no large-star rounds)
    assert c["metrics"]["cc_single_task"] == 1 and c["metrics"]["cc_rounds"] == 0
    assert c["metrics"]["previous_pages"] == 4
    ml["counters"]["metrics"].update(cc_rounds=0, cc_single_task=1)
    assert c == ml["counters"]
    assert [p["name"] for p in ms["parents"]] == sorted(["pages", "pdf_pages", "text_pages", "web_pages"])
    # all pages of a document are in one part, in page order
    st = open_storage(settings.data_root, settings.storage_options())
    from sciforge.pipelines.datasets import part_keys, read_part

    seen: dict[tuple, str] = {}
    for key in part_keys(st, remote):
        t = read_part(st, key).drop(["text"]).to_pylist()
        assert t == sorted(t, key=lambda r: (r["source"], r["doc_id"], r["page"], r["content_hash"]))
        for r in t:
            assert seen.setdefault((r["source"], r["doc_id"]), key) == key


def test_scan_slices_cut_each_part_into_even_row_ranges_in_part_order(settings: Any) -> None:
    refs, prev = _inputs(settings)
    st = open_storage(settings.data_root, settings.storage_options())
    parts = _parts(st, refs, prev)
    rows = {f"{r.key}/{f['path']}": f["rows"] for r in [*refs, *prev] for f in read_manifest(st, r)["files"]}
    assert [s[:3] for s in scan_slices(st, refs, prev, pages_per_task=10**9)] == parts  # one task a part
    sliced = scan_slices(st, refs, prev, pages_per_task=2)
    assert len(sliced) > len(parts)
    for base, key, is_prev in parts:
        mine = [(a, b) for s_base, s_key, s_prev, a, b in sliced if (s_base, s_key, s_prev) == (base, key, is_prev)]
        assert mine[0][0] == 0 and mine[-1][1] == rows[key]  # every row, each once, in order
        assert all(b == a2 and a < b for (a, b), (a2, _) in zip(mine, mine[1:], strict=False))
        assert len(mine) == max(1, -(-rows[key] // 2)) and max(b - a for a, b in mine) <= 2


@pytest.mark.spark
def test_connected_components_match_union_find(spark: Any) -> None:
    rng = np.random.default_rng(0)
    # kept small (each round is several Spark jobs); the slow job test runs this path at scale
    edges = [tuple(map(int, e)) for e in rng.integers(0, 100, size=(60, 2))]
    edges += [(1000, 1001 + i) for i in range(100)]  # a big star (boilerplate-like hub)
    edges += [(2000 + i, 2001 + i) for i in range(20)]  # a long path (several rounds)
    edges += [(5, 5)]  # a self loop
    df = spark.createDataFrame(edges, "u long, v long")
    roots, rounds = connected_components(spark, df, 50)
    got = {r["node"]: r["root"] for r in roots.collect()}
    nodes = sorted({x for e in edges for x in e})
    index = {x: i for i, x in enumerate(nodes)}
    uf = UnionFind(len(nodes))
    for a, b in edges:
        uf.union(index[a], index[b])
    want = {x: nodes[uf.find(index[x])] for x in nodes if any(x in e and e[0] != e[1] for e in edges)}
    assert got == want
    assert rounds > 1


def test_local_engine_is_byte_identical_on_rerun(tmp_path: Any) -> None:
    from sciforge.pipelines.config import load_settings

    shas = []
    for i in range(2):
        s = load_settings(storage={"data_root": str(tmp_path / f"root{i}")})
        web, pdf, _ = corpus()
        refs = [write_pages(s, "web_pages", web), write_pages(s, "pdf_pages", pdf)]
        ref = run_dedup(s, refs, "2026-01-01", engine="local")
        m = read_manifest(open_storage(s.data_root, s.storage_options()), ref)
        shas.append([f["sha256"] for f in m["files"]])
    assert shas[0] == shas[1]


def test_unpublished_input_is_refused(settings: Any) -> None:
    from sciforge.pipelines.datasets import DatasetNotPublished

    with pytest.raises(DatasetNotPublished):
        run_dedup(settings, [DatasetRef("clean", "web_pages", "2026-01-01_missing")], "2026-01-01", engine="local")


@pytest.mark.spark
@pytest.mark.slow
def test_spark_estimate_verification_document_scope_and_big_component(spark: Any, tmp_path: Any) -> None:
    """The other verification mode and scope through Spark, with a 3,000-page boilerplate
    component (one hub every page links to) and 3,000 unique pages."""
    from sciforge.pipelines.config import load_settings
    from tests.dedup.fixtures import COPYRIGHT

    # cc_local_max_edges=0: the components go through the distributed large-star/small-star
    stages = {"dedup": {"verify": "estimate", "near_dup_scope": "document", "cc_local_max_edges": 0}}
    s = load_settings(storage={"data_root": str(tmp_path / "data")}, stages=stages)
    rng = random.Random(11)
    rows = []
    for d in range(3000):
        rows.append(page(f"doc{d:04d}", 0, "pdf", words(rng, 40)))
        text = COPYRIGHT.format(year=2000 + d % 25, page=d) + (" Reprint." if d % 3 == 0 else "")
        rows.append(page(f"doc{d:04d}", 1, "pdf", text))
    web, pdf, _ = corpus()
    refs = [write_pages(s, "pdf_pages", rows + pdf, rows_per_part=1000), write_pages(s, "web_pages", web)]
    local = run_dedup(s, refs, "2026-01-01", engine="local")
    kl, ql, ml = _tables(s, local)
    remote = run_dedup(s, refs, "2026-01-01", engine="spark", spark=spark)
    ks, qs, ms = _tables(s, remote)
    assert ks.sort_by(SORT).equals(kl.sort_by(SORT)) and qs.sort_by(SORT).equals(ql.sort_by(SORT))
    assert ms["counters"]["dropped"]["boilerplate_page"] == 3004
    assert ms["counters"]["metrics"]["largest_component"] == 3004
    assert ms["counters"]["metrics"]["cc_rounds"] >= 1 and ms["counters"]["metrics"]["cc_single_task"] == 0
    # a re-run of the Spark job on a fresh copy of the inputs writes byte-identical parts
    s2 = load_settings(storage={"data_root": str(tmp_path / "data2")}, stages=stages)
    refs2 = [write_pages(s2, "pdf_pages", rows + pdf, rows_per_part=1000), write_pages(s2, "web_pages", web)]
    again = run_dedup(s2, refs2, "2026-01-01", engine="spark", spark=spark)
    st, st2 = (open_storage(x.data_root, x.storage_options()) for x in (s, s2))
    for ref in (remote, remote.quarantine()):
        first, second = read_manifest(st, ref)["files"], read_manifest(st2, ref)["files"]
        assert [(f["path"], f["sha256"]) for f in first] == [(f["path"], f["sha256"]) for f in second]
    assert again == remote


def test_previous_must_be_earlier_than_the_run(settings: Any) -> None:
    web, _, _ = corpus()
    ref = write_pages(settings, "web_pages", web)
    out = run_dedup(settings, [ref], "2026-01-01", engine="local")
    with pytest.raises(ValueError, match="published before"):
        run_dedup(settings, [ref], "2026-01-01", engine="local", previous=[out])


@pytest.mark.spark
def test_one_per_partition_gives_each_part_its_own_task(spark: Any) -> None:
    # part keys as the job has them (input index << 20 | part index), plus -1 (earlier snapshots)
    keys = [-1, *[(i << 20) | j for i in range(2) for j in range(7)]]
    rows = [(k, n) for k in keys for n in range(3)]
    df = _one_per_partition(spark.createDataFrame(rows, "src long, n long"), "src", keys)
    per_partition = df.rdd.glom().map(lambda part: sorted({r["src"] for r in part})).collect()
    assert len(per_partition) == len(keys)
    assert sorted(map(len, per_partition)) == [1] * len(keys)  # no collisions, no empty task
    # plain hash partitioning of the same keys collides (why the job does not use it)
    plain = spark.createDataFrame(rows, "src long, n long").repartition(len(keys), "src")
    assert 0 in plain.rdd.glom().map(len).collect()


@pytest.mark.spark
def test_spark_hash_long_matches_spark(spark: Any) -> None:
    from pyspark.sql import functions as F

    values = [0, 1, -1, 7, 2**31, -(2**31) - 1, 2**32 + 5, (3 << 20 | 11) << 32, 2**63 - 1, -(2**63)]
    got = spark.createDataFrame([(v,) for v in values], "v long").select("v", F.hash("v").alias("h")).collect()
    assert {r["v"]: r["h"] for r in got} == {v: spark_hash_long(v) for v in values}
