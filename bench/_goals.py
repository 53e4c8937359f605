"""Stated goals of a benchmark, checked the same way by every script (not a benchmark itself).

    goals = Goals("train_engine")
    goals.at_most("DeepSpeed overhead vs plain loop", overhead, 0.15, fmt="{:.1%}")
    goals.at_least("fp8 vs cuBLAS, M=4096", ratio, 1.0)
    goals.not_measured("GPU MFU >= 40%", "no CUDA device")
    sys.exit(goals.finish(args.check))   # with `--check`: non-zero when a goal is missed or not measured

`add_check_flag(parser)` adds `--check` to an argparse parser. Exit codes under `--check`: 0 every goal
met, 1 at least one goal missed, 2 none missed but at least one could not be measured here (a check that
cannot run is not a pass). Without `--check` the summary is printed and the exit code is 0.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

EXIT_MISSED = 1
EXIT_NOT_MEASURED = 2


@dataclass(frozen=True)
class Goal:
    name: str
    status: str  # "met" | "missed" | "not measured"
    detail: str


class Goals:
    def __init__(self, bench: str) -> None:
        self.bench = bench
        self.goals: list[Goal] = []

    def _add(self, name: str, ok: bool | None, detail: str) -> bool:
        status = "not measured" if ok is None else ("met" if ok else "missed")
        self.goals.append(Goal(name, status, detail))
        return bool(ok)

    def at_least(self, name: str, value: float | None, goal: float, fmt: str = "{:.3g}") -> bool:
        """Met when value >= goal; a None / NaN value is 'not measured'."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self._add(name, None, f"no value (goal >= {fmt.format(goal)})")
        return self._add(name, value >= goal, f"{fmt.format(value)} (goal >= {fmt.format(goal)})")

    def at_most(self, name: str, value: float | None, goal: float, fmt: str = "{:.3g}") -> bool:
        """Met when value <= goal; a None / NaN value is 'not measured'."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self._add(name, None, f"no value (goal <= {fmt.format(goal)})")
        return self._add(name, value <= goal, f"{fmt.format(value)} (goal <= {fmt.format(goal)})")

    def not_measured(self, name: str, why: str) -> bool:
        return self._add(name, None, why)

    @property
    def missed(self) -> list[Goal]:
        return [g for g in self.goals if g.status == "missed"]

    @property
    def unmeasured(self) -> list[Goal]:
        return [g for g in self.goals if g.status == "not measured"]

    def summary(self) -> str:
        if not self.goals:
            return f"{self.bench}: no stated goal"
        width = max(len(g.name) for g in self.goals)
        lines = [f"{self.bench}: goals"]
        lines += [f"  {g.status:12s} {g.name:{width}s}  {g.detail}" for g in self.goals]
        return "\n".join(lines)

    def exit_code(self, check: bool) -> int:
        if not check:
            return 0
        if self.missed:
            return EXIT_MISSED
        if self.unmeasured:
            return EXIT_NOT_MEASURED
        return 0

    def finish(self, check: bool) -> int:
        """Print the summary; the process exit code to use (see the module docstring)."""
        print("\n" + self.summary(), flush=True)
        code = self.exit_code(check)
        if check:
            verdict = {0: "all goals met", EXIT_MISSED: f"{len(self.missed)} goal(s) missed",
                       EXIT_NOT_MEASURED: f"{len(self.unmeasured)} goal(s) not measured here"}[code]
            print(f"--check: {verdict} (exit {code})", flush=True)
        return code


def add_check_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true",
        help="exit non-zero when a stated goal is missed (1) or cannot be measured here (2)",
    )
