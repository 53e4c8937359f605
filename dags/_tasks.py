"""Task bodies for the DAGs: thin calls into jobs/ (imported lazily, at run time only).

Every body takes the run's partition date from the context, runs one job for it and returns a
small summary (dataset ref + counters) as XCom. The DAG processor skips this file (.airflowignore).

Two ways to run a Spark job (engine "spark"):
* in-process (default, the `local` profile): the task process is the Spark driver;
* `spark.submit: true` (the `cluster` profile): the task shells out to
  `spark-submit --master <spark.master> jobs/<job>.py ...`, so every job is its own Spark application
  on the cluster; the job prints its output dataset, which the task reads back from the log.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections import deque
from typing import Any

log = logging.getLogger("sciforge.dags")
# What a job's main() prints: its output dataset, <zone>/<name>/<YYYY-MM-DD>_<12 hex>.
_REF = re.compile(r"\b([a-z_]+)/([a-z0-9_]+)/(\d{4}-\d{2}-\d{2}_[0-9a-f]{12})\b")
_LOG_TAIL = 400  # lines of a spark-submit log kept for the error message


def partition_date(context: dict[str, Any]) -> str:
    # The logical date names the partition a run owns (scheduled and backfill runs: the start of
    # the daily data interval; manual runs: the date asked for); never now().
    when = context.get("logical_date") or context["data_interval_start"]
    return when.date().isoformat()  # type: ignore[union-attr]


def task_settings() -> Any:
    """The configuration for a task, with S3 credentials from the Airflow connection if one is named."""
    from airflow.sdk.log import mask_secret

    from infra.airflow_env import llm_env_from_connections, settings_with_connection
    from pipelines.config import get_settings, install_log_masking, secret_values

    settings = settings_with_connection(get_settings())
    install_log_masking(settings)  # the connection's credentials too, in every stdlib log record
    llm_env = llm_env_from_connections(settings)  # model API keys: read by pipelines.llm from the env
    os.environ.update(llm_env)
    for value in sorted(secret_values(settings) | set(llm_env.values())):
        mask_secret(value)  # and in everything Airflow writes to the task log
    return settings


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


def _submit(settings: Any, context: dict[str, Any]) -> bool:
    return bool(settings.spark.submit) and _engine(context) == "spark"


def spark_submit_command(settings: Any, job: str, args: list[str]) -> list[str]:
    """`spark-submit --master <master> --conf ... jobs/<job>.py <args>`.

    The conf is the same as the in-process session's (jobs.spark.spark_conf): memory, cores, shuffle
    partitions, Arrow, the workers' Python. Secrets never go on the command line: the S3 credentials
    reach the driver through its environment (see `submit_env`), the executors through the driver.
    """
    from infra.services.standalone import spark_submit
    from jobs.spark import spark_conf
    from pipelines.config import REPO_ROOT, is_secret_key

    conf = {k: v for k, v in spark_conf(settings).items() if not is_secret_key(k)}
    cmd = [spark_submit(), "--master", settings.spark.master]
    for k, v in sorted(conf.items()):
        cmd += ["--conf", f"{k}={v}"]
    cmd += list(settings.spark.submit_args)
    return [*cmd, str(REPO_ROOT / "jobs" / f"{job}.py"), *args]


def submit_env(settings: Any) -> dict[str, str]:
    """The driver's environment: this process's, plus the venv's Python for PySpark and the resolved
    settings the job must see (master, data root, and S3 credentials from the Airflow connection)."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SCIFORGE_SPARK__MASTER": settings.spark.master, "SCIFORGE_DATA_ROOT": settings.data_root,
           "SCIFORGE_SPARK__APP_NAME": settings.spark.app_name,
           # what the driver JVM binds before the session's conf applies (spark-submit's own ports)
           "SPARK_LOCAL_IP": settings.spark.driver_host}
    if settings.spark.auth_secret_file:  # the path only: the job reads the secret itself (jobs.spark)
        env["SCIFORGE_SPARK__AUTH_SECRET_FILE"] = settings.spark.auth_secret_file
    st = settings.storage
    for key, value in (("S3_ENDPOINT_URL", st.s3_endpoint_url), ("S3_REGION", st.s3_region),
                       ("S3_ACCESS_KEY_ID", st.s3_access_key_id),
                       ("S3_SECRET_ACCESS_KEY", st.s3_secret_access_key)):
        if value is not None:
            env[f"SCIFORGE_STORAGE__{key}"] = value if isinstance(value, str) else value.get_secret_value()
    return env


