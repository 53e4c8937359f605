"""PDF parsing job: raw/pdf/<v> -> clean/pdf_pages/<v> (+ quarantine/pdf_pages/<v>).

Pages are the unit of parallelism: documents are cut into page ranges of at most
``stages.pdf.pages_per_task`` pages, and ranges are packed into Spark tasks, so a 500-page
PDF spreads over many executors while small PDFs share a task. Each task copies its PDFs to
local temp files, parses them with :class:`sciforge.pipelines.pdf.parse.PageParser` and writes one
Parquet part per task straight to the datasets' staging areas.

    spark-submit jobs/pdf_parse.py --input raw/pdf/2026-01-01_abcdef012345 --date 2026-01-01
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
from typing import Any

import pyarrow as pa

from sciforge.jobs.result import add_result_arg, report
from sciforge.jobs.runner import Engine, distribute, publish_pair
from sciforge.pipelines.config import Settings, get_settings
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import (
    DatasetRef,
    DatasetWriter,
    make_version,
    read_manifest,
    read_table,
    write_part,
)
from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.parse import KEPT_SCHEMA, QUARANTINE_SCHEMA, PageParser, Segment, SegmentResult
from sciforge.pipelines.storage import open_storage

log = logging.getLogger(__name__)
STAGE = "pdf_pages"


def plan_tasks(docs: list[dict[str, Any]], pages_per_task: int) -> list[list[dict[str, Any]]]:
    """Cut documents into page ranges and pack the ranges into tasks of <= pages_per_task pages.

    Deterministic: documents in (path, doc_id) order, ranges in page order. A document over the
    page limit still gets its ranges (each task quarantines its own pages, counted per page)."""
    tasks: list[list[dict[str, Any]]] = []
    cur: list[dict[str, Any]] = []
    room = pages_per_task
    for d in sorted(docs, key=lambda d: (d["path"], d["doc_id"])):
        n, start = int(d["page_count"]), 0
        while start < n:
            take = min(room, n - start)
            cur.append({"doc_id": d["doc_id"], "path": d["path"], "start": start, "end": start + take,
                        "page_count": n})
            start += take
            room -= take
            if room == 0:
                tasks.append(cur)
                cur, room = [], pages_per_task
    if cur:
        tasks.append(cur)
    return tasks


_PARSERS: dict[str, PageParser] = {}


def _parser(cfg_json: str, data_root: str, options: dict[str, Any]) -> PageParser:
    """One PageParser (and its worker processes) per Python worker and config: Spark reuses its
    Python workers across tasks, so the workers' start-up (~1 s) is paid once, not per task. The
    data root holds the VLM route's answer cache."""
    key = f"{data_root}\0{cfg_json}"
    if key not in _PARSERS:
        _PARSERS[key] = PageParser(PdfConfig.model_validate_json(cfg_json), data_root=data_root,
                                   storage_options=options)
    return _PARSERS[key]


def _task(source: str, options: dict[str, Any], data_root: str, cfg_json: str, kept_staging: str,
          q_staging: str) -> Any:
    def task(item: dict[str, Any]) -> list[dict[str, Any]]:
        parser = _parser(cfg_json, data_root, options)
        src = open_storage(source, options)
        out_storage = open_storage(data_root, options)
        total = SegmentResult()
        tmp = tempfile.mkdtemp(prefix="sciforge-pdf-")
        try:
            results: list[SegmentResult | None] = []
            local_segs: list[tuple[str, Segment]] = []
            for s in item["segments"]:
                seg = Segment(**s)
                local = os.path.join(tmp, f"{seg.doc_id}.pdf")  # by content: workers cache open docs by path
                try:
                    if not os.path.exists(local):  # a document's ranges may share a task
                        with src.open_input(seg.path) as fin, open(local, "wb") as fout:
                            shutil.copyfileobj(fin, fout, 1 << 20)
                except Exception as e:  # the raw file vanished or the store refused it
                    if os.path.exists(local):
                        os.remove(local)
                    bad = SegmentResult()
                    bad.counters.input += seg.end - seg.start
                    bad.counters.drop("pdf_unreadable", seg.end - seg.start)
                    bad.quarantined.append({"doc_id": seg.doc_id, "page": -1, "source": "pdf",
                                            "url": seg.path, "route": "", "parser": "",
                                            "reason": "pdf_unreadable", "detail": str(e)[:2000],
                                            "text": "", "features": ""})
                    results.append(bad)
                    continue
                results.append(None)
                local_segs.append((local, seg))
            parsed = iter(parser.parse_segments(local_segs))  # one cheap-pass round trip per task
            for r in results:
                r = r if r is not None else next(parsed)
                total.kept.extend(r.kept)
                total.quarantined.extend(r.quarantined)
                total.counters.merge(r.counters)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        name = f"part-{item['index']:05d}.parquet"
        out = [{"dataset": "kept", "entry": write_part(
            out_storage, kept_staging, name, pa.Table.from_pylist(total.kept, schema=KEPT_SCHEMA))}]
        if total.quarantined:
            out.append({"dataset": "quarantine", "entry": write_part(
                out_storage, q_staging, name, pa.Table.from_pylist(total.quarantined, schema=QUARANTINE_SCHEMA))})
        out.append({"counters": total.counters.to_dict()})
        return out

    return task


