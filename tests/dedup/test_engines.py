"""The answer does not depend on the engine: the local reference and the Spark job (local[2])
publish the same rows on planted corpora whose LSH buckets hold pages far apart (a chain
component where a bucket's longest or earliest page is a poor star centre), ties, empty and
invalid pages, and huge pages sharing only a prefix."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest

from sciforge.jobs.dedup import run_dedup
from sciforge.pipelines.datasets import DatasetRef, read_manifest, read_table, write_dataset
from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.decide import UnionFind
from sciforge.pipelines.dedup.features import exact_shingle_sets
from sciforge.pipelines.dedup.local import dedup_tables
from sciforge.pipelines.dedup.minhash import exact_jaccard
from sciforge.pipelines.pages import PAGE_SCHEMA
from sciforge.pipelines.storage import open_storage
from tests.dedup.fixtures import corpus, mutate, page, words, write_pages

SORT = [("source", "ascending"), ("doc_id", "ascending"), ("page", "ascending")]


def boilerplate_chain(n: int, seed: int = 3, max_tail: int = 20) -> list[dict[str, Any]]:
    """One 100-word paragraph shared by ``n`` single-page documents, each followed by its own
    tail of 0..``max_tail`` words: two documents are near duplicates only when their tails are
    short together, so the exact-Jaccard graph is one component (or nearly: LSH misses a few
    of the weakest links) whose LSH buckets mix pages far apart, and a bucket's longest (or
    earliest) page is a poor single star centre. Rows are shuffled: input order means nothing."""
    rng = random.Random(seed)
    para = words(rng, 100)
    rows = []
    for i in range(n):
        tail = " ".join(f"u{i}{w}" for w in words(rng, rng.randrange(max_tail + 1)).split())
        rows.append(page(f"bp{i:04d}", 0, "web", f"{para} {tail}"))
    rng.shuffle(rows)
    return rows


def true_components(rows: list[dict[str, Any]], cfg: DedupConfig) -> int:
    """Connected components of the exact-Jaccard graph (J >= threshold) over the pages with
    text: what a perfect single-page dedup keeps."""
    sets = exact_shingle_sets([r["text"] for r in rows], cfg)
    idx = [i for i, s in enumerate(sets) if s]
    uf = UnionFind(len(rows))
    for a in range(len(idx)):
        for b in range(a + 1, len(idx)):
            if exact_jaccard(sets[idx[a]], sets[idx[b]]) >= cfg.threshold:
                uf.union(idx[a], idx[b])
    return len({uf.find(i) for i in idx})


def _kept(rows: list[dict[str, Any]], cfg: DedupConfig) -> list[str]:
    res = dedup_tables(pa.Table.from_pylist(rows, schema=PAGE_SCHEMA), cfg)
    assert res.kept.num_rows + res.quarantined.num_rows == len(rows)
    return res.kept.column("doc_id").to_pylist()


def test_boilerplate_paragraph_component_does_not_depend_on_centres_or_order() -> None:
    rows = boilerplate_chain(300)
    cfg = DedupConfig()
    assert true_components(rows, cfg) == 1
    kept = _kept(rows, cfg)
    # every pair sharing a bucket verified (centres >= any bucket): the most LSH can link
    assert kept == _kept(rows, cfg.model_copy(update={"lsh_centers": 10_000}))
    assert len(kept) <= 20  # the few left are pages LSH never paired with a true neighbour
    # one star centre per bucket loses most of the component (the single-centre rule)
    assert len(_kept(rows, cfg.model_copy(update={"lsh_centers": 1}))) > len(kept)
    # the input order changes nothing
    assert _kept(list(reversed(rows)), cfg) == kept


def _mixed(seed: int) -> list[dict[str, Any]]:
    """Planted corpus: the chain (scaled), near-duplicate clusters with equal lengths (ties),
    exact copies, empty pages, the shared corpus() fixture."""
    rng = random.Random(seed)
    web, pdf, _ = corpus(seed)
    rows = web + pdf + boilerplate_chain(120, seed)
    for c in range(6):
        base = words(rng, rng.randrange(30, 200))
        for k in range(rng.randrange(2, 6)):
            # the same number of words replaced: many copies of the same length (ties)
            rows.append(page(f"cl{c}_{k}", 0, "web", mutate(rng, base, 0.03)))
        rows.append(page(f"cl{c}_x", 0, "web", base))
    rows.append(page("empty2", 0, "web", ""))
    rng.shuffle(rows)
    return rows


BINARY_SCHEMA = pa.schema([f if f.name != "text" else pa.field("text", pa.binary()) for f in PAGE_SCHEMA])


def binary_pages(rows: list[dict[str, Any]]) -> pa.Table:
    """Pages whose text column is binary (bytes never checked as UTF-8), as a raw-text
    source maps them to the contract; ``text`` may be bytes or str."""
    rows = [{**r, "text": r["text"].encode("utf-8") if isinstance(r["text"], str) else r["text"]} for r in rows]
    return pa.Table.from_pylist(rows, schema=BINARY_SCHEMA)


def _binary_input(settings: Any, seed: int) -> DatasetRef:
    rng = random.Random(100 + seed)
    text = words(rng, 80)
    rows = [page("bin_ok", 0, "text", text), page("bin_copy", 0, "text", text),
            page("bin_bad", 0, "text", b"caf\xe9 \xff broken " + text.encode()),
            page("bin_bad2", 0, "text", b"\xc3\x28 invalid continuation")]
    ref = DatasetRef("clean", "text_pages", "2026-01-01_test")
    write_dataset(open_storage(settings.data_root, settings.storage_options()), ref,
                  [binary_pages(rows)], schema=BINARY_SCHEMA, logical_date="2026-01-01")
    return ref


def _published(settings: Any, ref: DatasetRef) -> tuple[pa.Table, pa.Table]:
    st = open_storage(settings.data_root, settings.storage_options())
    return read_table(st, ref).sort_by(SORT), read_table(st, ref.quarantine()).sort_by(SORT)


def long_prefix_pair(rng: random.Random, prefix_words: int, tail_words: int) -> list[dict[str, Any]]:
    """Two long documents sharing only their first ``prefix_words`` words, and a third that is
    the first one with a word changed near its end (a true near duplicate)."""
    head = words(rng, prefix_words)
    a, b = f"{head} {words(rng, tail_words)}", f"{head} {words(rng, tail_words)}"
    return [page("long_a", 0, "web", a), page("long_b", 0, "web", b),
            page("long_a2", 0, "web", a.rsplit(" ", 2)[0] + " zzfinal")]


def partial_copies(seed: int) -> list[dict[str, Any]]:
    """Containment cases: excerpts cut from longer articles (verbatim and with a word
    changed), a quote contained in two unrelated articles (a hub: the articles stay), two
    pages of similar length each mostly inside the other (only the worse-ranked one goes),
    an excerpt and its near duplicate (one component, contained as a whole), unrelated
    short pages."""
    rng = random.Random(200 + seed)
    rows = []
    for i in range(6):
        art = words(rng, rng.randrange(300, 700)).split()
        rows.append(page(f"src{i}", 0, "web", " ".join(art)))
        s = rng.randrange(0, len(art) - 120)
        cut = " ".join(art[s: s + rng.randrange(40, 120)])
        rows.append(page(f"cut{i}", 0, "web", cut if i % 2 else mutate(rng, cut, 0.02)))
        rows.append(page(f"ctl{i}", 0, "web", words(rng, rng.randrange(25, 120))))
    quote = words(rng, 60)
    rows += [page("hub_a", 0, "web", f"{words(rng, 300)} {quote} {words(rng, 200)}"),
             page("hub_b", 0, "web", f"{words(rng, 250)} {quote} {words(rng, 250)}"),
             page("hub_q", 0, "web", quote)]
    core = words(rng, 200)
    rows += [page("mut_a", 0, "web", f"{core} {words(rng, 30)}"), page("mut_b", 0, "web", f"{core} {words(rng, 25)}")]
    art = words(rng, 500).split()
    exc = " ".join(art[100:180])
    rows += [page("nd_src", 0, "web", " ".join(art)), page("nd_x", 0, "web", exc),
             page("nd_y", 0, "web", mutate(rng, exc, 0.02))]
    return rows


@pytest.mark.spark
@pytest.mark.parametrize("seed,stages", [(0, {}), (1, {"max_minhash_chars": 2000, "numbers": "zero"}),
                                         (2, {"containment": "on"})],
                         ids=["defaults", "short-minhash-zero-numbers", "containment"])
def test_local_and_spark_publish_the_same_rows(spark: Any, tmp_path: Any, seed: int, stages: dict) -> None:
    from sciforge.pipelines.config import load_settings

    settings = load_settings(storage={"data_root": str(tmp_path / "data")}, stages={"dedup": stages})
    rows = _mixed(seed) + long_prefix_pair(random.Random(seed), 400, 1500)
    if stages.get("containment") == "on":
        rows += partial_copies(seed)
    web = [r for r in rows if r["source"] == "web"]
    pdf = [r for r in rows if r["source"] != "web"]
    refs = [write_pages(settings, "web_pages", web, rows_per_part=50),
            write_pages(settings, "pdf_pages", pdf, rows_per_part=5), _binary_input(settings, seed)]
    st = open_storage(settings.data_root, settings.storage_options())
    # both runs publish the same version (same inputs and config): read each right after it
    local = run_dedup(settings, refs, "2026-01-01", engine="local")
    (kl, ql), cl = _published(settings, local), read_manifest(st, local)["counters"]
    remote = run_dedup(settings, refs, "2026-01-01", engine="spark", spark=spark)
    (ks, qs), cs = _published(settings, remote), read_manifest(st, remote)["counters"]
    assert remote == local
    assert "cc_rounds" not in cl["metrics"] and "cc_rounds" in cs["metrics"]  # two different runs
    assert ks.equals(kl) and qs.equals(ql)
    for k in ("cc_rounds", "cc_single_task"):  # how the Spark job computed its components
        cs["metrics"].pop(k)
    assert cs == cl  # the same candidate and verified edges, components, reasons
    kept = {r["doc_id"] for r in kl.select(["doc_id"]).to_pylist()}
    reasons = {r["doc_id"]: r["reason"] for r in ql.select(["doc_id", "reason"]).to_pylist()}
    assert reasons["bin_bad"] == reasons["bin_bad2"] == "invalid_utf8"
    assert reasons["bin_ok"] == "exact_duplicate" and "bin_copy" in kept  # same text: smaller key kept
    bad = {r["doc_id"]: r["text"] for r in ql.select(["doc_id", "text"]).to_pylist()}["bin_bad"]
    assert bad.startswith("caf\ufffd \ufffd broken")  # published, undecodable bytes as U+FFFD
    # huge pages: the MinHash sees the shared prefix only, the exact check the whole text
    assert "long_b" in kept and len({"long_a", "long_a2"} & kept) == 1
    # the boilerplate paragraph's component is (nearly) whole in both
    assert sum(d.startswith("bp") for d in kept) <= 10
    if stages.get("containment") == "on":
        contained = {r["doc_id"]: (r["representative"], r["containment"])
                     for r in ql.to_pylist() if r["reason"] == "contained"}
        assert all(f"web:src{i}#0" == contained[f"cut{i}"][0] for i in range(6))
        assert not any(d.startswith("ctl") for d in contained)
        assert {"hub_a", "hub_b", "nd_src"} <= kept and "hub_q" in contained
        assert len({"mut_a", "mut_b"} & kept) == 1 and len({"nd_x", "nd_y"} & kept) == 0
        assert all(0.8 <= c <= 1.0 for _, c in contained.values())
        assert cs["metrics"]["containment_edges"] >= len(contained)
    else:
        assert "containment" not in ql.column_names and "contained" not in cl["dropped"]
