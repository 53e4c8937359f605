"""The online RL loop: sample prompts -> G rollouts each -> Mixture-of-Rewards -> group-relative advantages
-> online filter -> OREAL/GRPO updates with KL-Cov / Clip-Cov and gradient-norm sample dropping.

Before the first step (fresh runs only): an optional format warm-up (SFT on well-formed, mostly wrong
answers) and the offline filter (pass@k of the starting policy on a prompt pool). Checkpoints reuse
`sciforge.model.train.checkpointing.CheckpointManager` (atomic, RNG state), so a resumed run continues bit for bit.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sciforge.model.rl.config import RLConfig, TaskSpec
from sciforge.model.rl.engine import TorchEngine, all_reduce_grads, init_process_group
from sciforge.model.rl.filters import group_advantages, offline_keep, online_filter
from sciforge.model.rl.loss import policy_forward, select_clip_cov, select_kl_cov, token_losses
from sciforge.model.rl.mor import MixtureOfRewards, SourceWeight, default_mixture
from sciforge.model.rl.rewards import (
    FormatReward,
    GenerativeVerifierReward,
    ReferenceRMReward,
    RuleReward,
    model_judge,
)
from sciforge.model.rl.rollout import chat_prompt_ids, eos_id, pad_batch, rollout
from sciforge.model.rl.tasks import Task, TaskFamily, get_family
from sciforge.model.train.checkpointing import CheckpointManager, export
from sciforge.model.train.metrics import MetricsLogger

POOL_FILE = "prompt_pool.json"
OFFLINE_FILE = "offline_filter.json"
CURVES = "rl_curves.png"
# Training prompts use seeds [0, pool_per_family); evaluation uses seeds from here on (held out).
EVAL_SEED_BASE = 1_000_000


def spec_key(spec: TaskSpec) -> str:
    return f"{spec.family}@{spec.difficulty}"


def build_families(cfg: RLConfig) -> dict[str, TaskFamily]:
    out: dict[str, TaskFamily] = {}
    for spec in cfg.tasks:
        if spec.family == "esol_bin" and spec.data:
            from sciforge.model.rl.tasks.chem import EsolBins

            out[spec.family] = EsolBins.from_csv(spec.data)
        elif spec.family not in out:
            out[spec.family] = get_family(spec.family)
    return out


def build_policy(cfg: RLConfig, tokenizer: Any) -> torch.nn.Module:
    from sciforge.model.config import ModelConfig, get_config
    from sciforge.model.model import SciForgeModel

    if Path(cfg.model).is_dir():
        from sciforge.model.checkpoint import load_pretrained

        model = load_pretrained(cfg.model)
        if model.config.vocab_size < len(tokenizer):
            raise ValueError(f"{cfg.model}: vocab {model.config.vocab_size} < tokenizer's {len(tokenizer)}")
        return model.train()
    overrides = {"vision": None, "time_series": None, **cfg.model_overrides}
    mcfg = ModelConfig.from_tokenizer(tokenizer, get_config(cfg.model), **overrides)
    torch.manual_seed(cfg.seed)
    return SciForgeModel(mcfg).train()


def build_mor(cfg: RLConfig, families: dict[str, TaskFamily], policy: Any, tokenizer: Any,
              run_dir: Path | None) -> MixtureOfRewards:
    rule = RuleReward()
    for fam in families.values():
        rule.register(fam)
    mixtures: dict[str, list[SourceWeight]] = {
        name: list(cfg.mixture.get(name) or default_mixture(fam.open_ended)) for name, fam in families.items()
    }
    needed = {s.source for spec in mixtures.values() for s in spec}
    sources: dict[str, Any] = {"rule": rule, "format": FormatReward(rule)}
    if "reward_model" in needed:
        sources["reward_model"] = ReferenceRMReward(load_or_train_rm(cfg, run_dir))
    if cfg.generative_verifier == "policy":
        sources["genverifier"] = GenerativeVerifierReward(model_judge(policy, tokenizer))
    return MixtureOfRewards(mixtures, sources)


def load_or_train_rm(cfg: RLConfig, run_dir: Path | None) -> Any:
    from sciforge.model.rl.reward_model import RewardModel, train_default_reward_model

    if cfg.reward_model.path:
        return RewardModel.load(cfg.reward_model.path)
    saved = run_dir / "reward_model" if run_dir is not None else None
    if saved is not None and (saved / "reward_model.json").is_file():
        return RewardModel.load(saved)
    model, stats = train_default_reward_model(cfg.reward_model.seed)
    if saved is not None:
        model.save(saved)
        (saved / "train_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return model


def prompt_pool(cfg: RLConfig, families: dict[str, TaskFamily]) -> dict[str, list[Task]]:
    pool: dict[str, list[Task]] = {}
    for spec in cfg.tasks:
        seen: set[str] = set()
        tasks = []
        for seed in range(cfg.offline_filter.pool_per_family):
            t = families[spec.family].generate(seed, spec.difficulty)
            if t.prompt not in seen:
                seen.add(t.prompt)
                tasks.append(t)
        pool[spec_key(spec)] = tasks
    return pool


def sample_rollouts(model: Any, tokenizer: Any, tasks: list[Task], cfg: RLConfig, mor: MixtureOfRewards,
                    group_size: int) -> tuple[Any, Any]:
    r = cfg.rollout
    batch = rollout(model, tokenizer, tasks, group_size, r.max_new_tokens, r.temperature, r.top_p)
    scores = mor.score(batch.tasks, batch.texts, batch.finished, batch.groups)
    return batch, scores


def offline_filter_pool(model: Any, tokenizer: Any, pool: dict[str, list[Task]], cfg: RLConfig,
                        mor: MixtureOfRewards) -> tuple[dict[str, list[Task]], dict[str, Any]]:
    fc = cfg.offline_filter
    report: dict[str, Any] = {}
    kept_pool: dict[str, list[Task]] = {}
    chunk = max(1, cfg.rollout.prompts_per_step)
    for key, tasks in pool.items():
        counts: Counter[str] = Counter()
        kept: list[Task] = []
        rates: list[float] = []
        for i in range(0, len(tasks), chunk):
            part = tasks[i : i + chunk]
            batch, scores = sample_rollouts(model, tokenizer, part, cfg, mor, fc.k)
            for g, t in enumerate(part):
                vals = scores.total[g * fc.k : (g + 1) * fc.k]
                rate = sum(v >= cfg.loss.positive_threshold for v in vals) / fc.k
                rates.append(rate)
                reason = offline_keep(rate, fc)
                if reason:
                    counts[reason] += 1
                else:
                    kept.append(t)
        report[key] = {"input": len(tasks), "kept": len(kept), "dropped": dict(counts),
                       "mean_pass_rate": float(np.mean(rates)) if rates else 0.0}
        kept_pool[key] = kept
    if not any(kept_pool.values()):
        raise ValueError(f"the offline filter dropped every prompt ({report}); use easier difficulties or relax "
                         "offline_filter.drop_at_or_below / drop_at_or_above")
    return kept_pool, report


def format_warmup(model: Any, tokenizer: Any, pool: dict[str, list[Task]], families: dict[str, TaskFamily],
                  cfg: RLConfig) -> list[float]:
    w = cfg.warmup
    if w.steps == 0:
        return []
    opt = torch.optim.AdamW(model.parameters(), lr=w.lr, weight_decay=0.0)
    rng = random.Random(f"warmup:{cfg.seed}")
    keys = [k for k in pool if pool[k]]
    losses = []
    model.train()
    for _ in range(w.steps):
        prompts, responses = [], []
        for _ in range(w.batch_size):
            task = rng.choice(pool[rng.choice(keys)])
            prompts.append(chat_prompt_ids(task.prompt, tokenizer))
            demo = families[task.family].format_demo(task, rng)
            responses.append(list(tokenizer.encode(demo)) + [eos_id(tokenizer)])
        pb = pad_batch(prompts, responses, int(tokenizer.pad_id))
        logp, _, _ = policy_forward(model, pb, with_entropy=False)
        loss = -(logp * pb.response_mask).sum() / pb.response_mask.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def pick_prompts(cfg: RLConfig, pool: dict[str, list[Task]], step: int) -> list[Task]:
    rng = random.Random(f"prompts:{cfg.seed}:{step}")
    specs = [s for s in cfg.tasks if pool.get(spec_key(s))]
    weights = [s.weight for s in specs]
    out = []
    for _ in range(cfg.rollout.prompts_per_step):
        spec = rng.choices(specs, weights)[0]
        out.append(rng.choice(pool[spec_key(spec)]))
    return out


def _params(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def update(model: Any, opt: torch.optim.Optimizer, cfg: RLConfig, batch: Any, keep_idx: list[int],
           rewards: list[float], adv: list[float], step: int, world: int, pad_id: int) -> dict[str, Any]:
    """Policy updates on the kept samples; returns update statistics."""
    lc = cfg.loss
    pb = pad_batch([batch.prompt_ids[i] for i in keep_idx], [batch.response_ids[i] for i in keep_idx], pad_id)
    resp = pb.response_mask
    adv_t = torch.tensor([adv[i] for i in keep_idx], dtype=torch.float32)
    pos_t = torch.tensor([rewards[i] >= lc.positive_threshold for i in keep_idx], dtype=torch.bool)
    temp = cfg.rollout.temperature
    with torch.no_grad():
        old_logp, old_ent, _ = policy_forward(model, pb, temp)
    assert old_ent is not None
    stats: dict[str, Any] = {
        "entropy": float((old_ent * resp).sum() / resp.sum().clamp_min(1)),
        "response_tokens": int(resp.sum()),
    }
    gen = torch.Generator().manual_seed(hash_seed(cfg.seed, step))
    n = len(keep_idx)
    agg: dict[str, list[float]] = defaultdict(list)
    first = True
    for _ in range(cfg.optim.epochs):
        order = torch.randperm(n, generator=gen).tolist()
        mbs = [order[i :: cfg.optim.mini_batches] for i in range(min(cfg.optim.mini_batches, n))]
        for mb in mbs:
            mb_t = torch.tensor(sorted(mb))
            mpb = pb.select(mb_t)
            m_resp, m_old, m_adv, m_pos = mpb.response_mask, old_logp[mb_t], adv_t[mb_t], pos_t[mb_t]
            if first:
                now = m_old
            else:
                with torch.no_grad():
                    now = policy_forward(model, mpb, temp, with_entropy=False)[0]
            adv_tok = m_adv[:, None].expand_as(now)
            kl_sel = (select_kl_cov(adv_tok, now, m_resp, lc.kl_cov.k_percent) if lc.kl_cov.enabled
                      else torch.zeros_like(m_resp))
            clip_sel = (select_clip_cov(adv_tok, now, m_resp, lc.clip_cov.clip_fraction, lc.clip_cov.lb,
                                        lc.clip_cov.ub, gen) if lc.clip_cov.enabled else torch.zeros_like(m_resp))
            norm_tokens = m_resp.sum().clamp_min(1)
            opt.zero_grad(set_to_none=True)
            if cfg.grad_drop.enabled:
                dropped, norms, losses = _per_sample_backward(model, cfg, mpb, m_old, m_adv, m_pos, kl_sel,
                                                              clip_sel, norm_tokens)
                agg["grad_dropped"].append(float(dropped))
                agg["sample_grad_norm"].extend(norms)
                agg["loss"].append(losses)
            else:
                logp, ent, aux = policy_forward(model, mpb, temp, with_entropy=bool(lc.entropy_coef))
                tl, ls = token_losses(logp, ent, m_old, m_adv, m_pos, m_resp, kl_sel, clip_sel, lc)
                loss = tl.sum() / norm_tokens
                if aux is not None and lc.aux_loss_coef:
                    loss = loss + lc.aux_loss_coef * aux
                loss.backward()
                agg["loss"].append(float(loss.detach()))
                for k, v in vars(ls).items():
                    agg[k].append(v)
            all_reduce_grads(model, world)
            gn = torch.nn.utils.clip_grad_norm_(_params(model), cfg.optim.grad_clip or float("inf"))
            opt.step()
            first = False
            agg["grad_norm"].append(float(gn))
            agg["kl_cov_tokens"].append(float(kl_sel.sum()))
            agg["clip_cov_tokens"].append(float(clip_sel.sum()))
    for k, v in agg.items():
        if k in ("grad_dropped", "kl_cov_tokens", "clip_cov_tokens"):
            stats[k] = float(sum(v))
        elif k == "sample_grad_norm":
            stats["sample_grad_norm_mean"] = float(np.mean(v)) if v else 0.0
            stats["sample_grad_norm_max"] = float(np.max(v)) if v else 0.0
        else:
            stats[k] = float(np.mean(v))
    return stats


def hash_seed(seed: int, step: int) -> int:
    return (seed * 1_000_003 + step) % (2**63)


def _per_sample_backward(model: Any, cfg: RLConfig, pb: Any, old: torch.Tensor, adv: torch.Tensor,
                         pos: torch.Tensor, kl_sel: torch.Tensor, clip_sel: torch.Tensor, norm_tokens: torch.Tensor
                         ) -> tuple[int, list[float], float]:
    """One backward per sample: measure each sample's gradient norm (of its own token-mean loss), drop the
    largest ones above the threshold (at most ceil(max_fraction * n)), and leave the sum of the kept samples'
    gradients (each scaled to the mini-batch's token normaliser) in .grad. Returns (dropped, norms, loss)."""
    gd, lc = cfg.grad_drop, cfg.loss
    params = _params(model)
    total = [torch.zeros_like(p) for p in params]
    n = pb.input_ids.shape[0]
    cap = math.ceil(gd.max_fraction * n) if gd.max_fraction > 0 else 0
    held: list[tuple[float, int, list[torch.Tensor], float]] = []  # min-heap of drop candidates
    norms: list[float] = []
    kept_loss = 0.0
    for i in range(n):
        one, r_len = pb.row(i)
        logp, ent, aux = policy_forward(model, one, cfg.rollout.temperature, with_entropy=bool(lc.entropy_coef))
        sl = slice(0, r_len)
        tl, _ = token_losses(logp, ent, old[i : i + 1, sl], adv[i : i + 1], pos[i : i + 1],
                             one.response_mask, kl_sel[i : i + 1, sl], clip_sel[i : i + 1, sl], lc)
        loss = tl.sum() / norm_tokens
        if aux is not None and lc.aux_loss_coef:
            loss = loss + lc.aux_loss_coef * aux / n
        for p in params:
            p.grad = None
        loss.backward()
        grads = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]
        scale = float(norm_tokens) / max(1, r_len)
        norm = float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))) * scale
        norms.append(norm)
        value = float(loss.detach())
        if cap and norm > gd.threshold:
            heapq.heappush(held, (norm, i, grads, value))
            if len(held) > cap:
                _, _, back, v = heapq.heappop(held)
                kept_loss += v
                for t, g in zip(total, back, strict=True):
                    t.add_(g)
        else:
            kept_loss += value
            for t, g in zip(total, grads, strict=True):
                t.add_(g)
    for p, t in zip(params, total, strict=True):
        p.grad = t
    return len(held), norms, kept_loss


