"""Storage backends: a local folder or an S3 bucket, behind one small interface.

Keys are '/'-separated paths relative to the storage root. Local writes are atomic
(temp file + rename); on S3 a single PUT is atomic per object and datasets publish
their manifest last (see sciforge.pipelines.datasets).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs


class StorageError(RuntimeError):
    """A storage operation failed (missing object, refused credentials, unreachable server)."""


# Read-ahead of the buffered stream open_input returns: large enough that a line-by-line or
# record-by-record reader makes few S3 range requests (pyarrow's S3 input file issues one per read).
STREAM_BUFFER_BYTES = 1 << 20


class _GuardedRaw(io.RawIOBase):
    """A raw, seekable reader over a backend file whose read errors become StorageError.

    Content decoders stacked on top (gzip, warcio, PDF) raise OSError / EOFError for bad content; an
    error of the storage itself (a dropped connection, an expired credential, a failing disk) must not
    look like bad content, or a file would be quarantined as corrupt instead of the task failing and
    being retried. StorageError is not an OSError, so the two never mix.
    """

    def __init__(self, f: Any, uri: str) -> None:
        super().__init__()
        self._f, self._uri = f, uri

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _guard(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except OSError as e:
            raise StorageError(f"{what} failed on {self._uri}: {type(e).__name__}: {e}") from e

    def readinto(self, b: Any) -> int:
        data = self._guard("read", self._f.read, len(b))
        n = len(data)
        b[:n] = data
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._guard("seek", self._f.seek, offset, whence))

    def tell(self) -> int:
        return int(self._guard("tell", self._f.tell))

    def close(self) -> None:
        if not self.closed:
            try:
                self._f.close()
            finally:
                super().close()


def guarded_stream(f: Any, uri: str) -> BinaryIO:
    """A buffered binary stream over ``f``: iterable by line, readable by size, seekable, with
    storage errors raised as StorageError (see _GuardedRaw)."""
    return io.BufferedReader(_GuardedRaw(f, uri), buffer_size=STREAM_BUFFER_BYTES)  # type: ignore[return-value]


class Storage(Protocol):
    root: str

    def uri(self, key: str) -> str: ...
    def exists(self, key: str) -> bool: ...
    def read_bytes(self, key: str) -> bytes: ...
    def write_bytes(self, key: str, data: bytes) -> None: ...
    def open_input(self, key: str) -> BinaryIO: ...
    def read_range(self, key: str, start: int, length: int) -> bytes: ...
    def open_native(self, key: str) -> Any: ...
    def list(self, prefix: str) -> list[str]: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def arrow_fs(self) -> tuple[pafs.FileSystem, str]: ...
    def check(self) -> None: ...


def _norm(key: str) -> str:
    return key.strip("/")


@dataclass
class LocalStorage:
    root: str

    def __post_init__(self) -> None:
        self.root = str(Path(self.root).expanduser().resolve())

    def _path(self, key: str) -> Path:
        return Path(self.root) / _norm(key)

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def read_bytes(self, key: str) -> bytes:
        p = self._path(key)
        if not p.is_file():
            raise StorageError(f"no such object: {p}")
        return p.read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, p)  # atomic on POSIX: readers see the old or the new file, never half

    def open_input(self, key: str) -> BinaryIO:
        """A buffered stream of the file: by line, by size or by seek (see guarded_stream)."""
        p = self._path(key)
        if not p.is_file():
            raise StorageError(f"no such object: {p}")
        try:
            return guarded_stream(open(p, "rb", buffering=0), str(p))
        except OSError as e:
            raise StorageError(f"cannot open {p}: {e}") from e

    def open_native(self, key: str) -> Any:
        """A pyarrow random-access file (for Parquet: reads in C++, no Python per read)."""
        p = self._path(key)
        try:
            return pa.OSFile(str(p), "rb")
        except OSError as e:
            raise StorageError(f"cannot open {p}: {e}") from e

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes from offset ``start`` (fewer at the end of the file)."""
        with self.open_input(key) as f:
            f.seek(start)
            return f.read(length)

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if base.is_file():
            return [_norm(prefix)]
        if not base.exists():
            return []
        root = Path(self.root)
        return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file())

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        p = self._path(prefix)
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()

    def rename_prefix(self, src: str, dst: str) -> None:
        """Atomic directory rename (local only): used to publish a staged dataset."""
        d = self._path(dst)
        d.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src), d)

    def arrow_fs(self) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), self.root

    def check(self) -> None:
        Path(self.root).mkdir(parents=True, exist_ok=True)


