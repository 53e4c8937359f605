"""Extraction quality: our HTML -> main text vs trafilatura's default extraction, same pages, one run.

    .venv/bin/python bench/web_extract.py [--data ../shared/data] [--limit N]

Input: ``web/trafilatura_eval`` (990 real pages; ``evaldata.json`` lists per page text segments that
must appear and boilerplate that must not). Scoring as trafilatura's own evaluation: a "with"
segment found is a true positive, missed a false negative; a "without" segment found is a false
positive. Prints precision / recall / F1 and pages/s for ours (resiliparse backend, markdown,
tail cut and trafilatura fallback on near-empty output), ours with the trafilatura backend, and
trafilatura.extract() with its defaults, and the ratios; on all pages and on two halves split by a
hash of the file name: half A was used to choose ExtractConfig's tail_cut_after and
fallback_min_chars, half B was held out.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from collections.abc import Callable
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


def half_of(v: dict) -> str:
    """"A" (tuning half) or "B" (held out), by a hash of the page's file name."""
    return "AB"[int(hashlib.sha256(v["file"].encode()).hexdigest(), 16) % 2]


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


def _ours(cfg: ExtractConfig) -> Callable[[bytes], str]:
    c = StageCounters()

    def fn(html: bytes) -> str:
        try:
            return extract_html(html, "text/html", cfg, c).text
        except ExtractError:
            return ""

    return fn


def _trafilatura(html: bytes) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""  # its defaults, bytes in (it decodes)


def run_interleaved(docs: list[tuple[bytes, dict]], fns: dict[str, Callable[[bytes], str]]
                    ) -> dict[str, tuple[list[str], float]]:
    """Run every extractor on each page in turn, timing each: load on a shared machine hits all alike."""
    outs: dict[str, list[str]] = {k: [] for k in fns}
    secs = dict.fromkeys(fns, 0.0)
    for html, _ in docs:
        for k, fn in fns.items():
            t0 = time.perf_counter()
            outs[k].append(fn(html))
            secs[k] += time.perf_counter() - t0
    return {k: (outs[k], secs[k]) for k in fns}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--trafilatura-backend", action="store_true", help="also score our trafilatura backend")
    a = ap.parse_args()
    docs = load(Path(a.data) / "web" / "trafilatura_eval", a.limit)
    fns = {"ours (resiliparse + markdown)": _ours(ExtractConfig()), "trafilatura 2.3 default": _trafilatura}
    if a.trafilatura_backend:
        fns["ours (trafilatura backend)"] = _ours(ExtractConfig(backend="trafilatura"))
    res = run_interleaved(docs, fns)
    rows = {k: (*score(outs, docs), len(docs) / dt) for k, (outs, dt) in res.items()}
    print(f"{len(docs)} pages of trafilatura_eval, single process, extractors interleaved page by page\n")
    print(f"{'extractor':32s} {'P':>6s} {'R':>6s} {'F1':>6s} {'pages/s':>8s}")
    for k, (p, r, f, s) in rows.items():
        print(f"{k:32s} {p:6.3f} {r:6.3f} {f:6.3f} {s:8.1f}")
    for half, what in (("A", "tuning half"), ("B", "held-out half")):
        idx = [i for i, (_, v) in enumerate(docs) if half_of(v) == half]
        sub = [docs[i] for i in idx]
        print(f"\nhalf {half} ({what}, {len(sub)} pages)")
        for k, (outs, _) in res.items():
            p, r, f = score([outs[i] for i in idx], sub)
            print(f"{k:32s} {p:6.3f} {r:6.3f} {f:6.3f}")
    o, t = rows["ours (resiliparse + markdown)"], rows["trafilatura 2.3 default"]
    print(f"\nratio ours/trafilatura: F1 {o[2] / t[2]:.3f}x, speed {o[3] / t[3]:.1f}x")


if __name__ == "__main__":
    main()
