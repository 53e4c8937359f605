"""Training throughput: our DeepSpeed engine (the CPT stage) vs a plain PyTorch loop, same run.

Same tiny MoE model (same seed), same data (20 Newsgroups sci.* posts, tokenized into a real corpus
snapshot by the corpus job), same sample order, same AdamW / clipping / LR. Prints tokens/s of both,
the ratio (engine overhead), and the per-step loss difference. With --world 2 it also runs the CLI
under `torchrun --nproc_per_node 2` (data parallel) against 1 process, same global batch; adding
--expert-parallel also runs the N processes with expert parallelism (expert_parallel_size=N: each rank
owns E/N experts, tokens exchanged by all-to-all) against N-process data parallel (experts replicated).

    python bench/train_engine.py --data ../shared/data --steps 30 --world 2 [--expert-parallel] [--check]

Each comparison runs `--rounds` times, the two sides alternating; each round gives one ratio (its two runs
back to back, under the same load) and the summary is the MEDIAN OF THE PER-ROUND RATIOS, never a ratio
of two medians (those can come from different rounds).

Goals (`--check` exits 1 when one is missed): DeepSpeed engine overhead <= 15% of the plain loop's
tokens/s (median ratio >= 0.85), and with --expert-parallel the same loss curve as data parallel.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._goals import Goals, add_check_flag  # noqa: E402
from sciforge.model.train.metrics import read_metrics  # noqa: E402

WARMUP_STEPS = 3  # first steps excluded from tokens/s (allocator, first-call overheads)
# Issue goal: the DeepSpeed engine costs at most 15% of the plain loop's throughput.
MAX_ENGINE_OVERHEAD = 0.15
# Same loss curve: expert parallelism only changes fp32 summation order (observed differences ~5e-7).
SAME_CURVE_TOL = 1e-5


def build_snapshot(data: Path, root: Path, seq_len: int, n_docs: int) -> str:
    import pyarrow as pa

    from sciforge.jobs.corpus import run_corpus
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.datasets import DatasetRef, write_dataset
    from sciforge.pipelines.storage import open_storage

    texts = []
    with gzip.open(data / "domain" / "20newsgroups_train.jsonl.gz", "rt") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["is_sci"]:
                body = rec["text"].split("\n\n", 1)[-1].strip()  # drop the Usenet headers
                if len(body) > 200:
                    texts.append((rec["id"], body))
            if len(texts) >= n_docs:
                break
    n = len(texts)
    table = pa.table({"doc_id": [t[0] for t in texts], "page": pa.array([0] * n, pa.int32()),
                      "source": ["text"] * n, "url": [""] * n, "domain": [""] * n,
                      "field": ["other"] * n, "text": [t[1] for t in texts]})
    ref = DatasetRef("clean", "pages", "2026-01-01_bench")
    write_dataset(open_storage(str(root)), ref, [table], schema=table.schema, logical_date="2026-01-01")
    settings = load_settings(storage={"data_root": str(root)}, stages={"corpus": {"seq_len": seq_len,
                                                                                   "num_shards": 1}})
    return run_corpus(settings, ref, "2026-01-01", engine="local").key


def config(
    root: Path, ref: str, out: Path, args: argparse.Namespace, run: str, ep: int = 1
) -> dict[str, Any]:
    rows = args.global_rows
    return {
        "expert_parallel_size": ep,
        "stage": "cpt", "run": run, "out_dir": str(out), "model": "tiny", "data": {"root": str(root), "ref": ref},
        "schedule": {"lr": 1e-3, "warmup_tokens": 0, "decay_fraction": 0.0,
                     "total_tokens": args.steps * rows * args.seq_len,
                     "batch_phases": [{"global_batch_tokens": rows * args.seq_len}]},
        "micro_batch_size": args.micro, "save_every": 10**6, "progress": False, "tensorboard": False,
        "export": False, "zero_stage": 1,
    }


def tokens_per_s(rows: list[dict[str, Any]]) -> float:
    timed = rows[WARMUP_STEPS:]
    return sum(r["batch_tokens"] for r in timed) / sum(r["batch_tokens"] / r["tokens_per_s"] for r in timed)


def plain_loop(cfg_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """The baseline: the same model, data order and optimizer in a hand-written PyTorch loop."""
    from sciforge.model.train.config import TrainConfig
    from sciforge.model.train.data import CorpusSource, SampleStream
    from sciforge.model.train.schedules import BatchSchedule, learning_rate
    from sciforge.model.train.stages import build_model

    cfg = TrainConfig.model_validate(cfg_dict)
    torch.manual_seed(cfg.seed)
    source = CorpusSource(cfg.data.root or "", cfg.data.ref or "")
    model = build_model(cfg, source.tokenizer(), text_only=True)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and not n.endswith(".bias")]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and not n.endswith(".bias"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.optim.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg.schedule.lr, betas=cfg.optim.betas, eps=cfg.optim.eps)
    stream, batch = SampleStream(len(source), cfg.seed), BatchSchedule.from_config(cfg.schedule)
    tokens = consumed = 0
    out = []
    for step in range(1, (cfg.schedule.total_tokens // batch.batch_tokens(0)) + 1):
        t0 = time.perf_counter()
        bt = batch.batch_tokens(tokens)
        rows = bt // source.seq_len
        for g in opt.param_groups:
            g["lr"] = learning_rate(tokens, cfg.schedule, batch)
        micro = stream.rank_micro_batches(consumed, rows, 0, 1, cfg.micro_batch_size)
        total = 0.0
        for ids in micro:
            o = model(**source.collate(ids))
            (o.loss / len(micro)).backward()
            total += float(o.loss.detach())
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens, consumed = tokens + bt, consumed + rows
        out.append({"step": step, "loss": total / len(micro), "batch_tokens": bt,
                    "tokens_per_s": bt / (time.perf_counter() - t0)})
    return out


def cli_run(cfg: dict[str, Any], tmp: Path, nproc: int) -> list[dict[str, Any]]:
    path = tmp / f"{cfg['run']}.json"
    path.write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "sciforge.model.train.cli", "cpt", "--config", str(path)]
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "sciforge.model.train.cli", "cpt", "--config", str(path)]
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return read_metrics(Path(cfg["out_dir"]) / "cpt" / cfg["run"] / "metrics.jsonl")


def per_round(name_a: str, name_b: str, pairs: list[tuple[float, float]]) -> float:
    """Print each round's b/a ratio; return the median of the per-round ratios."""
    ratios = [b / a for a, b in pairs]
    for r, ((a, b), q) in enumerate(zip(pairs, ratios, strict=True)):
        print(f"  round {r}: {name_a} {a:9.1f} tokens/s, {name_b} {b:9.1f} tokens/s, ratio {q:.3f}")
    med = statistics.median(ratios)
    print(f"  {name_b} / {name_a}: median of {len(ratios)} per-round ratios {med:.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f})")
    return med


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--micro", type=int, default=4)
    ap.add_argument("--global-rows", type=int, default=8)
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per comparison (ratio per round)")
    ap.add_argument("--world", type=int, default=1, help="also compare N-process data parallel vs 1 process")
    ap.add_argument("--expert-parallel", action="store_true",
                    help="with --world N: also N processes with expert_parallel_size=N vs N-process "
                    "data parallel")
    add_check_flag(ap)
    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from sciforge.model.train import TrainConfig, train

    goals = Goals("train_engine")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        root = tmp / "data"
        ref = build_snapshot(args.data, root, args.seq_len, args.docs)
        print(f"snapshot {ref}, {args.steps} steps x {args.global_rows} rows x {args.seq_len} tokens, "
              f"threads={torch.get_num_threads()}, {args.rounds} rounds")
        # Alternate the two sides so load changes on a shared machine hit both alike; ratio per round.
        pairs, diffs = [], []
        for r in range(args.rounds):
            plain = plain_loop(config(root, ref, tmp / "ck", args, f"plain{r}"))
            summary = train(TrainConfig.model_validate(config(root, ref, tmp / "ck", args, f"engine{r}")))
            engine = read_metrics(Path(summary["run_dir"]) / "metrics.jsonl")
            pairs.append((tokens_per_s(plain), tokens_per_s(engine)))
            diffs.append(max(abs(a["loss"] - b["loss"]) for a, b in zip(plain, engine, strict=True)))
        print("DeepSpeed engine vs plain PyTorch loop:")
        ratio = per_round("plain", "engine", pairs)
        print(f"  loss@{args.steps}: plain {plain[-1]['loss']:.5f}, engine {engine[-1]['loss']:.5f}; "
              f"max |loss diff| over steps {max(diffs):.2e}; overhead {100 * (1 - ratio):.1f}%")
        goals.at_most("DeepSpeed engine overhead (1 - median per-round ratio)", 1 - ratio, MAX_ENGINE_OVERHEAD,
                      fmt="{:.1%}")
        if args.world > 1:
            pairs_w, pairs_ep, ep_diffs = [], [], []
            for r in range(args.rounds):
                one = cli_run(config(root, ref, tmp / "ck", args, f"w1_{r}"), tmp, 1)
                many = cli_run(config(root, ref, tmp / "ck", args, f"w{args.world}_{r}"), tmp, args.world)
                pairs_w.append((tokens_per_s(one), tokens_per_s(many)))
                if args.expert_parallel:
                    ep = cli_run(config(root, ref, tmp / "ck", args, f"ep{args.world}_{r}", ep=args.world), tmp,
                                 args.world)
                    pairs_ep.append((tokens_per_s(many), tokens_per_s(ep)))
                    ep_diffs.append(max(abs(a["loss"] - b["loss"]) for a, b in zip(many, ep, strict=True)))
            print(f"{args.world} processes (data parallel) vs 1 process:")
            per_round("1-proc", f"{args.world}-proc", pairs_w)
            print(f"  loss@{args.steps}: 1 process {one[-1]['loss']:.5f}, {args.world} processes "
                  f"{many[-1]['loss']:.5f}")
            if args.expert_parallel:
                print(f"{args.world} processes, EP={args.world} vs data parallel:")
                per_round("data-parallel", f"EP={args.world}", pairs_ep)
                print(f"  max |loss diff| vs data parallel {max(ep_diffs):.2e}")
                goals.at_most("expert parallelism: max per-step loss diff vs data parallel", max(ep_diffs),
                              SAME_CURVE_TOL, fmt="{:.1e}")
    return goals.finish(args.check)


if __name__ == "__main__":
    sys.exit(main())
