"""Multimodal pre-training: generated molecule / signal samples, l^-1/2 weighting, a short run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from sciforge.model import build_model
from sciforge.model.config import ModelConfig, get_config
from sciforge.model.train.multimodal import (
    MultimodalSource,
    make_signal,
    render_molecule,
    sample_weight,
)


@pytest.fixture(scope="module")
def tok() -> Any:
    from sciforge.pipelines.tokenizer.default import default_tokenizer

    return default_tokenizer()


@pytest.fixture(scope="module")
def source(tok: Any) -> MultimodalSource:
    model = build_model(ModelConfig.from_tokenizer(tok, get_config("tiny")))
    return MultimodalSource.generate(model, tok, 12, 64, seed=7)


def test_molecule_rendering_is_a_drawing() -> None:
    benzene, water = render_molecule("c1ccccc1", 56), render_molecule("O", 56)
    assert benzene.shape == (3, 56, 56)
    assert benzene.std() > 0.1 and not torch.equal(benzene, water)  # not blank, depends on the molecule
    with pytest.raises(ValueError, match="invalid SMILES"):
        render_molecule("C1CC(", 56)


def test_signals_match_their_descriptions() -> None:
    rng = np.random.default_rng(0)
    sine = make_signal("sine", 2.0, 100.0, 2.0, rng)[:, 0]
    crossings = int(np.sum(np.diff(np.sign(sine)) != 0))
    assert 7 <= crossings <= 9 + 4  # 2 Hz for 2 s: 4 cycles = 8 zero crossings (noise may add a few)
    step = make_signal("step", 1.0, 50.0, 2.0, rng)[:, 0]
    assert step[:40].mean() < 0.1 and step[60:].mean() > 0.9


def test_samples_and_weights(source: MultimodalSource, tok: Any) -> None:
    assert len(source) == 12 and source.counters.kept == 12
    texts = [s.text for s in source.samples]
    assert sum("<image>" in t for t in texts) == 6 and sum("<ts>" in t for t in texts) == 6
    batch = source.collate([0, 1])  # one molecule, one signal
    assert batch["pixel_values"].shape == (1, 3, 56, 56) and len(batch["time_series"]) == 1
    ids, w = batch["input_ids"], batch["label_weights"]
    for r in range(2):
        sample = source.samples[r]
        text_targets = sum(1 for t in sample.ids[1:] if t not in (source.image_id, source.ts_id))
        assert w[r, 0].item() == pytest.approx(1 / math.sqrt(text_targets))
        assert torch.all(w[r, len(sample.ids):] == 0) and torch.all(batch["labels"][r, len(sample.ids):] == -100)
    assert sample_weight(100) == pytest.approx(0.1)
    decoded = tok.decode([t for t in ids[0].tolist() if t not in (source.image_id, tok.pad_id)])
    name = source.samples[0].text.split("This is ")[1].split(";")[0]
    assert name in decoded and "SMILES" in decoded


def test_weighted_loss_is_square_averaging(source: MultimodalSource) -> None:
    """The model's weighted loss equals sum_i l_i^-1/2 * sum_t ce / sum_i l_i^1/2 (paper's rule)."""
    model = build_model(ModelConfig.from_tokenizer(source.tokenizer(), get_config("tiny")))
    batch = source.collate([0, 1, 2, 3])
    with torch.no_grad():
        out = model(**batch)
        logits = out.logits
        target = torch.nn.functional.pad(batch["labels"][:, 1:], (0, 1), value=-100)
        target[(target == source.image_id) | (target == source.ts_id)] = -100
        ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), target.flatten(), reduction="none",
                                               ignore_index=-100).view(target.shape)
        valid = target != -100
        lengths = valid.sum(1).double()
        expected = (ce.double() * valid).sum(1).mul(lengths.rsqrt()).sum() / lengths.sqrt().sum()
    assert out.lm_loss.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.slow
def test_mmpt_training_run(tmp_path: Path, threads_1: None) -> None:
    from sciforge.model.train import TrainConfig, train
    from sciforge.model.train.metrics import read_metrics

    cfg = TrainConfig.model_validate({
        "stage": "mmpt", "run": "m", "out_dir": str(tmp_path), "model": "tiny",
        "data": {"num_samples": 8, "seq_len": 64},
        "schedule": {"lr": 3e-3, "warmup_tokens": 128, "total_tokens": 4 * 128, "decay_fraction": 0.0,
                     "batch_phases": [{"global_batch_tokens": 128}]},
        "micro_batch_size": 1, "save_every": 100, "progress": False, "tensorboard": False,
    })
    summary = train(cfg)
    rows = read_metrics(Path(summary["run_dir"]) / "metrics.jsonl")
    assert len(rows) == 4 and rows[-1]["lm_loss"] < rows[0]["lm_loss"]
    from sciforge.model.checkpoint import load_pretrained

    model = load_pretrained(summary["export"])
    assert model.vision_model is not None and model.time_series_model is not None