def run_spark_submit(settings: Any, job: str, args: list[str], output: str) -> Any:
    """Run ``jobs/<job>.py`` through spark-submit; the job's output ref (``output`` = "zone/name") is
    the last one it prints. The driver's log streams into the task log."""
    from pipelines.datasets import DatasetRef

    # One application per job, named for the master's UI and logs (the job's session reads the name).
    settings = settings.model_copy(update={"spark": settings.spark.model_copy(
        update={"app_name": f"{settings.spark.app_name}-{job}"})})
    cmd = spark_submit_command(settings, job, args)
    log.info("spark-submit: %s", " ".join(cmd))
    tail: deque[str] = deque(maxlen=_LOG_TAIL)
    found: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=submit_env(settings), errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            log.info("[%s] %s", job, line)
            found += [m.group(0) for m in _REF.finditer(line) if f"{m.group(1)}/{m.group(2)}" == output]
    if proc.returncode != 0:
        raise RuntimeError(f"spark-submit of jobs/{job}.py exited with {proc.returncode}:\n" + "\n".join(tail))
    if not found:
        raise RuntimeError(f"jobs/{job}.py did not print its {output}/<version> dataset:\n" + "\n".join(tail))
    return DatasetRef.parse(found[-1])


def ingest_interval(kind: str, context: dict[str, Any]) -> dict[str, Any]:
    from jobs.ingest import run_ingest
    settings = task_settings()
    day = partition_date(context)
    source = f"{settings.resolve_path(settings.ingest.landing_root).rstrip('/')}/dt={day}/{kind}"
    if _submit(settings, context):
        from pipelines.ingest.core import KINDS

        ref = run_spark_submit(settings, "ingest", ["--source", source, "--kind", kind, "--date", day],
                               f"raw/{KINDS[kind]['dataset']}")
    else:
        ref, _, _ = run_ingest(settings, source, kind, day, engine=_engine(context))  # type: ignore[arg-type]
    return _summary(f"ingest_{kind}", ref)


