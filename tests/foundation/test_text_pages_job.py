"""jobs/text_pages.py: the spark-submit entry point of the text_pages task (run here with engine=local)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sciforge.jobs.ingest import run_ingest
from sciforge.pipelines.datasets import read_manifest, read_table
from sciforge.pipelines.storage import open_storage


def test_main_maps_text_records_and_prints_the_ref(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], settings: Any) -> None:
    from sciforge.jobs import text_pages
    from sciforge.pipelines.config import get_settings

    src = tmp_path / "landing"
    src.mkdir()
    lines = [json.dumps({"id": "a", "text": "Enzymes lower activation energies."}), "{not json",
             json.dumps({"id": "b", "text": "A pendulum swings with a period near two seconds."})]
    (src / "notes.jsonl").write_text("\n".join(lines) + "\n")
    raw, _, _ = run_ingest(settings, str(src), "jsonl", "2026-01-01", engine="local")
    monkeypatch.setenv("SCIFORGE_DATA_ROOT", str(settings.data_root))
    get_settings.cache_clear()
    try:
        text_pages.main(["--input", raw.key, "--date", "2026-01-01", "--engine", "local"])
    finally:
        get_settings.cache_clear()
    key = capsys.readouterr().out.strip().split(":")[0]
    assert key.startswith("clean/text_pages/2026-01-01_")
    from sciforge.pipelines.datasets import DatasetRef

    storage = open_storage(settings.data_root)
    ref = DatasetRef.parse(key)
    assert read_manifest(storage, ref)["rows"] == 2
    assert sorted(read_table(storage, ref).column("page").to_pylist()) == [0, 0]
