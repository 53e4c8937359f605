"""Start-up cost of the `sciforge` command: `sciforge config show` and `sciforge --help`, wall seconds and
peak RSS of the process, the composition root (`python -m sciforge`, this tree) vs the CLI that lived
in `pipelines/cli.py` (`python -m pipelines.cli`, extracted from git at --baseline-ref into a temporary
folder before timing).

    python bench/cli_startup.py [--rounds 5] [--baseline-ref REV] [--check]

Each round runs the baseline and ours once per command, alternating which goes first; the ratio is
baseline / ours per round (above 1: ours is faster or smaller); the summary is the median of the per-round
ratios. Peak RSS is the child's ru_maxrss from wait4, so nothing but the command itself is measured.
Both run with the same interpreter and environment (SCIFORGE_* variables of this shell removed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _goals import Goals, add_check_flag  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {"config show": ["config", "show"], "--help": ["--help"]}
# Stated goals: the settings alone load in about 1 s and 40 MB on the project's 2-core machine
# (issue #25's measurement), so the two commands should stay near that: no engine import.
GOAL_RSS_MB = 60
GOAL_SPEEDUP = 3.0


def baseline_ref() -> str:
    """The last commit that still has pipelines/cli.py (the parent of the one that removed it)."""
    out = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%H", "--diff-filter=D", "--",
                          "pipelines/cli.py"], capture_output=True, text=True, check=True).stdout.strip()
    return f"{out}^" if out else "HEAD"


def extract(ref: str, into: Path) -> None:
    archive = into / "tree.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref], stdout=f, check=True)
    with tarfile.open(archive) as t:
        t.extractall(into / "tree", filter="data")
    archive.unlink()


def run_once(tree: Path, module: str, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `python -m module args` in `tree`."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", module, *args], cwd=tree, env={**env, "PYTHONPATH": str(tree)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert p.stderr is not None
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{module} {' '.join(args)} in {tree} failed ({p.returncode}): {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--baseline-ref", default=None, help="git revision with pipelines/cli.py (default: the "
                    "parent of the commit that removed it)")
    add_check_flag(ap)
    args = ap.parse_args()
    ref = args.baseline_ref or baseline_ref()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIFORGE_") and k != "PYTHONPATH"}
    env["COLUMNS"] = "120"
    sides = {"ours": (REPO, "sciforge")}
    with tempfile.TemporaryDirectory(prefix="cli-baseline-") as tmp:
        extract(ref, Path(tmp))
        sides["baseline"] = (Path(tmp) / "tree", "pipelines.cli")
        for tree, module in sides.values():  # warm the page cache and .pyc files, untimed
            for cmd in COMMANDS.values():
                run_once(tree, module, cmd, env)
        print(f"baseline: python -m pipelines.cli at {ref}; ours: python -m sciforge at {REPO}")
        print(f"{'command':12s} {'round':>5s} {'baseline s':>10s} {'ours s':>8s} {'ratio':>6s} "
              f"{'baseline MB':>11s} {'ours MB':>8s} {'ratio':>6s}")
        results: dict[str, dict[str, list[float]]] = {}
        for r in range(args.rounds):
            order = ["baseline", "ours"] if r % 2 == 0 else ["ours", "baseline"]
            for name, cmd in COMMANDS.items():
                got = {side: run_once(*sides[side], cmd, env) for side in order}
                (bw, bm), (ow, om) = got["baseline"], got["ours"]
                res = results.setdefault(name, {"wall": [], "rss": [], "ours_rss": [], "ours_wall": []})
                res["wall"].append(bw / ow)
                res["rss"].append(bm / om)
                res["ours_rss"].append(om)
                res["ours_wall"].append(ow)
                print(f"{name:12s} {r + 1:5d} {bw:10.2f} {ow:8.2f} {bw / ow:5.1f}x {bm:11.0f} {om:8.0f} "
                      f"{bm / om:5.1f}x", flush=True)
    goals = Goals("cli_startup")
    for name, res in results.items():
        wall, rss = statistics.median(res["wall"]), statistics.median(res["rss"])
        print(f"{name}: median per-round ratio baseline/ours: wall {wall:.1f}x, peak RSS {rss:.1f}x; "
              f"ours median {statistics.median(res['ours_wall']):.2f} s, {statistics.median(res['ours_rss']):.0f} MB")
        goals.at_most(f"`sciforge {name}` peak RSS (MB)", max(res["ours_rss"]), GOAL_RSS_MB, fmt="{:.0f}")
        goals.at_least(f"`sciforge {name}` wall, baseline / ours", wall, GOAL_SPEEDUP, fmt="{:.1f}")
    return goals.finish(args.check)


if __name__ == "__main__":
    sys.exit(main())
