"""Router, load-balancing loss against a reference formula, capacity, and gradient checks."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from sciforge.model import get_config
from sciforge.model.model import Block, SciForgeModel
from sciforge.model.moe import MoEFeedForward, load_balancing_loss, router_z_loss


def reference_balance_loss(probs: torch.Tensor, idx: torch.Tensor, num_experts: int) -> torch.Tensor:
    """Switch Transformer eq. (4) generalised to top-k (DeepSeek-V2 eq. 13), written as explicit loops:
    alpha=1, f_i = E/(kT) * #{(t, j): idx[t, j] == i},  P_i = 1/T * sum_t probs[t, i],  L = sum_i f_i P_i."""
    t, k = idx.shape
    loss = torch.zeros((), dtype=probs.dtype)
    for i in range(num_experts):
        hits = sum(int(idx[s, j] == i) for s in range(t) for j in range(k))
        f_i = num_experts / (k * t) * hits
        p_i = sum(probs[s, i] for s in range(t)) / t
        loss = loss + f_i * p_i
    return loss


def test_load_balancing_loss_matches_reference():
    torch.manual_seed(0)
    logits = torch.randn(37, 6)
    probs = logits.softmax(-1)
    idx = probs.topk(2, dim=-1).indices
    torch.testing.assert_close(load_balancing_loss(probs, idx, 6), reference_balance_loss(probs, idx, 6))


def test_load_balancing_loss_is_one_when_uniform_and_grows_when_collapsed():
    e = 4  # experts; top-2 routing below
    probs = torch.full((8, e), 1 / e)
    idx = torch.tensor([[0, 1], [2, 3]] * 4)
    torch.testing.assert_close(load_balancing_loss(probs, idx, e), torch.tensor(1.0))
    collapsed = torch.tensor([[0.5, 0.5, 0.0, 0.0]]).repeat(8, 1)
    assert load_balancing_loss(collapsed, torch.tensor([[0, 1]] * 8), e) == pytest.approx(2.0)


def test_z_loss_reference():
    logits = torch.tensor([[0.0, 0.0], [1.0, 3.0]])
    expected = (
        torch.log(torch.tensor(2.0)) ** 2
        + torch.log(torch.exp(torch.tensor(1.0)) + torch.exp(torch.tensor(3.0))) ** 2
    ) / 2
    torch.testing.assert_close(router_z_loss(logits), expected)


def naive_moe(layer: MoEFeedForward, x: torch.Tensor) -> torch.Tensor:
    """Token-by-token reference of the sparse block (Qwen3-MoE semantics)."""
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        probs = F.softmax(layer.gate(x[t]).float(), -1)
        w, idx = probs.topk(layer.top_k)
        w = w / w.sum()
        for weight, e in zip(w, idx, strict=True):
            ex = layer.experts
            h = F.silu(x[t] @ ex.gate_proj[e].T) * (x[t] @ ex.up_proj[e].T)
            out[t] += weight * (h @ ex.down_proj[e].T)
        if layer.shared_expert is not None:
            out[t] += layer.shared_expert(x[t])
    return out


def _layer(**changes) -> MoEFeedForward:
    torch.manual_seed(0)
    cfg = get_config("tiny", **changes)
    model = SciForgeModel(cfg)
    return model.model.layers[cfg.first_k_dense_replace].mlp


def test_moe_matches_token_by_token_reference():
    layer = _layer().eval()
    x = torch.randn(13, layer.gate.in_features)
    y, stats = layer(x)
    torch.testing.assert_close(y, naive_moe(layer, x), rtol=1e-5, atol=1e-6)
    assert stats.dropped == 0


def test_capacity_drops_overflow_in_training_only():
    layer = _layer(capacity_factor=0.5, shared_expert_intermediate_size=0)
    x = torch.randn(64, layer.gate.in_features)
    layer.train()
    y_train, stats = layer(x)
    cap = layer.capacity(64)
    assert cap == math.ceil(0.5 * 64 * layer.top_k / layer.num_experts)  # GShard: ceil(cf * tokens * k / E)
    expected_drops = int((stats.tokens_per_expert - cap).clamp(min=0).sum())
    assert stats.dropped == expected_drops > 0
    layer.eval()  # inference is drop-free
    y_eval, stats_eval = layer(x)
    assert stats_eval.dropped == 0
    torch.testing.assert_close(y_eval, naive_moe(layer, x), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(y_train, y_eval)


def test_first_arrivals_keep_their_capacity_slots():
    layer = _layer(capacity_factor=0.25, shared_expert_intermediate_size=0).train()
    torch.manual_seed(5)
    x = torch.randn(32, layer.gate.in_features)
    y_full, _ = layer(x)
    y_head, _ = layer(x[:4])  # capacity 1 per expert at 4 tokens ...
    # ... the very first token always keeps all of its experts
    torch.testing.assert_close(y_full[0], y_head[0], rtol=1e-5, atol=1e-6)


def test_gradcheck_moe_layer_float64():
    layer = _layer().double().eval()
    x = torch.randn(5, layer.gate.in_features, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: layer(inp)[0], (x,), eps=1e-6, atol=1e-5, fast_mode=True)


def test_gradcheck_attention_block_float64():
    torch.manual_seed(0)
    cfg = get_config("tiny", vision=None, time_series=None)
    block = Block(cfg, 0, torch.nn.Linear).double()
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.2)
    model = SciForgeModel(cfg).double()
    x = torch.randn(1, 5, cfg.hidden_size, dtype=torch.float64, requires_grad=True)
    rope = model.model.rotary(torch.arange(5)[None], torch.float64)
    assert torch.autograd.gradcheck(
        lambda inp: block(inp, rope, None, None)[0], (x,), eps=1e-6, atol=1e-5, fast_mode=True
    )


