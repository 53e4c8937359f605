"""corpus_refresh: the nightly corpus build, one run per data interval (@daily).

ingest (warc | pdf | jsonl of the interval's landing folder) -> report. Later stages (web filter,
PDF parsing, dedup, tokenize + pack) hang off the ingest tasks. Every task is idempotent for its
interval: it writes the dataset version derived from the logical date and its configuration,
replacing a previous attempt byte for byte. Heavy imports happen inside tasks only.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

DEFAULT_ARGS = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=4),
}


@dag(
    dag_id="corpus_refresh",
    # Daily data intervals [day, day+1): the run for a day starts after the day closes, and its
    # logical date (= interval start) names the partition it owns. Airflow 3's plain "@daily"
    # would be a CronTriggerTimetable without intervals.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["sciforge", "data"],
    params={"engine": "spark"},
    doc_md=__doc__,
)
def corpus_refresh() -> None:
    @task
    def ingest(kind: str, **context: object) -> dict:
        from dags._tasks import ingest_interval

        return ingest_interval(kind, context)

    @task
    def report(results: list[dict], **context: object) -> dict:
        from dags._tasks import write_report

        return write_report(results, context)

    ingested = [ingest.override(task_id=f"ingest_{k}")(k) for k in ("warc", "pdf", "jsonl")]
    report(ingested)


corpus_refresh()
