"""Airflow's services for sciforge's DAGs on 127.0.0.1: the UI/REST API, the scheduler, the DAG
processor and the triggerer -- what `airflow standalone` starts, but with the project's settings:
bound to 127.0.0.1, one API worker, low parallelism (2-core machines), the LocalExecutor, the
simple auth manager with a known login, and the metadata DB of `settings.airflow` (SQLite by
default, PostgreSQL with `airflow.sql_alchemy_conn`).

`serve_ui(settings)` runs it in the foreground (`sciforge ui`): it prints the URL and the login and
stops every component on Ctrl-C. `AirflowStack` is the same thing as an object (tests, scripts):
start/stop, the `airflow` CLI against it, and a small REST client (`/api/v2`, JWT from the simple
auth manager's `/auth/token`).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciforge.infra.airflow_env import airflow_env
from sciforge.pipelines.config import IMPORT_ROOT, Settings, work_root

DEFAULT_PORT = 8080  # Airflow's own default for the API server / UI
# Two task slots: the machines this targets have 2 cores, and every task may start Spark or torch.
DEFAULT_PARALLELISM = 2
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
ADMIN_USER = "admin"
TERMINAL_RUN_STATES = ("success", "failed")
# Task processes call the API server (Airflow 3's Execution API); its default 5 s timeout fails tasks
# before they start when a small machine is busy (a `PATCH .../run` timed out on 2 loaded cores).
EXECUTION_API_TIMEOUT_S = 60
SQLITE_BUSY_TIMEOUT_S = 60  # how long a writer waits for SQLite's lock (sqlite3's default: 5 s)


def airflow_bin() -> str:
    """The `airflow` entry point of this interpreter's environment."""
    exe = Path(sys.executable).parent / "airflow"
    if not exe.exists():
        raise RuntimeError(f"no `airflow` next to {sys.executable}: run `make setup`")
    return str(exe)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AirflowError(RuntimeError):
    pass


