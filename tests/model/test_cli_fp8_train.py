"""The describe CLI, the fp8 linear hook, and a tiny model that actually learns on CPU."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from sciforge.cli.model import app
from sciforge.model import build_model, get_config
from sciforge.model.describe import describe, summarize
from sciforge.model.layers import make_linear_cls


def test_describe_cli_json_matches_meta_counts():
    result = CliRunner().invoke(app, ["describe", "tiny", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    total, active = summarize(describe(get_config("tiny")))["TOTAL"]
    assert payload["summary"]["TOTAL"] == {"total": total, "active": active}
    assert active < total


def test_describe_cli_table_and_bad_name(tmp_path):
    runner = CliRunner()
    table = runner.invoke(app, ["describe", "intern_s1"])
    assert table.exit_code == 0 and "routed experts" in table.output and "241.03B" in table.output
    bad = runner.invoke(app, ["describe", "nope"])
    assert bad.exit_code != 0


def test_fp8_falls_back_cleanly_without_kernels(monkeypatch):
    monkeypatch.setitem(sys.modules, "sciforge.kernels.fp8", None)  # makes `import sciforge.kernels.fp8` raise ImportError
    with pytest.warns(UserWarning, match="sciforge.kernels.fp8"):
        model = build_model(get_config("tiny", fp8=True, vision=None, time_series=None))
    assert type(model.model.layers[0].self_attn.q_proj) is nn.Linear
    assert make_linear_cls(False) is nn.Linear


class _RecordingLinear(nn.Linear):
    pass


def test_fp8_hook_builds_projections_with_the_fp8_class(monkeypatch):
    import types

    fake = types.ModuleType("sciforge.kernels.fp8")
    fake.Fp8Linear = _RecordingLinear
    monkeypatch.setitem(sys.modules, "sciforge.kernels.fp8", fake)
    model = build_model(get_config("tiny", fp8=True))
    attn = model.model.layers[1].self_attn
    assert all(isinstance(m, _RecordingLinear) for m in (attn.q_proj, attn.k_proj, attn.v_proj, attn.o_proj))
    assert type(model.model.layers[1].mlp.gate) is nn.Linear  # the router stays high precision
    assert not any(isinstance(m, _RecordingLinear) for m in model.vision_model.modules())  # ViT stays BF16


def test_tiny_model_learns_on_cpu():
    torch.manual_seed(0)
    model = build_model(get_config("tiny", vision=None, time_series=None)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    # a fixed repeating sequence: learnable in a few dozen steps
    ids = torch.arange(4, 36).repeat(4, 2)
    losses = []
    for _ in range(40):
        out = model(ids, labels=ids)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.lm_loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_real_fp8_linear_is_used_when_kernels_are_importable():
    fp8 = pytest.importorskip("sciforge.kernels.fp8")
    cfg = get_config("tiny", vision=None, time_series=None)
    fp8_model = build_model(cfg.replace(fp8=True), seed=0)
    assert isinstance(fp8_model.model.layers[0].self_attn.q_proj, fp8.Fp8Linear)
    ids = torch.randint(4, cfg.vocab_size, (2, 8))
    out = fp8_model(ids, labels=ids)
    out.loss.backward()
    assert fp8_model.model.layers[0].self_attn.q_proj.weight.grad is not None
    if not torch.cuda.is_available():  # off-GPU Fp8Linear falls back to BF16 GEMMs: close, not identical
        ref = build_model(cfg, seed=0)(ids).logits
        assert torch.allclose(out.logits, ref, atol=0.1, rtol=0.05) and not torch.equal(out.logits, ref)


def test_bfloat16_training_step_and_generation():
    from sciforge.model import generate

    model = build_model(get_config("tiny"), dtype=torch.bfloat16)
    ids = torch.randint(4, model.config.vocab_size, (2, 10))
    out = model(ids, labels=ids)
    assert out.logits.dtype == torch.bfloat16 and torch.isfinite(out.loss)
    out.loss.backward()
    gen = generate(model, [[5, 6, 7]], 4, temperature=0, stop_token_ids=[])
    assert len(gen.tokens[0]) == 4


def test_placeholder_ids_are_plain_tokens_without_an_encoder(text_model, text_cfg):
    ids = torch.tensor([[5, text_cfg.image_token_id, 6]])
    assert text_model(ids).logits.shape == (1, 3, text_cfg.vocab_size)
    with pytest.raises(ValueError, match="no vision encoder"):
        text_model(ids, pixel_values=torch.zeros(1, 3, 56, 56))


def test_describe_a_checkpoint_folder_and_meta_build(text_model, tmp_path):
    from sciforge.model import save_pretrained

    save_pretrained(text_model, tmp_path)
    result = CliRunner().invoke(app, ["describe", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    total = json.loads(result.output)["summary"]["TOTAL"]["total"]
    assert total == sum(p.numel() for p in text_model.parameters())
    meta = build_model("intern_s1", device="meta")
    assert all(p.is_meta for p in meta.parameters())
