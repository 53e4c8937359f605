"""Extraction quality: our HTML -> main text vs trafilatura's default extraction, same pages, one run.

    .venv/bin/python bench/web_extract.py [--data ../shared/data] [--limit N]

Input: ``web/trafilatura_eval`` (990 real pages; ``evaldata.json`` lists per page text segments that
must appear and boilerplate that must not). Scoring as trafilatura's own evaluation: a "with"
segment found is a true positive, missed a false negative; a "without" segment found is a false
positive. Prints precision / recall / F1 and pages/s for ours (resiliparse backend, markdown, DOM pruning,
tail cut, link-density and caption line filters, edge trim, text normalisation, and the router that sends
short outputs to trafilatura),
optionally ours with the trafilatura backend, and trafilatura.extract() with its defaults, and the
ratios; on all pages and on two halves split by a hash of the file name: half A was used to choose
ExtractConfig's thresholds, half B was held out. Also prints the routed share and what the routed
pages cost.

``--aeb DIR`` scores the same extractors on a second, independent set instead: scrapinghub's
article-extraction-benchmark (github.com/scrapinghub/article-extraction-benchmark, MIT; 181 pages,
``DIR/html/<id>.html.gz`` and ``DIR/ground-truth.json`` with each page's article body), never used for
tuning. Its metric, reimplemented here: word 4-gram shingles (``\\w+`` tokens) of the true and the
predicted body give per-page tp / fp / fn normalised to sum 1; precision and recall are the means over
pages, F1 their harmonic mean. Get it with
``git clone https://github.com/scrapinghub/article-extraction-benchmark``.

``--sweep`` (tuning, half A): runs ours with the router off and trafilatura on every page once, then
prints F1 on half A (and B, for reference) for each router threshold ``fallback_min_chars``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._goals import Goals, add_check_flag  # noqa: E402
from sciforge.pipelines.counters import StageCounters  # noqa: E402
from sciforge.pipelines.web.config import ExtractConfig  # noqa: E402
from sciforge.pipelines.web.extract import ExtractError, extract_html  # noqa: E402


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


def load_aeb(root: Path, limit: int | None) -> tuple[list[tuple[bytes, dict]], list[str]]:
    """scrapinghub article-extraction-benchmark: (html bytes, {"file": id}) pages and their true bodies."""
    gt = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(gt)[:limit] if limit else sorted(gt)
    docs = [(gzip.open(root / "html" / f"{k}.html.gz").read(), {"file": k}) for k in keys]
    return docs, [gt[k].get("articleBody", "") for k in keys]


_WORD = re.compile(r"\w+")


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    toks = _WORD.findall(text)
    return Counter(tuple(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1)) if toks[i:i + n])


def score_aeb(outputs: list[str], truths: list[str]) -> tuple[float, float, float]:
    """The article-extraction-benchmark's metric (mean per-page shingle precision / recall, F1 of means)."""
    ps, rs = [], []
    for out, true in zip(outputs, truths, strict=True):
        t, o = _shingles(true), _shingles(out)
        tp, fp, fn = sum((t & o).values()), sum((o - t).values()), sum((t - o).values())
        if fp == fn == 0:  # both empty or identical: perfect, as the benchmark counts it
            ps.append(1.0)
            rs.append(1.0)
            continue
        if tp + fp:
            ps.append(tp / (tp + fp))
        if tp + fn:
            rs.append(tp / (tp + fn))
    p, r = sum(ps) / max(1, len(ps)), sum(rs) / max(1, len(rs))
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def _ours(cfg: ExtractConfig, c: StageCounters | None = None) -> Callable[[bytes], str]:
    c = c if c is not None else StageCounters()

    def fn(html: bytes) -> str:
        try:
            return extract_html(html, "text/html", cfg, c).text
        except ExtractError:
            return ""

    return fn


def per_page(outputs: list[str], docs: list[tuple[bytes, dict]]) -> list[tuple[int, int, int]]:
    """(tp, fn, fp) per page."""
    rows = []
    for out, (_, v) in zip(outputs, docs, strict=True):
        tp = sum(seg in out for seg in v["with"])
        rows.append((tp, len(v["with"]) - tp, sum(seg in out for seg in v["without"])))
    return rows


def f1_of(rows: list[tuple[int, int, int]]) -> float:
    tp, fn, fp = (sum(r[k] for r in rows) for k in range(3))
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return 2 * p * r / (p + r) if p + r else 0.0


