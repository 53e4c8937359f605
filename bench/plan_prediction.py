"""Capacity plan check: predict the CPU time of two corpus_refresh runs of different sizes, then run them.

Landings are k copies of the sample corpus written with different seeds (fixtures/demo_data.py:
``write_demo_corpus(dir, seed)``: new web pages and PDFs per seed, the same JSONL notes), so every stage sees
k times the input. Two calibration runs (k = ``--calibrate 1 2``) give each stage's per-item rate and
fixed start-up CPU (``pipelines.plan.two_point_rates``); ``make_plan`` predicts the CPU-seconds of every stage
for the ``--predict`` sizes (default 3 and 6) from the input counts (k x the per-seed counts) and the
measured keep rates; then those runs happen and the prediction error of the total is reported (goal: <= 25%).
Each run is a fresh process (``run_calibration``: every stage in-process, engine local), so each pays its
start-up costs as a real run does. The baseline is the plan without the fixed part (one calibration, k=1).

    .venv/bin/python bench/plan_prediction.py [--calibrate 1 2] [--predict 3 6] [--check]
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

from model.config import get_config  # noqa: E402
from pipelines.plan import STAGES, make_plan, two_point_rates  # noqa: E402

GOAL = 0.25
CHILD = """
import json, sys
from pathlib import Path
from fixtures.demo_data import write_demo_corpus
from pipelines.config import load_settings
from sciforge.cli.plan import run_calibration
tmp, k = Path(sys.argv[1]), int(sys.argv[2])
land = tmp / "landing"
for i in range(k):
    part = tmp / f"seed{i}"
    write_demo_corpus(part, seed=1000 + i)
    for kind in ("warc", "pdf", "jsonl"):
        (land / kind).mkdir(parents=True, exist_ok=True)
        for f in sorted((part / kind).iterdir()):
            f.rename(land / kind / f"s{i}-{f.name}")
rates = run_calibration(load_settings(storage={"data_root": str(tmp / "data")}), str(land))
Path(sys.argv[3]).write_text(json.dumps(rates))
"""


def run(k: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="plan-pred-") as tmp:
        out = Path(tmp) / "rates.json"
        subprocess.run([sys.executable, "-c", CHILD, tmp, str(k), str(out)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return json.loads(out.read_text())


def predicted_cpu(rates: dict, per_seed: dict[str, int], k: int) -> dict[str, float]:
    p = make_plan(rates, web_docs=k * per_seed["web"], pdf_pages=k * per_seed["pdf"], text_docs=k * per_seed["text"],
                  tokens=0, model=get_config("tiny"), gpus="1xH100", cores=1)
    return {r["stage"]: r["core_hours"] * 3600 for r in p.rows if "core_hours" in r}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calibrate", type=int, nargs=2, default=[1, 2])
    p.add_argument("--predict", type=int, nargs="+", default=[3, 6])
    add_check_flag(p)
    a = p.parse_args()
    k1, k2 = a.calibrate
    small, large = run(k1), run(k2)
    rates = two_point_rates(small, large)
    per_seed = {"web": small["stages"]["ingest_warc"]["items"] // k1, "pdf": small["stages"]["ingest_pdf"]["items"] // k1,
                "text": small["stages"]["ingest_jsonl"]["items"] // k1}
    for name, _, _ in STAGES:
        r = rates["stages"][name]
        print(f"calibration {name:<13} {r['per_core_s']:9.1f} items/CPU-s + {r.get('fixed_s', 0):6.2f} s fixed")
    preds = {k: (predicted_cpu(rates, per_seed, k), predicted_cpu(small, per_seed, k)) for k in a.predict}
    for k, (pred, base) in preds.items():  # written down before the runs below
        print(f"predicted k={k}: {sum(pred.values()):.1f} CPU-s (one-point baseline {sum(base.values()):.1f})")
    goals = Goals("plan_prediction")
    for k, (pred, base) in preds.items():
        actual = run(k)
        act = {n: actual["stages"][n]["cpu_s"] for n, _, _ in STAGES}
        for n, _, _ in STAGES:
            print(f"  k={k} {n:<13} predicted {pred[n]:7.2f} actual {act[n]:7.2f} CPU-s")
        err, berr = (abs(sum(x.values()) - sum(act.values())) / sum(act.values()) for x in (pred, base))
        print(f"k={k}: predicted {sum(pred.values()):.1f}, actual {sum(act.values()):.1f} CPU-s: error {err:.1%} "
              f"(one-point baseline {berr:.1%})")
        goals.at_most(f"corpus_refresh CPU prediction error, k={k}", err, GOAL, fmt="{:.1%}")
    print(goals.summary())
    sys.exit(goals.exit_code(a.check))


if __name__ == "__main__":
    main()
