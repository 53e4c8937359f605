"""The model sized from the project's dynamic tokenizer (pipelines/tokenizer), end to end."""

from __future__ import annotations

import pytest
import torch

from sciforge.model import ModelConfig, build_model


@pytest.fixture(scope="module")
def sci_tokenizer():
    default = pytest.importorskip("sciforge.pipelines.tokenizer.default")
    return default.default_tokenizer()  # cached under ~/.cache/sciforge after the first training


def test_config_from_dynamic_tokenizer(sci_tokenizer):
    cfg = ModelConfig.from_tokenizer(sci_tokenizer, "tiny")
    assert cfg.vocab_size >= sci_tokenizer.vocab_size
    assert cfg.modality_ranges == {k: tuple(v) for k, v in sci_tokenizer.modality_ranges.items()}
    assert cfg.image_token_id == sci_tokenizer.image_token_id and cfg.ts_token_id == sci_tokenizer.ts_token_id
    assert cfg.pad_token_id is not None and cfg.eos_token_id is not None


def test_tokenized_multimodal_sample_runs(sci_tokenizer):
    cfg = ModelConfig.from_tokenizer(sci_tokenizer, "tiny")
    model = build_model(cfg).eval()
    # Placeholders are inserted as ids (the tokenizer never turns the literal text "<image>" into one).
    ids = (
        sci_tokenizer.encode("Aspirin")
        + [cfg.image_token_id]
        + sci_tokenizer.encode(" is CC(=O)Oc1ccccc1C(=O)O; its IR trace")
        + [cfg.ts_token_id]
        + sci_tokenizer.encode(" follows.")
    )
    ids = model.expand_placeholders(ids, [(500, 20.0)])
    size = cfg.vision.image_size
    out = model(
        torch.tensor([ids]),
        labels=torch.tensor([ids]),
        pixel_values=torch.randn(1, 3, size, size),
        time_series=[torch.randn(500, 2)],
        ts_sampling_rates=[20.0],
    )
    assert torch.isfinite(out.loss)
    smiles = [t for t in ids if cfg.modality_of(t) == "smiles"]
    assert smiles, "the SMILES span should use ids from the tokenizer's SMILES range"
