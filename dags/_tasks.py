"""Task bodies for the DAGs: thin calls into the launcher (imported lazily, at run time only).

Every body takes the run's partition date from the context, runs one job of jobs/ for it through
sciforge.launch.spark.run_job (in-process, or through spark-submit with `spark.submit: true`, the `cluster`
profile) and returns a small summary (dataset ref + counters, from the job's result file) as XCom.
The DAG processor skips this file (.airflowignore).
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("sciforge.dags")


def partition_date(context: dict[str, Any]) -> str:
    # The logical date names the partition a run owns (scheduled and backfill runs: the start of
    # the daily data interval; manual runs: the date asked for); never now().
    when = context.get("logical_date") or context["data_interval_start"]
    return when.date().isoformat()  # type: ignore[union-attr]


def task_settings() -> Any:
    """The configuration for a task, with S3 credentials from the Airflow connection if one is named."""
    from airflow.sdk.log import mask_secret

    from sciforge.infra.airflow_env import llm_env_from_connections, settings_with_connection
    from sciforge.pipelines.config import get_settings, install_log_masking, secret_values

    settings = settings_with_connection(get_settings())
    install_log_masking(settings)  # the connection's credentials too, in every stdlib log record
    llm_env = llm_env_from_connections(settings)  # model API keys: read by sciforge.pipelines.llm from the env
    os.environ.update(llm_env)
    for value in sorted(secret_values(settings) | set(llm_env.values())):
        mask_secret(value)  # and in everything Airflow writes to the task log
    return settings


def _engine(context: dict[str, Any]) -> str:
    return str((context.get("params") or {}).get("engine", "spark"))


def _summary(stage: str, result: dict[str, Any]) -> dict[str, Any]:
    """The task's XCom: the job's output dataset, rows and counters (from its result file)."""
    c = result["counters"]
    log.info("%s -> %s: in=%s kept=%s dropped=%s", stage, result["dataset"], c["input"], c["kept"], c["dropped"])
    return {"stage": stage, "ref": result["dataset"], "rows": result["rows"], "counters": c}


def _run(job: str, args: list[str], context: dict[str, Any], settings: Any = None) -> dict[str, Any]:
    """Run jobs/<job>.py through the launcher (in-process or spark-submit); its result file's content."""
    from sciforge.launch.spark import run_job

    return run_job(settings or task_settings(), job, args, engine=_engine(context))


def ingest_interval(kind: str, context: dict[str, Any]) -> dict[str, Any]:
    settings, day = task_settings(), partition_date(context)
    source = f"{settings.resolve_path(settings.ingest.landing_root).rstrip('/')}/dt={day}/{kind}"
    args = ["--source", source, "--kind", kind, "--date", day]
    return _summary(f"ingest_{kind}", _run("ingest", args, context, settings))


def web_filter(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    day = partition_date(context)
    return _summary("web_filter", _run("web_filter", ["--input", raw["ref"], "--date", day], context))


def pdf_parse(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    day = partition_date(context)
    return _summary("pdf_parse", _run("pdf_parse", ["--input", raw["ref"], "--date", day], context))


def text_pages(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    day = partition_date(context)
    return _summary("text_pages", _run("text_pages", ["--input", raw["ref"], "--date", day], context))


def published(results: dict[str, dict[str, Any] | None] | list[dict[str, Any] | None]
              ) -> tuple[list[dict[str, Any]], list[str]]:
    """(summaries of the upstream stages that published, names of those that did not).

    A failed upstream task hands on None (partial days: dedup runs with `all_done_min_one_success`, the
    report with `all_done`); a list has no names for its missing entries."""
    items = list(results.items()) if isinstance(results, dict) else [(f"input {i}", r) for i, r in enumerate(results)]
    return [r for _, r in items if r is not None], [name for name, r in items if r is None]


def dedup(pages: dict[str, dict[str, Any] | None] | list[dict[str, Any] | None],
          context: dict[str, Any]) -> dict[str, Any]:
    from sciforge.launch.inputs import previous_snapshots

    settings, day = task_settings(), partition_date(context)
    # Partial day: the stages that published go on; their set is part of the output version (parents), so
    # the re-run once the missing source is back publishes a new version.
    done, missing = published(pages)
    if missing:
        log.warning("dedup %s without %s (failed upstream): on %s", day, ", ".join(missing),
                    ", ".join(p["ref"] for p in done))
    if not done:
        raise RuntimeError(f"dedup {day}: no page dataset was published")
    # Against earlier snapshots (param `previous_snapshots` = N): the `clean/pages` versions of the N
    # calendar days before this run's date, chosen by date (never "whatever is listed now"), so a backfill
    # run in any order admits exactly what the nightly runs did. A missing earlier day is an error: run the
    # backfill oldest first (`--max-active-runs 1`) when N > 0.
    n_prev = int((context.get("params") or {}).get("previous_snapshots", 0) or 0)
    args = [a for p in done for a in ("--input", p["ref"])]
    args += [a for key in previous_snapshots(settings, day, n_prev) for a in ("--previous", key)]
    return {**_summary("dedup", _run("dedup", [*args, "--date", day], context, settings)),
            **({"missing_inputs": missing} if missing else {})}


def corpus(pages: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from sciforge.dags.assets import CORPUS

    result = _run("corpus", ["--pages", pages["ref"], "--date", partition_date(context)], context)
    events = context.get("outlet_events")
    missing = {"missing_inputs": pages["missing_inputs"]} if pages.get("missing_inputs") else {}
    if events is not None:  # the Asset event tells the training DAGs which snapshot to read
        events[CORPUS].extra = {"ref": result["dataset"], **missing}
    return {**_summary("corpus", result), **missing}


def write_report(results: dict[str, dict[str, Any] | None] | list[dict[str, Any]],
                 context: dict[str, Any]) -> dict[str, Any]:
    """Write the funnel; on a partial day (`results` maps a stage to None: it published nothing) the
    report marks the missing stages, and then this task fails without retrying, so the run is failed
    while everything the other sources published stays published."""
    from airflow.sdk.exceptions import AirflowFailException

    from sciforge.pipelines.report import publish_report

    day = partition_date(context)
    rows: list[dict[str, Any]]
    if isinstance(results, dict):
        rows = [r if r is not None else {"stage": stage, "missing": True} for stage, r in results.items()]
    else:
        rows = list(results)
    paths = publish_report(task_settings(), day, rows)
    missing = [str(r["stage"]) for r in rows if r.get("missing") is True]
    if missing:
        raise AirflowFailException(
            f"partial day {day}: {', '.join(missing)} published nothing (the report marks them; the other "
            f"sources' datasets, dedup and corpus are published). Re-run the day when the source is back "
            f"(clear the failed tasks with their downstream): it publishes new versions. Report: {paths}")
    return {"report": paths}
