"""Task bodies for the DAGs: thin calls into jobs/ (imported lazily, at run time only).

The DAG processor skips this file (no DAG object in it); the leading underscore says so too.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("sciforge.dags")


def _date(context: dict[str, Any]) -> str:
    # The logical date names the partition a run owns (scheduled and backfill runs: the start of
    # the daily data interval; manual runs: the date asked for); never now().
    when = context.get("logical_date") or context["data_interval_start"]
    return when.date().isoformat()  # type: ignore[union-attr]


def ingest_interval(kind: str, context: dict[str, Any]) -> dict[str, Any]:
    from jobs.ingest import run_ingest
    from pipelines.config import get_settings

    settings = get_settings()
    day = _date(context)
    source = f"{settings.resolve_path(settings.ingest.landing_root).rstrip('/')}/dt={day}/{kind}"
    engine = (context.get("params") or {}).get("engine", "spark")
    ref, km, qm = run_ingest(settings, source, kind, day, engine=engine)
    log.info("ingest %s %s: %s rows kept, %s quarantined %s", kind, ref, km["rows"], qm["rows"],
             km["counters"]["dropped"])
    return {"stage": f"ingest_{kind}", "ref": ref.key, "rows": km["rows"], "quarantined": qm["rows"],
            "counters": km["counters"]}


def write_report(results: list[dict[str, Any]], context: dict[str, Any]) -> dict[str, Any]:
    from pipelines.config import get_settings
    from pipelines.report import publish_report

    settings = get_settings()
    paths = publish_report(settings, _date(context), results)
    return {"report": paths}
