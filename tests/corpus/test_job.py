from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from sciforge.jobs.corpus import documents_table, run_corpus
from sciforge.pipelines.config import load_settings
from sciforge.pipelines.corpus.reader import CorpusLoader, CorpusSnapshot
from sciforge.pipelines.datasets import DatasetRef, read_manifest, write_dataset
from sciforge.pipelines.pages import PAGE_SCHEMA
from sciforge.pipelines.storage import open_storage

FIELDS = ["chemistry", "physics", "life_science", ""]
PROTEIN = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVV"


def page_rows(n: int, start: int = 0) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {k: [] for k in ("doc_id", "page", "source", "url", "domain", "field", "text")}
    for i in range(start, start + n):
        f = FIELDS[i % len(FIELDS)]
        extra = {"chemistry": " The ester CC(=O)Oc1ccccc1C(=O)O hydrolyses.", "life_science": f" Sequence {PROTEIN}."}
        for page in range(1 + (i % 3 == 0)):  # every third document has two pages
            rows["doc_id"].append(f"doc-{i:04d}")
            rows["page"].append(page)
            rows["source"].append("pdf" if page else "web")
            rows["url"].append(f"https://site{i % 5}.org/{i}")
            rows["domain"].append(f"site{i % 5}.org")
            rows["field"].append(f)
            rows["text"].append(f"Document {i} page {page}. " + "Words about science. " * (5 + i % 7)
                                + extra.get(f, ""))
    rows["doc_id"].append(f"empty-{start}")
    rows["page"].append(0)
    for k in ("source", "url", "domain", "field"):
        rows[k].append("")
    rows["text"].append("   ")
    return rows


def make_pages(settings: Any) -> DatasetRef:
    storage = open_storage(settings.data_root, settings.storage_options())
    schema = PAGE_SCHEMA
    ref = DatasetRef("clean", "pages", "2026-01-01_fixture")
    write_dataset(storage, ref, [pa.table(page_rows(40, 0), schema=schema), pa.table(page_rows(40, 40), schema=schema)],
                  schema=schema, logical_date="2026-01-01")
    return ref


def with_corpus(settings: Any, **corpus: Any) -> Any:
    return load_settings(storage={"data_root": settings.storage.data_root}, stages={"corpus": corpus})


def shard_digests(settings: Any, ref: DatasetRef) -> dict[str, str]:
    m = read_manifest(open_storage(settings.data_root), ref)
    return {f["path"]: f["sha256"] for f in m["files"]}


def test_snapshot_local_end_to_end(settings: Any) -> None:
    s = with_corpus(settings, seq_len=64, num_shards=3, mixture={"chemistry": 2.0, "physics": 1.0})
    pages = make_pages(s)
    ref = run_corpus(s, pages, "2026-01-01", engine="local")
    storage = open_storage(s.data_root)
    m = read_manifest(storage, ref)
    paths = {f["path"] for f in m["files"]}
    assert {"corpus.json", "tokenizer/sciforge_tokenizer.json", "tokenizer/tokenizer_config.json"} <= paths
    assert any(p.endswith(".bin") for p in paths) and any(p.endswith(".idx") for p in paths)
    assert not storage.list(f"{ref.key}/_work")
    for f in m["files"]:  # checksums as the data contract computes them
        assert hashlib.sha256(storage.read_bytes(f"{ref.key}/{f['path']}")).hexdigest() == f["sha256"]
    assert m["counters"]["input"] == 80 + 27 + 2  # documents, second pages, empty pages and m["counters"]["dropped"]["empty_text"] == 2
    meta = json.loads(storage.read_bytes(f"{ref.key}/corpus.json"))
    assert meta["tokenizer"]["hash"] == m["config"]["tokenizer_hash"]
    assert meta["tokens_per_modality"]["smiles"] > 0 and meta["tokens_per_modality"]["protein"] > 0
    assert m["counters"]["metrics"]["tokens/modality/smiles"] == meta["tokens_per_modality"]["smiles"]
    shares = meta["mixture"]["shares"]
    natural = meta["mixture"]["natural_tokens"]
    listed = natural["chemistry"] + natural["physics"]
    # chemistry asked for twice physics' share: whole-document rounding keeps it close
    assert shares["chemistry"] / shares["physics"] == pytest.approx(2.0, rel=0.25)
    assert (meta["mixture"]["tokens"]["chemistry"] + meta["mixture"]["tokens"]["physics"]) == pytest.approx(listed, rel=0.25)

    snap = CorpusSnapshot.open(s.data_root, ref, verify=True)
    assert len(snap) == meta["sequences"] > 0
    tok = snap.tokenizer()
    docs = documents_table(s, ref)
    dropped = m["counters"]["dropped"].get("documents_downsampled", 0)
    assert 0 < dropped < 20  # physics is down-sampled to make room for chemistry
    assert len(set(docs.column("doc_id").to_pylist())) == 80 - dropped  # every other document made it in
    # decode the whole stream: every document is one of ours, whole, pages in order
    stream = np.concatenate([snap.sequence(i)[0] for i in range(len(snap))])
    text = tok.decode(stream.tolist(), skip_special_tokens=True)
    assert "Document 0 page 0." in text and "Document 0 page 1." in text
    assert text.index("Document 3 page 0.") < text.index("Document 3 page 1.")
    loader = CorpusLoader(snap, batch_size=2, rank=0, world_size=1, seed=3)
    batch = next(iter(loader))
    assert batch["input_ids"].shape == (2, 64) and batch["doc_ids"].shape == (2, 64)
    assert (batch["labels"][batch["input_ids"] == tok.pad_id] == -100).all()
    state = loader.state_dict()
    nxt = next(iter(loader))
    resumed = CorpusLoader(snap, batch_size=2, seed=3)
    resumed.load_state_dict(state)
    assert (next(iter(resumed))["input_ids"] == nxt["input_ids"]).all()

    # same inputs + config => the same version, byte for byte
    first = shard_digests(s, ref)
    again = run_corpus(s, pages, "2026-01-01", engine="local")
    assert again == ref and shard_digests(s, again) == first


