"""Task bodies for the DAGs: thin calls into jobs/ (imported lazily, at run time only).

Every body takes the run's partition date from the context, runs one job for it and returns a
small summary (dataset ref + counters) as XCom. The DAG processor skips this file (.airflowignore).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("sciforge.dags")


def partition_date(context: dict[str, Any]) -> str:
    # The logical date names the partition a run owns (scheduled and backfill runs: the start of
    # the daily data interval; manual runs: the date asked for); never now().
    when = context.get("logical_date") or context["data_interval_start"]
    return when.date().isoformat()  # type: ignore[union-attr]


def task_settings() -> Any:
    """The configuration for a task, with S3 credentials from the Airflow connection if one is named."""
    from infra.airflow_env import settings_with_connection
    from pipelines.config import get_settings

    return settings_with_connection(get_settings())


def _engine(context: dict[str, Any]) -> str:
    return str((context.get("params") or {}).get("engine", "spark"))


def _summary(stage: str, ref: Any) -> dict[str, Any]:
    from pipelines.datasets import read_manifest
    from pipelines.storage import open_storage

    s = task_settings()
    m = read_manifest(open_storage(s.data_root, s.storage_options()), ref)
    c = m["counters"]
    log.info("%s -> %s: in=%s kept=%s dropped=%s", stage, ref, c["input"], c["kept"], c["dropped"])
    return {"stage": stage, "ref": ref.key, "rows": m["rows"], "counters": c}


def _ref(summary: dict[str, Any]) -> Any:
    from pipelines.datasets import DatasetRef

    return DatasetRef.parse(summary["ref"])


def ingest_interval(kind: str, context: dict[str, Any]) -> dict[str, Any]:
    from jobs.ingest import run_ingest
    settings = task_settings()
    day = partition_date(context)
    source = f"{settings.resolve_path(settings.ingest.landing_root).rstrip('/')}/dt={day}/{kind}"
    ref, _, _ = run_ingest(settings, source, kind, day, engine=_engine(context))  # type: ignore[arg-type]
    return _summary(f"ingest_{kind}", ref)


def web_filter(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from jobs.web_filter import run_web_filter
    ref = run_web_filter(task_settings(), _ref(raw), partition_date(context), engine=_engine(context))  # type: ignore[arg-type]
    return _summary("web_filter", ref)


def pdf_parse(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from jobs.pdf_parse import run_pdf_parse
    ref = run_pdf_parse(task_settings(), _ref(raw), partition_date(context), engine=_engine(context))  # type: ignore[arg-type]
    return _summary("pdf_parse", ref)


def text_pages(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from jobs.runner import run_map_stage
    from pipelines.stage import MapStage
    from pipelines.text_pages import PAGE_SCHEMA, QUARANTINE_SCHEMA, text_to_pages

    stage = MapStage("text_pages", text_to_pages, PAGE_SCHEMA, QUARANTINE_SCHEMA)
    ref, _, _ = run_map_stage(task_settings(), stage, _ref(raw), partition_date(context),
                              engine=_engine(context))  # type: ignore[arg-type]
    return _summary("text_pages", ref)


def dedup(pages: list[dict[str, Any]], context: dict[str, Any]) -> dict[str, Any]:
    from jobs.dedup import run_dedup
    from pipelines.datasets import DatasetRef, list_versions
    from pipelines.storage import open_storage

    settings, day = task_settings(), partition_date(context)
    # Against earlier snapshots (param `previous_snapshots`: how many of the latest `clean/pages`
    # versions from before this run's date): pages already published are not admitted again.
    n_prev = int((context.get("params") or {}).get("previous_snapshots", 0) or 0)
    earlier = [v for v in list_versions(open_storage(settings.data_root, settings.storage_options()),
                                        "clean", "pages") if v[:10] < day]
    previous = [DatasetRef("clean", "pages", v) for v in earlier[-n_prev:]] if n_prev else []
    ref = run_dedup(settings, [_ref(p) for p in pages], day, engine=_engine(context),  # type: ignore[arg-type]
                    previous=previous)
    return _summary("dedup", ref)


def corpus(pages: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from dags.assets import CORPUS
    from jobs.corpus import run_corpus

    ref = run_corpus(task_settings(), _ref(pages), partition_date(context), engine=_engine(context))  # type: ignore[arg-type]
    events = context.get("outlet_events")
    if events is not None:  # the Asset event tells the training DAGs which snapshot to read
        events[CORPUS].extra = {"ref": ref.key}
    return _summary("corpus", ref)


def write_report(results: list[dict[str, Any]], context: dict[str, Any]) -> dict[str, Any]:
    from pipelines.report import publish_report

    paths = publish_report(task_settings(), partition_date(context), results)
    return {"report": paths}
