"""Forward+backward tokens/s: our MoE LM vs a dense transformer with the same ACTIVE parameter count.

One run, same input batch, models timed in interleaved rounds so load noise on a shared machine hits all
of them alike; each ratio is computed per round and the median of the per-round ratios is reported:

  * ours-moe    : the preset's MoE LM (text only; encoders are not on this path)
  * ours-dense  : the same trunk with every MoE layer replaced by a dense SwiGLU of width
                  top_k * moe_intermediate (+ shared expert), i.e. the same active parameters minus the router
  * hf-qwen3    : transformers' dense Qwen3ForCausalLM with those dense shapes (the named baseline)
  * hf-qwen3moe : transformers' Qwen3MoeForCausalLM with the MoE shapes (same routed computation)

On a CUDA device it also prints the model FLOPs utilisation of ours-moe (6 * active params per token +
attention), against --peak-tflops (H100/H200 SXM dense BF16: 989).

    python bench/model_throughput.py --config tiny
    python bench/model_throughput.py --config 1b --device cuda --dtype bfloat16 --batch 8 --seq 2048 --check

Goal (`--check`): MFU of `1b` in BF16 on a Hopper GPU >= 40%; on a CPU, or for another config, it is not
measured (exit 2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._goals import Goals, add_check_flag  # noqa: E402
from sciforge.model import build_model, get_config  # noqa: E402
from sciforge.model.checkpoint import hf_config_dict  # noqa: E402
from sciforge.model.config import ModelConfig  # noqa: E402
from sciforge.model.describe import describe, summarize  # noqa: E402

H200_BF16_DENSE_TFLOPS = 989.0  # NVIDIA H100/H200 SXM datasheet, dense (no sparsity)
MFU_GOAL = 0.40  # the goal for the `1b` config, BF16 forward+backward on Hopper


def bench_configs(preset: str) -> tuple[ModelConfig, ModelConfig]:
    # Text only, and no shared expert: transformers' Qwen3-MoE has none, so all four models compare.
    moe = get_config(preset, vision=None, time_series=None, shared_expert_intermediate_size=0)
    dense = moe.replace(num_experts=0, intermediate_size=moe.num_experts_per_tok * moe.moe_intermediate_size)
    return moe, dense


def hf_models(moe: ModelConfig, dense: ModelConfig, dtype: torch.dtype) -> dict[str, torch.nn.Module]:
    try:
        import transformers
    except ImportError:
        return {}
    moe_cfg = transformers.Qwen3MoeConfig(
        **{k: v for k, v in hf_config_dict(moe, dtype).items() if k != "vision"}
    )
    dense_fields = hf_config_dict(dense, dtype)
    dense_fields.pop("num_experts", None)
    dense_cfg = transformers.Qwen3Config(**dense_fields)
    for c in (moe_cfg, dense_cfg):
        c._attn_implementation = "sdpa"
    torch.manual_seed(0)
    return {
        "hf-qwen3": transformers.Qwen3ForCausalLM(dense_cfg),
        "hf-qwen3moe": transformers.Qwen3MoeForCausalLM(moe_cfg),
    }


def step(model: torch.nn.Module, ids: torch.Tensor) -> None:
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    model.zero_grad(set_to_none=True)


def time_steps(model: torch.nn.Module, ids: torch.Tensor, steps: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step(model, ids)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="tiny", help="model preset (tiny, small, 1b)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5, help="timed fwd+bwd steps per round")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the median is reported")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads on CPU")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--no-hf", action="store_true", help="skip the transformers baselines")
    ap.add_argument("--peak-tflops", type=float, default=H200_BF16_DENSE_TFLOPS)
    add_check_flag(ap)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    moe_cfg, dense_cfg = bench_configs(args.config)
    models: dict[str, torch.nn.Module] = {
        "ours-moe": build_model(moe_cfg, seed=0),
        "ours-dense": build_model(dense_cfg, seed=0),
    }
    if not args.no_hf:
        models.update(hf_models(moe_cfg, dense_cfg, dtype))
    for m in models.values():
        m.to(device=device, dtype=dtype).train()

    active = {
        name: summarize(describe(c))["language model"] for name, c in (("moe", moe_cfg), ("dense", dense_cfg))
    }
    print(
        f"config {args.config}: batch {args.batch} x seq {args.seq}, {args.device} {args.dtype}, threads {args.threads}"
    )
    print(
        f"  MoE   total {active['moe'][0] / 1e6:.2f}M  active {active['moe'][1] / 1e6:.2f}M "
        f"({moe_cfg.num_experts} experts, top-{moe_cfg.num_experts_per_tok})"
    )
    print(
        f"  dense total {active['dense'][0] / 1e6:.2f}M  active {active['dense'][1] / 1e6:.2f}M "
        f"(dense MLP width {dense_cfg.intermediate_size})"
    )

    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(4, moe_cfg.vocab_size, (args.batch, args.seq), generator=gen).to(device)
    for m in models.values():
        for _ in range(args.warmup):
            step(m, ids)
    tokens = args.batch * args.seq * args.steps
    rates: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, m in models.items():
            rates[name].append(tokens / time_steps(m, ids, args.steps, device))
    med = {name: statistics.median(r) for name, r in rates.items()}
    # ours-moe / X per round (both timed in the same round), then the median of those ratios
    ratio = {name: statistics.median(a / b for a, b in zip(rates["ours-moe"], r, strict=True))
             for name, r in rates.items()}

    print(f"\n{'model':<12} {'tokens/s':>12} {'min':>10} {'max':>10}   ours-moe / model (median per-round ratio)")
    for name, r in rates.items():
        print(f"{name:<12} {med[name]:>12.0f} {min(r):>10.0f} {max(r):>10.0f}   {ratio[name]:.2f}x")
    print(f"\nratio ours-moe / ours-dense (same active params): {ratio['ours-dense']:.3f}")
    if "hf-qwen3" in med:
        print(f"ratio ours-moe / hf-qwen3 dense (named baseline): {ratio['hf-qwen3']:.3f}")
        print(f"ratio ours-moe / hf-qwen3moe (same MoE shapes):   {ratio['hf-qwen3moe']:.3f}")

    goals = Goals("model_throughput")
    goal_name = f"MFU of 1b, bfloat16, Hopper >= {MFU_GOAL:.0%}"
    if device.type == "cuda":
        c = moe_cfg
        attn_flops = (
            12 * c.num_hidden_layers * c.num_attention_heads * c.head_dim * args.seq / 2
        )  # causal half
        flops_per_token = 6 * active["moe"][1] + attn_flops
        mfu = flops_per_token * med["ours-moe"] / (args.peak_tflops * 1e12)
        print(
            f"MFU ours-moe: {100 * mfu:.1f}% of {args.peak_tflops:.0f} TFLOP/s ({flops_per_token / 1e9:.2f} GFLOP/token)"
        )
        if args.config == "1b" and args.dtype == "bfloat16":
            goals.at_least(goal_name, mfu, MFU_GOAL, fmt="{:.1%}")
        else:
            goals.not_measured(goal_name, f"ran {args.config} in {args.dtype}")
    else:
        goals.not_measured(goal_name, "no CUDA device")
    return goals.finish(args.check)


if __name__ == "__main__":
    sys.exit(main())
