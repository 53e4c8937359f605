"""Run the whole PDF stage (PageParser: features, router, cheap parser, expensive backends,
cleaning) over local PDF files, as the Spark job does per task."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.parse import PageParser, Segment


def run_stage(pdfs: list[Path], cfg: PdfConfig, progress: bool = True) -> tuple[dict[str, dict[str, Any]], float]:
    """{pdf name: {"kept": rows, "quarantined": rows, "pages": n}}, and the wall seconds the cheap
    worker took to start (interpreter + imports: paid once per Spark Python worker, not per page)."""
    with PageParser(cfg) as pp:
        t0 = time.perf_counter()
        pp.cheap_worker.call("math:sqrt", (1.0,), 60)  # start the worker
        startup = time.perf_counter() - t0
        out = run_parser(pp, pdfs, progress)
    return out, startup


def run_parser(pp: PageParser, pdfs: list[Path], progress: bool = False) -> dict[str, dict[str, Any]]:
    """Parse the PDFs with an existing parser, as the Spark job's tasks do: page ranges of
    ``pages_per_task`` packed into tasks (``sciforge.jobs.pdf_parse.plan_tasks``), one worker call per task."""
    import pymupdf

    from sciforge.jobs.pdf_parse import plan_tasks

    docs, names = [], {}
    for pdf in pdfs:
        with pymupdf.open(pdf) as d:
            n = d.page_count
        doc_id = hashlib.sha256(pdf.read_bytes()).hexdigest()
        docs.append({"doc_id": doc_id, "path": str(pdf), "page_count": n})
        names[str(pdf)] = (pdf.name, n)
    out: dict[str, dict[str, Any]] = {pdf.name: {"kept": [], "quarantined": [], "pages": names[str(pdf)][1]}
                                      for pdf in pdfs}
    for task in plan_tasks(docs, pp.cfg.pages_per_task):
        segs = [(s["path"], Segment(s["doc_id"], names[s["path"]][0], s["start"], s["end"], s["page_count"]))
                for s in task]
        for (_path, seg), r in zip(segs, pp.parse_segments(segs), strict=True):
            out[seg.path]["kept"] += r.kept
            out[seg.path]["quarantined"] += r.quarantined
    if progress:
        for name, v in out.items():
            routes = [r["route"] for r in v["kept"]] + [q["route"] or q["reason"] for q in v["quarantined"]]
            print(f"  {name}: {v['pages']} pages, routes {sorted(routes)}", flush=True)
    return out


def page_routes(res: dict[str, Any]) -> dict[int, str]:
    r = {row["page"]: row["route"] for row in res["kept"]}
    r.update({q["page"]: q["route"] or "failed" for q in res["quarantined"] if q["page"] > 0})
    return r


def doc_markdown(res: dict[str, Any]) -> str:
    return "\n\n".join(r["text"] for r in sorted(res["kept"], key=lambda r: r["page"]))
