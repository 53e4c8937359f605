"""`sciforge ingest`: register raw inputs as a raw dataset (jobs/ingest.py)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from sciforge.cli._shared import Engine, RawKind, console, settings


def ingest(
    source: Annotated[str, typer.Option(help="folder or s3://bucket/prefix with the raw files")],
    kind: Annotated[RawKind, typer.Option(help="the kind of raw files")],
    date: Annotated[str, typer.Option(help="logical date YYYY-MM-DD: names the dataset version")],
    engine: Annotated[Engine, typer.Option(help="spark (local[*] or the configured master) or local (in-process)")]
    = Engine.spark,
) -> None:
    """Register raw inputs as a raw dataset; bad records are quarantined with reasons."""
    from sciforge.jobs.ingest import run_ingest

    logging.basicConfig(level=logging.WARNING)
    ref, km, qm = run_ingest(settings(), source, kind.value, date, engine=engine.value)  # type: ignore[arg-type]
    print_stage_summary(f"ingest {kind.value}", ref.key, km, qm)


def print_stage_summary(title: str, ref: str, km: dict[str, Any], qm: dict[str, Any]) -> None:
    c = km["counters"]
    console.print(f"[bold]{title}[/bold] -> {ref}: {c['input']} in, {km['rows']} registered, "
                  f"{qm['rows']} quarantined")
    for reason, n in c["dropped"].items():
        console.print(f"    quarantined {n:>5}  {reason}")
