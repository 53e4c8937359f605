"""A local Spark standalone cluster (1 master + N workers) bound to 127.0.0.1.

Used by `make services-up` (fixed ports, PID files under var/services/) and by the
integration tests (random ports, stopped at the end).

Secure by default: `spark.authenticate` with a shared secret (a file of mode 0600; generated when none
is given), so only applications holding it can register or run code on the workers; the master's REST
submission server is off; every daemon binds 127.0.0.1. The daemons read the secret from a properties
file of mode 0600 (`--properties-file`), never from their command lines.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).resolve().parent


def spark_class() -> str:
    return str(SPARK_HOME / "bin" / "spark-class")


def spark_submit() -> str:
    return str(SPARK_HOME / "bin" / "spark-submit")


def _env() -> dict[str, str]:
    return {**os.environ, "SPARK_HOME": str(SPARK_HOME), "PYSPARK_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}


def _wait_port(port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class StandaloneCluster:
    def __init__(self, workdir: Path | str, port: int = 7077, ui_port: int = 8090, workers: int = 2,
                 worker_cores: int = 1, worker_memory: str = "2g", secret_file: Path | str | None = None) -> None:
        self.workdir = Path(workdir)
        self.port, self.ui_port = port, ui_port
        self.workers, self.worker_cores, self.worker_memory = workers, worker_cores, worker_memory
        self.procs: list[subprocess.Popen[bytes]] = []
        # spark.authenticate's shared secret: what a driver needs (spark.auth_secret_file)
        self.secret_file = Path(secret_file) if secret_file else self.workdir / "auth-secret"
        self.properties_file = self.workdir / "daemon.properties"

    def write_properties(self) -> None:
        if not self.secret_file.exists():
            _write_private(self.secret_file, secrets.token_hex(32) + "\n")
        secret = self.secret_file.read_text().strip()
        _write_private(self.properties_file, "\n".join([
            "spark.authenticate true",
            f"spark.authenticate.secret {secret}",
            "spark.master.rest.enabled false",  # no unauthenticated job submission over HTTP (:6066)
            "",
        ]))

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"{name}.log", "ab")
        p = subprocess.Popen([spark_class(), *args], env=_env(), stdout=log, stderr=subprocess.STDOUT,
                             cwd=self.workdir, start_new_session=True)
        (self.workdir / f"{name}.pid").write_text(str(p.pid))
        self.procs.append(p)
        return p

    def start(self) -> None:
        self.write_properties()
        props = ["--properties-file", str(self.properties_file)]
        self._start("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                               str(self.port), "--webui-port", str(self.ui_port), *props])
        _wait_port(self.port)
        for i in range(self.workers):
            self._start(f"worker-{i}", ["org.apache.spark.deploy.worker.Worker", self.master_url, "--host",
                                        "127.0.0.1", "--cores", str(self.worker_cores), "--memory",
                                        self.worker_memory, "--webui-port", str(self.ui_port + 1 + i),
                                        "--work-dir", str(self.workdir / f"work-{i}"), *props])
        self.wait_workers()

    def wait_workers(self, timeout: float = 120.0) -> None:
        """Block until every worker has registered with the master (read from its log)."""
        deadline = time.monotonic() + timeout
        log = self.workdir / "master.log"
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace") if log.exists() else ""
            if text.count("Registering worker") >= self.workers:
                return
            time.sleep(0.5)
        raise TimeoutError(f"{self.workers} workers did not register within {timeout}s; see {log}")

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs = []


def stop_pidfiles(workdir: Path) -> list[str]:
    stopped = []
    for pidfile in sorted(Path(workdir).glob("*.pid")):
        pid = int(pidfile.read_text().strip() or 0)
        try:
            os.killpg(pid, signal.SIGTERM)
            stopped.append(pidfile.stem)
        except (ProcessLookupError, PermissionError):
            pass
        pidfile.unlink()
    return stopped
