"""The export of a real CPT run (the project's trainer, tiny preset, a few steps) is a Qwen3-MoE checkpoint
that `transformers` loads with every tensor used and identical logits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sciforge.model import load_pretrained
from sciforge.model.train import TrainConfig, train
from sciforge.model.train.data import CorpusSource
from tests.train.conftest import cpt_config

STEPS = 4


def _corpus_rows(root: str, ref: str, n: int) -> torch.Tensor:
    """Token rows of the snapshot the run trained on (real ids, not random ones)."""
    return CorpusSource(root, ref).collate(list(range(n)))["input_ids"]


def test_cpt_export_loads_exactly_in_transformers(snapshot: tuple[str, str], tmp_path: Path,
                                                   threads_1: None) -> None:
    transformers = pytest.importorskip("transformers")
    root, ref = snapshot
    summary = train(TrainConfig.model_validate(cpt_config(root, ref, tmp_path / "run", max_steps=STEPS)))
    export = Path(summary["export"])
    config = json.loads((export / "config.json").read_text())
    assert config["model_type"] == "qwen3_moe" and config["architectures"] == ["Qwen3MoeForCausalLM"]

    ours = load_pretrained(export)
    hf, info = transformers.AutoModelForCausalLM.from_pretrained(
        str(export), dtype=torch.float32, output_loading_info=True)
    hf.eval()
    assert type(hf).__name__ == "Qwen3MoeForCausalLM"
    # every stored tensor is used and every HF parameter comes from the checkpoint
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert sum(p.numel() for p in hf.parameters()) == sum(p.numel() for p in ours.parameters())

    ids = _corpus_rows(root, ref, 4)
    assert ids.shape[0] == 4 and int(ids.max()) < ours.config.vocab_size
    with torch.no_grad():
        mine, theirs = ours(ids).logits, hf(ids).logits
    torch.testing.assert_close(theirs, mine, rtol=1e-5, atol=1e-5)
    assert torch.equal(theirs.argmax(-1), mine.argmax(-1))
    # the run trained: its export is not the initial model
    init = train(TrainConfig.model_validate(cpt_config(root, ref, tmp_path / "init", max_steps=1,
                                                       schedule={"lr": 1e-12, "total_tokens": 64})))
    with torch.no_grad():
        assert not torch.allclose(load_pretrained(init["export"])(ids).logits, mine)
