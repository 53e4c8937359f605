"""Rules of the launcher that make backfills safe (pure functions, no Airflow needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciforge.launch.inputs import previous_pages
from sciforge.launch.train import UPSTREAM_FILE, check_upstream


def test_previous_pages_are_chosen_by_date_not_by_what_is_listed() -> None:
    versions = ["2026-01-01_aaa", "2026-01-02_aaa", "2026-01-03_aaa", "2026-01-05_aaa"]
    got = [r.key for r in previous_pages(versions, "2026-01-04", 2)]
    assert got == ["clean/pages/2026-01-02_aaa", "clean/pages/2026-01-03_aaa"]
    assert previous_pages(versions, "2026-01-04", 0) == []
    # a later day already published (a backwards backfill) changes nothing
    assert [r.key for r in previous_pages(versions + ["2026-01-04_bbb"], "2026-01-04", 2)] == got
    with pytest.raises(RuntimeError, match="2026-01-04, which is not published"):
        previous_pages(versions, "2026-01-05", 1)


def test_a_run_restarts_when_its_upstream_weights_change(tmp_path: Path) -> None:
    up, run = tmp_path / "mmpt_export", tmp_path / "sft_run"
    up.mkdir()
    (up / "model.safetensors").write_bytes(b"weights v1")
    (up / "config.json").write_text("{}")
    check_upstream(run, str(up))
    (run / "checkpoints").mkdir()  # training progress of the run
    check_upstream(run, str(up))  # same upstream: resume, keep progress
    assert (run / "checkpoints").exists()
    (up / "model.safetensors").write_bytes(b"weights v2")  # the upstream stage was re-trained
    check_upstream(run, str(up))
    assert not (run / "checkpoints").exists() and "weights" not in (run / UPSTREAM_FILE).read_text()
    assert (run / UPSTREAM_FILE).exists()
    with pytest.raises(FileNotFoundError, match="no weights"):
        check_upstream(tmp_path / "other", str(tmp_path / "missing"))
