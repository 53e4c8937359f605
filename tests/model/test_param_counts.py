"""Meta-device parameter counts for every config, checked against closed-form formulas."""

from __future__ import annotations

import pytest
import torch

from sciforge.model import SciForgeModel, get_config
from sciforge.model.config import PRESETS, ModelConfig
from sciforge.model.describe import count_parameters, describe, summarize


def lm_formula(c: ModelConfig) -> tuple[int, int]:
    """Total / active LM parameters from the Qwen3-MoE architecture, written out by hand."""
    d, hd = c.hidden_size, c.head_dim
    attn = d * hd * (c.num_attention_heads * 2 + c.num_key_value_heads * 2) + 2 * hd
    norms = 2 * d
    expert = 3 * d * c.moe_intermediate_size
    shared = 3 * d * c.shared_expert_intermediate_size
    moe_total = c.num_experts * expert + d * c.num_experts + shared
    moe_active = c.num_experts_per_tok * expert + d * c.num_experts + shared
    dense = 3 * d * c.intermediate_size
    k, m = c.first_k_dense_replace, c.num_moe_layers
    emb = c.vocab_size * d * (1 if c.tie_word_embeddings else 2)
    base = c.num_hidden_layers * (attn + norms) + k * dense + emb + d
    return base + m * moe_total, base + m * moe_active


def vision_formula(c: ModelConfig) -> int:
    v = c.vision
    d = v.hidden_size
    f = 3 * d
    qk = 2 * d if v.qk_normalization else 0
    layer = d * f + (f if v.qkv_bias else 0) + d * d + d + qk + 2 * d + 2 * d * v.intermediate_size
    layer += v.intermediate_size + d + 2 * d
    emb = v.num_channels * v.patch_size**2 * d + d + d + (v.num_patches + 1) * d
    merged = d * round(1 / v.downsample_ratio) ** 2
    proj = 2 * merged + merged * c.hidden_size + c.hidden_size + c.hidden_size**2 + c.hidden_size
    return v.num_hidden_layers * layer + emb + proj


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_meta_counts_match_formulas(name):
    cfg = get_config(name)
    rows = describe(cfg)
    summary = summarize(rows)
    assert summary["language model"] == lm_formula(cfg)
    assert summary["vision"][0] == vision_formula(cfg)
    assert summary["TOTAL"][0] == sum(r.total for r in rows)


def test_meta_build_allocates_nothing():
    with torch.device("meta"):
        m = SciForgeModel(get_config("intern_s1"))
    assert all(p.is_meta for p in m.parameters())


def test_intern_s1_matches_paper_scale():
    summary = summarize(describe(get_config("intern_s1")))
    lm_total, lm_active = summary["language model"]
    total, active = summary["TOTAL"]
    # Qwen3-235B-A22B: 235B total / 22B activated; Intern-S1: ~241B / ~28B.
    assert 234.5e9 < lm_total < 235.5e9 and 21.5e9 < lm_active < 22.5e9
    assert 5.4e9 < summary["vision"][0] < 5.8e9  # InternViT-6B-448px-V1-5 (45 layers) + projector
    assert 240e9 < total < 242e9 and 27.5e9 < active < 28.5e9


def test_counts_on_a_real_model_equal_meta_counts(text_cfg):
    real = SciForgeModel(text_cfg)
    assert [r.total for r in count_parameters(real, text_cfg)] == [r.total for r in describe(text_cfg)]
    assert sum(r.total for r in describe(text_cfg)) == sum(p.numel() for p in real.parameters())


def _hf_lm_count(name: str) -> int:
    transformers = pytest.importorskip("transformers")
    from sciforge.model.checkpoint import hf_config_dict

    cfg = get_config(name, vision=None, time_series=None, shared_expert_intermediate_size=0)
    with torch.device("meta"):
        hf = transformers.Qwen3MoeForCausalLM(
            transformers.Qwen3MoeConfig(**hf_config_dict(cfg, torch.bfloat16))
        )
    return sum(p.numel() for p in hf.parameters())


def test_lm_count_equals_transformers_qwen3_moe_small():
    cfg = get_config("small", vision=None, time_series=None)
    assert _hf_lm_count("small") == summarize(describe(cfg))["language model"][0]


@pytest.mark.slow
def test_lm_count_equals_transformers_qwen3_moe_paper_scale():
    """Independent reference: transformers' own Qwen3-MoE at the 235B shapes (about 20 s on meta)."""
    cfg = get_config("intern_s1", vision=None, time_series=None)
    assert _hf_lm_count("intern_s1") == summarize(describe(cfg))["language model"][0]
