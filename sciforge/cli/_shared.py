"""What several sub-commands share: the console, the settings, the choices of free-string options."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Any

from rich.console import Console

# Wide enough for the funnel table when piped to a log (rich assumes 80 columns there).
console = Console() if sys.stdout.isatty() else Console(width=160)


class Engine(StrEnum):
    """Where a data job runs: `spark` (local[*] or the configured master) or `local` (in-process)."""

    spark = "spark"
    local = "local"


class RawKind(StrEnum):
    """The raw input kinds `sciforge ingest` registers."""

    warc = "warc"
    pdf = "pdf"
    jsonl = "jsonl"


def settings() -> Any:
    from sciforge.pipelines.config import get_settings

    return get_settings()