def sweep(docs: list[tuple[bytes, dict]]) -> None:
    """Router threshold on half A: ours without the router, trafilatura on every page, combined.
    (The few pages ours rejects before extraction, over max_html_bytes, count as routed here: the
    F1 figures are ~0.003 above the main run's; the comparison between thresholds is unaffected.)"""
    from sciforge.pipelines.web.extract import _has_code_or_math, _trafilatura_route

    base = _ours(ExtractConfig(fallback_min_chars=0))
    res = run_interleaved(docs, {"ours": base,
                                 "traf": lambda h: _trafilatura_route(_decoded(h), False),
                                 "traf fast": lambda h: _trafilatura_route(_decoded(h), True)})
    ours = res["ours"][0]
    halves = {h: [i for i, (_, v) in enumerate(docs) if half_of(v) == h] for h in "AB"}
    print(f"{'router':18s} {'thr':>6s} {'routed':>7s} {'F1 A':>7s} {'F1 B':>7s} {'F1 all':>7s}")
    for mode in ("traf", "traf fast"):
        alt = res[mode][0]
        for thr in (0, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 3000):
            route = [len(o) < thr and not _has_code_or_math(o) for o in ours]  # as extract_html routes
            outs = [a if r and a.strip() else o for o, a, r in zip(ours, alt, route, strict=True)]
            rows = per_page(outs, docs)
            routed = sum(route) / len(docs)
            print(f"{mode:18s} {thr:6d} {routed:7.3f} {f1_of([rows[i] for i in halves['A']]):7.4f} "
                  f"{f1_of([rows[i] for i in halves['B']]):7.4f} {f1_of(rows):7.4f}")


def _decoded(html: bytes) -> str:
    from sciforge.pipelines.web.extract import _math_to_tex, decode_html

    return _math_to_tex(decode_html(html, "text/html", StageCounters())[0])


def _trafilatura(html: bytes) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""  # its defaults, bytes in (it decodes)


def run_interleaved(docs: list[tuple[bytes, dict]], fns: dict[str, Callable[[bytes], str]],
                    page_secs: dict[str, list[float]] | None = None) -> dict[str, tuple[list[str], float]]:
    """Run every extractor on each page in turn, timing each: load on a shared machine hits all alike.
    ``page_secs``, when given, receives the seconds of every page per extractor."""
    outs: dict[str, list[str]] = {k: [] for k in fns}
    secs = dict.fromkeys(fns, 0.0)
    for html, _ in docs:
        for k, fn in fns.items():
            t0 = time.perf_counter()
            outs[k].append(fn(html))
            dt = time.perf_counter() - t0
            secs[k] += dt
            if page_secs is not None:
                page_secs.setdefault(k, []).append(dt)
    return {k: (outs[k], secs[k]) for k in fns}


