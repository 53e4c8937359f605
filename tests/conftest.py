"""Shared fixtures: settings on a temporary data root, one SparkSession for the whole run,
and a real SeaweedFS S3 server (infra/services/seaweed.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests must not inherit a developer's overrides.
for _k in [k for k in os.environ if k.startswith("SCIFORGE_")]:
    del os.environ[_k]
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    from sciforge.pipelines.config import load_settings

    return load_settings(storage={"data_root": str(tmp_path / "data")})


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from sciforge.jobs.spark import get_spark
    from sciforge.pipelines.config import load_settings

    s = load_settings(spark={"master": "local[2]", "driver_memory": "2g", "shuffle_partitions": 2})
    session = get_spark(s)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from sciforge.infra.services.seaweed import SeaweedS3

    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus of `sciforge demo-data`, generated once per test run."""
    from sciforge.fixtures.demo_data import write_demo_corpus

    out = tmp_path_factory.mktemp("demo_corpus")
    write_demo_corpus(out)
    return out