@dataclass
class S3Storage:
    """S3 through boto3 (listings, small objects) and pyarrow's S3FileSystem (Parquet)."""

    root: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key: str | None = None
    secret_key: str | None = None
    path_style: bool = True
    # Resolved by the orchestration layer (sciforge.infra.airflow_env.settings_with_connection), never here:
    # pipelines does not import Airflow.
    airflow_conn_id: str | None = None
    _client: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        u = urlparse(self.root)
        if u.scheme != "s3" or not u.netloc:
            raise ValueError(f"not an s3:// URI: {self.root!r}")
        self.bucket = u.netloc
        self.prefix = _norm(u.path)
        if self.access_key is None:
            self.access_key = os.environ.get("AWS_ACCESS_KEY_ID")
        if self.secret_key is None:
            self.secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY")

    def __repr__(self) -> str:  # credentials never appear in a repr (logs, tracebacks, Spark UIs)
        shown = {"root": self.root, "endpoint_url": self.endpoint_url, "region": self.region,
                 "access_key": "****" if self.access_key else None,
                 "secret_key": "****" if self.secret_key else None,
                 "path_style": self.path_style, "airflow_conn_id": self.airflow_conn_id}
        return f"S3Storage({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def __getstate__(self) -> dict[str, Any]:  # boto3 clients do not pickle (Spark closures)
        d = dict(self.__dict__)
        d["_client"] = None
        return d

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                config=Config(
                    s3={"addressing_style": "path" if self.path_style else "auto"},
                    retries={"max_attempts": 5, "mode": "standard"},
                ),
            )
        return self._client

    def _key(self, key: str) -> str:
        k = _norm(key)
        return f"{self.prefix}/{k}" if self.prefix else k

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _call(self, what: str, fn: Any, **kw: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kw)
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403"):
                raise StorageError(
                    f"S3 refused the credentials for {what} at {self.endpoint_url or 'AWS'} ({code}): "
                    "check SCIFORGE_STORAGE__S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY or AWS_*"
                ) from e
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise StorageError(f"no such object: {what} ({code})") from e
            raise StorageError(f"S3 error on {what}: {code} {e}") from e
        except BotoCoreError as e:
            raise StorageError(f"S3 unreachable for {what} at {self.endpoint_url}: {e}") from e

    def exists(self, key: str) -> bool:
        try:
            self._call(self.uri(key), self.client.head_object, Bucket=self.bucket, Key=self._key(key))
            return True
        except StorageError as e:
            if "no such object" in str(e):
                return False
            raise

    def read_bytes(self, key: str) -> bytes:
        r = self._call(self.uri(key), self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        return r["Body"].read()

    def write_bytes(self, key: str, data: bytes) -> None:
        self._call(
            self.uri(key), self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data
        )

    def open_input(self, key: str) -> BinaryIO:
        """A buffered stream of the object (ranged GETs through pyarrow): by line, by size or by seek."""
        fs, base = self.arrow_fs()
        try:
            f = fs.open_input_file(f"{base}/{_norm(key)}")
        except OSError as e:
            raise StorageError(f"cannot open {self.uri(key)}: {e}") from e
        return guarded_stream(f, self.uri(key))

    def open_native(self, key: str) -> Any:
        """A pyarrow random-access file over ranged GETs (for Parquet: reads in C++)."""
        fs, base = self.arrow_fs()
        try:
            return fs.open_input_file(f"{base}/{_norm(key)}")
        except OSError as e:
            raise StorageError(f"cannot open {self.uri(key)}: {e}") from e

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes from offset ``start`` (fewer at the end of the object): one ranged GET."""
        if length <= 0:
            return b""
        if start >= self.size(key):  # S3 answers a range that starts past the end with an error
            return b""
        r = self._call(self.uri(key), self.client.get_object, Bucket=self.bucket, Key=self._key(key),
                       Range=f"bytes={start}-{start + length - 1}")
        return r["Body"].read()

    def _iter_keys(self, prefix: str) -> Iterator[dict[str, Any]]:
        p = self._key(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call(self.uri(prefix), lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=p)))
        for page in pages:
            yield from page.get("Contents", [])

    def list(self, prefix: str) -> list[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        p = _norm(prefix)
        out = []
        for obj in self._iter_keys(prefix):
            rel = obj["Key"][strip:]
            if rel == p or not p or rel.startswith(p + "/"):
                out.append(rel)
        return sorted(out)

    def size(self, key: str) -> int:
        r = self._call(self.uri(key), self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        return int(r["ContentLength"])

    def delete(self, key: str) -> None:
        self._call(self.uri(key), self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        keys = [self._key(k) for k in self.list(prefix)]
        for i in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[i : i + 1000]]
            self._call(
                self.uri(prefix),
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": chunk, "Quiet": True},
            )

    def arrow_fs(self) -> tuple[pafs.FileSystem, str]:
        scheme, host = "https", None
        if self.endpoint_url:
            u = urlparse(self.endpoint_url)
            scheme, host = u.scheme or "http", u.netloc
        fs = pafs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            endpoint_override=host,
            scheme=scheme,
            force_virtual_addressing=not self.path_style,
        )
        base = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        return fs, base

    def check(self) -> None:
        """Fail early, with a clear message, on wrong credentials or a missing bucket."""
        try:
            self._call(f"s3://{self.bucket}", self.client.head_bucket, Bucket=self.bucket)
        except StorageError as e:
            if "no such object" in str(e) or "404" in str(e):
                self._call(f"s3://{self.bucket}", self.client.create_bucket, Bucket=self.bucket)
            else:
                raise


def open_storage(root: str, options: dict[str, Any] | None = None) -> Storage:
    """A storage for ``root``: a local path or ``s3://bucket/prefix``."""
    if root.startswith("s3://"):
        return S3Storage(root, **(options or {}))
    if "://" in root and not root.startswith("file://"):
        raise ValueError(f"unsupported storage URI {root!r}: use a local path or s3://bucket/prefix")
    return LocalStorage(root.removeprefix("file://"))
