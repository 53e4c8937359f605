"""`sciforge train cpt|mmpt|sft|rl --config FILE [--set key=value ...]`.

Single process: run it as is. Data-parallel: `torchrun --nproc_per_node N -m sciforge.model.train.cli cpt ...` or
`deepspeed --num_gpus N model/train/cli.py cpt ...` (set OMP_NUM_THREADS=1 per rank on CPU).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    help="Training stages: cpt, mmpt, sft on DeepSpeed; rl (resume automatically).", no_args_is_help=True
)


def _run(stage: str, config: Path, overrides: list[str], run: str | None) -> None:
    from sciforge.model.train.config import TrainConfig, _deep_update, parse_override
    from sciforge.model.train.trainer import train

    extra: dict = {"stage": stage}
    for item in overrides:
        extra = _deep_update(extra, parse_override(item))
    if run:
        extra["run"] = run
    try:
        cfg = TrainConfig.load(config, **extra)
    except (ValueError, OSError) as err:
        raise typer.BadParameter(str(err)) from err
    summary = train(cfg)
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:
        typer.echo(json.dumps(summary, indent=2, sort_keys=True))


CONFIG = typer.Option(..., "--config", "-c", exists=True, dir_okay=False, help="JSON or YAML TrainConfig")
SET = typer.Option([], "--set", help="override a field, e.g. --set schedule.lr=1e-3 (repeatable)")
RUN = typer.Option(None, "--run", help="run name (checkpoints/<stage>/<run>/)")


@app.command()
def cpt(config: Path = CONFIG, set_: list[str] = SET, run: str | None = RUN) -> None:
    """Continued pre-training on a corpus snapshot (WSD schedule, batch-size warm-up)."""
    _run("cpt", config, set_, run)


@app.command()
def mmpt(config: Path = CONFIG, set_: list[str] = SET, run: str | None = RUN) -> None:
    """Multimodal pre-training on generated molecule-image and signal samples."""
    _run("mmpt", config, set_, run)


@app.command()
def sft(config: Path = CONFIG, set_: list[str] = SET, run: str | None = RUN) -> None:
    """Supervised fine-tuning: chat template, assistant-only loss, packing, best-of-N."""
    _run("sft", config, set_, run)


@app.command()
def rl(config: Path = CONFIG, set_: list[str] = SET, run: str | None = RUN) -> None:
    """Online RL: task environments with verifiers, Mixture-of-Rewards, OREAL loss with KL-Cov (model/rl)."""
    from sciforge.model.rl.cli import run_rl

    run_rl(config, set_, run)


def main() -> None:
    import sys

    # The `deepspeed` launcher passes --local_rank=N to the script; the rank is also in LOCAL_RANK.
    sys.argv = [a for a in sys.argv if not a.startswith("--local_rank")]
    app()


if __name__ == "__main__":
    import sys
    from pathlib import Path

    # `deepspeed model/train/cli.py ...`: the folder holding the `sciforge` package (the checkout's root, or
    # site-packages for a wheel) goes on the path, never the layer folders' parent inside the wheel.
    here = Path(__file__).resolve()
    sys.path.insert(0, str(next(p for p in here.parents if (p / "sciforge" / "__init__.py").is_file())))
    main()
