"""`sciforge model ...`: inspect the model family."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="The MoE model family (tiny ... intern_s1): describe configs.", no_args_is_help=True)


def _resolve(config: str):
    from sciforge.model.config import PRESETS, get_config

    if config in PRESETS:
        return get_config(config)
    path = Path(config)
    if path.is_dir():
        path = path / "config.json"
    if path.is_file():
        from sciforge.model.checkpoint import config_from_hf_dict

        return config_from_hf_dict(json.loads(path.read_text()))
    raise typer.BadParameter(
        f"{config!r} is neither a preset ({', '.join(PRESETS)}) nor a config.json / checkpoint dir"
    )


@app.command()
def describe(
    config: str = typer.Argument(
        ..., help="preset name (tiny, small, 1b, intern_s1) or a config.json / checkpoint dir"
    ),
    markdown: bool = typer.Option(False, "--markdown", help="print a Markdown table (for the README)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Total and activated parameters per component, counted on the meta device (nothing is allocated)."""
    from sciforge.model.describe import describe as count
    from sciforge.model.describe import human, markdown_table, summarize

    cfg = _resolve(config)
    rows = count(cfg)
    if as_json:
        payload = {
            "config": cfg.name,
            "components": {r.component: {"total": r.total, "active": r.active} for r in rows},
            "summary": {k: {"total": t, "active": a} for k, (t, a) in summarize(rows).items()},
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    if markdown:
        typer.echo(markdown_table(cfg, rows))
        return
    table = Table(title=f"{cfg.name}: parameters (meta device)")
    table.add_column("component")
    table.add_column("total", justify="right")
    table.add_column("activated", justify="right")
    for r in rows:
        if r.total:
            table.add_row(r.component, human(r.total), human(r.active))
    table.add_section()
    for label, (total, active) in summarize(rows).items():
        if total:
            table.add_row(label, human(total), human(active), style="bold")
    Console().print(table)


@app.command()
def configs() -> None:
    """List the preset configs."""
    from sciforge.model.config import PRESETS, get_config

    for name in PRESETS:
        cfg = get_config(name)
        mods = [m for m, on in (("vision", cfg.vision), ("time-series", cfg.time_series)) if on is not None]
        typer.echo(
            f"{name:10s} layers={cfg.num_hidden_layers} hidden={cfg.hidden_size} experts={cfg.num_experts}"
            f"x{cfg.moe_intermediate_size} top-{cfg.num_experts_per_tok} vocab={cfg.vocab_size} +{'+'.join(mods)}"
        )


if __name__ == "__main__":
    app()
