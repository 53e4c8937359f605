"""Save / load in the HF layout; a fresh process reproduces the logits bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors import safe_open

from sciforge.model import build_model, load_pretrained, save_pretrained

REPO = Path(__file__).resolve().parents[2]

FRESH_PROCESS = """
import sys, torch
from sciforge.model import load_pretrained
model = load_pretrained(sys.argv[1])
ids = torch.load(sys.argv[2])
with torch.no_grad():
    torch.save(model(ids).logits, sys.argv[3])
"""


def test_round_trip_in_a_fresh_process(tiny_model, tiny_cfg, tmp_path):
    save_pretrained(tiny_model, tmp_path / "ckpt")
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == ["config.json", "generation_config.json", "model.safetensors"]
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["num_experts"] == tiny_cfg.num_experts and config["model_type"] == "sciforge_intern_s1"
    with safe_open(str(tmp_path / "ckpt" / "model.safetensors"), "pt") as fh:
        keys = set(fh.keys())
    assert "model.layers.1.mlp.experts.7.down_proj.weight" in keys  # one tensor per expert, HF names
    assert "model.layers.0.self_attn.q_proj.weight" in keys and "vision_model.patch_embedding.weight" in keys

    ids = torch.randint(4, tiny_cfg.vocab_size, (2, 9))
    torch.save(ids, tmp_path / "ids.pt")
    with torch.no_grad():
        expected = tiny_model(ids).logits
    subprocess.run(
        [
            sys.executable,
            "-c",
            FRESH_PROCESS,
            str(tmp_path / "ckpt"),
            str(tmp_path / "ids.pt"),
            str(tmp_path / "out.pt"),
        ],
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert torch.equal(torch.load(tmp_path / "out.pt"), expected)


def test_sharded_save_and_build_model_from_folder(text_model, text_cfg, tmp_path):
    save_pretrained(text_model, tmp_path, max_shard_bytes=200_000)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    again = build_model(str(tmp_path))
    ids = torch.randint(4, text_cfg.vocab_size, (1, 7))
    with torch.no_grad():
        assert torch.equal(again(ids).logits, text_model(ids).logits)


def test_load_rejects_a_mismatched_checkpoint(text_model, tmp_path):
    save_pretrained(text_model, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["num_hidden_layers"] += 1
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    import pytest

    with pytest.raises(ValueError, match="does not match"):
        load_pretrained(tmp_path)


def test_text_checkpoint_loads_in_transformers_with_identical_logits(tmp_path):
    """Reference numerics: a text-only checkpoint of a preset, as it is, is a Qwen3-MoE checkpoint for
    `transformers` (the export of a trained run: tests/train/test_export_transformers.py)."""
    from transformers import AutoModelForCausalLM

    from sciforge.model.config import get_config

    cfg = get_config("tiny", vision=None, time_series=None)
    model = build_model(cfg, seed=0).eval()
    save_pretrained(model, tmp_path)
    hf, info = AutoModelForCausalLM.from_pretrained(str(tmp_path), dtype=torch.float32,
                                                    output_loading_info=True)
    hf.eval()
    assert type(hf).__name__ == "Qwen3MoeForCausalLM"
    assert not info["missing_keys"] and not info["unexpected_keys"]
    ids = torch.randint(4, cfg.vocab_size, (2, 12))
    with torch.no_grad():
        torch.testing.assert_close(hf(ids).logits, model(ids).logits, rtol=1e-5, atol=1e-5)


def test_presets_mirror_qwen3_moe():
    """No preset has a shared expert: transformers has no architecture that computes ours exactly."""
    from sciforge.model.checkpoint import QWEN3_MOE, hf_architecture
    from sciforge.model.config import PRESETS, get_config

    for name in PRESETS:
        cfg = get_config(name, vision=None, time_series=None)
        assert cfg.shared_expert_intermediate_size == 0 and hf_architecture(cfg) == QWEN3_MOE, name


def test_shared_expert_export_is_not_labelled_qwen3_moe(tmp_path):
    """A shared-expert model is written in our own layout: transformers refuses it (it would otherwise
    drop the shared expert's tensors and compute different logits) and our loader reproduces it."""
    import pytest
    from transformers import AutoModelForCausalLM

    from sciforge.model.config import get_config

    cfg = get_config("tiny", vision=None, time_series=None, shared_expert_intermediate_size=64)
    model = build_model(cfg, seed=0).eval()
    save_pretrained(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "sciforge_intern_s1" and config["architectures"] == ["SciForgeModel"]
    with pytest.raises(ValueError):
        AutoModelForCausalLM.from_pretrained(str(tmp_path))
    ids = torch.randint(4, cfg.vocab_size, (1, 9))
    with torch.no_grad():
        assert torch.equal(load_pretrained(tmp_path)(ids).logits, model(ids).logits)


def test_intern_s1_vocabulary_and_special_ids():
    """XTuner's Intern-S1 config: vocab 153,216, `<IMG_CONTEXT>` 152957; Qwen3's eos / endoftext."""
    from sciforge.model.config import get_config

    cfg = get_config("intern_s1")
    assert cfg.vocab_size == 153216 and cfg.vocab_size % 128 == 0
    assert cfg.image_token_id == 152957 and cfg.eos_token_id == 151645 and cfg.pad_token_id == 151643
