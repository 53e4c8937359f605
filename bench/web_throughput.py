"""Throughput of our web filter vs datatrove's equivalent pipeline, same WARC, same single core, one run.

    .venv/bin/python bench/web_throughput.py [--data ../shared/data] [--repeat 2]

Input: a WARC built from the 990 real pages of ``web/trafilatura_eval`` (HTTP 200 responses, their
original bytes), repeated ``--repeat`` times, plus the real WARCs under ``web/warc``.
* ours: ``sciforge.pipelines.ingest.warc.iter_warc`` (WARC reader) then ``sciforge.pipelines.web.pages.score_record``
  (decode, extract, language id, Gopher/C4/FineWeb rules, science classifier) per record;
* datatrove (bench-only extra): ``WarcReader`` -> ``Trafilatura`` -> ``GopherRepetitionFilter`` ->
  ``GopherQualityFilter`` -> ``C4QualityFilter`` -> ``FineWebQualityFilter`` (no language filter:
  its fastText model must be downloaded, which this machine cannot do; ours includes langid).
Both run in this process, one after the other, on one core: documents/s per core and the ratio.
``--rounds N`` alternates the two N times (ours first, then datatrove first, ...): on a shared machine
the load changes between runs, so every round's ratio is printed and the totals give the headline.
Ours also reports how many pages its extraction router sent to trafilatura.
Also prints how many response records each side read or accounted for on the real WARCs
(``clueweb-quirk.warc.gz`` has an empty payload-type header; datatrove reads none of it).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._goals import Goals, add_check_flag  # noqa: E402
from sciforge.pipelines.counters import StageCounters  # noqa: E402
from sciforge.pipelines.ingest.warc import iter_warc  # noqa: E402
from sciforge.pipelines.web.config import WebConfig  # noqa: E402
from sciforge.pipelines.web.pages import score_record  # noqa: E402


def build_warc(eval_dir: Path, out: Path, repeat: int, limit: int | None = None) -> int:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    ev = json.loads((eval_dir / "evaldata.json").read_text())
    items = sorted(ev.items())
    if limit and limit < len(items):  # an even spread over the set, not its first pages
        items = items[::-(-len(items) // limit)]
    n = 0
    with open(out, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for r in range(repeat):
            for url, v in items:
                body = gzip.open(eval_dir / "html" / f"{v['file']}.gz").read()
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                                        protocol="HTTP/1.1")
                if not url.startswith("http"):  # a few eval keys are labels ("hard::<file>"), not URLs
                    url = f"https://eval.invalid/{v['file']}"
                rec = w.create_warc_record(f"{url}#r{r}" if r else url, "response", payload=io.BytesIO(body),
                                           http_headers=http)
                w.write_record(rec)
                n += 1
    return n


def run_ours(paths: list[Path]) -> tuple[int, int, float, StageCounters]:
    cfg = WebConfig()
    counters = StageCounters()
    n = kept = 0
    t0 = time.perf_counter()
    for p in paths:
        with open(p, "rb") as f:
            for kind, row in iter_warc(f, p.name, max_record_bytes=16 << 20, counters=counters):
                if kind != "kept":
                    n += 1  # a quarantined record is accounted for too
                    continue
                n += 1
                k, _ = score_record(row, cfg, counters)
                kept += k == "kept"
    return n, kept, time.perf_counter() - t0, counters


def run_datatrove(folder: Path, pattern: str) -> tuple[int, int, float]:
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.readers import WarcReader

    read = [0]

    class Counting(WarcReader):
        def read_file(self, filepath):  # type: ignore[no-untyped-def]
            for d in super().read_file(filepath):
                read[0] += 1
                yield d

    steps = [Counting(str(folder), glob_pattern=pattern), Trafilatura(favour_precision=True, timeout=10),
             GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()]
    t0 = time.perf_counter()
    data = None
    for s in steps:
        data = s(data, rank=0, world_size=1)
    kept = sum(1 for _ in data)  # type: ignore[union-attr]
    return read[0], kept, time.perf_counter() - t0


# The goal: at least this many times datatrove's documents per second per core.
SPEEDUP_GOAL = 3.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2, help="alternating ours/datatrove runs")
    ap.add_argument("--limit", type=int, default=None, help="use about this many eval pages (evenly spread)")
    add_check_flag(ap)
    a = ap.parse_args()
    data = Path(a.data)
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        bench_dir = Path(tmp) / "eval"
        bench_dir.mkdir()
        n_in = build_warc(data / "web" / "trafilatura_eval", bench_dir / "eval.warc.gz", a.repeat, a.limit)
        print(f"input: {n_in} HTML responses (trafilatura_eval{', evenly spread sample' if a.limit else ''} "
              f"x{a.repeat}), one core each side\n")
        print(f"{'round':6s} {'pipeline':10s} {'docs':>6s} {'kept':>6s} {'seconds':>8s} {'docs/s/core':>12s}")
        tot = {"ours": [0, 0.0], "datatrove": [0, 0.0]}
        c = StageCounters()
        for r in range(a.rounds):
            order = ("ours", "datatrove") if r % 2 == 0 else ("datatrove", "ours")
            rate = {}
            for side in order:
                if side == "ours":
                    n, k, t, c = run_ours([bench_dir / "eval.warc.gz"])
                else:
                    n, k, t = run_datatrove(bench_dir, "*.warc.gz")
                tot[side][0] += n
                tot[side][1] += t
                rate[side] = n / t
                print(f"{r + 1:<6d} {side:10s} {n:6d} {k:6d} {t:8.1f} {n / t:12.1f}", flush=True)
            ratios.append(rate["ours"] / rate["datatrove"])
            print(f"{r + 1:<6d} ratio ours/datatrove: {ratios[-1]:.1f}x")
        ro, rd = tot["ours"][0] / tot["ours"][1], tot["datatrove"][0] / tot["datatrove"][1]
        print(f"\nall rounds: ours {ro:.1f} docs/s/core, datatrove {rd:.1f}; median of the per-round ratios "
              f"{statistics.median(ratios):.1f}x docs/s per core")
        routed = c.metrics.get("extract_fallback_trafilatura", 0)
        print(f"ours' extraction router sent {routed}/{c.input} responses to trafilatura ({routed / max(1, c.input):.1%})")
        print("ours dropped by reason:", json.dumps(dict(c.dropped.most_common(8))))

    print("\nnothing lost silently, real WARCs under web/warc (response records read or quarantined):")
    for p in sorted((data / "web" / "warc").rglob("*.warc*")):
        if p.name.endswith((".wat.gz", ".wet.gz")):
            continue
        n_o, _, _, c = run_ours([p])
        try:
            n_d, _, _ = run_datatrove(p.parent, p.name)
        except Exception as e:  # noqa: BLE001 (report, do not stop the bench)
            n_d = f"error {type(e).__name__}"  # type: ignore[assignment]
        print(f"  {p.name:34s} ours: {n_o} records accounted ({c.input} responses, {c.total_dropped} "
              f"quarantined by reason) | datatrove: {n_d} documents read")
    goals = Goals("web_throughput")
    goals.at_least("docs/s per core vs datatrove (median per-round ratio)", statistics.median(ratios), SPEEDUP_GOAL,
                   fmt="{:.2f}")
    return goals.finish(a.check)


if __name__ == "__main__":
    sys.exit(main())