def test_router_losses_have_gradients_into_router():
    layer = _layer().train()
    x = torch.randn(16, layer.gate.in_features)
    _, stats = layer(x)
    (stats.aux_loss + stats.z_loss).backward()
    assert layer.gate.weight.grad is not None and layer.gate.weight.grad.abs().sum() > 0


def test_whole_model_directional_gradient_float64(tiny_cfg):
    """Autograd vs central differences along a random direction over ALL parameters of the tiny
    multimodal model (LM, router, experts, vision and time-series encoders), in float64."""
    torch.manual_seed(0)
    model = SciForgeModel(tiny_cfg).double().eval()  # eval: drop-free routing, deterministic
    ids = torch.tensor(
        [model.expand_placeholders([10, tiny_cfg.image_token_id, 11, tiny_cfg.ts_token_id, 12], [(64, 10.0)])]
    )
    size = tiny_cfg.vision.image_size
    kw = {
        "pixel_values": torch.randn(1, 3, size, size, dtype=torch.float64),
        "time_series": [torch.randn(64, 2, dtype=torch.float64)],
        "ts_sampling_rates": [10.0],
    }
    params = [p for p in model.parameters() if p.requires_grad]
    direction = [torch.randn_like(p) for p in params]

    def loss_at(step: float) -> torch.Tensor:
        with torch.no_grad():
            for p, d in zip(params, direction, strict=True):
                p.add_(d, alpha=step)
        loss = model(ids, labels=ids, **kw).loss
        with torch.no_grad():
            for p, d in zip(params, direction, strict=True):
                p.sub_(d, alpha=step)
        return loss.detach()

    loss = model(ids, labels=ids, **kw).loss
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    analytic = sum((g * d).sum() for g, d in zip(grads, direction, strict=True) if g is not None)
    eps = 1e-6
    numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    torch.testing.assert_close(analytic, numeric, rtol=1e-4, atol=1e-6)
    unused = [n for (n, _), g in zip(model.named_parameters(), grads, strict=True) if g is None]
    assert not unused, f"parameters without gradient: {unused}"


def test_grouped_gemm_and_loop_paths_agree_forward_and_backward():
    layer = _layer().train()
    x = torch.randn(40, layer.gate.in_features)
    results = []
    for grouped in (True, False):
        layer.experts.use_grouped_mm = grouped
        layer.zero_grad()
        xg = x.clone().requires_grad_(True)
        y, _ = layer(xg)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        results.append(
            (y.detach(), xg.grad, layer.experts.down_proj.grad.clone(), layer.experts.gate_proj.grad.clone())
        )
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_enable_expert_parallel_keeps_the_rank_slice_and_checks_divisibility():
    from sciforge.model.moe import ExpertParallel

    layer = _layer()
    full = layer.experts.down_proj.detach().clone()
    layer.enable_expert_parallel(ExpertParallel(group=None, size=4, rank=2))
    assert layer.experts.num_experts == 2 and layer.num_experts == 8  # routing stays over all 8
    assert torch.equal(layer.experts.down_proj, full[4:6])
    assert layer.experts.down_proj.requires_grad
    with pytest.raises(RuntimeError, match="already enabled"):
        layer.enable_expert_parallel(ExpertParallel(group=None, size=4, rank=2))
    with pytest.raises(ValueError, match="does not divide num_experts"):
        _layer().enable_expert_parallel(ExpertParallel(group=None, size=3, rank=0))


def test_grouped_experts_without_tokens_give_zero_gradients():
    """Under expert parallelism a rank's experts can receive no rows; they still join the backward."""
    experts = _layer().experts
    x = torch.zeros(0, experts.gate_proj.shape[-1], requires_grad=True)
    y = experts(x, torch.zeros(experts.num_experts, dtype=torch.long))
    assert y.shape == x.shape
    y.sum().backward()
    assert experts.gate_proj.grad is not None and float(experts.gate_proj.grad.abs().sum()) == 0.0
    # the empty input stays in the graph too: the all-to-all that delivered it runs its backward on this
    # rank as on the others (a detached zero output left the other rank waiting in that collective)
    assert x.grad is not None and x.grad.shape == x.shape
