"""Lineage: the sample corpus through every stage (local engine), then sequences traced back to raw bytes."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from sciforge.pipelines.config import load_settings
from sciforge.pipelines.corpus.reader import CorpusSnapshot
from sciforge.pipelines.datasets import read_manifest, read_table
from sciforge.pipelines.lineage import (
    LINEAGE_SCHEMA,
    Snapshot,
    lineage_bytes,
    lineage_key,
    lineage_table,
    modality_spans,
    read_pieces,
    trace,
)
from sciforge.pipelines.storage import open_storage

DAY = "2026-01-01"
SEQ_LEN = 256  # several documents and page breaks per sequence, documents crossing sequences


@pytest.fixture(scope="module")
def chain(demo_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from sciforge.jobs.corpus import run_corpus
    from sciforge.jobs.dedup import run_dedup
    from sciforge.jobs.ingest import run_ingest
    from sciforge.jobs.pdf_parse import run_pdf_parse
    from sciforge.jobs.runner import run_map_stage
    from sciforge.jobs.web_filter import run_web_filter
    from sciforge.pipelines.stage import MapStage
    from sciforge.pipelines.text_pages import PAGE_SCHEMA, QUARANTINE_SCHEMA, text_to_pages

    root = str(tmp_path_factory.mktemp("lineage") / "data")
    s = load_settings(storage={"data_root": root}, stages={"corpus": {"seq_len": SEQ_LEN, "num_shards": 2}})
    raw = {k: run_ingest(s, str(demo_corpus / k), k, DAY, engine="local")[0] for k in ("warc", "pdf", "jsonl")}
    web = run_web_filter(s, raw["warc"], DAY, engine="local")
    pdf = run_pdf_parse(s, raw["pdf"], DAY, engine="local")
    text = run_map_stage(s, MapStage("text_pages", text_to_pages, PAGE_SCHEMA, QUARANTINE_SCHEMA), raw["jsonl"], DAY,
                         engine="local")[0]
    pages = run_dedup(s, [web, pdf, text], DAY, engine="local")
    snap = run_corpus(s, pages, DAY, engine="local")
    return {"settings": s, "root": root, "landing": demo_corpus, "pages": pages, "snapshot": snap,
            "again": lambda: run_corpus(s, pages, DAY, engine="local")}


def _all_traces(chain: dict[str, Any]) -> list[dict[str, Any]]:
    st = open_storage(chain["root"])
    snap = Snapshot.open(st, chain["snapshot"])
    return [trace(st, chain["snapshot"], *snap.locate(g)) for g in range(snap.n_sequences)]


def test_pieces_tile_every_sequence_and_match_the_shard_index(chain: dict[str, Any]) -> None:
    st = open_storage(chain["root"])
    ref = chain["snapshot"]
    reader = CorpusSnapshot.open(chain["root"], ref)
    docs = {}
    for f in read_manifest(st, ref)["files"]:
        if f["path"].startswith("documents-"):
            docs[int(f["path"][10:15])] = pq.read_table(Path(chain["root"]) / ref.key / f["path"])
    snap = Snapshot.open(st, ref)
    assert snap.n_sequences == len(reader) > 4
    for g in range(snap.n_sequences):
        shard, seq = snap.locate(g)
        t = read_pieces(st, lineage_key(ref.key, shard), seq)
        tokens, doc_numbers = reader.sequence(g)
        starts, lengths = t.column("start").to_pylist(), t.column("length").to_pylist()
        assert starts[0] == 0 and all(a + n == b for a, n, b in zip(starts, lengths, starts[1:], strict=False))
        used = starts[-1] + lengths[-1]
        assert (tokens[used:] == reader.meta["pad_id"]).all()  # the rest is padding
        ids = docs[shard].column("doc_id").to_pylist()
        for a, n, d, doc_id in zip(starts, lengths, t.column("doc").to_pylist(), t.column("doc_id").to_pylist(),
                                   strict=True):
            assert (doc_numbers[a:a + n] == d).all() and ids[d] == doc_id


def test_trace_reaches_the_raw_warc_record_pdf_page_and_jsonl_line(chain: dict[str, Any]) -> None:
    import warcio

    st = open_storage(chain["root"])
    pages = read_table(st, chain["pages"], ["doc_id", "page", "text"]).to_pylist()
    text_of = {(r["doc_id"], r["page"]): r["text"] for r in pages}
    reader = CorpusSnapshot.open(chain["root"], chain["snapshot"])
    tok = reader.tokenizer()
    kinds: dict[str, int] = {}
    dropped = 0
    for t in _all_traces(chain):
        tokens = reader.sequence(t["global_seq"])[0]
        for p in t["pieces"]:
            raw = p["raw"]
            kinds[raw["kind"]] = kinds.get(raw["kind"], 0) + 1
            # the piece's tokens are text of the page it names
            piece = tok.decode(tokens[p["start"]:p["start"] + p["length"]].tolist(), skip_special_tokens=True).strip()
            words = piece.split()[1:-1]  # the ends may be cut inside a word (or hold the separator)
            assert " ".join(words) in " ".join(text_of[(p["doc_id"], p["page"])].split())
            stages = [c["stage"] for c in p["chain"]]
            assert stages[0] == "dedup" and stages[-1] == "ingest" and all(c.get("config_hash") for c in p["chain"])
            dropped += len(p["chain"][0]["duplicates_dropped"])
            location = Path(raw["location"])
            assert hashlib.sha256(location.read_bytes()).hexdigest() == raw["file_sha256"]
            if raw["kind"] == "warc":
                with location.open("rb") as f:
                    f.seek(raw["warc_offset"])
                    rec = next(iter(warcio.ArchiveIterator(f)))
                assert rec.rec_headers.get_header("WARC-Record-ID") == raw["record_id"]
                assert rec.rec_headers.get_header("WARC-Target-URI") == raw["url"]
                web = p["chain"][1]
                assert web["domain_decision"] in ("keep", "rewrite", "page_level")
                assert web["domain_evidence"]["domain"] == web["domain"]
            elif raw["kind"] == "pdf":
                assert hashlib.sha256(location.read_bytes()).hexdigest() == raw["sha256"] == p["doc_id"]
                assert 1 <= raw["page"] <= raw["page_count"] and p["chain"][1]["route"] in ("text", "math", "scan")
            else:
                opener = gzip.open if location.suffix == ".gz" else open
                with opener(location, "rb") as f:
                    line = f.read().split(b"\n")[raw["line"] - 1]  # 1-based line numbers
                assert json.loads(line)["id"] == raw["record_id"] == p["doc_id"].removeprefix("text:")
    assert set(kinds) == {"warc", "pdf", "jsonl"}, kinds
    assert dropped > 0  # the sample corpus has duplicates: some kept page names what was dropped for it


def test_token_lookup_names_its_piece_and_modality(chain: dict[str, Any]) -> None:
    st = open_storage(chain["root"])
    reader = CorpusSnapshot.open(chain["root"], chain["snapshot"])
    ranges = reader.meta["tokenizer"]["modality_ranges"]
    smiles = 0
    for g in range(len(reader)):
        tokens = reader.sequence(g)[0]
        hit = np.flatnonzero((tokens >= ranges["smiles"][0]) & (tokens < ranges["smiles"][1]))
        if len(hit):
            shard, seq = Snapshot.open(st, chain["snapshot"]).locate(g)
            t = trace(st, chain["snapshot"], shard, seq, token=int(hit[0]), upstream=False)
            (p,) = t["pieces"]
            assert p["token"]["modality"] == "smiles" and p["token"]["id"] == int(tokens[hit[0]])
            assert p["start"] <= hit[0] < p["start"] + p["length"]
            smiles += 1
    assert smiles > 0
    with pytest.raises(IndexError):
        trace(st, chain["snapshot"], 0, 10**6)
    with pytest.raises(IndexError, match="no shard 99"):
        trace(st, chain["snapshot"], 99, 0)


def test_lineage_files_are_small_published_and_byte_identical(chain: dict[str, Any]) -> None:
    st = open_storage(chain["root"])
    m = read_manifest(st, chain["snapshot"])
    lin = [f for f in m["files"] if f["path"].startswith("lineage/")]
    shards = [f for f in m["files"] if f["path"].endswith(".bin")]
    assert len(lin) == len(shards) and all(f["kind"] == "lineage" and f["rows"] > 0 for f in lin)
    # the manifest's rows are the snapshot's documents: the index's pieces are not counted as rows
    docs = [f for f in m["files"] if f["path"].startswith("documents-")]
    assert m["rows"] == sum(f["rows"] for f in docs) > 0
    again = chain["again"]()
    assert again == chain["snapshot"]
    assert {f["path"]: f["sha256"] for f in read_manifest(st, again)["files"]} == \
        {f["path"]: f["sha256"] for f in m["files"]}


def test_lineage_table_splits_pages_across_sequences() -> None:
    t = lineage_table(np.array([0, 7], dtype=np.uint64), ["a", "b"], [0, 1], [[(1, 3), (2, 4)], [(0, 10)]], 5)
    rows = [(r["seq"], r["start"], r["length"], r["doc_id"], r["page"], r["page_offset"]) for r in t.to_pylist()]
    assert rows == [(0, 0, 3, "a", 1, 0), (0, 3, 2, "a", 2, 0), (1, 0, 2, "a", 2, 2), (1, 2, 3, "b", 0, 0),
                    (2, 0, 5, "b", 0, 3), (3, 0, 2, "b", 0, 8)]
    assert t.schema == LINEAGE_SCHEMA and lineage_bytes(t) == lineage_bytes(t)
    assert modality_spans(np.array([1, 2, 9, 9, 3]), {"text": [0, 5], "smiles": [5, 10]}) == [
        ("text", 0, 2), ("smiles", 2, 4), ("text", 4, 5)]


def test_trace_reads_a_snapshot_on_s3(chain: dict[str, Any], s3_server: Any) -> None:
    local = open_storage(chain["root"])
    s3 = open_storage("s3://sciforge/lineage-test", s3_server.storage_options())
    ref = chain["snapshot"]
    keys = [k for k in local.list("") if not k.startswith("_staging")]
    for k in keys:
        s3.write_bytes(k, local.read_bytes(k))
    snap = Snapshot.open(local, ref)
    shard, seq = snap.locate(snap.n_sequences - 1)
    a, b = trace(local, ref, shard, seq), trace(s3, ref, shard, seq)
    assert a == b and a["pieces"]
