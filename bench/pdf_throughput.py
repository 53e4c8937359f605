"""Throughput and quality together, same PDFs, same run: the whole PDF stage vs (a) plain
PyMuPDF ``page.get_text()`` (the speed ceiling) and (b) pymupdf4llm's default to-markdown.

Pages/s are per core: every method runs in one process at a time (the stage's worker
subprocesses are waited on, never run in parallel). Quality is the document-level normalised
edit similarity to docling's ground-truth markdown (documents that have one).

    .venv/bin/python bench/pdf_throughput.py [--data ../shared/data] [--skip-pymupdf4llm]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pdf_common import DEFAULT_DATA, born_digital, gt_markdown, load_avg, similarity  # noqa: E402
from bench.pdf_stage import doc_markdown, run_stage  # noqa: E402
from pipelines.pdf.config import PdfConfig  # noqa: E402


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _measure(fn: Callable[[], dict[str, str]]) -> tuple[dict[str, str], float, float]:
    c0, t0 = _cpu(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, _cpu() - c0


def _get_text(pdfs: list[Path]) -> dict[str, str]:
    import pymupdf

    pymupdf._get_layout = None  # plain MuPDF extraction (PyMuPDF 2 activates its layout model on import)
    out = {}
    for pdf in pdfs:
        with pymupdf.open(pdf) as d:
            out[pdf.name] = "\n".join(p.get_text() for p in d)
    return out


def _pymupdf4llm(pdfs: list[Path]) -> dict[str, str]:
    import pymupdf4llm

    pymupdf4llm.use_layout(True)  # the package default
    return {pdf.name: pymupdf4llm.to_markdown(str(pdf), show_progress=False) for pdf in pdfs}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (default ../shared/data)")
    ap.add_argument("--skip-pymupdf4llm", action="store_true", help="skip the slow pymupdf4llm baseline")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    a = ap.parse_args(argv)
    if not (a.data / "pdf").is_dir():
        ap.error(f"{a.data}/pdf not found: pass --data")
    pdfs = born_digital(a.data)
    gts = {p.name: gt_markdown(a.data, p) for p in pdfs}
    gts = {k: v for k, v in gts.items() if v is not None}
    import pymupdf

    n_pages = 0
    for p in pdfs:
        with pymupdf.open(p) as d:
            n_pages += d.page_count
    print(f"{len(pdfs)} born-digital PDFs, {n_pages} pages ({len(gts)} with docling ground truth); "
          f"load average {load_avg()}")
    rows: dict[str, dict[str, Any]] = {}

    def record(name: str, texts: dict[str, str], wall: float, cpu: float, **extra: Any) -> None:
        sim = mean(similarity(texts[k], gts[k]) for k in gts)
        rows[name] = {"pages_per_s_wall": n_pages / wall, "pages_per_s_cpu": n_pages / cpu,
                      "doc_similarity": sim, "wall_s": wall, "cpu_s": cpu, **extra}
        after = f" ({rows[name]['pages_per_s_wall_after_start']:.1f} after the worker's start-up)" \
            if "pages_per_s_wall_after_start" in rows[name] else ""
        print(f"  {name:30s} {n_pages / wall:8.1f} pages/s wall{after} {n_pages / cpu:8.1f} pages/s per CPU-s  "
              f"similarity {sim:.3f}", flush=True)

    texts, wall, cpu = _measure(lambda: _get_text(pdfs))
    record("get_text", texts, wall, cpu)

    cheap_cfg = PdfConfig(math_backend="cheap", ocr_backend="none")
    (res, start), wall, cpu = _measure(lambda: run_stage(pdfs, cheap_cfg, progress=False))
    record("ours (cheap path only)", {k: doc_markdown(v) for k, v in res.items()}, wall, cpu,
           worker_start_s=start, pages_per_s_wall_after_start=n_pages / (wall - start))
    no_tab = PdfConfig(math_backend="cheap", ocr_backend="none", find_tables=False)
    (res, start), wall, cpu = _measure(lambda: run_stage(pdfs, no_tab, progress=False))
    record("ours (cheap, no find_tables)", {k: doc_markdown(v) for k, v in res.items()}, wall, cpu,
           worker_start_s=start, pages_per_s_wall_after_start=n_pages / (wall - start))

    (res, start), wall, cpu = _measure(lambda: run_stage(pdfs, PdfConfig(), progress=False))
    kept = [r for v in res.values() for r in v["kept"]]
    exp = [r for r in kept if r["route"] in ("math", "scan")]
    exp_s = sum(r["expensive_ms"] for r in exp) / 1000
    cheap_s = sum(r["cheap_ms"] for r in kept) / 1000
    record("ours (whole stage)", {k: doc_markdown(v) for k, v in res.items()}, wall, cpu,
           expensive_pages=len(exp), expensive_pages_per_s=len(exp) / exp_s if exp_s else None,
           cheap_pass_pages_per_s=len(kept) / cheap_s if cheap_s else None, worker_start_s=start,
           pages_per_s_wall_after_start=n_pages / (wall - start))
    print(f"    expensive path: {len(exp)} pages ({len(exp) / n_pages:.1%}), "
          f"{rows['ours (whole stage)']['expensive_pages_per_s'] or 0:.2f} pages/s; cheap pass alone (in-worker "
          f"time): {rows['ours (whole stage)']['cheap_pass_pages_per_s'] or 0:.1f} pages/s")

    if not a.skip_pymupdf4llm:
        texts, wall, cpu = _measure(lambda: _pymupdf4llm(pdfs))
        record("pymupdf4llm to_markdown", texts, wall, cpu)

    base = rows["get_text"]
    print("\nratios vs get_text (speed per CPU-s, similarity):")
    for name, r in rows.items():
        print(f"  {name:30s} speed x{r['pages_per_s_cpu'] / base['pages_per_s_cpu']:.3f}  "
              f"similarity x{r['doc_similarity'] / base['doc_similarity']:.3f}")
    if "pymupdf4llm to_markdown" in rows:
        o, p = rows["ours (whole stage)"], rows["pymupdf4llm to_markdown"]
        print(f"ours (whole stage) vs pymupdf4llm: speed x{o['pages_per_s_cpu'] / p['pages_per_s_cpu']:.1f}, "
              f"similarity {o['doc_similarity']:.3f} vs {p['doc_similarity']:.3f}")
    out = {"pages": n_pages, "load_average_end": load_avg(), "methods": rows}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
