"""`python -m sciforge.infra.services up|down|status`: local Spark standalone (master :7077, 2 workers) and
SeaweedFS S3 (:8333), all on 127.0.0.1, managed by PID files under var/services/."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from sciforge.infra.services.class_archives import archive_key, build_class_archives
from sciforge.infra.services.seaweed import SeaweedS3
from sciforge.infra.services.standalone import StandaloneCluster, stop_pidfiles
from sciforge.pipelines.config import work_root

STATE = work_root() / "var" / "services"
S3_PORT = 8333  # SeaweedFS' default S3 port
ACCESS_KEY = os.environ.get("SCIFORGE_LOCAL_S3_ACCESS_KEY", "sciforge")
# Generated secrets live in files readable by this user only, never in output or logs:
S3_SECRET_FILE = STATE / "s3" / "secret"                 # the S3 secret key (SCIFORGE_LOCAL_S3_SECRET_KEY wins)
SPARK_SECRET_FILE = STATE / "spark" / "auth-secret"      # spark.authenticate's shared secret
CLASS_ARCHIVES = STATE / "spark" / "class-archives"      # CDS archives of the drivers' and executors' classes


def _secret(path: Path, given: str | None = None) -> str:
    """The secret stored at ``path`` (made once, 256 random bits, mode 0600), or ``given``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if given is None and path.exists():
        return path.read_text().strip()
    value = given or secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def up() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    if any(STATE.rglob("*.pid")):
        sys.exit(f"services already running (PID files in {STATE}); `make services-down` first")
    _secret(SPARK_SECRET_FILE)
    cluster = StandaloneCluster(STATE / "spark", secret_file=SPARK_SECRET_FILE)
    cluster.start()
    stamp = CLASS_ARCHIVES / "made-for"
    if not stamp.exists() or stamp.read_text() != archive_key():
        print("making the JVM class archives for this JDK and Spark (once; about a minute on 2 cores)...",
              flush=True)
        build_class_archives(cluster.master_url, SPARK_SECRET_FILE, CLASS_ARCHIVES,
                             sorted(cluster.workdir.glob("worker-*.log")))
        stamp.write_text(archive_key())
    secret = _secret(S3_SECRET_FILE, os.environ.get("SCIFORGE_LOCAL_S3_SECRET_KEY"))
    s3 = SeaweedS3(STATE / "s3", base_port=S3_PORT, access_key=ACCESS_KEY, secret_key=secret)
    s3.start()
    (STATE / "s3" / "weed.pid").write_text(str(s3.proc.pid if s3.proc else 0))
    print(f"Spark master   {cluster.master_url}  (UI http://127.0.0.1:{cluster.ui_port}; spark.authenticate on, "
          f"secret in {SPARK_SECRET_FILE})")
    print(f"S3 (SeaweedFS) {s3.endpoint_url}  access key {ACCESS_KEY}, secret key in {S3_SECRET_FILE}")
    print("Use them (the secrets are read from their files, never printed):\n"
          f"  export SCIFORGE_SPARK__MASTER={cluster.master_url} SCIFORGE_SPARK__SUBMIT=true "
          f"SCIFORGE_SPARK__AUTH_SECRET_FILE={SPARK_SECRET_FILE} SCIFORGE_SPARK__CLASS_ARCHIVE_DIR={CLASS_ARCHIVES}\n"
          "  export SCIFORGE_DATA_ROOT=s3://sciforge/data SCIFORGE_INGEST__LANDING_ROOT=s3://sciforge/landing "
          f"SCIFORGE_STORAGE__S3_ENDPOINT_URL={s3.endpoint_url}\n"
          f"  export SCIFORGE_STORAGE__S3_ACCESS_KEY_ID={ACCESS_KEY} "
          f'SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY="$(cat {S3_SECRET_FILE})"')


def down() -> None:
    stopped = stop_pidfiles(STATE / "spark") + stop_pidfiles(STATE / "s3") if STATE.exists() else []
    print("stopped: " + (", ".join(stopped) or "nothing was running"))


def status() -> None:
    for pidfile in sorted(STATE.rglob("*.pid")) if STATE.exists() else []:
        pid = int(pidfile.read_text() or 0)
        alive = Path(f"/proc/{pid}").exists()
        print(f"{pidfile.parent.name}/{pidfile.stem}: pid {pid} {'running' if alive else 'dead'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("action", choices=["up", "down", "status"])
    {"up": up, "down": down, "status": status}[p.parse_args().action]()


if __name__ == "__main__":
    main()
