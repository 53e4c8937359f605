"""The local S3 server lets data in and out through S3 only: loopback sockets, no WebDAV, and the
filer's HTTP API refuses anonymous reads and writes of bucket objects (a real SeaweedFS server)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from sciforge.pipelines.storage import S3Storage
from tests.netcheck import listening

pytestmark = pytest.mark.s3


def _status(url: str, method: str = "GET", data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, data=data), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_s3_is_the_only_door_to_the_data(s3_server, tmp_path):
    st = S3Storage(f"s3://sciforge/sec-{tmp_path.name}", **s3_server.storage_options())
    st.check()
    st.write_bytes("doc.txt", b"private page text")
    assert st.read_bytes("doc.txt") == b"private page text"  # with credentials: through S3

    ports = listening(s3_server.proc.pid)
    assert ports and all(addr == "127.0.0.1" for addr, _ in ports), ports
    http = {p for _, p in ports if p < s3_server.base + 1000}
    # S3, master, volume, filer, and the admin server (UI off: it answers /health only); no WebDAV,
    # Iceberg or Lance gateway
    assert http <= {s3_server.base + o for o in (0, 1, 2, 3, 5)}, http
    assert _status(f"http://127.0.0.1:{s3_server.base + 5}/api/s3/buckets") == 404

    filer = f"http://127.0.0.1:{s3_server.base + 3}/buckets/sciforge/sec-{tmp_path.name}"
    assert _status(f"{filer}/doc.txt") == 401
    assert _status(f"{filer}/") == 401  # no listing either
    assert _status(f"{filer}/planted.txt", "PUT", b"x") == 401
    assert _status(f"{filer}/doc.txt", "DELETE") == 401
    assert not st.exists("planted.txt") and st.read_bytes("doc.txt") == b"private page text"
    # and anonymously through S3 itself: refused
    assert _status(f"{s3_server.endpoint_url}/sciforge/sec-{tmp_path.name}/doc.txt") == 403

    sec = s3_server.workdir / "security.toml"
    assert sec.stat().st_mode & 0o077 == 0 and "jwt.filer_signing" in sec.read_text()
