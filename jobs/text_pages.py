"""Spark job: JSONL text records (raw/text/<v>) -> pages (clean/text_pages/<v>) on the page contract.

A one-row-in, one-page-out map (`sciforge.pipelines.text_pages.text_to_pages`); records without usable text are
quarantined with a reason. Runs under `spark-submit jobs/text_pages.py --input raw/text/<v> --date D`.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from sciforge.jobs.result import add_result_arg, report
from sciforge.jobs.runner import Engine, run_map_stage
from sciforge.pipelines.config import Settings, get_settings
from sciforge.pipelines.datasets import DatasetRef
from sciforge.pipelines.pages import PAGE_SCHEMA
from sciforge.pipelines.stage import MapStage
from sciforge.pipelines.text_pages import QUARANTINE_SCHEMA, text_to_pages


def run_text_pages(settings: Settings, raw: DatasetRef, logical_date: str, *, engine: Engine = "spark",
                   spark: Any = None) -> DatasetRef:
    """Map ``raw`` (raw/text) to ``clean/text_pages``; returns the published ref."""
    stage = MapStage("text_pages", text_to_pages, PAGE_SCHEMA, QUARANTINE_SCHEMA)
    return run_map_stage(settings, stage, raw, logical_date, engine=engine, spark=spark)[0]


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Run the job from its command line (``settings``: the launcher's, else get_settings())."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True, help="raw text dataset, raw/text/<version>")
    p.add_argument("--date", required=True, help="logical date (YYYY-MM-DD) of the run")
    p.add_argument("--engine", default="spark", choices=["spark", "local"])
    add_result_arg(p)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = settings or get_settings()
    ref = run_text_pages(settings, DatasetRef.parse(a.input), a.date, engine=a.engine)
    r = report(settings, "text_pages", ref, a.result_file)
    print(f"{ref.key}: {r['rows']} pages")


if __name__ == "__main__":
    # spark-submit runs this file as `__main__`: run the importable `sciforge.jobs.text_pages` instead, so that what
    # executors unpickle (task closures, cached helpers) refers to a module they can import.
    from sciforge.jobs.text_pages import main as _main

    _main()
