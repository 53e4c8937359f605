"""corpus_refresh: the nightly corpus build, one run per daily data interval.

    ingest_warc  -> web_filter --.
    ingest_pdf   -> pdf_parse  ---+-> dedup -> corpus (publishes the `corpus` Asset) -> report
    ingest_jsonl -> text_pages --'

Every task is idempotent for its interval: it writes the dataset version derived from the logical
date, its configuration and its inputs (the landing files' sha256 for ingest, the parents' versions
after it), replacing a previous attempt on the same inputs byte for byte, so retries and backfills are
safe.

Task logs show each stage's counters; `report` writes the funnel (Markdown, PNG, JSON; checked: every
stage's input = kept + dropped, flows and quarantines add up) under
`<data_root>/reports/corpus_refresh/<day>/` and into the published snapshot (`<snapshot>/report/`,
registered in its manifest). Heavy imports happen inside tasks only.

Partial days: one source failing never blocks the others. When an ingest (or a source's own stage)
fails for good, the other sources' stages still publish; `dedup` runs on the page datasets that were
published (trigger rule `all_done_min_one_success`; the missing ones are logged and recorded as
`missing_inputs` in its summary and in the `corpus` Asset event), `corpus` publishes that snapshot,
and `report` (trigger rule `all_done`) writes the funnel with the missing stages marked, then fails
without a retry so the run shows failed. When the source is back, re-run the day (clear the failed
task with its downstream, or trigger the date again): the stages whose inputs changed publish NEW
versions (a version names its inputs), the unchanged ones rewrite theirs byte for byte, and the
training DAGs get the complete snapshot under its own version (their runs are named after it, so
nothing resumes across the two).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import TriggerRule, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from sciforge.dags.assets import CORPUS  # the published snapshot: training DAGs are scheduled on it

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
    params={
        "engine": "spark",  # or "local": the same jobs in-process, no Spark
        # dedup against the N latest earlier `clean/pages` snapshots (0: off; each one's signatures are
        # recomputed, so the cost grows with N)
        "previous_snapshots": 0,
    },
    doc_md=__doc__,
)
def corpus_refresh() -> None:
    @task
    def ingest(kind: str, **context: object) -> dict:
        from sciforge.dags._tasks import ingest_interval

        return ingest_interval(kind, context)

    @task
    def web_filter(raw: dict, **context: object) -> dict:
        from sciforge.dags._tasks import web_filter as run

        return run(raw, context)

    @task
    def pdf_parse(raw: dict, **context: object) -> dict:
        from sciforge.dags._tasks import pdf_parse as run

        return run(raw, context)

    @task
    def text_pages(raw: dict, **context: object) -> dict:
        from sciforge.dags._tasks import text_pages as run

        return run(raw, context)

    @task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)  # partial days: on what was published
    def dedup(pages: dict[str, dict | None], **context: object) -> dict:
        from sciforge.dags._tasks import dedup as run

        return run(pages, context)

    @task(outlets=[CORPUS])
    def corpus(pages: dict, **context: object) -> dict:
        from sciforge.dags._tasks import corpus as run

        return run(pages, context)

    @task(trigger_rule=TriggerRule.ALL_DONE)  # also on a partial day: it marks what is missing
    def report(results: dict[str, dict | None], **context: object) -> dict:
        from sciforge.dags._tasks import write_report

        return write_report(results, context)

    raw_web = ingest.override(task_id="ingest_warc")("warc")
    raw_pdf = ingest.override(task_id="ingest_pdf")("pdf")
    raw_text = ingest.override(task_id="ingest_jsonl")("jsonl")
    web = web_filter(raw_web)
    pdf = pdf_parse(raw_pdf)
    text = text_pages(raw_text)
    pages = dedup({"web_filter": web, "pdf_parse": pdf, "text_pages": text})
    snapshot = corpus(pages)
    report({"ingest_warc": raw_web, "ingest_pdf": raw_pdf, "ingest_jsonl": raw_text, "web_filter": web,
            "pdf_parse": pdf, "text_pages": text, "dedup": pages, "corpus": snapshot})


corpus_refresh()
