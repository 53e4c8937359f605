"""mmpt continues from a text-only CPT export: encoders are attached, the LM's weights kept exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sciforge.model.checkpoint import save_pretrained
from sciforge.model.config import ModelConfig
from sciforge.model.model import SciForgeModel
from sciforge.model.train.config import TrainConfig
from sciforge.model.train.stages import build_model


def _cfg(stage: str, model: str) -> TrainConfig:
    schedule = {"lr": 1e-3, "warmup_tokens": 64, "total_tokens": 1024,
                "batch_phases": [{"start_tokens": 0, "global_batch_tokens": 128}]}
    return TrainConfig(stage=stage, model=model, schedule=schedule)  # type: ignore[arg-type]


def test_mmpt_attaches_encoders_to_a_text_only_checkpoint(tmp_path: Path) -> None:
    from sciforge.pipelines.tokenizer.default import default_tokenizer

    tok = default_tokenizer()
    torch.manual_seed(0)
    lm = SciForgeModel(ModelConfig.from_tokenizer(tok, "tiny", vision=None, time_series=None))
    save_pretrained(lm, tmp_path / "cpt_export")
    cfg = _cfg("mmpt", str(tmp_path / "cpt_export"))
    mm = build_model(cfg, tok, text_only=False)
    assert mm.vision_model is not None and mm.time_series_model is not None
    lm_state = lm.state_dict()
    for k, v in mm.state_dict().items():
        if k in lm_state:
            assert torch.equal(v, lm_state[k]), k
    again = build_model(cfg, tok, text_only=False)  # deterministic encoder initialisation
    assert all(torch.equal(a, b) for a, b in zip(mm.state_dict().values(), again.state_dict().values(),
                                                  strict=True))
    text = build_model(_cfg("sft", str(tmp_path / "cpt_export")), tok, text_only=True)
    assert text.vision_model is None  # text stages keep the checkpoint as it is

    lm.config.name = "custom"
    save_pretrained(lm, tmp_path / "custom")
    with pytest.raises(ValueError, match="preset 'custom' is unknown"):
        build_model(_cfg("mmpt", str(tmp_path / "custom")), tok, text_only=False)
