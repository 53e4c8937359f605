"""Save / load in the HF layout; a fresh process reproduces the logits bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors import safe_open

from model import build_model, load_pretrained, save_pretrained

REPO = Path(__file__).resolve().parents[2]

FRESH_PROCESS = """
import sys, torch
from model import load_pretrained
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
    """Reference numerics: a text-only checkpoint is a Qwen3-MoE checkpoint for `transformers`."""
    from transformers import AutoModelForCausalLM

    model = build_model("tiny", seed=0)
    cfg = model.config.replace(vision=None, time_series=None, shared_expert_intermediate_size=0)
    model = build_model(cfg, seed=0).eval()
    save_pretrained(model, tmp_path)
    hf = AutoModelForCausalLM.from_pretrained(str(tmp_path), dtype=torch.float32).eval()
    assert type(hf).__name__ == "Qwen3MoeForCausalLM"
    ids = torch.randint(4, cfg.vocab_size, (2, 12))
    with torch.no_grad():
        torch.testing.assert_close(hf(ids).logits, model(ids).logits, rtol=1e-5, atol=1e-5)