@dataclass
class AirflowClient:
    """Airflow 3's REST API (/api/v2) with a token from the simple auth manager."""

    url: str
    username: str
    password: str
    timeout: float = 120.0  # generous: on SQLite every component queues for the one writer lock
    retries: int = 3  # idempotent calls (GET) are retried on a timeout or a refused connection
    _token: str | None = field(default=None, repr=False)

    def token(self) -> str:
        import httpx

        if self._token is None:
            r = httpx.post(f"{self.url}/auth/token", json={"username": self.username, "password": self.password},
                           timeout=self.timeout)
            if r.status_code not in (200, 201):
                raise AirflowError(f"login as {self.username!r} refused: {r.status_code} {r.text[:300]}")
            self._token = str(r.json()["access_token"])
        return self._token

    def request(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        attempts = self.retries if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                r = httpx.request(method, f"{self.url}/api/v2/{path.lstrip('/')}", timeout=self.timeout,
                                  headers={"Authorization": f"Bearer {self.token()}"}, **kw)
                break
            except (httpx.TimeoutException, httpx.ConnectError):
                if attempt == attempts:
                    raise
                time.sleep(2.0 * attempt)
        if r.status_code >= 400:
            raise AirflowError(f"{method} {path}: {r.status_code} {r.text[:1000]}")
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PATCH", path, json=body)

    # -- the few calls the project needs ------------------------------------------------------
    def dag_ids(self) -> list[str]:
        return sorted(d["dag_id"] for d in self.get("dags", limit=100)["dags"])

    def unpause(self, dag_id: str) -> None:
        self.patch(f"dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, logical_date: str | None = None, conf: Mapping[str, Any] | None = None,
                run_id: str | None = None) -> str:
        body: dict[str, Any] = {"logical_date": _iso(logical_date) if logical_date else None, "conf": dict(conf or {})}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.post(f"dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"dags/{dag_id}/dagRuns", limit=100, order_by="id")["dag_runs"])

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.get(f"dags/{dag_id}/dagRuns/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        tis = self.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
        return {t["task_id"]: t for t in tis}

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 900.0, poll: float = 2.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                states = {k: v["state"] for k, v in self.task_instances(dag_id, run_id).items()}
                raise TimeoutError(f"{dag_id}/{run_id} still {run['state']} after {timeout}s: {states}")
            time.sleep(poll)


def _iso(day: str) -> str:
    return day if "T" in day else f"{day}T00:00:00Z"


@dataclass
class AirflowStack:
    """Airflow's components as child processes, each in its own process group, logs under
    `<AIRFLOW_HOME>/components/`."""

    settings: Settings
    port: int | None = None
    parallelism: int = DEFAULT_PARALLELISM
    components: tuple[str, ...] = COMPONENTS
    # False: the scheduler creates no runs from the DAGs' schedules -- neither the nightly ones nor the
    # asset-triggered ones (Airflow's `use_job_schedule` covers both); manual runs and backfills still
    # run. For tests that must not start "yesterday's" nightly run.
    use_job_schedule: bool = True
    extra_env: Mapping[str, str] = field(default_factory=dict)
    password: str | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        env = airflow_env(self.settings)
        self.home = Path(env["AIRFLOW_HOME"])
        self.logs = self.home / "components"
        pw_file = self.home / "simple_auth_manager_passwords.json"
        if self.password is None:  # keep the password across restarts of the same AIRFLOW_HOME
            try:
                self.password = str(json.loads(pw_file.read_text())[ADMIN_USER])
            except (OSError, ValueError, KeyError):
                self.password = secrets.token_urlsafe(12)
        self._pw_file = pw_file
        venv_bin = str(Path(sys.executable).parent)
        self.env: dict[str, str] = {
            **os.environ,
            **env,
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(p for p in (str(IMPORT_ROOT), os.environ.get("PYTHONPATH")) if p),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": str(EXECUTION_API_TIMEOUT_S),
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(self.parallelism),
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(pw_file),
            # One secret for every component: the scheduler signs the tasks' tokens, the API checks them.
            "AIRFLOW__API_AUTH__JWT_SECRET": os.environ.get("AIRFLOW__API_AUTH__JWT_SECRET")
            or secrets.token_urlsafe(32),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.use_job_schedule),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
            "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
            **self.extra_env,
        }
        conn = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        if conn.startswith("sqlite:") and "?" not in conn:
            # Five processes share one SQLite file: wait for its write lock instead of failing after
            # sqlite3's default 5 s ("database is locked").
            self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"{conn}?timeout={SQLITE_BUSY_TIMEOUT_S}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> AirflowClient:
        assert self.password is not None
        return AirflowClient(self.url, ADMIN_USER, self.password)

    # -- lifecycle ----------------------------------------------------------------------------
    def airflow(self, *args: str, check: bool = True, timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
        """The `airflow` CLI against this stack's configuration and metadata DB."""
        out = subprocess.run([airflow_bin(), *args], env=self.env, cwd=work_root(), capture_output=True, text=True,
                             timeout=timeout)
        if check and out.returncode != 0:
            raise AirflowError(f"airflow {' '.join(args)} exited {out.returncode}:\n{out.stderr[-3000:]}")
        return out

    def start(self, timeout: float = 300.0) -> AirflowStack:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self._pw_file.write_text(json.dumps({ADMIN_USER: self.password}))
        self._pw_file.chmod(0o600)
        self.airflow("db", "migrate")
        self._sqlite_wal()
        for name in self.components:
            log = open(self.logs / f"{name}.log", "ab")
            self.procs[name] = subprocess.Popen([airflow_bin(), name], env=self.env, cwd=work_root(), stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _sqlite_wal(self) -> None:
        """Write-ahead logging on a SQLite metadata DB (a persistent setting of the file): readers (the
        UI, the API) then never block the writer (scheduler, tasks) and vice versa."""
        conn = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        if not conn.startswith("sqlite:///"):
            return
        import sqlite3

        db = sqlite3.connect(conn.removeprefix("sqlite:///").split("?")[0], timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            db.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()

    def health(self) -> dict[str, Any]:
        import httpx

        return dict(httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json())

    def wait_ready(self, timeout: float = 300.0, dag_ids: Iterable[str] = ("corpus_refresh",)) -> None:
        """Until the API answers, the scheduler and DAG processor report healthy and `dag_ids` are parsed."""
        deadline = time.monotonic() + timeout
        want = {"scheduler", "dag_processor"} & {c.replace("-", "_") for c in self.components}
        last: Any = None
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise AirflowError(f"airflow {name} exited {p.returncode}; log tail:\n{self.log_tail(name)}")
            try:
                h = self.health()
                last = h
                if all((h.get(c) or {}).get("status") == "healthy" for c in want):
                    have = set(self.client().dag_ids()) if "api-server" in self.components else set()
                    last = {"health": h, "dags": sorted(have)}
                    if set(dag_ids) <= have:
                        return
            except Exception as e:  # not up yet
                last = repr(e)
            time.sleep(1.0)
        raise TimeoutError(f"Airflow not ready after {timeout}s: {last}\n{self.log_tail('api-server')}")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        try:
            return (self.logs / f"{name}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(p, signal.SIGKILL)
                p.wait(timeout=10)
        for p in self.procs.values():  # task processes left in a group whose leader already exited
            _signal_group(p, signal.SIGKILL)
        self.procs.clear()

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(p: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def serve_ui(settings: Settings | None = None, port: int = DEFAULT_PORT, parallelism: int = DEFAULT_PARALLELISM,
             use_job_schedule: bool = True) -> None:
    """Start Airflow for the project's DAGs on http://127.0.0.1:<port>, print the URL and the login,
    and run until Ctrl-C (then stop every component). DAGs start paused: unpause or trigger them in
    the UI (param engine=local runs the jobs without Spark)."""
    from sciforge.pipelines.config import get_settings

    settings = settings or get_settings()
    stack = AirflowStack(settings, port=port, parallelism=parallelism, use_job_schedule=use_job_schedule)
    print(f"starting Airflow (AIRFLOW_HOME={stack.home}, logs in {stack.logs}) ...", flush=True)
    stop = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    old = signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
        print(f"\nAirflow UI:  {stack.url}\nlogin:       {ADMIN_USER} / {stack.password}\n"
              f"data root:   {settings.data_root}\nCtrl-C stops it.", flush=True)
        while not stop:
            dead = [n for n, p in stack.procs.items() if p.poll() is not None]
            if dead:
                print(f"airflow {dead[0]} exited; log tail:\n{stack.log_tail(dead[0])}", file=sys.stderr)
                break
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping Airflow ...", flush=True)
        stack.stop()
        signal.signal(signal.SIGTERM, old)


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m sciforge.infra.ui", description=serve_ui.__doc__)
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--parallelism", type=int, default=DEFAULT_PARALLELISM)
    p.add_argument("--no-schedule", action="store_true",
                   help="no runs from schedules, asset-triggered ones included (manual runs and backfills only)")
    a = p.parse_args()
    serve_ui(port=a.port, parallelism=a.parallelism, use_job_schedule=not a.no_schedule)


if __name__ == "__main__":
    main()
