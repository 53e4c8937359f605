"""Throughput and quality together, same PDFs, same run: the whole PDF stage vs (a) plain
PyMuPDF ``page.get_text()`` (the speed ceiling) and (b) pymupdf4llm's default to-markdown.

Pages/s are per core: every method runs in one process at a time (the stage's worker
subprocesses are waited on, never run in parallel), and CPU time counts the worker processes
too. ``get_text``, the extraction floor (the cheap path's one text page + ``dict`` read, no
Python above it) and our cheap path run ``--repeat`` passes each, in alternation, after one
warm-up pass, and the fastest pass of each counts (the machine is shared: the minimum is the
least disturbed figure, and alternating exposes both to the same load). The whole stage (cheap
pass + expensive backends on the pages routed ``math``/``scan``) and the cheap path with
PyMuPDF's ``find_tables`` run one timed pass; the expensive path's pages per CPU-second are the
whole stage's CPU minus the cheap path's. The stage's worker processes are started before the
clock (a Spark Python worker starts them once and reuses them for every task); their start-up
is reported separately. Quality is the document-level normalised edit similarity to docling's
ground-truth markdown (documents that have one).

    .venv/bin/python bench/pdf_throughput.py [--data ../shared/data] [--repeat 5] [--skip-pymupdf4llm]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean, median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._goals import Goals, add_check_flag  # noqa: E402
from bench.pdf_common import DEFAULT_DATA, born_digital, gt_markdown, load_avg, similarity  # noqa: E402
from bench.pdf_stage import doc_markdown, run_parser  # noqa: E402
from sciforge.pipelines.pdf.config import PdfConfig  # noqa: E402
from sciforge.pipelines.pdf.parse import PageParser  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process, 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _cpu(pids: list[int]) -> float:
    """This process + its waited-for children + the live worker processes."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime + sum(_proc_cpu(p) for p in pids)


def _measure(fn: Callable[[], Any], repeat: int, pids: Callable[[], list[int]] = list,
             warm_up: bool = True) -> tuple[Any, float, float]:
    """Best-of-``repeat`` (wall, CPU) seconds of ``fn()``, after one warm-up call."""
    out = fn() if warm_up else None
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        before = pids()
        c0, t0 = _cpu(before), time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
        # A worker restarted in between is counted by RUSAGE_CHILDREN once it is reaped; the
        # live ones (old and new) by /proc.
        cpu = _cpu(sorted(set(before) | set(pids()))) - c0
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return out, best_wall, best_cpu


def _get_text(pdfs: list[Path]) -> dict[str, str]:
    import pymupdf

    pymupdf._get_layout = None  # plain MuPDF extraction (PyMuPDF 2 activates its layout model on import)
    out = {}
    for pdf in pdfs:
        with pymupdf.open(pdf) as d:
            out[pdf.name] = "\n".join(p.get_text() for p in d)
    return out


def _extraction_floor(pdfs: list[Path]) -> dict[str, str]:
    """The cheap path's one MuPDF extraction and nothing else: each page's text page made with
    ``text_flags()`` (vectors collected) and read once as ``dict``, no features, routing or
    markdown. The cheap path cannot be faster than this; its pages per CPU-second as a share of
    ``get_text``'s bounds what tuning the Python above it can reach."""
    import pymupdf

    from sciforge.pipelines.pdf.features import text_flags

    pymupdf._get_layout = None
    flags = text_flags()
    out = {}
    for pdf in pdfs:
        with pymupdf.open(pdf) as d:
            out[pdf.name] = "\n".join(
                "\n".join(s["text"] for b in p.get_text("dict", flags=flags, textpage=p.get_textpage(flags=flags))
                          ["blocks"] for ln in b.get("lines", ()) for s in ln["spans"]) for p in d)
    return out


def _pymupdf4llm(pdfs: list[Path]) -> dict[str, str]:
    import pymupdf4llm

    pymupdf4llm.use_layout(True)  # the package default
    return {pdf.name: pymupdf4llm.to_markdown(str(pdf), show_progress=False) for pdf in pdfs}


