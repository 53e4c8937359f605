"""`sciforge plan`: per-core stage rates measured here, scaled to a paper-size run (pipelines/plan.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from sciforge.cli._shared import console, settings


def run_calibration(scratch: Any, landing: str, day: str = "2026-01-01") -> dict[str, Any]:
    """Run every stage of corpus_refresh in this process (engine local) on ``landing`` (warc/, pdf/, jsonl/)
    under the data root of ``scratch`` (settings), timing each; returns the rates (pipelines/plan.py)."""
    from sciforge.jobs.corpus import run_corpus
    from sciforge.jobs.dedup import run_dedup
    from sciforge.jobs.ingest import run_ingest
    from sciforge.jobs.pdf_parse import run_pdf_parse
    from sciforge.jobs.runner import run_map_stage
    from sciforge.jobs.web_filter import run_web_filter
    from sciforge.pipelines.plan import StageTimer, rates_from_run
    from sciforge.pipelines.stage import MapStage
    from sciforge.pipelines.storage import open_storage
    from sciforge.pipelines.text_pages import PAGE_SCHEMA, QUARANTINE_SCHEMA, text_to_pages

    s, t = scratch, StageTimer()
    refs: dict[str, Any] = {}
    for kind in ("warc", "pdf", "jsonl"):
        refs[f"ingest_{kind}"] = t.run(f"ingest_{kind}", lambda k=kind: run_ingest(s, f"{landing}/{k}", k, day,
                                                                                     engine="local")[0])
    refs["web_filter"] = t.run("web_filter", lambda: run_web_filter(s, refs["ingest_warc"], day, engine="local"))
    refs["pdf_parse"] = t.run("pdf_parse", lambda: run_pdf_parse(s, refs["ingest_pdf"], day, engine="local"))
    text_stage = MapStage("text_pages", text_to_pages, PAGE_SCHEMA, QUARANTINE_SCHEMA)
    refs["text_pages"] = t.run("text_pages", lambda: run_map_stage(s, text_stage, refs["ingest_jsonl"], day,
                                                                   engine="local")[0])
    refs["dedup"] = t.run("dedup", lambda: run_dedup(s, [refs["web_filter"], refs["pdf_parse"], refs["text_pages"]],
                                                     day, engine="local"))
    refs["corpus"] = t.run("corpus", lambda: run_corpus(s, refs["dedup"], day, engine="local"))
    return rates_from_run(open_storage(s.data_root, s.storage_options()), refs, t.timing, landing)


def plan(
    calibrate: Annotated[bool, typer.Option("--calibrate", help="run every stage on --landing (default: the "
                                            "sample corpus) in this process and store the per-core rates")] = False,
    landing: Annotated[Path | None, typer.Option(help="calibration input: a folder with warc/, pdf/, jsonl/")] = None,
    web_docs: Annotated[str, typer.Option(help="WARC response records in, e.g. 10B")] = "0",
    pdf_pages: Annotated[str, typer.Option(help="PDF pages in, e.g. 1B")] = "0",
    text_docs: Annotated[str, typer.Option(help="JSONL documents in")] = "0",
    tokens: Annotated[str, typer.Option(help="training tokens, e.g. 5T")] = "0",
    model: Annotated[str, typer.Option(help="model preset (model/config.py)")] = "intern_s1",
    gpus: Annotated[str, typer.Option(help="training GPUs, e.g. 1024xH200")] = "1024xH200",
    cores: Annotated[int, typer.Option(help="CPU cores of the data cluster")] = 4096,
    mfu: Annotated[float, typer.Option(help="model FLOPs utilisation assumed for training")] = 0.40,
    seq_len: Annotated[int, typer.Option(help="training sequence length (attention FLOPs)")] = 4096,
    chart: Annotated[Path | None, typer.Option(help="write the chart here (PNG)")] = Path("plan.png"),
) -> None:
    """Capacity plan: core-hours, GPU-hours, wall time, storage and output tokens from rates measured here."""
    from sciforge.model.config import get_config
    from sciforge.pipelines.config import load_settings
    from sciforge.pipelines.plan import (
        format_plan,
        load_rates,
        make_plan,
        parse_count,
        plan_chart,
        save_rates,
    )
    from sciforge.pipelines.storage import open_storage

    s = settings()
    storage = open_storage(s.data_root, s.storage_options())
    if calibrate:
        with tempfile.TemporaryDirectory(prefix="sciforge-plan-") as tmp:
            if landing is None:
                from sciforge.fixtures.demo_data import write_demo_corpus

                landing = Path(tmp) / "landing"
                write_demo_corpus(landing)
            # the calibration's datasets go to a scratch data root, only the rates to the real one
            scratch = load_settings(storage={"data_root": str(Path(tmp) / "data")})
            rates = run_calibration(scratch, str(landing))
        save_rates(storage, rates)
        for name, r in rates["stages"].items():
            console.print(f"{name:<13} {r['items']:>6} {r['unit']}s in {r['cpu_s']:.2f} CPU-s: "
                          f"{r['per_core_s']:.1f} per core-second")
        console.print(f"rates: {storage.uri('plan/rates.json')}")
    if parse_count(tokens) or parse_count(web_docs) or parse_count(pdf_pages) or parse_count(text_docs):
        p = make_plan(load_rates(storage), web_docs=parse_count(web_docs), pdf_pages=parse_count(pdf_pages),
                      text_docs=parse_count(text_docs), tokens=parse_count(tokens), model=get_config(model), gpus=gpus,
                      cores=cores, mfu=mfu, seq_len=seq_len)
        print(format_plan(p))
        if chart is not None:
            chart.write_bytes(plan_chart(p))
            console.print(f"chart: {chart}")
    elif not calibrate:
        raise typer.BadParameter("give --calibrate and/or the run's size (--web-docs, --pdf-pages, --tokens ...)")
