"""`sciforge eval CHECKPOINT --tasks a,b --k 8 ...`: accuracy per task family on held-out seeds (pass@1,
pass@k) and local JSONL benchmarks, printed as a table and written as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Evaluate a checkpoint on the RL task families and JSONL benchmarks.", no_args_is_help=True)


def _load(checkpoint: Path, tokenizer: str | None) -> tuple[Any, Any]:
    import torch

    from sciforge.model.checkpoint import load_pretrained
    from sciforge.model.train.stages import load_tokenizer

    if not (checkpoint / "config.json").is_file():
        raise typer.BadParameter(f"{checkpoint} is not a checkpoint folder (no config.json)")
    model = load_pretrained(checkpoint)
    spec = tokenizer
    if spec is None:  # the tokenizer saved beside the weights, else the default one
        try:
            from sciforge.pipelines.tokenizer.tokenizer import SciTokenizer

            return model, SciTokenizer.load(str(checkpoint))
        except Exception:  # noqa: BLE001 - no tokenizer files there: fall back
            spec = "default"
    torch.set_grad_enabled(False)
    return model, load_tokenizer(spec)


def _parse_seeds(seeds: str | None, n: int) -> list[int]:
    from sciforge.model.rl.evaluate import eval_seeds

    if not seeds:
        return eval_seeds(n)
    if ":" in seeds:
        a, b = seeds.split(":", 1)
        return list(range(int(a), int(b)))
    return [int(s) for s in seeds.split(",") if s.strip()]


@app.command("eval")
def eval_checkpoint(
    checkpoint: Annotated[Path, typer.Argument(help="a save_pretrained folder (e.g. checkpoints/rl/tiny/export)")],
    tasks: Annotated[str, typer.Option(help="comma-separated families, optionally family@difficulty")] = "",
    k: Annotated[int, typer.Option(help="samples per prompt (pass@1 and pass@k)")] = 8,
    seeds: Annotated[str | None, typer.Option(help="held-out seeds: 'a:b' or 'a,b,c' (default: 32 from 1e6)")] = None,
    n_prompts: Annotated[int, typer.Option(help="prompts per family when --seeds is not given")] = 32,
    jsonl: Annotated[list[Path] | None, typer.Option(help="a local JSONL benchmark (repeatable)")] = None,
    out: Annotated[Path | None, typer.Option(help="folder for eval.json")] = None,
    max_new_tokens: Annotated[int, typer.Option()] = 32,
    temperature: Annotated[float, typer.Option()] = 1.0,
    tokenizer: Annotated[str | None, typer.Option(help="tokenizer folder or 'default'")] = None,
    reward_model: Annotated[Path | None, typer.Option(help="reward model folder for open-ended families")] = None,
) -> None:
    """pass@1 / pass@k per task family on held-out seeds, and JSONL benchmarks."""
    from rich.console import Console
    from rich.table import Table

    from sciforge.model.rl.evaluate import evaluate_families, evaluate_jsonl, parse_task_spec
    from sciforge.model.rl.tasks import FAMILIES

    specs = [s.strip() for s in tasks.split(",") if s.strip()]
    if not specs and not jsonl:
        raise typer.BadParameter("give --tasks and/or --jsonl")
    for s in specs:
        try:
            name, _ = parse_task_spec(s)
        except ValueError as err:
            raise typer.BadParameter(str(err)) from err
        if name not in FAMILIES:
            raise typer.BadParameter(f"unknown family {name!r}; known: {', '.join(sorted(FAMILIES))}")
    for f in jsonl or []:
        if not f.is_file():
            raise typer.BadParameter(f"{f} does not exist")
    if k < 1:
        raise typer.BadParameter("--k must be >= 1")
    model, tok = _load(checkpoint, tokenizer)
    rm = None
    if reward_model is not None:
        from sciforge.model.rl.reward_model import RewardModel

        rm = RewardModel.load(reward_model)
    elif any(FAMILIES[parse_task_spec(s)[0]].open_ended for s in specs):
        from sciforge.model.rl.reward_model import train_default_reward_model

        rm, _ = train_default_reward_model()
    seed_list = _parse_seeds(seeds, n_prompts)
    result: dict[str, Any] = {"checkpoint": str(checkpoint), "k": k, "seeds": [seed_list[0], seed_list[-1]],
                              "families": {}, "benchmarks": {}}
    if specs:
        result["families"] = evaluate_families(model, tok, specs, seed_list, k, max_new_tokens, temperature,
                                               reward_model=rm)
    for f in jsonl or []:
        result["benchmarks"][str(f)] = evaluate_jsonl(model, tok, f, k, max_new_tokens, temperature)
    table = Table(title=f"{checkpoint} (k={k})")
    for col in ("task", "prompts", "pass@1", f"pass@{k}", "top reasons"):
        table.add_column(col)
    for name, r in [*result["families"].items(), *result["benchmarks"].items()]:
        top = ", ".join(f"{a}:{b}" for a, b in sorted(r["reasons"].items(), key=lambda x: -x[1])[:3])
        table.add_row(name, str(r["prompts"]), f"{r['pass@1']:.3f}", f"{r[f'pass@{k}']:.3f}", top)
    Console().print(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "eval.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        typer.echo(f"wrote {out / 'eval.json'}")


@app.command("families")
def list_families() -> None:
    """List the task families and their difficulty ranges."""
    from sciforge.model.rl.tasks import FAMILIES

    for name, cls in sorted(FAMILIES.items()):
        typer.echo(f"{name:18s} difficulty 0..{cls.max_difficulty}  {cls.description}")


def run_rl(config: Path, overrides: list[str], run: str | None) -> None:
    """`sciforge train rl --config FILE --set k=v --run NAME` (mounted by model/train/cli.py)."""
    import torch.distributed as dist

    from sciforge.model.rl.config import RLConfig
    from sciforge.model.rl.trainer import train_rl
    from sciforge.model.train.config import _deep_update, parse_override

    extra: dict[str, Any] = {}
    try:
        for item in overrides:
            extra = _deep_update(extra, parse_override(item))
        if run:
            extra["run"] = run
        cfg = RLConfig.load(config, **extra)
    except (ValueError, OSError) as err:
        raise typer.BadParameter(str(err)) from err
    summary = train_rl(cfg)
    if not dist.is_initialized() or dist.get_rank() == 0:
        typer.echo(json.dumps(summary, indent=2, sort_keys=True))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
