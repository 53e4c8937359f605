"""`sciforge lineage`: where a training sequence's tokens came from (pipelines/lineage.py)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sciforge.cli._shared import settings


def lineage(
    target: Annotated[str, typer.Argument(help="corpus/snapshot/<version>, or a training run folder")],
    shard: Annotated[int | None, typer.Option(help="shard number (snapshot)")] = None,
    seq: Annotated[int | None, typer.Option(help="sequence number inside the shard (snapshot)")] = None,
    token: Annotated[int | None, typer.Option(help="only the piece holding this token of the sequence")] = None,
    step: Annotated[int | None, typer.Option(help="optimizer step (training run): list its documents")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Trace a packed sequence to its pages, raw records and every stage's decision; or list a step's documents."""
    from sciforge.pipelines.lineage import lineage_command

    try:
        print(lineage_command(target, shard=shard, seq=seq, token=token, step=step, as_json=as_json,
                              settings=settings()))
    except (ValueError, KeyError, IndexError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
