"""`python -m infra.services up|down|status`: local Spark standalone (master :7077, 2 workers) and
SeaweedFS S3 (:8333), all on 127.0.0.1, managed by PID files under var/services/."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from infra.services.seaweed import SeaweedS3
from infra.services.standalone import StandaloneCluster, stop_pidfiles
from pipelines.config import REPO_ROOT

STATE = REPO_ROOT / "var" / "services"
S3_PORT = 8333  # SeaweedFS' default S3 port
ACCESS_KEY = os.environ.get("SCIFORGE_LOCAL_S3_ACCESS_KEY", "sciforge")
SECRET_KEY = os.environ.get("SCIFORGE_LOCAL_S3_SECRET_KEY", "sciforge-secret")


def up() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    if any(STATE.rglob("*.pid")):
        sys.exit(f"services already running (PID files in {STATE}); `make services-down` first")
    cluster = StandaloneCluster(STATE / "spark")
    cluster.start()
    s3 = SeaweedS3(STATE / "s3", base_port=S3_PORT, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    s3.start()
    (STATE / "s3" / "weed.pid").write_text(str(s3.proc.pid if s3.proc else 0))
    print(f"Spark master  {cluster.master_url}  (UI http://127.0.0.1:{cluster.ui_port})")
    print(f"S3 (SeaweedFS) {s3.endpoint_url}  access key {ACCESS_KEY}")
    print("Use them:\n"
          f"  export SCIFORGE_SPARK__MASTER={cluster.master_url}\n"
          f"  export SCIFORGE_DATA_ROOT=s3://sciforge/data SCIFORGE_STORAGE__S3_ENDPOINT_URL={s3.endpoint_url}\n"
          f"  export SCIFORGE_STORAGE__S3_ACCESS_KEY_ID={ACCESS_KEY} "
          "SCIFORGE_STORAGE__S3_SECRET_ACCESS_KEY=<the secret>")


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
