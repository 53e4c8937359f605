"""Every storage backend reads by line, by range and by stream, and every input kind ingests the same
on local disk and on S3 (a real SeaweedFS server). A storage failure is an infrastructure error
(StorageError: the task fails and retries), never a quarantined "corrupt" file."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.ingest.core import (
    KINDS,
    IngestParams,
    ingest_file,
    ingest_file_to_tables,
    list_inputs,
)
from sciforge.pipelines.storage import LocalStorage, S3Storage, StorageError, guarded_stream

pytestmark = pytest.mark.s3

LINES = [json.dumps({"id": f"d{i}", "text": f"line {i} " + "x" * (i * 37 % 300)}).encode() + b"\n"
         for i in range(2000)]  # ~340 KB: longer than one read-ahead buffer's worth of short reads
BLOB = b"".join(LINES)


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, s3_server):
    if request.param == "local":
        st = LocalStorage(str(tmp_path / "store"))
    else:
        st = S3Storage(f"s3://sciforge/streams-{tmp_path.name}", **s3_server.storage_options())
    st.check()
    st.write_bytes("in/a.jsonl", BLOB)
    st.write_bytes("in/a.jsonl.gz", gzip.compress(BLOB, mtime=0))
    return st


def test_open_input_reads_by_line_by_size_and_by_seek(storage):
    with storage.open_input("in/a.jsonl") as f:
        assert list(f) == LINES  # iteration by line
    with storage.open_input("in/a.jsonl") as f:
        assert f.readline() == LINES[0]
        assert f.read(5) == LINES[1][:5]
        f.seek(len(BLOB) - 10)
        assert f.read() == BLOB[-10:]
        f.seek(0)
        assert f.read() == BLOB
    with storage.open_input("in/a.jsonl.gz") as f, gzip.open(f) as g:
        assert list(g) == LINES  # a decoder stacked on the stream


def test_read_range(storage):
    assert storage.read_range("in/a.jsonl", 100, 50) == BLOB[100:150]
    assert storage.read_range("in/a.jsonl", len(BLOB) - 3, 50) == BLOB[-3:]  # short at the end
    assert storage.read_range("in/a.jsonl", len(BLOB) + 10, 5) == b""
    assert storage.read_range("in/a.jsonl", 0, 0) == b""


def test_missing_object_is_a_storage_error(storage):
    with pytest.raises(StorageError):
        storage.open_input("in/nope.jsonl")
    with pytest.raises(StorageError):
        list(ingest_file(storage, "in/nope.jsonl", IngestParams("jsonl", 1 << 20, 1 << 20, 100),
                         StageCounters()))


def test_every_input_kind_ingests_identically_on_every_backend(s3_server, demo_corpus, tmp_path):
    """The demo corpus's WARC, PDF and JSONL (plain and gzipped) files, from local disk and from S3:
    the same rows, quarantines and counters, file by file."""
    s3 = S3Storage(f"s3://sciforge/kinds-{tmp_path.name}", **s3_server.storage_options())
    s3.check()
    local_root = tmp_path / "landing"
    for kind in KINDS:
        for f in sorted((demo_corpus / kind).iterdir()):
            if f.name == "scanned_page.pdf":
                continue  # bytes are what matters here; OCR of a scan costs seconds and is the PDF area's
            (local_root / kind).mkdir(parents=True, exist_ok=True)
            (local_root / kind / f.name).write_bytes(f.read_bytes())
            s3.write_bytes(f"{kind}/{f.name}", f.read_bytes())
    gz = gzip.compress((demo_corpus / "jsonl" / "notes.jsonl").read_bytes(), mtime=0)
    (local_root / "jsonl" / "notes2.jsonl.gz").write_bytes(gz)
    s3.write_bytes("jsonl/notes2.jsonl.gz", gz)
    opts = s3_server.storage_options()

    for kind in KINDS:
        keys = list_inputs(LocalStorage(str(local_root / kind)), kind)
        assert keys and keys == list_inputs(S3Storage(f"{s3.root}/{kind}", **opts), kind)
        params = IngestParams(kind, 16 << 20, 64 << 20, 1000)
        for key in keys:
            on_disk = _events(str(local_root / kind), {}, key, params)
            on_s3 = _events(f"{s3.root}/{kind}", opts, key, params)
            assert on_s3 == on_disk, (kind, key)
            if kind == "jsonl":
                assert on_disk["counters"]["kept"] > 0, key  # lines were read, not one file-level error


def _events(root: str, opts: dict, key: str, params: IngestParams) -> dict:
    out: dict = {"kept": [], "quarantine": []}
    for what, table, counters in ingest_file_to_tables(root, opts, key, params):
        if what == "done":
            out["counters"] = counters.to_dict()
        else:
            out[what] += table.to_pylist()
    return out


def test_ingest_raises_when_s3_refuses_mid_run(s3_server, tmp_path):
    """Credentials refused (rotated, expired): the file is not quarantined, the task fails."""
    good = S3Storage(f"s3://sciforge/refuse-{tmp_path.name}", **s3_server.storage_options())
    good.check()
    good.write_bytes("a.jsonl", BLOB)
    bad = S3Storage(good.root, **s3_server.storage_options(secret="rotated-away"))
    with pytest.raises(StorageError):
        list(ingest_file(bad, "a.jsonl", IngestParams("jsonl", 1 << 20, 1 << 20, 100), StageCounters()))


class _Flaky(io.RawIOBase):
    """A backend file whose connection drops after ``ok`` bytes."""

    def __init__(self, data: bytes, ok: int) -> None:
        self.data, self.ok, self.pos = data, ok, 0

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self.ok:
            raise ConnectionResetError("connection reset by peer")
        chunk = self.data[self.pos:min(self.pos + n, self.ok)]
        self.pos += len(chunk)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset
        return offset

    def tell(self) -> int:
        return self.pos


def test_a_read_error_of_the_storage_is_not_a_content_error(tmp_path: Path):
    """gzip / warcio / JSON decoders raise OSError for bad bytes; a dropped connection underneath
    them must surface as StorageError, which no content handler catches."""
    gz = gzip.compress(BLOB, mtime=0)
    stream = guarded_stream(_Flaky(gz, len(gz) // 2), "s3://b/a.jsonl.gz")
    with pytest.raises(StorageError, match="connection reset"), gzip.open(stream) as g:
        for _ in g:
            pass


def test_demo_writes_its_sample_corpus_to_an_s3_landing_root(s3_server, tmp_path):
    """`sciforge demo` with ingest.landing_root on S3 lands the sample corpus there (not in a local
    folder named `s3:`)."""
    from sciforge.cli.demo import demo_landing
    from sciforge.pipelines.config import load_settings

    opts = s3_server.storage_options()
    root = f"s3://sciforge/demo-{tmp_path.name}/landing"
    s = load_settings(ingest={"landing_root": root},
                      storage={"s3_endpoint_url": s3_server.endpoint_url, "s3_access_key_id": opts["access_key"],
                               "s3_secret_access_key": opts["secret_key"]})

    def write(out):
        Path(out, "warc").mkdir(parents=True)
        Path(out, "warc", "a.warc.gz").write_bytes(b"warc bytes")

    st = S3Storage(f"{root}/dt=2026-01-01", **opts)
    st.check()
    st.write_bytes("stale.txt", b"old")
    assert demo_landing(s, "2026-01-01", True, write) == f"{root}/dt=2026-01-01"
    assert st.list("") == ["warc/a.warc.gz"] and st.read_bytes("warc/a.warc.gz") == b"warc bytes"
    assert not Path("s3:").exists()
