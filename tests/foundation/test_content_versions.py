"""Versions name their content: ingest hashes the landing files (relative path, size, sha256; never
where they are stored), every later stage hashes its parents' versions, so different inputs never
share a version (down to the corpus snapshot and the training runs named after it) and the same inputs
rewrite the same bytes under the same version. In-process engine: the Spark path shares this code
(jobs/ingest.py fingerprints through the same `distribute`)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import sciforge.pipelines.datasets as datasets
from sciforge.jobs.ingest import run_ingest
from sciforge.pipelines.config import REPO_ROOT, load_settings
from sciforge.pipelines.datasets import DatasetRef, fingerprint_file, inputs_fingerprint, read_manifest
from sciforge.pipelines.storage import LocalStorage, S3Storage, open_storage

DAY = "2026-01-01"
TOPICS = ("protein folding kinetics", "quantum error correction", "catalytic hydrogenation of alkenes",
          "sparse gaussian processes", "plasma confinement in tokamaks", "crystal field splitting")


def _notes(n: int, salt: str) -> str:
    lines = []
    for i in range(n):
        t = TOPICS[i % len(TOPICS)]
        text = (f"Note {salt}-{i} on {t}. We measure the rate constants and report the uncertainty of each "
                f"estimate; the model of {t} predicts the observed trend within two standard errors. ") * 3
        lines.append(json.dumps({"id": f"{salt}-{i}", "text": text}))
    return "\n".join(lines) + "\n"


def _landing(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


BASE = {"a.jsonl": _notes(6, "a"), "sub/b.jsonl": _notes(5, "b")}


def _parts(settings: Any, ref: DatasetRef) -> dict[str, str]:
    """sha256 of every file of a dataset, manifests without the recorded source location."""
    st = open_storage(settings.data_root, settings.storage_options())
    out = {}
    for key in st.list(ref.key):
        blob = st.read_bytes(key)
        if key.endswith("_manifest.json"):
            m = json.loads(blob)
            m["inputs"].pop("source", None)
            blob = json.dumps(m, sort_keys=True).encode()
        out[key] = hashlib.sha256(blob).hexdigest()
    return out


def test_fingerprint_streams_and_names_unreadable_files(tmp_path, monkeypatch):
    blob = bytes(range(256)) * 41 + b"tail"
    (tmp_path / "x.warc.gz").write_bytes(blob)
    (tmp_path / "gone.pdf").symlink_to(tmp_path / "missing-target.pdf")  # listed, cannot be opened
    monkeypatch.setattr(datasets, "FINGERPRINT_CHUNK_BYTES", 7)  # many chunks, one partial at the end
    st = LocalStorage(str(tmp_path))
    fp = fingerprint_file(st, "x.warc.gz")
    assert fp == {"path": "x.warc.gz", "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
    assert fingerprint_file(st, "gone.pdf") == {"path": "gone.pdf", "unreadable": True}
    # order-independent, and sensitive to a path, a size or a digest
    other = {**fp, "path": "y.warc.gz"}
    assert inputs_fingerprint([fp, other]) == inputs_fingerprint([other, fp])
    assert inputs_fingerprint([fp]) != inputs_fingerprint([other])
    assert inputs_fingerprint([fp]) != inputs_fingerprint([{**fp, "sha256": "0" * 64}])


def test_ingest_version_names_the_landing_content(settings, tmp_path):
    a = _landing(tmp_path / "landing-a", BASE)
    ref, km, _ = run_ingest(settings, str(a), "jsonl", DAY, engine="local")
    assert ref.version.startswith(f"{DAY}_") and len(ref.version) == len(DAY) + 1 + datasets.VERSION_HASH_CHARS
    landing = km["inputs"]["landing"]
    assert [f["path"] for f in landing] == ["a.jsonl", "sub/b.jsonl"]
    assert landing[0]["sha256"] == hashlib.sha256(BASE["a.jsonl"].encode()).hexdigest()
    assert km["inputs"]["bytes"] == sum(len(t.encode()) for t in BASE.values())
    first = _parts(settings, ref)

    # the same bytes in another folder: the same version, the same bytes (the source is only recorded)
    copy = shutil.copytree(a, tmp_path / "elsewhere" / "landing-copy")
    ref2, km2, _ = run_ingest(settings, str(copy), "jsonl", DAY, engine="local")
    assert ref2 == ref and _parts(settings, ref2) == first
    assert km2["inputs"]["source"] != km["inputs"]["source"]

    # one changed byte, one more file, one file less, one renamed file: each a new version
    changed = {**BASE, "a.jsonl": BASE["a.jsonl"].replace("Note a-0", "Note a-O")}
    variants = {
        "changed": changed,
        "added": {**BASE, "c.jsonl": _notes(2, "c")},
        "removed": {"a.jsonl": BASE["a.jsonl"]},
        "renamed": {"a2.jsonl": BASE["a.jsonl"], "sub/b.jsonl": BASE["sub/b.jsonl"]},  # rows record the path
    }
    versions = {ref.version}
    for name, files in variants.items():
        r, _, _ = run_ingest(settings, str(_landing(tmp_path / name, files)), "jsonl", DAY, engine="local")
        assert r.version not in versions, name
        versions.add(r.version)
    # and every one of them is still published next to the others (nothing overwritten)
    st = open_storage(settings.data_root)
    assert all(read_manifest(st, DatasetRef("raw", "text", v)) for v in versions)


@pytest.mark.s3
def test_the_same_landing_on_s3_gives_the_same_version_and_bytes(settings, tmp_path, s3_server):
    a = _landing(tmp_path / "landing", BASE)
    local_ref, _, _ = run_ingest(settings, str(a), "jsonl", DAY, engine="local")
    s3 = S3Storage("s3://sciforge/landing-versions/dt=2026-01-01/jsonl", **s3_server.storage_options())
    s3.check()
    for name, text in BASE.items():
        s3.write_bytes(name, text.encode())
    s3_settings = load_settings(storage={"data_root": str(tmp_path / "data-s3"), "s3_endpoint_url": s3_server.endpoint_url,
                                         "s3_access_key_id": s3_server.access_key,
                                         "s3_secret_access_key": s3_server.secret_key})
    s3_ref, km, _ = run_ingest(s3_settings, s3.root, "jsonl", DAY, engine="local")
    assert km["inputs"]["source"].startswith("s3://")
    assert s3_ref == local_ref
    assert _parts(s3_settings, s3_ref) == _parts(settings, local_ref)


def _chain(settings: Any, landing: Path) -> dict[str, DatasetRef]:
    """jsonl landing -> raw/text -> clean/text_pages -> clean/pages (dedup) -> corpus/snapshot."""
    from sciforge.jobs.corpus import run_corpus
    from sciforge.jobs.dedup import run_dedup
    from sciforge.jobs.runner import run_map_stage
    from sciforge.pipelines.pages import PAGE_SCHEMA
    from sciforge.pipelines.stage import MapStage
    from sciforge.pipelines.text_pages import QUARANTINE_SCHEMA, text_to_pages

    raw, _, _ = run_ingest(settings, str(landing), "jsonl", DAY, engine="local")
    stage = MapStage("text_pages", text_to_pages, PAGE_SCHEMA, QUARANTINE_SCHEMA)
    pages, _, _ = run_map_stage(settings, stage, raw, DAY, engine="local")
    dedup = run_dedup(settings, [pages], DAY, engine="local")
    snap = run_corpus(settings, dedup, DAY, engine="local")
    return {"raw": raw, "text_pages": pages, "dedup": dedup, "corpus": snap}


def test_different_landings_never_share_a_snapshot_or_a_training_run(tmp_path):
    from sciforge.model.train.config import TrainConfig

    settings = load_settings(storage={"data_root": str(tmp_path / "data")}, stages={"corpus": {"seq_len": 32}})
    a = _chain(settings, _landing(tmp_path / "a", BASE))
    b = _chain(settings, _landing(tmp_path / "b", {**BASE, "c.jsonl": _notes(3, "c")}))
    for stage in a:
        assert a[stage] != b[stage], stage  # one more landing file: a new version at every stage
    st = open_storage(settings.data_root)
    assert read_manifest(st, a["corpus"])["rows"] < read_manifest(st, b["corpus"])["rows"]

    # the same landing again (from another folder): every version and every byte the same
    digests = {k: _parts(settings, r) for k, r in a.items()}
    again = _chain(settings, Path(shutil.copytree(tmp_path / "a", tmp_path / "a-again")))
    assert again == a and {k: _parts(settings, r) for k, r in again.items()} == digests

    # a training run is named after the snapshot version (launch/train.run_training): different content
    # can never resume the other's run folder
    cfg = REPO_ROOT / "model/train/configs/cpt_tiny.yaml"
    runs = {k: TrainConfig.load(cfg, run=s["corpus"].version, out_dir=str(tmp_path / "ckpt")).run_dir()
            for k, s in (("a", a), ("b", b))}
    assert runs["a"] != runs["b"] and runs["a"].name == a["corpus"].version
