"""Extraction quality: our HTML -> main text vs trafilatura's default extraction, same pages, one run.

    .venv/bin/python bench/web_extract.py [--data ../shared/data] [--limit N]

Input: ``web/trafilatura_eval`` (990 real pages; ``evaldata.json`` lists per page text segments that
must appear and boilerplate that must not). Scoring as trafilatura's own evaluation: a "with"
segment found is a true positive, missed a false negative; a "without" segment found is a false
positive. Prints precision / recall / F1 and pages/s for ours (resiliparse backend, markdown),
ours with the trafilatura backend, and trafilatura.extract() with its defaults, and the ratios.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.counters import StageCounters  # noqa: E402
from pipelines.web.config import ExtractConfig  # noqa: E402
from pipelines.web.extract import ExtractError, extract_html  # noqa: E402


def load(root: Path, limit: int | None) -> list[tuple[bytes, dict]]:
    ev = json.loads((root / "evaldata.json").read_text())
    docs = []
    for _, v in sorted(ev.items()):
        docs.append((gzip.open(root / "html" / f"{v['file']}.gz").read(), v))
    return docs[:limit] if limit else docs


def score(outputs: list[str], docs: list[tuple[bytes, dict]]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for out, (_, v) in zip(outputs, docs, strict=True):
        for seg in v["with"]:
            if seg in out:
                tp += 1
            else:
                fn += 1
        fp += sum(seg in out for seg in v["without"])
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def run_ours(docs: list[tuple[bytes, dict]], cfg: ExtractConfig) -> list[str]:
    out = []
    c = StageCounters()
    for html, _ in docs:
        try:
            out.append(extract_html(html, "text/html", cfg, c).text)
        except ExtractError:
            out.append("")
    return out


def run_trafilatura(docs: list[tuple[bytes, dict]]) -> list[str]:
    import trafilatura

    return [trafilatura.extract(html) or "" for html, _ in docs]  # its defaults, bytes in (it decodes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    docs = load(Path(a.data) / "web" / "trafilatura_eval", a.limit)
    rows = {}
    for name, fn in (("ours (resiliparse + markdown)", lambda: run_ours(docs, ExtractConfig())),
                     ("ours (trafilatura backend)", lambda: run_ours(docs, ExtractConfig(backend="trafilatura"))),
                     ("trafilatura 2.3 default", lambda: run_trafilatura(docs))):
        t0 = time.perf_counter()
        outs = fn()
        dt = time.perf_counter() - t0
        rows[name] = (*score(outs, docs), len(docs) / dt)
    print(f"{len(docs)} pages of trafilatura_eval, single process\n")
    print(f"{'extractor':32s} {'P':>6s} {'R':>6s} {'F1':>6s} {'pages/s':>8s}")
    for k, (p, r, f, s) in rows.items():
        print(f"{k:32s} {p:6.3f} {r:6.3f} {f:6.3f} {s:8.1f}")
    o, t = rows["ours (resiliparse + markdown)"], rows["trafilatura 2.3 default"]
    print(f"\nratio ours/trafilatura: F1 {o[2] / t[2]:.3f}x, speed {o[3] / t[3]:.1f}x")


if __name__ == "__main__":
    main()
