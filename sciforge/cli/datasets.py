"""`sciforge datasets list|show|verify`: published datasets under the data root."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from sciforge.cli._shared import console, settings

app = typer.Typer(help="List, show and verify published datasets.", no_args_is_help=True)


class Zone(StrEnum):
    """The zones of the data root (ARCHITECTURE.md, the data contract)."""

    raw = "raw"
    interim = "interim"
    clean = "clean"
    quarantine = "quarantine"
    corpus = "corpus"


@app.command("list")
def datasets_list(zone: Annotated[Zone | None, typer.Option(help="only this zone")] = None) -> None:
    """List published datasets under the data root."""
    from sciforge.pipelines.datasets import list_datasets, read_manifest
    from sciforge.pipelines.storage import open_storage

    s = settings()
    storage = open_storage(s.data_root, s.storage_options())
    t = Table("dataset", "rows", "files", "kept", "dropped")
    for ref in list_datasets(storage, zone.value if zone else None):
        m = read_manifest(storage, ref)
        c = m.get("counters", {})
        t.add_row(ref.key, str(m["rows"]), str(len(m["files"])), str(c.get("kept", "")),
                  str(sum((c.get("dropped") or {}).values())))
    console.print(t)


@app.command("show")
def datasets_show(ref: Annotated[str, typer.Argument(help="zone/name/version")]) -> None:
    """Print a dataset's manifest."""
    from sciforge.pipelines.datasets import DatasetRef, read_manifest
    from sciforge.pipelines.storage import open_storage

    s = settings()
    print(json.dumps(read_manifest(open_storage(s.data_root, s.storage_options()), DatasetRef.parse(ref)),
                     indent=2))


@app.command("verify")
def datasets_verify(ref: Annotated[str, typer.Argument(help="zone/name/version")]) -> None:
    """Check every part's sha256 and row count against the manifest."""
    from sciforge.pipelines.datasets import DatasetRef, verify
    from sciforge.pipelines.storage import open_storage

    s = settings()
    m = verify(open_storage(s.data_root, s.storage_options()), DatasetRef.parse(ref))
    console.print(f"{ref}: {len(m['files'])} files, {m['rows']} rows: OK")