@pytest.mark.spark
def test_snapshot_spark_matches_local(settings: Any, spark: Any) -> None:
    s = with_corpus(settings, seq_len=128, num_shards=2)
    pages = make_pages(s)
    ref = run_corpus(s, pages, "2026-01-01", engine="local")
    local = shard_digests(s, ref)
    ref2 = run_corpus(s, pages, "2026-01-01", engine="spark", spark=spark)
    assert ref2 == ref
    assert {k: v for k, v in shard_digests(s, ref2).items()} == local


def test_unpublished_input_is_refused(settings: Any) -> None:
    from sciforge.pipelines.datasets import DatasetNotPublished

    with pytest.raises(DatasetNotPublished):
        run_corpus(settings, DatasetRef("clean", "pages", "nope"), "2026-01-01", engine="local")


def test_corpus_cli_info_and_sample(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import sciforge.pipelines.config as config
    from sciforge.cli.corpus import app

    s = with_corpus(settings, seq_len=32, num_shards=1)
    ref = run_corpus(s, make_pages(s), "2026-01-01", engine="local")
    monkeypatch.setattr(config, "get_settings", lambda: s)
    runner = CliRunner()
    r = runner.invoke(app, ["info", str(ref)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["seq_len"] == 32
    r = runner.invoke(app, ["sample", str(ref), "--index", "0"])
    assert r.exit_code == 0 and "--- document" in r.output


@pytest.mark.s3
def test_snapshot_on_s3_matches_local_and_reads_back(settings: Any, s3_server: Any, tmp_path: Any) -> None:
    local = with_corpus(settings, seq_len=64, num_shards=2)
    ref = run_corpus(local, make_pages(local), "2026-01-01", engine="local")
    opts = s3_server.storage_options()
    s3 = load_settings(storage={"data_root": "s3://sciforge/corpus-test", "s3_endpoint_url": opts["endpoint_url"],
                                "s3_access_key_id": opts["access_key"], "s3_secret_access_key": opts["secret_key"]},
                       stages={"corpus": {"seq_len": 64, "num_shards": 2}})
    open_storage(s3.data_root, s3.storage_options()).check()
    ref_s3 = run_corpus(s3, make_pages(s3), "2026-01-01", engine="local")
    assert ref_s3 == ref
    m_local = read_manifest(open_storage(local.data_root), ref)
    m_s3 = read_manifest(open_storage(s3.data_root, s3.storage_options()), ref_s3)
    assert [f["sha256"] for f in m_local["files"]] == [f["sha256"] for f in m_s3["files"]]
    snap = CorpusSnapshot.open(s3.data_root, ref_s3, s3.storage_options(), cache_dir=tmp_path / "cache", verify=True)
    snap_local = CorpusSnapshot.open(local.data_root, ref)
    assert len(snap) == len(snap_local) > 0
    assert (snap.sequence(len(snap) - 1)[0] == snap_local.sequence(len(snap) - 1)[0]).all()


def test_all_pages_empty_gives_an_empty_snapshot_and_a_quarantine(settings: Any) -> None:
    s = with_corpus(settings, seq_len=16)
    storage = open_storage(s.data_root)
    schema = pa.schema([("doc_id", pa.string()), ("page", pa.int32()), ("field", pa.string()), ("text", pa.string())])
    pages = DatasetRef("clean", "pages", "2026-01-02_empty")
    write_dataset(storage, pages, [pa.table({"doc_id": ["a", "b"], "page": [0, 0], "field": ["", "physics"],
                                             "text": ["", "  \n"]}, schema=schema)], schema=schema)
    ref = run_corpus(s, pages, "2026-01-02", engine="local")
    m = read_manifest(storage, ref)
    assert m["counters"]["dropped"] == {"empty_text": 2} and m["counters"]["kept"] == 0
    q = read_manifest(storage, ref.quarantine())
    assert q["rows"] == 2
    snap = CorpusSnapshot.open(s.data_root, ref)
    assert len(snap) == 0
    with pytest.raises(ValueError, match="cannot fill"):
        CorpusLoader(snap, batch_size=1)
