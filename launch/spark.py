"""Run one Spark job of jobs/ and return what it published.

Two ways, one entry point (the job's ``main``, with the same arguments):

* in-process (the `local` profile, or engine "local"): this process is the Spark driver;
* ``spark.submit: true`` (the `cluster` profile) with engine "spark": ``spark-submit --master
  <spark.master> jobs/<job>.py ...``, so every job is its own Spark application on the cluster.

Either way the job writes its result file (jobs/result.py: output dataset, rows, counters) where
``--result-file`` says and :func:`run_job` reads it back; the job's printed output is only logged.
The result file is a local temporary file when the driver runs here (in-process, and spark-submit's
default client deploy mode); with ``--deploy-mode cluster`` in ``spark.submit_args`` the driver runs on
the cluster, so the result goes under the data root (``<data_root>/_job_results/``, S3 on a cluster)
and is deleted once read.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from collections import deque
from typing import Any

log = logging.getLogger("sciforge.launch.spark")
JOBS = ("ingest", "web_filter", "pdf_parse", "text_pages", "dedup", "corpus")  # the modules of jobs/ with a main
RESULTS_PREFIX = "_job_results"  # under the data root, for drivers deployed on the cluster
_LOG_TAIL = 400  # lines of a spark-submit log kept for the error message


def spark_submit_command(settings: Any, job: str, args: list[str]) -> list[str]:
    """`spark-submit --master <master> --conf ... jobs/<job>.py <args>`.

    The conf is the same as the in-process session's (sciforge.jobs.spark.spark_conf): memory, cores, shuffle
    partitions, Arrow, the workers' Python. Secrets never go on the command line: the S3 credentials
    reach the driver through its environment (see `submit_env`), the executors through the driver.
    """
    from sciforge.infra.services.standalone import spark_submit
    from sciforge.jobs.spark import spark_conf
    from sciforge.pipelines.config import REPO_ROOT, is_secret_key

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
    if settings.spark.auth_secret_file:  # the path only: the job reads the secret itself (sciforge.jobs.spark)
        env["SCIFORGE_SPARK__AUTH_SECRET_FILE"] = settings.spark.auth_secret_file
    st = settings.storage
    for key, value in (("S3_ENDPOINT_URL", st.s3_endpoint_url), ("S3_REGION", st.s3_region),
                       ("S3_ACCESS_KEY_ID", st.s3_access_key_id),
                       ("S3_SECRET_ACCESS_KEY", st.s3_secret_access_key)):
        if value is not None:
            env[f"SCIFORGE_STORAGE__{key}"] = value if isinstance(value, str) else value.get_secret_value()
    return env


def deploy_mode(submit_args: list[str]) -> str:
    """spark-submit's deploy mode in ``submit_args``: "client" (its default) or "cluster"."""
    mode = "client"
    for i, a in enumerate(submit_args):
        if a == "--deploy-mode" and i + 1 < len(submit_args):
            mode = submit_args[i + 1]
        elif a.startswith("--deploy-mode="):
            mode = a.split("=", 1)[1]
    return mode


def submits(settings: Any, engine: str) -> bool:
    """Whether a job with this engine goes through spark-submit (else it runs in this process)."""
    return bool(settings.spark.submit) and engine == "spark"


def result_target(settings: Any, job: str, folder: str, *, submit: bool) -> str:
    """Where the job writes its result: ``folder`` (local) unless a cluster-deployed driver writes it."""
    if submit and deploy_mode(list(settings.spark.submit_args)) == "cluster":
        return f"{settings.data_root.rstrip('/')}/{RESULTS_PREFIX}/{job}-{uuid.uuid4().hex}.json"
    return os.path.join(folder, f"{job}.result.json")


def run_spark_submit(settings: Any, job: str, args: list[str]) -> None:
    """Run ``jobs/<job>.py <args>`` through spark-submit to its end; the driver's log streams into this
    process's log, and its last lines make the error when it fails."""
    # One application per job, named for the master's UI and logs (the job's session reads the name).
    settings = settings.model_copy(update={"spark": settings.spark.model_copy(
        update={"app_name": f"{settings.spark.app_name}-{job}"})})
    cmd = spark_submit_command(settings, job, args)
    log.info("spark-submit: %s", " ".join(cmd))
    tail: deque[str] = deque(maxlen=_LOG_TAIL)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=submit_env(settings), errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            log.info("[%s] %s", job, line)
    if proc.returncode != 0:
        raise RuntimeError(f"spark-submit of jobs/{job}.py exited with {proc.returncode}:\n" + "\n".join(tail))


def run_job(settings: Any, job: str, args: list[str], *, engine: str = "spark") -> dict[str, Any]:
    """Run jobs/<job>.py with ``args`` (its command line without ``--engine`` and ``--result-file``) and
    return the result it wrote: ``{"job", "dataset": "<zone>/<name>/<version>", "rows", "counters",
    ["quarantine"]}`` (jobs/result.py)."""
    from sciforge.jobs.result import ARG, locate, read_result
    from sciforge.pipelines.storage import StorageError

    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; expected one of {', '.join(JOBS)}")
    submit = submits(settings, engine)
    with tempfile.TemporaryDirectory(prefix=f"sciforge-{job}-") as folder:
        target = result_target(settings, job, folder, submit=submit)
        argv = [*args, "--engine", engine, ARG, target]
        if submit:
            run_spark_submit(settings, job, argv)
        else:  # the job's module, named the way this installation imports jobs/ (its package of sciforge.jobs.result)
            importlib.import_module(f"{read_result.__module__.rsplit('.', 1)[0]}.{job}").main(argv, settings=settings)
        try:
            result = read_result(target, settings.storage_options())
        except (StorageError, OSError) as e:
            raise RuntimeError(f"jobs/{job}.py finished but wrote no result to {target}: {e}") from e
        finally:
            if not target.startswith(folder):
                storage, key = locate(target, settings.storage_options())
                storage.delete(key)
    if result["job"] != job:
        raise RuntimeError(f"{target} holds the result of {result['job']}, not of {job}")
    return result