def _worker_pids(pp: PageParser) -> list[int]:
    return [w.pid for w in (pp.cheap_worker, pp.expensive_worker) if w.pid is not None]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (default ../shared/data)")
    ap.add_argument("--repeat", type=int, default=5, help="timed passes per method (the fastest counts)")
    ap.add_argument("--skip-pymupdf4llm", action="store_true", help="skip the slow pymupdf4llm baseline")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    add_check_flag(ap)
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
          f"best of {a.repeat} passes after a warm-up; load average {load_avg()}")
    rows: dict[str, dict[str, Any]] = {}

    def record(name: str, texts: dict[str, str], wall: float, cpu: float, **extra: Any) -> None:
        sim = mean(similarity(texts[k], gts[k]) for k in gts)
        rows[name] = {"pages_per_s_wall": n_pages / wall, "pages_per_s_cpu": n_pages / cpu,
                      "doc_similarity": sim, "wall_s": wall, "cpu_s": cpu, **extra}
        print(f"  {name:30s} {n_pages / wall:8.1f} pages/s wall {n_pages / cpu:8.1f} pages/s per CPU-s  "
              f"similarity {sim:.3f}", flush=True)

    # get_text and the cheap path are timed in alternation (pass i of one, then pass i of the
    # other), so a change in the shared machine's load hits both; the fastest pass of each counts.
    cheap_cfg = PdfConfig(math_backend="cheap", ocr_backend="none")
    with PageParser(cheap_cfg) as pp:
        t0 = time.perf_counter()
        pp.cheap_worker.call("math:sqrt", (1.0,), 600)  # start the worker (once per Spark worker)
        startup = time.perf_counter() - t0
        best: dict[str, tuple[Any, float, float]] = {}
        rounds: list[dict[str, float]] = []
        for i in range(a.repeat):
            rounds.append({})
            for name, fn, pids in (("get_text", lambda: _get_text(pdfs), list),
                                   ("extraction floor", lambda: _extraction_floor(pdfs), list),
                                   ("ours (cheap path only)", lambda: run_parser(pp, pdfs),
                                    lambda: _worker_pids(pp))):
                out, wall, cpu = _measure(fn, 1, pids, warm_up=i == 0)
                rounds[-1][name] = cpu
                prev = best.get(name)
                best[name] = (out, min(wall, prev[1]) if prev else wall, min(cpu, prev[2]) if prev else cpu)
    # Per round (get_text pass i, then cheap pass i under the same load): the cheap path's pages per
    # CPU-second as a share of get_text's, and their median: the figure the goal is stated in.
    ratios = [r["get_text"] / r["ours (cheap path only)"] for r in rounds]
    floor = [r["get_text"] / r["extraction floor"] for r in rounds]
    print("  cheap path / get_text pages per CPU-s, per round: " + ", ".join(f"{x:.3f}" for x in ratios)
          + f"; median {median(ratios):.3f}", flush=True)
    print("  extraction floor (text page + dict, no Python) / get_text, per round: "
          + ", ".join(f"{x:.3f}" for x in floor) + f"; median {median(floor):.3f}", flush=True)
    texts, wall, cpu = best["get_text"]
    record("get_text", texts, wall, cpu)
    texts, wall, cpu = best["extraction floor"]
    record("extraction floor", texts, wall, cpu)
    res, wall, cpu = best["ours (cheap path only)"]
    record("ours (cheap path only)", {k: doc_markdown(v) for k, v in res.items()}, wall, cpu, worker_start_s=startup)

    def ours(name: str, cfg: PdfConfig, repeat: int) -> dict[str, Any]:
        with PageParser(cfg) as pp:
            t0 = time.perf_counter()
            pp.cheap_worker.call("math:sqrt", (1.0,), 600)  # start the worker (once per Spark worker)
            startup = time.perf_counter() - t0
            res, wall, cpu = _measure(lambda: run_parser(pp, pdfs), repeat, lambda: _worker_pids(pp))
        record(name, {k: doc_markdown(v) for k, v in res.items()}, wall, cpu, worker_start_s=startup)
        return res

    ours("ours (cheap, find_tables)",
         PdfConfig(math_backend="cheap", ocr_backend="none", table_extractor="find_tables"), 1)
    res = ours("ours (whole stage)", PdfConfig(record_timings=True), 1)
    kept = [r for v in res.values() for r in v["kept"]]
    exp = [r for r in kept if r["route"] in ("math", "scan")]
    exp_wall = sum(r["expensive_ms"] for r in exp) / 1000
    whole, cheap = rows["ours (whole stage)"], rows["ours (cheap path only)"]
    # The expensive path's CPU: the whole stage's minus the cheap path's over the same pages (the
    # whole stage runs the cheap pass on every page, then the backends on the routed ones).
    exp_cpu = whole["cpu_s"] - cheap["cpu_s"]  # <= 0 when no second parser ran (math_backend glyph)
    whole.update(expensive_pages=len(exp), expensive_share=len(exp) / n_pages,
                 expensive_pages_per_s_wall=len(exp) / exp_wall if exp_wall else None,
                 expensive_pages_per_cpu_s=len(exp) / exp_cpu if exp and exp_cpu > 0 else None)
    print(f"    expensive path: {len(exp)} of {n_pages} pages ({len(exp) / n_pages:.1%}), "
          f"{whole['expensive_pages_per_cpu_s'] or 0:.2f} pages per CPU-s (whole minus cheap), "
          f"{whole['expensive_pages_per_s_wall'] or 0:.2f} pages/s wall in the worker", flush=True)

    if not a.skip_pymupdf4llm:
        # ~100x slower than the rest: one pass, no warm-up pass (its model load is in the figure).
        texts, wall, cpu = _measure(lambda: _pymupdf4llm(pdfs), 1, warm_up=False)
        record("pymupdf4llm to_markdown", texts, wall, cpu)

    base = rows["get_text"]
    print(f"\nsummary (pages per CPU-second, load average now {load_avg()}):")
    print(f"  {'method':30s} {'pages/CPU-s':>11s} {'vs get_text':>11s} {'similarity':>10s} {'vs get_text':>11s}")
    for name, r in rows.items():
        print(f"  {name:30s} {r['pages_per_s_cpu']:11.2f} {r['pages_per_s_cpu'] / base['pages_per_s_cpu']:11.3f} "
              f"{r['doc_similarity']:10.3f} {r['doc_similarity'] / base['doc_similarity']:11.3f}")
    w = rows["ours (whole stage)"]
    if w.get("expensive_pages_per_cpu_s"):
        print(f"  {'ours (expensive path only)':30s} {w['expensive_pages_per_cpu_s']:11.2f} "
              f"{w['expensive_pages_per_cpu_s'] / base['pages_per_s_cpu']:11.4f}   "
              f"({w['expensive_pages']} pages, {w['expensive_share']:.1%} of all)")
    if "pymupdf4llm to_markdown" in rows:
        p = rows["pymupdf4llm to_markdown"]
        for name in ("ours (cheap path only)", "ours (whole stage)"):
            o = rows[name]
            print(f"{name} vs pymupdf4llm: speed x{o['pages_per_s_cpu'] / p['pages_per_s_cpu']:.1f}, "
                  f"similarity {o['doc_similarity']:.3f} vs {p['doc_similarity']:.3f}")
    out = {"pages": n_pages, "repeat": a.repeat, "load_average_end": load_avg(), "methods": rows,
           "cheap_vs_get_text_per_round": ratios, "cheap_vs_get_text_median": median(ratios),
           "floor_vs_get_text_per_round": floor, "floor_vs_get_text_median": median(floor)}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))
    return out


# Stated goal: the cheap path parses at least this many pages per CPU-second with similarity >= get_text's.
CHEAP_PAGES_PER_CPU_S_GOAL = 100.0


def check_goals(out: dict[str, Any]) -> Goals:
    goals = Goals("pdf_throughput")
    cheap, base = out["methods"]["ours (cheap path only)"], out["methods"]["get_text"]
    goals.at_least("cheap path pages per CPU-second", cheap["pages_per_s_cpu"], CHEAP_PAGES_PER_CPU_S_GOAL,
                   fmt="{:.1f}")
    goals.at_least("cheap path similarity / get_text's", cheap["doc_similarity"] / base["doc_similarity"], 1.0,
                   fmt="{:.3f}")
    return goals


if __name__ == "__main__":
    sys.exit(check_goals(main()).finish("--check" in sys.argv[1:]))
