"""A small corpus snapshot built by the real corpus job (local engine), shared by the training tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sciforge.pipelines.pages import PAGE_COLUMNS, PAGE_SCHEMA

SEQ_LEN = 32
TOPICS = [
    ("chemistry", "The ester CC(=O)Oc1ccccc1C(=O)O hydrolyses in water to acetic and salicylic acid."),
    ("physics", "A pendulum of length one metre swings with a period close to two seconds."),
    ("life_science", "Enzymes lower the activation energy of reactions inside living cells."),
    ("mathematics", "Every bounded monotone sequence of real numbers converges to a limit."),
]


def page_table(n: int) -> pa.Table:
    rows: dict[str, list[Any]] = {k: [] for k in PAGE_COLUMNS}
    for i in range(n):
        field, sentence = TOPICS[i % len(TOPICS)]
        rows["doc_id"].append(f"doc-{i:04d}")
        rows["page"].append(0)
        rows["source"].append("web")
        rows["url"].append(f"https://site{i % 3}.org/{i}")
        rows["domain"].append(f"site{i % 3}.org")
        rows["field"].append(field)
        rows["text"].append(f"Note {i}. {sentence} " * (1 + i % 3))
    return pa.table(rows, schema=PAGE_SCHEMA)


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(data_root, ref) of a published corpus snapshot with SEQ_LEN-token rows."""
    from sciforge.jobs.corpus import run_corpus
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.datasets import DatasetRef, write_dataset
    from sciforge.pipelines.storage import open_storage

    root = str(tmp_path_factory.mktemp("train_data") / "data")
    settings = load_settings(storage={"data_root": root},
                             stages={"corpus": {"seq_len": SEQ_LEN, "num_shards": 2}})
    table = page_table(64)
    ref = DatasetRef("clean", "pages", "2026-01-01_trainfixture")
    write_dataset(open_storage(root), ref, [table], schema=table.schema, logical_date="2026-01-01")
    snap = run_corpus(settings, ref, "2026-01-01", engine="local")
    return root, snap.key


@pytest.fixture
def threads_1() -> Any:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cpt_config(root: str, ref: str, out: Path, **kw: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "stage": "cpt",
        "run": "t",
        "out_dir": str(out),
        "model": "tiny",
        "data": {"root": root, "ref": ref},
        "schedule": {
            "lr": 2e-3,
            "warmup_tokens": 4 * 2 * SEQ_LEN,
            # 4 steps of 2 rows, then 8 steps of 4 rows (batch-size warm-up mid-run): 12 steps
            "total_tokens": 4 * 2 * SEQ_LEN + 8 * 4 * SEQ_LEN,
            "decay_fraction": 0.25,
            "batch_phases": [{"start_tokens": 0, "global_batch_tokens": 2 * SEQ_LEN},
                             {"start_tokens": 4 * 2 * SEQ_LEN, "global_batch_tokens": 4 * SEQ_LEN}],
        },
        "micro_batch_size": 2,
        "save_every": 3,
        "progress": False,
        "tensorboard": False,
    }
    cfg.update(kw)
    return cfg
