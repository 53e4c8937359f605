"""`sciforge ui`: Airflow for the project's DAGs on 127.0.0.1 (infra/ui.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from sciforge.cli._shared import settings


def ui(
    port: Annotated[int, typer.Option(help="port of the Airflow UI / REST API on 127.0.0.1")] = 8080,
    parallelism: Annotated[int, typer.Option(help="task slots (every task may start Spark or torch)")] = 2,
    schedule: Annotated[bool, typer.Option(help="let the scheduler start the @daily runs (DAGs start paused)")]
    = True,
) -> None:
    """Start Airflow (UI + API server, scheduler, DAG processor, triggerer) on 127.0.0.1 for the project's
    DAGs; prints the URL and the login; Ctrl-C stops everything."""
    from sciforge.infra.ui import serve_ui

    serve_ui(settings(), port=port, parallelism=parallelism, use_job_schedule=schedule)
