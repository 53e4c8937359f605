"""`sciforge config show`: the effective configuration."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from sciforge.cli._shared import settings

app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


@app.command("show")
def config_show(as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of YAML")] = False) -> None:
    """Print the effective configuration (profile + YAML + environment), secrets masked."""
    import yaml

    from sciforge.pipelines.config import ConfigError

    try:
        data = settings().masked()
    except ConfigError as e:  # a misspelt key: the message names the closest valid one
        print(f"error: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    print(json.dumps(data, indent=2, sort_keys=True) if as_json else yaml.safe_dump(data, sort_keys=True))
