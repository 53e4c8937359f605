"""RL rollout + update throughput (samples/s) and learning curves, in ONE run on the same tiny model, the
same starting weights (after the same format warm-up) and the same tasks:

- ours, KL-Cov on      (`sciforge.model.rl.trainer.train_rl`: OREAL loss, filters, per-sample grad-norm dropping)
- ours, KL-Cov off     (everything else equal)
- TRL GRPOTrainer      (if `trl` imports; `pip install trl` adds trl/accelerate/datasets, no pin changes)
- plain REINFORCE      (one batched policy-gradient update per rollout batch, reward minus batch mean)

Prints samples/s of each and the ratio to ours; writes bench.json and rl_curves.png (reward-vs-step and
entropy-vs-step for every arm).

    .venv/bin/python bench/rl_throughput.py --steps 20 --out var/bench/rl

No numeric goal is stated for this comparison; `--check` (accepted as by every bench) exits 0 after
saying so. Each arm runs once, one after the other (not in alternating rounds): on a loaded machine
compare ratios from one run only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._goals import Goals, add_check_flag  # noqa: E402


def _metrics(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in (run_dir / "metrics.jsonl").read_text().splitlines() if ln]


def run_ours(cfg: Any, name: str, kl_cov: bool) -> dict[str, Any]:
    from sciforge.model.rl.trainer import train_rl

    c = cfg.model_copy(deep=True)
    c.run = name
    c.loss.kl_cov.enabled = kl_cov
    summary = train_rl(c)
    rows = _metrics(Path(summary["run_dir"]))
    samples = sum(r["samples"] for r in rows)
    secs = sum(r["step_s"] for r in rows)
    return {"samples_per_s": samples / secs, "reward": [r["reward_mean"] for r in rows],
            "entropy": [r.get("entropy") for r in rows], "seconds": secs}


def warmed_policy(cfg: Any) -> tuple[Any, Any, Any, dict[str, Any]]:
    """The same starting weights `train_rl` reaches after its format warm-up (same seeds)."""
    from sciforge.model.rl import trainer as T
    from sciforge.model.train.stages import load_tokenizer

    tok = load_tokenizer(cfg.tokenizer)
    model = T.build_policy(cfg, tok)
    fams = T.build_families(cfg)
    pool = T.prompt_pool(cfg, fams)
    T.format_warmup(model, tok, pool, fams, cfg)
    return model, tok, fams, pool


def run_reinforce(cfg: Any) -> dict[str, Any]:
    from sciforge.model.rl import trainer as T
    from sciforge.model.rl.loss import policy_forward
    from sciforge.model.rl.rewards import RuleReward
    from sciforge.model.rl.rollout import pad_batch, rollout

    torch.manual_seed(cfg.seed)
    model, tok, fams, pool = warmed_policy(cfg)
    rule = RuleReward()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, betas=cfg.optim.betas, weight_decay=0.0)
    rewards, entropies, samples, secs = [], [], 0, 0.0
    r = cfg.rollout
    for step in range(cfg.steps):
        t0 = time.perf_counter()
        tasks = T.pick_prompts(cfg, pool, step)
        batch = rollout(model, tok, tasks, r.group_size, r.max_new_tokens, r.temperature, r.top_p)
        rew = [x.score for x in rule(batch.tasks, batch.texts, batch.finished)]
        base = sum(rew) / len(rew)
        pb = pad_batch(batch.prompt_ids, batch.response_ids, int(tok.pad_id))
        model.train()
        logp, ent, _ = policy_forward(model, pb, r.temperature)
        adv = torch.tensor([x - base for x in rew])
        mask = pb.response_mask
        loss = -(adv[:, None] * logp * mask).sum() / mask.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
        opt.step()
        secs += time.perf_counter() - t0
        samples += len(rew)
        rewards.append(base)
        entropies.append(float((ent.detach() * mask).sum() / mask.sum()))
    return {"samples_per_s": samples / secs, "reward": rewards, "entropy": entropies, "seconds": secs}


def run_trl(cfg: Any, work: Path) -> dict[str, Any]:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from sciforge.model.checkpoint import save_pretrained
    from sciforge.model.rl import trainer as T
    from sciforge.model.rl.rollout import chat_prompt_ids, eos_id, stop_ids
    from sciforge.pipelines.tokenizer.hf import SciforgeTokenizer

    torch.manual_seed(cfg.seed)
    model, tok, fams, pool = warmed_policy(cfg)
    init = work / "trl_init"
    save_pretrained(model, init)
    # TRL stops generations at the tokenizer's eos and the model's generation_config eos ids: the same
    # ids ours stops at (the end of the assistant turn, or an end of document).
    hf_tok = SciforgeTokenizer(sci=tok, eos_token=tok.id_to_token(eos_id(tok)))
    hf_model = AutoModelForCausalLM.from_pretrained(str(init), dtype=torch.float32)
    hf_model.generation_config.eos_token_id = stop_ids(tok)
    ids = torch.tensor([chat_prompt_ids(pool[next(iter(pool))][0].prompt, tok)])
    with torch.no_grad():
        diff = float((hf_model(ids).logits - model.eval()(ids).logits).abs().max())
    if diff > 1e-3:  # not the same policy: the comparison would be meaningless
        raise RuntimeError(f"transformers' Qwen3-MoE logits differ from ours by {diff:.2e}")
    by_prompt: dict[str, Any] = {}
    rows = []
    for step in range(cfg.steps):
        for task in T.pick_prompts(cfg, pool, step):
            text = tok.decode(chat_prompt_ids(task.prompt, tok))
            by_prompt[text] = task
            rows.append({"prompt": text})

    def reward(prompts: list[str], completions: list[str], **_: Any) -> list[float]:
        out = []
        for p, c in zip(prompts, completions, strict=True):
            task = by_prompt[p]
            out.append(fams[task.family].verify(task, c).score)
        return out

    r = cfg.rollout
    args = GRPOConfig(
        output_dir=str(work / "trl_out"), per_device_train_batch_size=r.prompts_per_step * r.group_size,
        num_generations=r.group_size, max_completion_length=r.max_new_tokens, max_steps=cfg.steps,
        learning_rate=cfg.optim.lr, logging_steps=1, report_to="none", use_cpu=True, save_strategy="no",
        gradient_checkpointing=False, shuffle_dataset=False, seed=cfg.seed, beta=0.0, bf16=False,
        temperature=r.temperature, max_grad_norm=cfg.optim.grad_clip, disable_tqdm=True,
    )
    trainer = GRPOTrainer(model=hf_model, reward_funcs=reward, args=args, train_dataset=Dataset.from_list(rows),
                          processing_class=hf_tok)
    t0 = time.perf_counter()
    trainer.train()
    secs = time.perf_counter() - t0
    logs = [h for h in trainer.state.log_history if "reward" in h]
    return {"samples_per_s": cfg.steps * r.prompts_per_step * r.group_size / secs,
            "reward": [h["reward"] for h in logs], "entropy": [h.get("entropy") for h in logs], "seconds": secs}


def plot(results: dict[str, dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, res in results.items():
        if "reward" not in res:
            continue
        steps = range(1, len(res["reward"]) + 1)
        axes[0].plot(steps, res["reward"], label=name, lw=1.2)
        ent = [(s, e) for s, e in zip(steps, res["entropy"], strict=False) if e is not None]
        if ent:
            axes[1].plot([s for s, _ in ent], [e for _, e in ent], label=name, lw=1.2)
    axes[0].set_title("mean reward per step")
    axes[1].set_title("policy entropy on sampled responses (nats/token)")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "model/train/configs/rl_tiny.yaml"))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--out", default=str(ROOT / "var/bench/rl"))
    ap.add_argument("--data", default=str(ROOT / "../shared/data"),
                    help="shared data root (unused: the tasks are generated; kept for the bench convention)")
    ap.add_argument("--skip-trl", action="store_true")
    ap.add_argument("--only-ours", action="store_true", help="only the KL-Cov on/off pair (entropy curves)")
    ap.add_argument("--kl-beta", type=float, default=None, help="override loss.kl_cov.beta")
    ap.add_argument("--kl-k-percent", type=float, default=None, help="override loss.kl_cov.k_percent")
    add_check_flag(ap)
    args = ap.parse_args(argv)

    from sciforge.model.rl.config import RLConfig

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # No shared expert: transformers' Qwen3-MoE (which TRL trains) has none, so every arm runs the very same
    # network (the TRL arm checks that its logits match ours).
    cfg = RLConfig.load(args.config, out_dir=str(out / "runs"), steps=args.steps, progress=False,
                        tensorboard=False, export=False, save_every=10**6,
                        model_overrides={"shared_expert_intermediate_size": 0})
    if args.kl_beta is not None:
        cfg.loss.kl_cov.beta = args.kl_beta
    if args.kl_k_percent is not None:
        cfg.loss.kl_cov.k_percent = args.kl_k_percent
    import shutil

    shutil.rmtree(out / "runs", ignore_errors=True)
    results: dict[str, dict[str, Any]] = {}
    results["ours (KL-Cov)"] = run_ours(cfg, "klcov", True)
    results["ours (no KL-Cov)"] = run_ours(cfg, "no_klcov", False)
    if not args.only_ours:
        results["REINFORCE"] = run_reinforce(cfg)
    if not args.skip_trl and not args.only_ours:
        try:
            results["TRL GRPOTrainer"] = run_trl(cfg, out)
        except ImportError as err:
            results["TRL GRPOTrainer"] = {"skipped": f"trl not importable: {err}"}
    ours = results["ours (KL-Cov)"]["samples_per_s"]
    print(f"{'arm':20s} {'samples/s':>10s} {'ratio ours/arm':>15s} {'reward first5':>14s} {'reward last5':>13s} "
          f"{'entropy first':>14s} {'entropy last':>13s}")
    for name, res in results.items():
        if "skipped" in res:
            print(f"{name:20s} skipped: {res['skipped']}")
            continue
        rw, en = res["reward"], [e for e in res["entropy"] if e is not None]
        print(f"{name:20s} {res['samples_per_s']:10.2f} {ours / res['samples_per_s']:15.2f} "
              f"{sum(rw[:5]) / max(1, len(rw[:5])):14.3f} {sum(rw[-5:]) / max(1, len(rw[-5:])):13.3f} "
              f"{(en[0] if en else float('nan')):14.3f} {(en[-1] if en else float('nan')):13.3f}")
    plot(results, out / "rl_curves.png")
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out / 'bench.json'} and {out / 'rl_curves.png'}")
    return Goals("rl_throughput").finish(args.check)


if __name__ == "__main__":
    sys.exit(main())
