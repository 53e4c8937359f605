"""The training loop shared by all stages: batch-size schedule, WSD LR, accumulation, metrics, resume.

One optimizer step consumes the global batch the schedule prescribes at the current token count; the
gradient-accumulation count follows it (`engine.set_train_batch_size`), so a batch-size change happens
mid-run without a restart. Everything that decides the next step (weights, optimizer moments, step,
tokens, stream position, RNG) is in the checkpoint, so a resumed run continues bit for bit on CPU.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from sciforge.model.moe import expert_parallel_layers
from sciforge.model.train.checkpointing import CheckpointManager, export
from sciforge.model.train.config import TrainConfig
from sciforge.model.train.data import SampleStream, to_device
from sciforge.model.train.engine import build_engine, device, init_distributed
from sciforge.model.train.metrics import MetricsLogger, expert_stats
from sciforge.model.train.schedules import BatchSchedule, learning_rate, sequences_per_step


def planned_steps(cfg: TrainConfig) -> int:
    batch = BatchSchedule.from_config(cfg.schedule)
    tokens, steps = 0, 0
    while tokens < cfg.schedule.total_tokens and (cfg.max_steps is None or steps < cfg.max_steps):
        tokens += batch.batch_tokens(tokens)
        steps += 1
    return steps


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _mean_over_ranks(values: list[float], world: int) -> list[float]:
    if world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return (t / world).tolist()


def _data_order(run_dir: Any, source: Any, seed: int) -> Any:
    """Record the corpus snapshot and sample order of a run on one (pipelines/lineage.py reads them back);
    returns the per-step file, or None for sources that are not a corpus snapshot."""
    from sciforge.pipelines.corpus.reader import RUN_DATA, RUN_STEPS

    snap = getattr(source, "snapshot", None)
    if snap is None:
        return None
    info = {"snapshot": snap.ref.key, "root": str(getattr(source, "root", "")), "rows": len(source),
            "seed": seed, "seq_len": source.seq_len,
            "order": "row at stream position p = epoch_permutation(rows, seed, p // rows)[p % rows]"}
    (run_dir / RUN_DATA).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return run_dir / RUN_STEPS


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run (or resume) one training stage; returns a summary (steps, tokens, last loss, paths)."""
    from sciforge.model.train.stages import build_stage

    rank, world = init_distributed(cfg.shm_comm)
    _seed_all(cfg.seed)
    run_dir = cfg.run_dir()
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "train_config.json").write_text(cfg.model_dump_json(indent=2) + "\n")
    model, source = build_stage(cfg)
    seq_len = source.seq_len
    counters = getattr(source, "counters", None)
    if rank == 0 and counters is not None:  # what the data preparation kept and dropped, and why
        (run_dir / "data_counters.json").write_text(json.dumps(counters.to_dict(), indent=2) + "\n")
    batch = BatchSchedule.from_config(cfg.schedule)
    for p in batch.phases:  # validate every phase before any work
        sequences_per_step(p.global_batch_tokens, seq_len, cfg.micro_batch_size, world)
    g0 = batch.phases[0].global_batch_tokens // seq_len
    engine = build_engine(model, cfg, world, g0)
    ep_layers = expert_parallel_layers(engine.module)
    ep_size = ep_layers[0][1].expert_parallel.size if ep_layers and ep_layers[0][1].expert_parallel else 1
    dev = device()
    float_dtype = torch.bfloat16 if cfg.precision == "bf16" else None

    ckpt = CheckpointManager(run_dir, rank, cfg.keep_last)
    state = ckpt.load(engine) or {"step": 0, "tokens": 0, "consumed_rows": 0}
    if state.get("seq_len", seq_len) != seq_len:
        raise ValueError(f"checkpoint was made with seq_len {state['seq_len']}, the data now has {seq_len}")
    step, tokens, consumed = int(state["step"]), int(state["tokens"]), int(state["consumed_rows"])
    total = planned_steps(cfg)
    metrics = MetricsLogger(run_dir, rank == 0, cfg.tensorboard, cfg.progress, total, resume_step=step)
    stream = SampleStream(len(source), cfg.seed)
    order = _data_order(run_dir, source, cfg.seed) if rank == 0 else None
    last_saved = step
    last: dict[str, Any] = {}

    while tokens < cfg.schedule.total_tokens and (cfg.max_steps is None or step < cfg.max_steps):
        t0 = time.perf_counter()
        batch_tokens = batch.batch_tokens(tokens)
        rows = sequences_per_step(batch_tokens, seq_len, cfg.micro_batch_size, world)
        engine.set_train_batch_size(rows)
        lr = learning_rate(tokens, cfg.schedule, batch)
        for group in engine.optimizer.param_groups:
            group["lr"] = lr
        micro = stream.rank_micro_batches(consumed, rows, rank, world, cfg.micro_batch_size)
        sums = {"loss": 0.0, "lm_loss": 0.0, "aux_loss": 0.0}
        load: torch.Tensor | None = None
        for i, ids in enumerate(micro):
            b = to_device(source.collate(ids), dev, float_dtype)
            engine.set_gradient_accumulation_boundary(i == len(micro) - 1)
            out = engine(**b)
            engine.backward(out.loss)
            sums["loss"] += float(out.loss.detach())
            sums["lm_loss"] += float(out.lm_loss.detach()) if out.lm_loss is not None else 0.0
            sums["aux_loss"] += float(out.aux_loss.detach()) if out.aux_loss is not None else 0.0
            if out.tokens_per_expert is not None:
                tpe = out.tokens_per_expert.detach().cpu()
                load = tpe if load is None else load + tpe
        engine.step()
        if load is not None and world > 1:
            dist.all_reduce(load)
        means = _mean_over_ranks([v / len(micro) for v in sums.values()], world)
        if order is not None:  # which stream positions this step read: `sciforge lineage <run> --step K`
            with order.open("a") as f:
                f.write(json.dumps({"step": step + 1, "first": consumed, "rows": rows}) + "\n")
        step, tokens, consumed = step + 1, tokens + batch_tokens, consumed + rows
        dt = time.perf_counter() - t0
        grad_norm = engine.get_global_grad_norm()
        last = {
            "step": step,
            "tokens": tokens,
            **dict(zip(sums, means, strict=True)),
            "lr": lr,
            "batch_tokens": batch_tokens,
            "tokens_per_s": batch_tokens / dt,
            "grad_norm": None if grad_norm is None else float(grad_norm),
            **expert_stats(load),
        }
        if step % cfg.log_every == 0:
            metrics.log(last)
        if step % cfg.save_every == 0:
            ckpt.save(engine, {"step": step, "tokens": tokens, "consumed_rows": consumed, "seq_len": seq_len})
            last_saved = step
    if step != last_saved:
        ckpt.save(engine, {"step": step, "tokens": tokens, "consumed_rows": consumed, "seq_len": seq_len})
    out_dir = run_dir / "export"
    if cfg.export:
        export(engine, engine.module, out_dir, source.tokenizer(), rank, cfg.zero_stage or 0)
    metrics.close()
    summary = {
        "stage": cfg.stage,
        "run_dir": str(run_dir),
        "steps": step,
        "tokens": tokens,
        "last": last,
        "export": str(out_dir) if cfg.export else None,
        "world_size": world,
        "expert_parallel_size": ep_size,
    }
    if rank == 0:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
