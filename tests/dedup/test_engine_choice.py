"""`engine="auto"`: the local engine up to `local_engine_max_pages` input pages, else Spark."""

from __future__ import annotations

import random
from typing import Any

from sciforge.jobs.dedup import choose_engine, run_dedup
from sciforge.pipelines.datasets import read_manifest
from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.storage import open_storage
from tests.dedup.fixtures import page, words, write_pages


def test_auto_picks_the_local_engine_up_to_the_threshold(tmp_path: Any) -> None:
    from sciforge.pipelines.config import load_settings

    settings = load_settings(storage={"data_root": str(tmp_path / "data")})
    rng = random.Random(0)
    ref = write_pages(settings, "web_pages", [page(f"d{i}", 0, "web", words(rng, 30)) for i in range(10)])
    st = open_storage(settings.data_root, settings.storage_options())
    assert choose_engine(DedupConfig(local_engine_max_pages=10), st, [ref]) == "local"
    assert choose_engine(DedupConfig(local_engine_max_pages=9), st, [ref]) == "spark"
    out = run_dedup(settings, [ref], "2026-01-01", engine="auto")  # no Spark session is started
    assert "cc_rounds" not in read_manifest(st, out)["counters"]["metrics"]  # the local engine's counters
    # the choice changes no published row, so not the output version either
    assert DedupConfig(local_engine_max_pages=5).version_params() == DedupConfig().version_params()