def run_pdf_parse(settings: Settings, raw_pdf_ref: DatasetRef, logical_date: str, *, engine: Engine = "spark",
                  spark: Any = None) -> DatasetRef:
    """Parse every page of ``raw/pdf/<v>`` into ``clean/pdf_pages/<v>``; returns its ref."""
    cfg = PdfConfig(**settings.stage("pdf"))
    opts = settings.storage_options()
    storage = open_storage(settings.data_root, opts)
    raw_manifest = read_manifest(storage, raw_pdf_ref)
    source = raw_manifest["inputs"]["source"]
    docs = read_table(storage, raw_pdf_ref, columns=["doc_id", "path", "page_count"]).to_pylist()
    # record_timings only changes timing columns, the VLM's server and retry policy nothing: not hashed.
    params = cfg.hashed()
    conf = {"stage": STAGE, "params": params, "parents": [raw_pdf_ref.key]}
    ref = DatasetRef("clean", STAGE, make_version(logical_date, conf))
    cfgd = {"stage": STAGE, "params": params}
    kept = DatasetWriter(storage, ref, logical_date=logical_date, config=cfgd, parents=[raw_pdf_ref],
                         schema=KEPT_SCHEMA, inputs={"source": source})
    quar = DatasetWriter(storage, ref.quarantine(), logical_date=logical_date, config=cfgd,
                         parents=[raw_pdf_ref], schema=QUARANTINE_SCHEMA, inputs={"source": source})
    tasks = plan_tasks(docs, cfg.pages_per_task)
    items = [{"index": i, "segments": segs} for i, segs in enumerate(tasks)]
    if engine == "spark" and spark is None and items:
        from sciforge.jobs.spark import get_spark

        spark = get_spark(settings)
    fn = _task(source, opts, settings.data_root, cfg.model_dump_json(), kept.staging, quar.staging)
    results = distribute(items, fn, engine=engine, spark=spark, desc="pdf pages")
    km, qm, counters = publish_pair(kept, quar, results)
    log.info("pdf_parse %s -> %s: %s; %s", raw_pdf_ref, ref, counters.summary(), route_shares(counters))
    return ref


def route_shares(counters: StageCounters | dict[str, Any]) -> str:
    """'text 91.2%, math 4.1%, ...' from the route_* metrics (share of routed pages)."""
    c = counters if isinstance(counters, StageCounters) else StageCounters.from_dict(counters)
    routes = {k.removeprefix("route_"): v for k, v in c.metrics.items() if k.startswith("route_")}
    total = sum(routes.values()) or 1
    parts = [f"{k} {v / total:.1%}" for k, v in sorted(routes.items(), key=lambda kv: -kv[1])]
    exp = c.metrics.get("pages_expensive", 0)
    return "routes: " + ", ".join(parts) + f"; expensive share {exp / total:.1%}"


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Run the job from its command line (``settings``: the launcher's, else get_settings())."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True, help="raw PDF dataset, e.g. raw/pdf/2026-01-01_abcdef012345")
    p.add_argument("--date", required=True, help="logical date (YYYY-MM-DD) of the run")
    p.add_argument("--engine", default="spark", choices=["spark", "local"])
    add_result_arg(p)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = settings or get_settings()
    ref = run_pdf_parse(settings, DatasetRef.parse(a.input), a.date, engine=a.engine)
    r = report(settings, "pdf_parse", ref, a.result_file)
    print(f"{ref}: {r['rows']} pages kept; dropped {r['counters']['dropped']}; {route_shares(r['counters'])}")


if __name__ == "__main__":
    # spark-submit runs this file as `__main__`: run the importable `sciforge.jobs.pdf_parse` instead, so that what
    # executors unpickle (task closures, cached helpers) refers to a module they can import.
    from sciforge.jobs.pdf_parse import main as _main

    _main()
