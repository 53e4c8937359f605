"""Versioned datasets: the data contract every stage honours.

A dataset is ``<data_root>/<zone>/<name>/<version>/`` holding Parquet parts and a
``_manifest.json`` that is written LAST. No manifest means not published: readers refuse it.

The version is ``<logical date>_<12 hex>``, the hex a hash of what the content depends on: the stage's
configuration and its inputs, i.e. the parent datasets' versions, and for ingest the fingerprint of
the landing files (``fingerprint_file``: relative path, size, sha256; never a URI or an mtime). So
different inputs never publish under the same version, and re-running an interval on the same inputs
rewrites the same version with byte-identical content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sciforge.pipelines.config import config_hash
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.storage import LocalStorage, Storage, StorageError

MANIFEST = "_manifest.json"
FORMAT = "sciforge.dataset/1"
REASON = "reason"  # the column every quarantine dataset carries
STAGING = "_staging"
# zstd level 3 (Arrow's default level) with dictionary encoding: a good size/speed trade.
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "use_dictionary": True, "write_statistics": True}
VERSION_HASH_CHARS = 12
# Bytes read per step when hashing a landing file: memory stays bounded whatever the file's size.
FINGERPRINT_CHUNK_BYTES = 8 * 1024 * 1024


class DatasetNotPublished(StorageError):
    """The dataset has no manifest (missing, half-written or being rewritten)."""


class DatasetCorrupt(StorageError):
    """A part does not match the checksum or row count its manifest records."""


@dataclass(frozen=True, order=True)
class DatasetRef:
    zone: str
    name: str
    version: str

    @property
    def key(self) -> str:
        return f"{self.zone}/{self.name}/{self.version}"

    def quarantine(self) -> DatasetRef:
        return DatasetRef("quarantine", self.name, self.version)

    def to_dict(self) -> dict[str, str]:
        return {"zone": self.zone, "name": self.name, "version": self.version}

    @classmethod
    def parse(cls, s: str) -> DatasetRef:
        parts = s.strip("/").split("/")
        if len(parts) != 3:
            raise ValueError(f"dataset reference {s!r} is not <zone>/<name>/<version>")
        return cls(*parts)

    def __str__(self) -> str:
        return self.key


def make_version(logical_date: str | dt.date | dt.datetime, cfg: Any) -> str:
    """Version id from the run's logical date and the hash of what the content depends on.

    ``cfg`` is the stage's configuration AND its inputs: the parent versions (``"parents"``), or the
    landing files' fingerprint (``"inputs"``, see ``inputs_fingerprint``) for a stage that reads raw
    files, so that different inputs never share a version.
    """
    if isinstance(logical_date, dt.datetime):
        day = logical_date.date().isoformat()
    elif isinstance(logical_date, dt.date):
        day = logical_date.isoformat()
    else:
        day = dt.date.fromisoformat(str(logical_date)[:10]).isoformat()
    return f"{day}_{config_hash(cfg)[:VERSION_HASH_CHARS]}"


# The commit of a build without a git checkout (the cluster image: infra/docker/Dockerfile sets it from
# `--build-arg SCIFORGE_GIT_COMMIT=$(git rev-parse HEAD)`); `git rev-parse` is the fallback.
GIT_COMMIT_ENV = "SCIFORGE_GIT_COMMIT"
GIT_SHORT_SHA = 12  # characters of the commit recorded in code_version()


def fingerprint_file(storage: Storage, key: str) -> dict[str, Any]:
    """``{"path", "bytes", "sha256"}`` of one input file, streamed (FINGERPRINT_CHUNK_BYTES at a time).

    ``path`` is ``key``, relative to the source root (rows record it as their ``source``), never the
    root itself: the same files on local disk and on S3 fingerprint the same. A file that cannot be
    opened gets ``{"path", "unreadable": True}`` (ingest quarantines it, so the version still names what
    was seen, the same on every backend); a failure while reading is a storage failure and raises.
    """
    try:
        storage.size(key)
        f = storage.open_input(key)
    except (StorageError, OSError):
        return {"path": key, "unreadable": True}
    h, n = hashlib.sha256(), 0
    with f:
        while chunk := f.read(FINGERPRINT_CHUNK_BYTES):
            h.update(chunk)
            n += len(chunk)
    return {"path": key, "bytes": n, "sha256": h.hexdigest()}


def inputs_fingerprint(files: Iterable[dict[str, Any]]) -> str:
    """One sha256 over the fingerprints of a set of input files (order-independent)."""
    return config_hash(sorted(files, key=lambda f: f["path"]))


@lru_cache(maxsize=1)
def code_version() -> str:
    from sciforge.pipelines import __version__

    built = os.environ.get(GIT_COMMIT_ENV, "").strip()
    if built:
        return f"{__version__}+{built[:GIT_SHORT_SHA]}"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", f"--short={GIT_SHORT_SHA}", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


# Row groups of about this many bytes of Arrow data: the unit a map task reads (read_part_slice), so a
# large part can be processed by several tasks that each read only their row groups. 16 MiB is a few
# thousand web pages, small next to a task's input (spark.task_input_bytes).
ROW_GROUP_BYTES = 16 << 20


def logical_bytes(table: pa.Table) -> int:
    """Bytes of the table's values (string/binary lengths, fixed widths): a function of the content
    only, unlike ``nbytes``, which counts whole buffers and so depends on how the table was built."""
    import pyarrow.compute as pc

    total = 0
    for col in table.columns:
        t = col.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) \
                or pa.types.is_large_binary(t):
            total += int(pc.sum(pc.binary_length(col)).as_py() or 0)
        else:
            try:
                total += max(1, t.bit_width // 8) * len(col)
            except ValueError:  # nested or other variable-width types: a flat estimate
                total += 8 * len(col)
    return total


# Files that index a dataset's rows instead of holding them (a corpus snapshot's lineage index: one row
# per page piece per sequence): their rows are checked by `verify` like any part's, but the manifest's
# `rows` counts the dataset's own rows only (a snapshot's: its documents).
SIDECAR_KINDS = frozenset({"lineage"})


def row_group_rows(table: pa.Table) -> int:
    """Rows per row group for ``table``: about ROW_GROUP_BYTES each (deterministic in the content)."""
    size = logical_bytes(table)
    if table.num_rows == 0 or size <= ROW_GROUP_BYTES:
        return max(1, table.num_rows)
    return max(1, table.num_rows * ROW_GROUP_BYTES // size)


def table_to_parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=row_group_rows(table), **PARQUET_OPTIONS)
    return buf.getvalue()


def write_part(storage: Storage, prefix: str, part_name: str, table: pa.Table) -> dict[str, Any]:
    """Write one Parquet part under ``prefix``; returns its manifest entry.

    Pure enough to run on a Spark executor: needs only a (picklable) storage.
    """
    data = table_to_parquet_bytes(table)
    storage.write_bytes(f"{prefix}/{part_name}", data)
    return {
        "path": part_name,
        "rows": table.num_rows,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def schema_to_json(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


class DatasetWriter:
    """Write parts to staging, then publish with the manifest last.

    Locally the staged folder is renamed into place atomically and the manifest written
    with temp-file + rename. On S3 (no renames) the old manifest is deleted first, the
    parts are written in place, and the manifest is the last PUT.
    """

    def __init__(
        self,
        storage: Storage,
        ref: DatasetRef,
        *,
        logical_date: str | None = None,
        config: dict[str, Any] | None = None,
        parents: Iterable[DatasetRef] = (),
        schema: pa.Schema | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self.storage = storage
        self.inputs = inputs or {}  # recorded, not hashed (e.g. where raw files were read from)
        self.ref = ref
        self.logical_date = logical_date
        self.config = config or {}
        self.parents = sorted(set(parents))
        self.schema = schema
        self.files: list[dict[str, Any]] = []
        self.counters = StageCounters()
        self._local = isinstance(storage, LocalStorage)
        if self._local:
            self.staging = f"{STAGING}/{ref.key}"
        else:
            self.staging = ref.key
            storage.delete(f"{ref.key}/{MANIFEST}")  # unpublish first: readers now refuse it
        storage.delete_prefix(self.staging)

    def write(self, table: pa.Table, part_name: str | None = None) -> dict[str, Any]:
        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        name = part_name or f"part-{len(self.files):05d}.parquet"
        entry = write_part(self.storage, self.staging, name, table)
        self.files.append(entry)
        return entry

    def add_files(self, entries: Iterable[dict[str, Any]]) -> None:
        """Register parts written elsewhere (e.g. by Spark executors) into ``self.staging``."""
        self.files.extend(entries)

    def publish(self, counters: StageCounters | dict[str, Any] | None = None) -> dict[str, Any]:
        if counters is not None:
            self.counters.merge(counters)
        if self.schema is None:
            raise ValueError(f"{self.ref}: no schema (write at least one part or pass schema=)")
        if not self.files:  # an empty dataset is still a dataset: one empty part carries the schema
            self.write(self.schema.empty_table())
        files = sorted(self.files, key=lambda f: f["path"])
        manifest = {
            "format": FORMAT,
            "zone": self.ref.zone,
            "name": self.ref.name,
            "version": self.ref.version,
            "logical_date": self.logical_date,
            "config_hash": config_hash(self.config),
            "config": self.config,
            "parents": [p.to_dict() for p in self.parents],
            "inputs": self.inputs,
            "code_version": code_version(),
            "schema": schema_to_json(self.schema),
            "rows": sum(f["rows"] for f in files if f.get("kind") not in SIDECAR_KINDS),
            "files": files,
            "counters": self.counters.to_dict(),
        }
        blob = (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode()
        if self._local:
            assert isinstance(self.storage, LocalStorage)
            self.storage.delete_prefix(self.ref.key)
            self.storage.rename_prefix(self.staging, self.ref.key)
        self.storage.write_bytes(f"{self.ref.key}/{MANIFEST}", blob)
        return manifest


def write_dataset(
    storage: Storage,
    ref: DatasetRef,
    tables: Iterable[pa.Table],
    *,
    schema: pa.Schema | None = None,
    counters: StageCounters | None = None,
    **kw: Any,
) -> dict[str, Any]:
    w = DatasetWriter(storage, ref, schema=schema, **kw)
    for t in tables:
        w.write(t)
    return w.publish(counters)


def read_manifest(storage: Storage, ref: DatasetRef) -> dict[str, Any]:
    key = f"{ref.key}/{MANIFEST}"
    try:
        blob = storage.read_bytes(key)
    except StorageError as e:
        if "no such object" not in str(e):
            raise
        raise DatasetNotPublished(
            f"dataset {ref} at {storage.uri(ref.key)} has no {MANIFEST}: it was never published, "
            "is being written, or a writer failed; refusing to read it"
        ) from None
    return json.loads(blob)


def part_keys(storage: Storage, ref: DatasetRef, manifest: dict[str, Any] | None = None) -> list[str]:
    """The Parquet parts of a dataset (a corpus snapshot also lists token shards and JSON files)."""
    m = manifest or read_manifest(storage, ref)
    return [f"{ref.key}/{f['path']}" for f in m["files"] if f["path"].endswith(".parquet")]


def read_part(storage: Storage, key: str, columns: list[str] | None = None) -> pa.Table:
    with storage.open_native(key) as f:
        try:
            return pq.read_table(f, columns=columns)
        except OSError as e:  # an I/O error of the storage under the reader (ArrowInvalid is not one)
            raise StorageError(f"reading {storage.uri(key)}: {e}") from e


def read_part_slice(storage: Storage, key: str, start: int, stop: int,
                    columns: list[str] | None = None) -> pa.Table:
    """Rows ``[start, stop)`` of a part, reading only the row groups that hold them."""
    with storage.open_native(key) as f:
        try:
            pf = pq.ParquetFile(f)
            groups, first, row = [], None, 0
            for i in range(pf.metadata.num_row_groups):
                n = pf.metadata.row_group(i).num_rows
                if row < stop and row + n > start:
                    groups.append(i)
                    first = row if first is None else first
                row += n
            if not groups:
                return pf.schema_arrow.empty_table() if columns is None else \
                    pa.schema([pf.schema_arrow.field(c) for c in columns]).empty_table()
            table = pf.read_row_groups(groups, columns=columns)
        except OSError as e:
            raise StorageError(f"reading {storage.uri(key)}: {e}") from e
    assert first is not None
    return table.slice(start - first, stop - start)


def plan_part_slices(manifest: dict[str, Any], ref: DatasetRef, target_bytes: int) -> list[dict[str, Any]]:
    """Map-task items over a dataset's Parquet parts, sized by bytes, not by the number of parts: a
    part of B bytes is cut into ceil(B / target_bytes) row ranges of equal length (so a day of few,
    large files still gives a cluster many tasks). Items are numbered in order: deterministic."""
    items: list[dict[str, Any]] = []
    for f in manifest["files"]:
        if not f["path"].endswith(".parquet"):
            continue
        rows = int(f["rows"])
        n = max(1, min(rows, -(-int(f["bytes"]) // max(1, target_bytes))))
        step = -(-rows // n) if rows else 0
        bounds = [(i * step, min(rows, (i + 1) * step)) for i in range(n)] if rows else [(0, 0)]
        for start, stop in bounds:
            if stop > start or rows == 0:
                items.append({"key": f"{ref.key}/{f['path']}", "index": len(items), "start": start, "stop": stop})
    return items


def read_table(storage: Storage, ref: DatasetRef, columns: list[str] | None = None) -> pa.Table:
    m = read_manifest(storage, ref)
    tables = [read_part(storage, k, columns) for k in part_keys(storage, ref, m)]
    if not tables:
        return pa.schema([]).empty_table()
    return pa.concat_tables(tables)


def iter_batches(
    storage: Storage, ref: DatasetRef, batch_size: int = 1024, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream a dataset batch by batch (never the whole dataset in memory)."""
    for key in part_keys(storage, ref):
        with storage.open_input(key) as f:
            yield from pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns)


