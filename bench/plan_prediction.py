"""Capacity plan check: predict the CPU time of two corpus_refresh runs of different sizes, then run them.

Landings are k sample corpora written with different seeds (fixtures/demo_data.py:
``write_demo_corpus(dir, seed, distinct=True)``: each seed's own web pages, PDFs and JSONL notes, sharing
nothing a deduplicator collapses beyond the duplicates planted inside each seed), so every stage sees k times
the input and k times the unique content. ``--shared-pool`` writes the seeds without ``distinct``: they share
their JSONL notes and the PDFs' equation, reference and table pages, so dedup keeps a smaller share as k
grows. Calibration runs of two sizes (k = ``--calibrate 1 2``; the small size twice, averaged) give each
stage's per-item rate and fixed start-up CPU (all start-up where the larger run took no more CPU),
and dedup's marginal keep rate and the pages it keeps whatever the size (``sciforge.pipelines.plan.two_point_rates``);
``make_plan`` predicts the items and CPU-seconds of every stage for the ``--predict`` sizes (default 3 and 6)
from the input counts (k x the per-seed counts) and the measured keep rates; then those runs happen and the
prediction error of the total is reported (goal: <= 25%).
Each run is a fresh process (``run_calibration``: every stage in-process, engine local), so each pays its
start-up costs as a real run does. The baseline is the plan without the fixed part (one calibration, k=1).

    .venv/bin/python bench/plan_prediction.py [--calibrate 1 2] [--predict 3 6] [--shared-pool] [--check]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _goals import Goals, add_check_flag  # noqa: E402

from sciforge.model.config import get_config  # noqa: E402
from sciforge.pipelines.plan import STAGES, dedup_pages_in, make_plan, two_point_rates  # noqa: E402

GOAL = 0.25
CHILD = """
import json, sys
from pathlib import Path
from sciforge.fixtures.demo_data import write_demo_corpus
from sciforge.pipelines.config import load_settings
from sciforge.cli.plan import run_calibration
tmp, k, distinct = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[4] == "distinct"
land = tmp / "landing"
for i in range(k):
    part = tmp / f"seed{i}"
    write_demo_corpus(part, seed=1000 + i, distinct=distinct)
    for kind in ("warc", "pdf", "jsonl"):
        (land / kind).mkdir(parents=True, exist_ok=True)
        for f in sorted((part / kind).iterdir()):
            f.rename(land / kind / f"s{i}-{f.name}")
rates = run_calibration(load_settings(storage={"data_root": str(tmp / "data")}), str(land))
Path(sys.argv[3]).write_text(json.dumps(rates))
"""


def run(k: int, distinct: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="plan-pred-") as tmp:
        out = Path(tmp) / "rates.json"
        subprocess.run([sys.executable, "-c", CHILD, tmp, str(k), str(out), "distinct" if distinct else "shared"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rates = json.loads(out.read_text())
    kept = {s: round(pages * rates["keep"]["dedup"][s]) for s, pages in dedup_pages_in(rates).items()}
    print(f"run k={k}: dedup kept {sum(kept.values())} of {rates['stages']['dedup']['items']} pages "
          f"({', '.join(f'{s} {n}' for s, n in kept.items())})")
    return rates


def predicted(rates: dict, per_seed: dict[str, int], k: int) -> tuple[dict[str, float], dict[str, float]]:
    """CPU-seconds and items of each stage."""
    p = make_plan(rates, web_docs=k * per_seed["web"], pdf_pages=k * per_seed["pdf"], text_docs=k * per_seed["text"],
                  tokens=0, model=get_config("tiny"), gpus="1xH100", cores=1)
    rows = [r for r in p.rows if "core_hours" in r]
    return {r["stage"]: r["core_hours"] * 3600 for r in rows}, {r["stage"]: r["items"] for r in rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calibrate", type=int, nargs=2, default=[1, 2])
    p.add_argument("--predict", type=int, nargs="+", default=[3, 6])
    p.add_argument("--shared-pool", action="store_true", help="seeds share their notes, equation, reference and "
                   "table pages (write_demo_corpus without distinct): dedup keeps less as k grows")
    add_check_flag(p)
    a = p.parse_args()
    k1, k2 = a.calibrate
    distinct = not a.shared_pool
    small, repeat, large = run(k1, distinct), run(k1, distinct), run(k2, distinct)
    rates = two_point_rates(small, large, repeat)
    per_seed = {"web": small["stages"]["ingest_warc"]["items"] // k1, "pdf": small["stages"]["ingest_pdf"]["items"] // k1,
                "text": small["stages"]["ingest_jsonl"]["items"] // k1}
    for name, _, _ in STAGES:
        r = rates["stages"][name]
        rate = f"{r['per_core_s']:9.1f} items/CPU-s" if r["per_core_s"] else "per item unresolved"
        print(f"calibration {name:<13} {rate:>20} + {r.get('fixed_s', 0):6.2f} s fixed "
              f"(CPU-s: k={k1} {small['stages'][name]['cpu_s']:.2f}, {repeat['stages'][name]['cpu_s']:.2f}; "
              f"k={k2} {large['stages'][name]['cpu_s']:.2f})")
    print("calibration dedup keep " + ", ".join(f"{s} {v:.3f} x pages + {rates['keep']['dedup_fixed'][s]:.1f}"
                                                for s, v in rates["keep"]["dedup"].items()))
    preds = {k: (*predicted(rates, per_seed, k), predicted(small, per_seed, k)[0]) for k in a.predict}
    for k, (pred, _, base) in preds.items():  # written down before the runs below
        print(f"predicted k={k}: {sum(pred.values()):.1f} CPU-s (one-point baseline {sum(base.values()):.1f})")
    goals = Goals("plan_prediction")
    for k, (pred, items, base) in preds.items():
        actual = run(k, distinct)
        act = {n: actual["stages"][n]["cpu_s"] for n, _, _ in STAGES}
        for n, _, _ in STAGES:
            print(f"  k={k} {n:<13} predicted {pred[n]:7.2f} actual {act[n]:7.2f} CPU-s, items predicted "
                  f"{items[n]:7.0f} actual {actual['stages'][n]['items']:5d}")
        err, berr = (abs(sum(x.values()) - sum(act.values())) / sum(act.values()) for x in (pred, base))
        print(f"k={k}: predicted {sum(pred.values()):.1f}, actual {sum(act.values()):.1f} CPU-s: error {err:.1%} "
              f"(one-point baseline {berr:.1%})")
        goals.at_most(f"corpus_refresh CPU prediction error, k={k}", err, GOAL, fmt="{:.1%}")
    print(goals.summary())
    sys.exit(goals.exit_code(a.check))


if __name__ == "__main__":
    main()