def web_filter(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from jobs.web_filter import run_web_filter
    settings, day = task_settings(), partition_date(context)
    if _submit(settings, context):
        ref = run_spark_submit(settings, "web_filter", ["--input", raw["ref"], "--date", day], "clean/web_pages")
    else:
        ref = run_web_filter(settings, _ref(raw), day, engine=_engine(context))  # type: ignore[arg-type]
    return _summary("web_filter", ref)


def pdf_parse(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from jobs.pdf_parse import run_pdf_parse
    settings, day = task_settings(), partition_date(context)
    if _submit(settings, context):
        ref = run_spark_submit(settings, "pdf_parse", ["--input", raw["ref"], "--date", day], "clean/pdf_pages")
    else:
        ref = run_pdf_parse(settings, _ref(raw), day, engine=_engine(context))  # type: ignore[arg-type]
    return _summary("pdf_parse", ref)


def text_pages(raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from jobs.runner import run_map_stage
    from pipelines.config import REPO_ROOT
    from pipelines.stage import MapStage
    from pipelines.text_pages import PAGE_SCHEMA, QUARANTINE_SCHEMA, text_to_pages

    settings, day = task_settings(), partition_date(context)
    engine = _engine(context)
    if _submit(settings, context):
        if (REPO_ROOT / "jobs" / "text_pages.py").is_file():
            ref = run_spark_submit(settings, "text_pages", ["--input", raw["ref"], "--date", day],
                                   "clean/text_pages")
            return _summary("text_pages", ref)
        # No jobs/text_pages.py to submit: this one-row-in, one-page-out map runs in the task.
        log.info("text_pages: no spark-submit entry point, running the map in-process (engine=local)")
        engine = "local"
    stage = MapStage("text_pages", text_to_pages, PAGE_SCHEMA, QUARANTINE_SCHEMA)
    ref, _, _ = run_map_stage(settings, stage, _ref(raw), day, engine=engine)  # type: ignore[arg-type]
    return _summary("text_pages", ref)


def previous_pages(versions: list[str], day: str, n: int) -> list[Any]:
    """`clean/pages` refs of the `n` calendar days before `day` (all versions of each day, sorted)."""
    import datetime as dt

    from pipelines.datasets import DatasetRef

    out = []
    for back in range(n, 0, -1):
        d = (dt.date.fromisoformat(day) - dt.timedelta(days=back)).isoformat()
        found = sorted(v for v in versions if v[:10] == d)
        if not found:
            raise RuntimeError(f"dedup: previous_snapshots={n} needs clean/pages of {d}, which is not published "
                               "(backfill oldest first, one run at a time, or lower previous_snapshots)")
        out += [DatasetRef("clean", "pages", v) for v in found]
    return out


def published(results: dict[str, dict[str, Any] | None] | list[dict[str, Any] | None]
              ) -> tuple[list[dict[str, Any]], list[str]]:
    """(summaries of the upstream stages that published, names of those that did not).

    A failed upstream task hands on None (partial days: dedup runs with `all_done_min_one_success`, the
    report with `all_done`); a list has no names for its missing entries."""
    items = list(results.items()) if isinstance(results, dict) else [(f"input {i}", r) for i, r in enumerate(results)]
    return [r for _, r in items if r is not None], [name for name, r in items if r is None]


def dedup(pages: dict[str, dict[str, Any] | None] | list[dict[str, Any] | None],
          context: dict[str, Any]) -> dict[str, Any]:
    from jobs.dedup import run_dedup
    from pipelines.datasets import list_versions
    from pipelines.storage import open_storage

    settings, day = task_settings(), partition_date(context)
    # Partial day: the stages that published go on; their set is part of the output version (parents), so
    # the re-run once the missing source is back publishes a new version.
    inputs, missing = published(pages)
    if missing:
        log.warning("dedup %s without %s (failed upstream): on %s", day, ", ".join(missing),
                    ", ".join(p["ref"] for p in inputs))
    if not inputs:
        raise RuntimeError(f"dedup {day}: no page dataset was published")
    # Against earlier snapshots (param `previous_snapshots` = N): the `clean/pages` versions of the N
    # calendar days before this run's date, chosen by date (never "whatever is listed now"), so a backfill
    # run in any order admits exactly what the nightly runs did. A missing earlier day is an error: run the
    # backfill oldest first (`--max-active-runs 1`) when N > 0.
    n_prev = int((context.get("params") or {}).get("previous_snapshots", 0) or 0)
    previous = previous_pages(list_versions(open_storage(settings.data_root, settings.storage_options()),
                                            "clean", "pages"), day, n_prev)
    if _submit(settings, context):
        args = [a for p in inputs for a in ("--input", p["ref"])] + [a for p in previous for a in ("--previous", p.key)]
        ref = run_spark_submit(settings, "dedup", [*args, "--date", day], "clean/pages")
    else:
        ref = run_dedup(settings, [_ref(p) for p in inputs], day, engine=_engine(context),  # type: ignore[arg-type]
                        previous=previous)
    return {**_summary("dedup", ref), **({"missing_inputs": missing} if missing else {})}


def corpus(pages: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from dags.assets import CORPUS
    from jobs.corpus import run_corpus

    settings, day = task_settings(), partition_date(context)
    if _submit(settings, context):
        ref = run_spark_submit(settings, "corpus", ["--pages", pages["ref"], "--date", day], "corpus/snapshot")
    else:
        ref = run_corpus(settings, _ref(pages), day, engine=_engine(context))  # type: ignore[arg-type]
    events = context.get("outlet_events")
    missing = {"missing_inputs": pages["missing_inputs"]} if pages.get("missing_inputs") else {}
    if events is not None:  # the Asset event tells the training DAGs which snapshot to read
        events[CORPUS].extra = {"ref": ref.key, **missing}
    return {**_summary("corpus", ref), **missing}


def write_report(results: dict[str, dict[str, Any] | None] | list[dict[str, Any]],
                 context: dict[str, Any]) -> dict[str, Any]:
    """Write the funnel; on a partial day (`results` maps a stage to None: it published nothing) the
    report marks the missing stages, and then this task fails without retrying, so the run is failed
    while everything the other sources published stays published."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.report import publish_report

    day = partition_date(context)
    rows: list[dict[str, Any]]
    if isinstance(results, dict):
        rows = [r if r is not None else {"stage": stage, "missing": True} for stage, r in results.items()]
    else:
        rows = list(results)
    paths = publish_report(task_settings(), day, rows)
    missing = [r["stage"] for r in rows if r.get("missing") is True]
    if missing:
        raise AirflowFailException(
            f"partial day {day}: {', '.join(missing)} published nothing (the report marks them; the other "
            f"sources' datasets, dedup and corpus are published). Re-run the day when the source is back "
            f"(clear the failed tasks with their downstream): it publishes new versions. Report: {paths}")
    return {"report": paths}
