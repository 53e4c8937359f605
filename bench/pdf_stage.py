"""Run the whole PDF stage (PageParser: features, router, cheap parser, expensive backends,
cleaning) over local PDF files, as the Spark job does per task."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from pipelines.pdf.config import PdfConfig
from pipelines.pdf.parse import PageParser, Segment


def run_stage(pdfs: list[Path], cfg: PdfConfig, progress: bool = True) -> tuple[dict[str, dict[str, Any]], float]:
    """{pdf name: {"kept": rows, "quarantined": rows, "pages": n}}, and the wall seconds the cheap
    worker took to start (interpreter + imports: paid once per Spark Python worker, not per page)."""
    import pymupdf

    out: dict[str, dict[str, Any]] = {}
    with PageParser(cfg) as pp:
        t0 = time.perf_counter()
        pp.cheap_worker.call("math:sqrt", (1.0,), 60)  # start the worker
        startup = time.perf_counter() - t0
        for pdf in pdfs:
            with pymupdf.open(pdf) as d:
                n = d.page_count
            doc_id = hashlib.sha256(pdf.read_bytes()).hexdigest()
            kept, quar = [], []
            for start in range(0, n, cfg.pages_per_task):
                r = pp.parse_segment(str(pdf), Segment(doc_id, pdf.name, start, min(n, start + cfg.pages_per_task), n))
                kept += r.kept
                quar += r.quarantined
            out[pdf.name] = {"kept": kept, "quarantined": quar, "pages": n}
            if progress:
                routes = [r["route"] for r in kept] + [q["route"] or q["reason"] for q in quar]
                print(f"  {pdf.name}: {n} pages, routes {sorted(routes)}", flush=True)
    return out, startup


def page_routes(res: dict[str, Any]) -> dict[int, str]:
    r = {row["page"]: row["route"] for row in res["kept"]}
    r.update({q["page"]: q["route"] or "failed" for q in res["quarantined"] if q["page"] > 0})
    return r


def doc_markdown(res: dict[str, Any]) -> str:
    return "\n\n".join(r["text"] for r in sorted(res["kept"], key=lambda r: r["page"]))
