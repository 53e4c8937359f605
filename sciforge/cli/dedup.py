"""`sciforge dedup ...`: inspect the dedup configuration (the job itself runs as
`python -m sciforge.jobs.dedup --input ... --date ...`, or from the corpus_refresh DAG)."""

from __future__ import annotations

import typer

from sciforge.pipelines.dedup.config import DedupConfig
from sciforge.pipelines.dedup.lsh import describe, optimal_params

app = typer.Typer(help="Global page-level dedup (MinHash + LSH + connected components).", no_args_is_help=True)


@app.command()
def params(
    threshold: float = typer.Option(None, help="Jaccard threshold (default: the configured one)"),
    num_perm: int = typer.Option(None, help="MinHash permutations (default: the configured one)"),
    fp_weight: float = typer.Option(None, help="weight of the false-positive area"),
    fn_weight: float = typer.Option(None, help="weight of the false-negative area"),
) -> None:
    """Print the LSH (bands, rows) chosen for a threshold and its S-curve."""
    from sciforge.pipelines.config import get_settings

    cfg = DedupConfig(**get_settings().stage("dedup"))
    t = cfg.threshold if threshold is None else threshold
    n = cfg.num_perm if num_perm is None else num_perm
    fp = cfg.false_positive_weight if fp_weight is None else fp_weight
    fn = cfg.false_negative_weight if fn_weight is None else fn_weight
    if cfg.bands is not None and cfg.rows is not None and threshold is None and num_perm is None:
        b, r = cfg.bands, cfg.rows
    else:
        b, r = optimal_params(t, n, fp, fn)
    typer.echo(describe(t, b, r))


@app.command()
def config() -> None:
    """Print the effective dedup options (defaults < YAML `stages.dedup` < env)."""
    from sciforge.pipelines.config import get_settings

    typer.echo(DedupConfig(**get_settings().stage("dedup")).model_dump_json(indent=2))