def verify(storage: Storage, ref: DatasetRef) -> dict[str, Any]:
    """Check every file's checksum (and every Parquet part's row count) against the manifest."""
    m = read_manifest(storage, ref)
    for f in m["files"]:
        data = storage.read_bytes(f"{ref.key}/{f['path']}")
        if hashlib.sha256(data).hexdigest() != f["sha256"]:
            raise DatasetCorrupt(f"{ref}/{f['path']}: sha256 differs from the manifest")
        if f["path"].endswith(".parquet") and pq.ParquetFile(io.BytesIO(data)).metadata.num_rows != f["rows"]:
            raise DatasetCorrupt(f"{ref}/{f['path']}: row count differs from the manifest")
    return m


def list_versions(storage: Storage, zone: str, name: str) -> list[str]:
    """Published versions of a dataset, oldest first (by version id)."""
    keys = storage.list(f"{zone}/{name}")
    return sorted({k.split("/")[2] for k in keys if k.endswith(f"/{MANIFEST}") and k.count("/") == 3})


def list_datasets(storage: Storage, zone: str | None = None) -> list[DatasetRef]:
    refs = set()
    for k in storage.list(zone or ""):
        parts = k.split("/")
        if len(parts) == 4 and parts[3] == MANIFEST and parts[0] != STAGING:
            refs.add(DatasetRef(*parts[:3]))
    return sorted(refs)