def train_rl(cfg: RLConfig) -> dict[str, Any]:
    """Run (or resume) an RL run; returns a summary."""
    from sciforge.model.train.stages import load_tokenizer

    rank, world = init_process_group()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    torch.manual_seed(cfg.seed + rank)
    run_dir = cfg.run_dir()
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "rl_config.json").write_text(cfg.model_dump_json(indent=2) + "\n")
    tokenizer = load_tokenizer(cfg.tokenizer)
    model = build_policy(cfg, tokenizer)
    families = build_families(cfg)
    mor = build_mor(cfg, families, model, tokenizer, run_dir)
    opt = torch.optim.AdamW(_params(model), lr=cfg.optim.lr, betas=cfg.optim.betas,
                            weight_decay=cfg.optim.weight_decay)
    engine = TorchEngine(model, opt, rank)
    ckpt = CheckpointManager(run_dir, rank, cfg.keep_last)
    state = ckpt.load(engine)
    summary_extra: dict[str, Any] = {}
    if state is None:
        pool = prompt_pool(cfg, families)
        warm = format_warmup(model, tokenizer, pool, families, cfg)
        summary_extra["warmup_loss"] = [warm[0], warm[-1]] if warm else None
        if cfg.offline_filter.enabled:
            pool, report = offline_filter_pool(model, tokenizer, pool, cfg, mor)
            if rank == 0:
                (run_dir / OFFLINE_FILE).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        state = {"step": 0, "pool": {k: [t.seed for t in v] for k, v in pool.items()}}
        if rank == 0:
            (run_dir / POOL_FILE).write_text(json.dumps(state["pool"], sort_keys=True) + "\n")
    else:
        specs = {spec_key(s): s for s in cfg.tasks}
        pool = {k: [families[specs[k].family].generate(s, specs[k].difficulty) for s in seeds]
                for k, seeds in state["pool"].items()}
    step = int(state["step"])
    metrics = MetricsLogger(run_dir, rank == 0, cfg.tensorboard, cfg.progress, cfg.steps, resume_step=step)
    pad_id = int(tokenizer.pad_id)
    last: dict[str, Any] = {}
    last_saved = step
    while step < cfg.steps:
        t0 = time.perf_counter()
        prompts = pick_prompts(cfg, pool, step)[rank::world]
        batch, scores = sample_rollouts(model, tokenizer, prompts, cfg, mor, cfg.rollout.group_size)
        t_roll = time.perf_counter() - t0
        rewards = scores.total
        adv = group_advantages(rewards, batch.groups, cfg.loss.adv_eps)
        filt = online_filter(rewards, batch.groups, batch.response_ids, batch.texts, batch.finished,
                             cfg.online_filter)
        keep_idx = [i for i, k in enumerate(filt.keep) if k]
        model.train()
        upd: dict[str, Any] = {}
        if keep_idx:
            upd = update(model, opt, cfg, batch, keep_idx, rewards, adv, step, world, pad_id)
        step += 1
        dt = time.perf_counter() - t0
        last = step_record(step, cfg, batch, scores, rewards, filt, keep_idx, upd, t_roll, dt)
        if step % cfg.log_every == 0:
            metrics.log(last)
        if step % cfg.save_every == 0:
            ckpt.save(engine, {"step": step, "pool": state["pool"]})
            last_saved = step
    if step != last_saved:
        ckpt.save(engine, {"step": step, "pool": state["pool"]})
    if cfg.export:
        export(engine, model, run_dir / "export", tokenizer, rank, 0)
    metrics.close()
    if rank == 0:
        plot_rl_curves(run_dir / "metrics.jsonl", run_dir / CURVES)
    summary = {"stage": "rl", "run_dir": str(run_dir), "steps": step, "last": last, "world_size": world,
               "export": str(run_dir / "export") if cfg.export else None, **summary_extra}
    if rank == 0:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def step_record(step: int, cfg: RLConfig, batch: Any, scores: Any, rewards: list[float], filt: Any,
                keep_idx: list[int], upd: dict[str, Any], t_roll: float, dt: float) -> dict[str, Any]:
    n = len(rewards)
    rec: dict[str, Any] = {
        "step": step,
        "reward_mean": float(np.mean(rewards)),
        "pass_rate": float(np.mean([r >= cfg.loss.positive_threshold for r in rewards])),
        "samples": n,
        "samples_kept": len(keep_idx),
        "response_len": float(np.mean([len(r) for r in batch.response_ids])),
        "finished_rate": float(np.mean(batch.finished)),
        "lr": cfg.optim.lr,
        "loss": upd.get("loss", 0.0),
        "rollout_s": t_roll,
        "step_s": dt,
        "samples_per_s": n / dt,
        "tokens_per_s": sum(len(r) for r in batch.response_ids) / dt,
    }
    rec.update({k: v for k, v in upd.items()})
    for src, vals in scores.by_source.items():
        finite = [v for v in vals if not math.isnan(v)]
        if finite:
            rec[f"reward/{src}"] = float(np.mean(finite))
    fams: dict[str, list[float]] = defaultdict(list)
    for t, r in zip(batch.tasks, rewards, strict=True):
        fams[t.family].append(r)
    for fam, vals in fams.items():
        rec[f"reward_family/{fam}"] = float(np.mean(vals))
    for reason, c in filt.dropped.items():
        rec[f"dropped/{reason}"] = c
    reasons: Counter[str] = Counter(scores.reasons.get("rule", []))
    for reason, c in reasons.items():
        if reason:
            rec[f"rule_reason/{reason}"] = c
    return rec


RL_PLOTTED = ("reward_mean", "pass_rate", "entropy", "kl_cov_tokens", "grad_norm", "samples_kept")


def plot_rl_curves(metrics: Path, out: Path) -> Path | None:
    from sciforge.model.train.metrics import plot_curves

    return plot_curves(metrics, out, RL_PLOTTED)
