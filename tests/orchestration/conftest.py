"""Fixtures for the orchestration tests: per-day landing folders cut from the demo corpus, digests of
a data root, baseline `dag.test` runs ("what the nightly runs produce"), and one Airflow started the
way a user starts it (`python -m sciforge.infra.ui`, i.e. `sciforge ui`) shared by the tests that need a
scheduler: api-server + scheduler + dag-processor + triggerer with the LocalExecutor on SQLite."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sciforge.pipelines.config import REPO_ROOT

# The days the tests run: a 3-day backfill, one day triggered from the UI test, one day for kill -9.
BACKFILL_DAYS = ("2026-01-01", "2026-01-02", "2026-01-03")
UI_DAY = "2026-01-04"
KILL_DAY = "2026-01-05"
ALL_DAYS = (*BACKFILL_DAYS, UI_DAY, KILL_DAY)
BASELINE_DAYS = (*BACKFILL_DAYS, KILL_DAY)
LOCAL = {"engine": "local"}  # the jobs in-process: each job's Spark path is tested in its own area

# A different slice of the demo corpus per day (the scanned PDF is left out: OCR costs seconds per page
# and is the PDF area's business), so a run that read another day's files would be caught.
_WARC = ("crawl-00.warc.gz", "crawl-01.warc.gz", "crawl-02.warc.gz")
_GOOD_PDF = ("report_proteomics.pdf", "paper_quantum.pdf", "truncated_paper.pdf")
_BAD_PDF = ("corrupt.pdf", "encrypted.pdf", "empty.pdf")


def write_landing(demo: Path, landing_root: Path, day: str, index: int) -> Path:
    out = landing_root / f"dt={day}"
    for sub in ("warc", "pdf", "jsonl"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    files = [f"warc/{_WARC[index % 3]}", f"pdf/{_GOOD_PDF[index % 3]}", f"pdf/{_BAD_PDF[index % 3]}",
             "jsonl/notes.jsonl"]
    if index == 0:
        files.append("warc/crawl-03-truncated.warc.gz")
    for f in files:
        shutil.copyfile(demo / f, out / f)
    return out


def _content(p: Path) -> bytes:
    if p.name != "_manifest.json":
        return p.read_bytes()
    # A manifest records the commit that wrote it (`code_version`): runs compared across commits (the
    # working tree is shared and moves while these slow tests run) differ there and nowhere else.
    m = json.loads(p.read_bytes())
    assert m.pop("code_version"), p
    return json.dumps(m, sort_keys=True).encode()


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under a local data root, by relative path (manifests without the
    commit id that wrote them; every other file byte for byte)."""
    return {str(p.relative_to(root)): hashlib.sha256(_content(p)).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def for_days(digest: dict[str, str], days: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The entries that belong to the partitions of `days` (dataset versions and reports are named by day)."""
    pat = re.compile("|".join(re.escape(d) for d in days))
    return {k: v for k, v in digest.items() if pat.search(k)}


def staging_files(root: Path) -> list[str]:
    st = root / "_staging"
    return sorted(str(p.relative_to(root)) for p in st.rglob("*") if p.is_file()) if st.exists() else []


def sciforge_env(base: Path, landing: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIFORGE_", "AIRFLOW"))}
    return {**env, "SCIFORGE_AIRFLOW__HOME": str(base / "airflow"), "SCIFORGE_DATA_ROOT": str(base / "data"),
            "SCIFORGE_INGEST__LANDING_ROOT": str(landing), "SCIFORGE_TRAIN__CHECKPOINT_ROOT": str(base / "ckpt"),
            "SCIFORGE_SPARK__MASTER": "local[2]", "SCIFORGE_SPARK__DRIVER_MEMORY": "2g",
            "SCIFORGE_STAGES__CORPUS__SEQ_LEN": "32", "SPARK_LOCAL_IP": "127.0.0.1", "OMP_NUM_THREADS": "1",
            # training DAGs: a few steps per stage, SFT on a small chat file (written by the fixture)
            "SCIFORGE_TRAIN__MAX_STEPS": "2", "SCIFORGE_TRAIN__SFT_DATA": str(base / "sft.jsonl"),
            "PYTHONPATH": str(REPO_ROOT)}


@pytest.fixture(scope="session")
def landing(demo_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    for i, day in enumerate(ALL_DAYS):
        write_landing(demo_corpus, root, day, i)
    return root


_BASELINE = textwrap.dedent("""
    import hashlib, json, pathlib, sys
    from sciforge.pipelines.config import get_settings
    from sciforge.infra.airflow_env import run_dag_test
    s = get_settings()
    for day in sys.argv[1:]:
        dr = run_dag_test(s, "corpus_refresh", day, {"engine": "local"})
        assert "success" in str(dr.state), (day, dr.state)
    print("BASELINE OK")
""")


class Baseline:
    """`dag.test` runs of corpus_refresh for BASELINE_DAYS in their own AIRFLOW_HOME and data root,
    started in the background at session start (it overlaps the Airflow start-up)."""

    def __init__(self, base: Path, landing: Path) -> None:
        self.root = base / "data"
        self.log = base / "baseline.log"
        self.proc = subprocess.Popen([sys.executable, "-c", _BASELINE, *BASELINE_DAYS], cwd=REPO_ROOT,
                                     env=sciforge_env(base, landing), stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def digest(self, timeout: float = 1800) -> dict[str, str]:
        rc = self.proc.wait(timeout=timeout)
        out = self.log.read_text(errors="replace")
        assert rc == 0 and "BASELINE OK" in out, out[-5000:]
        return tree_digest(self.root)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="session")
def baseline(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baseline]:
    b = Baseline(tmp_path_factory.mktemp("baseline"), landing)
    yield b
    b.stop()


@dataclass
class UI:
    """A running `python -m sciforge.infra.ui` and what the tests need to drive it."""

    proc: subprocess.Popen[bytes]
    url: str
    user: str
    password: str
    base: Path
    env: dict[str, str]
    stack: Any  # an AirflowStack with the same configuration (for the `airflow` CLI), not started
    client: Any

    @property
    def data(self) -> Path:
        return self.base / "data"


@pytest.fixture(scope="session")
def airflow_ui(landing: Path, baseline: Baseline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    from sciforge.infra.ui import AirflowClient, AirflowStack, free_port
    from sciforge.pipelines.config import load_settings

    base = tmp_path_factory.mktemp("ui")
    env = sciforge_env(base, landing)
    chats = [{"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                           {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."}]} for i in range(64)]
    (base / "sft.jsonl").write_text("".join(json.dumps(c) + "\n" for c in chats))
    port = free_port()
    log = base / "ui.log"
    proc = subprocess.Popen([sys.executable, "-m", "sciforge.infra.ui", "--port", str(port), "--no-schedule"], cwd=REPO_ROOT,
                            env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while True:
            text = log.read_text(errors="replace")
            m = re.search(r"Airflow UI:\s+(\S+)\nlogin:\s+(\S+) / (\S+)", text)
            if m:
                break
            assert proc.poll() is None, f"`python -m sciforge.infra.ui` exited {proc.returncode}:\n{text[-5000:]}"
            assert time.monotonic() < deadline, f"no URL printed after 600 s:\n{text[-5000:]}"
            time.sleep(1)
        url, user, password = m.groups()
        settings = load_settings(storage={"data_root": str(base / "data")}, airflow={"home": str(base / "airflow")})
        stack = AirflowStack(settings, port=port, use_job_schedule=False, extra_env=env, password=password)
        yield UI(proc, url, user, password, base, env, stack, AirflowClient(url, user, password))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # serve_ui stops its components, then exits
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def dataset_dirs(root: Path) -> list[Path]:
    """Every <zone>/<name>/<version> folder under a local data root (staging excluded)."""
    return sorted(p for p in root.glob("*/*/*") if p.is_dir() and p.parts[-3] != "_staging"
                  and p.parts[-3] != "reports")


def assert_published_cleanly(root: Path, days: tuple[str, ...] | list[str]) -> None:
    """Every dataset version of `days` has a manifest, its files are exactly the manifest's files
    (nothing half-written, no leftover or duplicate part) and their checksums match."""
    from sciforge.pipelines.datasets import DatasetRef, verify
    from sciforge.pipelines.storage import LocalStorage

    storage = LocalStorage(str(root))
    seen = 0
    for d in dataset_dirs(root):
        if not d.name.startswith(tuple(days)):
            continue
        seen += 1
        manifest = d / "_manifest.json"
        assert manifest.exists(), f"{d.relative_to(root)}: files without a manifest"
        m = json.loads(manifest.read_text())
        listed = sorted(f["path"] for f in m["files"])
        assert len(listed) == len(set(listed)), f"{d}: a file listed twice"
        on_disk = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and p.name != "_manifest.json")
        assert on_disk == listed, f"{d.relative_to(root)}: files differ from the manifest"
        verify(storage, DatasetRef(*d.relative_to(root).parts))
    assert seen, f"no datasets for {days} under {root}"
