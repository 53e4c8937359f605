"""Per-step metrics: JSONL (the record of truth), TensorBoard scalars, a progress bar, PNG curves.

Only rank 0 writes. On resume the JSONL is cut back to the checkpoint's step, so the file always
reads as one uninterrupted run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

METRICS_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"
PLOTTED = ("loss", "lr", "batch_tokens", "tokens_per_s", "grad_norm", "expert_load_max_over_mean")


def expert_stats(tokens_per_expert: torch.Tensor | None) -> dict[str, float]:
    """Router load balance from a (moe_layers, experts) count matrix: max/mean load (1 = perfectly
    balanced, averaged over layers) and the fraction of experts that received any token."""
    if tokens_per_expert is None:
        return {}
    t = tokens_per_expert.detach().double()
    mean = t.mean(dim=-1).clamp_min(1e-9)
    return {
        "expert_load_max_over_mean": float((t.max(dim=-1).values / mean).mean()),
        "expert_utilization": float((t > 0).double().mean()),
    }


class MetricsLogger:
    def __init__(
        self,
        run_dir: Path,
        enabled: bool,
        tensorboard: bool,
        progress: bool,
        total_steps: int,
        resume_step: int = 0,
    ) -> None:
        self.enabled = enabled
        self.path = Path(run_dir) / METRICS_FILE
        self.tb: Any = None
        self.bar: Any = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._truncate(resume_step)
        self.fh = open(self.path, "a")  # noqa: SIM115 - closed in close()
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=resume_step + 1)
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=resume_step, unit="step", dynamic_ncols=True)

    def _truncate(self, step: int) -> None:
        if not self.path.exists():
            return
        keep = [ln for ln in self.path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
        self.path.write_text("".join(ln + "\n" for ln in keep))

    def log(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.fh.write(json.dumps(record, sort_keys=True) + "\n")
        self.fh.flush()
        step = int(record["step"])
        if self.tb is not None:
            for k, v in record.items():
                if k != "step" and isinstance(v, int | float):
                    self.tb.add_scalar(f"train/{k}", v, step)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(
                loss=f"{record['loss']:.4f}",
                lr=f"{record['lr']:.2e}",
                tok_s=f"{record.get('tokens_per_s', 0):.0f}",
            )

    def close(self) -> None:
        if not self.enabled:
            return
        self.fh.close()
        if self.tb is not None:
            self.tb.close()
        if self.bar is not None:
            self.bar.close()
        plot_curves(self.path, self.path.with_name(CURVES_FILE))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in Path(path).read_text().splitlines() if ln]


def plot_curves(metrics: Path, out: Path, keys: tuple[str, ...] = PLOTTED) -> Path | None:
    """One PNG per run, six panels (default: loss, learning rate, batch size, throughput, gradient norm,
    expert load)."""
    rows = read_metrics(metrics) if metrics.exists() else []
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    steps = [r["step"] for r in rows]
    for ax, key in zip(axes.flat, keys, strict=True):
        ys = [r.get(key) for r in rows]
        pts = [(s, y) for s, y in zip(steps, ys, strict=True) if y is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1.2)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
