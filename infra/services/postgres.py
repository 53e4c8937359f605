"""A throwaway PostgreSQL server on 127.0.0.1 (a random port) for Airflow's metadata DB: the
distribution's own binaries (Debian: apt's `postgresql`), `initdb` + `pg_ctl` in a private folder,
no system service and no root needed.

PostgreSQL refuses to run as root; under root the cluster is created and run as the `postgres`
system user (created by the apt package) in a folder of its own under the temp dir.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from sciforge.infra.services.seaweed import _free

DEFAULT_USER = "airflow"
DEFAULT_DB = "airflow"
SERVICE_USER = "postgres"  # the system user of Debian's postgresql package


def find_bindir() -> str | None:
    """Where `initdb`/`pg_ctl` live: $SCIFORGE_PG_BINDIR, `pg_config --bindir`, PATH, then the newest
    /usr/lib/postgresql/<major>/bin (Debian puts the server binaries off PATH)."""
    candidates = [os.environ.get("SCIFORGE_PG_BINDIR", "")]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb") or "").resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for d in candidates:
        if d and all((Path(d) / exe).exists() for exe in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def unavailable_reason() -> str | None:
    """None when a server can be started here, else why not (for a test's skip message)."""
    if find_bindir() is None:
        return ("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: "
                "`apt-get install -y postgresql` (or set SCIFORGE_PG_BINDIR)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root and there is no `{SERVICE_USER}` user to run PostgreSQL as"
    return None


def pick_port(start: int = 30000, stop: int = 40000) -> int:
    port = start + (os.getpid() * 53) % (stop - start)
    for _ in range(500):
        if _free(port):
            return port
        port = start + (port - start + 101) % (stop - start)
    raise RuntimeError("no free port for PostgreSQL on 127.0.0.1")


class PostgresServer:
    def __init__(self, workdir: Path | str | None = None, port: int | None = None, user: str = DEFAULT_USER,
                 database: str = DEFAULT_DB, fsync: bool = False) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(unavailable_reason() or "no PostgreSQL binaries")
        self.bindir = Path(bindir)
        self.port = port or pick_port()
        self.user, self.database = user, database
        # A throwaway server: fsync off unless asked (its data is recreated on every start).
        self.fsync = fsync
        self._as_service_user = os.geteuid() == 0
        self._own_workdir = workdir is None or self._as_service_user
        # Under root the folder must be reachable by the service user: a fresh one under the temp dir.
        self.workdir = Path(tempfile.mkdtemp(prefix="sciforge-pg-")) if self._own_workdir else Path(workdir)  # type: ignore[arg-type]
        self.datadir = self.workdir / "data"
        self.log = self.workdir / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL (Airflow's `sql_alchemy_conn`)."""
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        kw: dict[str, Any] = {}
        if self._as_service_user:
            pw = pwd.getpwnam(SERVICE_USER)
            kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C", "PGPORT": str(self.port)}
        out = subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True, env=env,
                             cwd=self.workdir, timeout=timeout, **kw)
        if out.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} exited {out.returncode}: {out.stderr[-2000:]}\n{log}")
        return out

    def start(self, timeout: float = 60.0) -> PostgresServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._as_service_user:
            pw = pwd.getpwnam(SERVICE_USER)
            os.chown(self.workdir, pw.pw_uid, pw.pw_gid)
        if not (self.datadir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust", "--encoding=UTF8",
                      "--locale=C", "--no-sync")
        opts = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync={'on' if self.fsync else 'off'}"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-o", opts, "-w", "-t", str(int(timeout)),
                  "start", timeout=timeout + 10)
        self._create_database(timeout)
        return self

    def _create_database(self, timeout: float) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres")
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{self.database}"')
        conn.close()

    def connect(self) -> Any:
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=self.database)

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop", timeout=60)
            except RuntimeError:
                pass
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
