import json

import pyarrow as pa
import pytest

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import (
    MANIFEST,
    DatasetCorrupt,
    DatasetNotPublished,
    DatasetRef,
    DatasetWriter,
    list_versions,
    make_version,
    read_manifest,
    read_table,
    verify,
    write_dataset,
)
from sciforge.pipelines.stage import BatchResult
from sciforge.pipelines.storage import LocalStorage

REF = DatasetRef("clean", "things", make_version("2026-01-01", {"a": 1}))


def _tables():
    return [pa.table({"id": [1, 2], "text": ["a", "b"]}), pa.table({"id": [3], "text": ["c"]})]


def test_round_trip_and_manifest_contents(tmp_path):
    st = LocalStorage(str(tmp_path))
    c = StageCounters(input=4, kept=3)
    c.drop("too_short")
    m = write_dataset(st, REF, _tables(), counters=c, config={"a": 1}, logical_date="2026-01-01",
                      parents=[DatasetRef("raw", "x", "v")])
    assert read_table(st, REF).to_pydict() == {"id": [1, 2, 3], "text": ["a", "b", "c"]}
    assert m["rows"] == 3 and len(m["files"]) == 2
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in m["files"])
    assert m["schema"] == [{"name": "id", "type": "int64"}, {"name": "text", "type": "string"}]
    assert m["counters"]["dropped"] == {"too_short": 1}
    assert m["parents"] == [{"zone": "raw", "name": "x", "version": "v"}]
    assert m["code_version"] and m["config_hash"]
    assert json.loads((tmp_path / REF.key / MANIFEST).read_text()) == m
    assert list_versions(st, "clean", "things") == [REF.version]


def test_version_depends_on_date_and_config():
    assert make_version("2026-01-01", {"a": 1}) == make_version("2026-01-01T12:00:00", {"a": 1})
    assert make_version("2026-01-01", {"a": 1}) != make_version("2026-01-02", {"a": 1})
    assert make_version("2026-01-01", {"a": 1}) != make_version("2026-01-01", {"a": 2})
    assert make_version("2026-01-01", {"a": 1}).startswith("2026-01-01_")


def test_rewrite_is_byte_identical(tmp_path):
    st = LocalStorage(str(tmp_path))
    write_dataset(st, REF, _tables(), config={"a": 1})
    first = {p.name: p.read_bytes() for p in (tmp_path / REF.key).iterdir()}
    write_dataset(st, REF, _tables(), config={"a": 1})
    second = {p.name: p.read_bytes() for p in (tmp_path / REF.key).iterdir()}
    assert first == second


def test_readers_refuse_unpublished_dataset(tmp_path):
    st = LocalStorage(str(tmp_path))
    w = DatasetWriter(st, REF, schema=_tables()[0].schema)
    w.write(_tables()[0])
    with pytest.raises(DatasetNotPublished, match="no _manifest.json"):
        read_table(st, REF)  # parts are staged, nothing is published yet
    w.publish()
    assert read_table(st, REF).num_rows == 2
    (tmp_path / REF.key / MANIFEST).unlink()
    with pytest.raises(DatasetNotPublished):
        read_manifest(st, REF)


def test_verify_detects_a_changed_part(tmp_path):
    st = LocalStorage(str(tmp_path))
    m = write_dataset(st, REF, _tables())
    verify(st, REF)
    part = tmp_path / REF.key / m["files"][0]["path"]
    part.write_bytes(part.read_bytes()[:-1] + b"\x00")
    with pytest.raises(DatasetCorrupt, match="sha256"):
        verify(st, REF)


def test_empty_dataset_keeps_its_schema(tmp_path):
    st = LocalStorage(str(tmp_path))
    schema = pa.schema([("id", pa.int64())])
    m = write_dataset(st, REF, [], schema=schema)
    assert m["rows"] == 0 and read_table(st, REF).schema == schema


def test_quarantine_rows_need_a_reason():
    with pytest.raises(ValueError, match="reason"):
        BatchResult(kept=pa.table({"a": [1]}), quarantined=pa.table({"a": [2]}))
    BatchResult(kept=pa.table({"a": [1]}), quarantined=pa.table({"a": [2], "reason": ["x"]}))