def aeb(root: Path, limit: int | None, overrides: dict[str, str]) -> None:
    docs, truths = load_aeb(root, limit)
    counters = StageCounters()
    fns = {"ours (resiliparse + markdown)": _ours(ExtractConfig.model_validate(overrides), counters),
           "trafilatura 2.3 default": _trafilatura}
    res = run_interleaved(docs, fns)
    print(f"{len(docs)} pages of scrapinghub article-extraction-benchmark (held out: never used for tuning), "
          "extractors interleaved page by page\n")
    print(f"{'extractor':32s} {'P':>6s} {'R':>6s} {'F1':>6s} {'pages/s':>8s}")
    f1 = {}
    for k, (outs, dt) in res.items():
        p, r, f1[k] = score_aeb(outs, truths)
        print(f"{k:32s} {p:6.3f} {r:6.3f} {f1[k]:6.4f} {len(docs) / dt:8.1f}")
    under = [i for i, (h, _) in enumerate(docs) if len(h) <= ExtractConfig().max_html_bytes]
    if len(under) < len(docs):
        print(f"\n{len(docs) - len(under)} pages are over max_html_bytes: ours quarantines them (html_too_large, "
              "scored as empty above). On the other pages:")
        for k, (outs, _) in res.items():
            print(f"{k:32s} %6.3f %6.3f %6.4f" % score_aeb([outs[i] for i in under], [truths[i] for i in under]))
    o, t = f1["ours (resiliparse + markdown)"], f1["trafilatura 2.3 default"]
    print(f"\nratio ours/trafilatura: F1 {o / t:.4f}x; routed to trafilatura: "
          f"{counters.metrics.get('extract_fallback_trafilatura', 0)}/{len(docs)} pages")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    add_check_flag(ap)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--trafilatura-backend", action="store_true", help="also score our trafilatura backend")
    ap.add_argument("--sweep", action="store_true", help="tune the router threshold (half A) and exit")
    ap.add_argument("--aeb", default=None, metavar="DIR",
                    help="score on scrapinghub's article-extraction-benchmark checkout instead")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                    help="an ExtractConfig field for our extractor (repeatable), e.g. --set edge_min_line_chars=80: "
                         "the figures in pipelines/web/config.py's comments")
    a = ap.parse_args()
    overrides = dict(kv.split("=", 1) for kv in a.overrides)
    goals = Goals("web_extract")
    if a.aeb:
        aeb(Path(a.aeb), a.limit, overrides)
        return goals.finish(a.check)  # the goal is stated on the trafilatura eval set
    docs = load(Path(a.data) / "web" / "trafilatura_eval", a.limit)
    if a.sweep:
        sweep(docs)
        return goals.finish(a.check)
    counters = StageCounters()
    cfg = ExtractConfig.model_validate(overrides)
    ours_fn = _ours(cfg, counters)
    routed_flags: list[bool] = []

    def ours(html: bytes) -> str:
        before = counters.metrics.get("extract_fallback_trafilatura", 0)
        out = ours_fn(html)
        routed_flags.append(counters.metrics.get("extract_fallback_trafilatura", 0) > before)
        return out

    fns = {"ours (resiliparse + markdown)": ours, "trafilatura 2.3 default": _trafilatura}
    if a.trafilatura_backend:
        fns["ours (trafilatura backend)"] = _ours(ExtractConfig(backend="trafilatura"))
    page_secs: dict[str, list[float]] = {}
    res = run_interleaved(docs, fns, page_secs)
    rows = {k: (*score(outs, docs), len(docs) / dt) for k, (outs, dt) in res.items()}
    print(f"{len(docs)} pages of trafilatura_eval, single process, extractors interleaved page by page\n")
    print(f"{'extractor':32s} {'P':>6s} {'R':>6s} {'F1':>6s} {'pages/s':>8s}")
    for k, (p, r, f, s) in rows.items():
        print(f"{k:32s} {p:6.3f} {r:6.3f} {f:6.4f} {s:8.1f}")
    for half, what in (("A", "tuning half"), ("B", "held-out half")):
        idx = [i for i, (_, v) in enumerate(docs) if half_of(v) == half]
        sub = [docs[i] for i in idx]
        print(f"\nhalf {half} ({what}, {len(sub)} pages)")
        for k, (outs, _) in res.items():
            p, r, f = score([outs[i] for i in idx], sub)
            print(f"{k:32s} {p:6.3f} {r:6.3f} {f:6.4f}")
    under = [i for i, (h, _) in enumerate(docs) if len(h) <= cfg.max_html_bytes]
    if len(under) < len(docs):
        sub = [docs[i] for i in under]
        print(f"\n{len(docs) - len(under)} pages are over max_html_bytes: ours quarantines them (html_too_large, "
              f"scored as empty above). On the other {len(sub)} pages:")
        for k, (outs, _) in res.items():
            print(f"{k:32s} %6.3f %6.3f %6.4f" % score([outs[i] for i in under], sub))
    o, t = rows["ours (resiliparse + markdown)"], rows["trafilatura 2.3 default"]
    print(f"\nratio ours/trafilatura: F1 {o[2] / t[2]:.4f}x, speed {o[3] / t[3]:.1f}x")
    routed = sum(routed_flags)
    ps = page_secs["ours (resiliparse + markdown)"]
    t_routed = sum(t for t, f in zip(ps, routed_flags, strict=True) if f)
    t_rest = sum(ps) - t_routed
    print(f"routed to trafilatura: {routed}/{len(docs)} pages ({routed / len(docs):.1%}; output < "
          f"{cfg.fallback_min_chars} chars), its text used on {counters.metrics.get('extract_fallback_used', 0)}")
    print(f"ours per page: {1000 * t_rest / max(1, len(docs) - routed):.1f} ms not routed, "
          f"{1000 * t_routed / max(1, routed):.1f} ms routed; routed pages take {t_routed / sum(ps):.0%} of our time")
    print("repairs:", {k: v for k, v in sorted(counters.metrics.items()) if k.startswith("extract_")})
    goals.at_least("extraction F1 / trafilatura's F1", o[2] / t[2], 1.0, fmt="{:.4f}")
    return goals.finish(a.check)


if __name__ == "__main__":
    sys.exit(main())
