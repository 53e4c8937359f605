"""Exact arithmetic and algebra (sympy, parsed without eval, under a timeout) and unit conversion."""

from __future__ import annotations

import random
import re
from typing import Any

import sympy

from sciforge.model.rl.tasks.base import Task, TaskFamily, Verdict, close_enough, single_number
from sciforge.model.rl.tasks.safe_math import MathRejected, equivalent, parse_math

_RATIONAL = re.compile(r"\s*[-+]?\s*\d+(?:\.\d+)?(?:\s*/\s*\d+)?\s*")


def _math_verdict(fn: Any, answer: str) -> Verdict:
    try:
        return fn()  # type: ignore[no-any-return]
    except MathRejected as err:
        return Verdict(0.0, err.reason, answer)


class Arithmetic(TaskFamily):
    name = "arithmetic"
    description = "Exact rational arithmetic; the answer must be a number (integer, fraction or decimal)."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        if difficulty == 0:
            a, b = rng.randint(0, 9), rng.randint(0, 9)
            op = rng.choice("+*")
            expr = f"{a} {op} {b}"
        elif difficulty == 1:
            fr = [f"{rng.randint(1, 9)}/{rng.randint(2, 9)}" for _ in range(2)]
            expr = f"{fr[0]} {rng.choice('+-*')} {fr[1]}"
        else:
            a, b, c = rng.randint(2, 12), rng.randint(2, 9), rng.randint(1, 30)
            expr = f"({a}/{b})^2 - {c}/{rng.randint(2, 7)} + {rng.randint(1, 9)}*{rng.randint(1, 9)}"
        value = parse_math(expr)
        return f"Compute exactly: {expr}", str(value), [], {"expr": expr}

    def check(self, task: Task, answer: str) -> Verdict:
        ans = answer.split("=")[-1].strip()
        if not _RATIONAL.fullmatch(ans):
            return Verdict(0.0, "not_a_number", answer)

        def run() -> Verdict:
            ok = equivalent(parse_math(ans), parse_math(task.reference))
            return Verdict(1.0 if ok else 0.0, "correct" if ok else "wrong_value", answer)

        return _math_verdict(run, answer)


class Algebra(TaskFamily):
    name = "algebra"
    description = "Solve linear equations, expand products, find quadratic roots (sympy equivalence)."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        x = sympy.Symbol("x")
        if difficulty == 0:
            a, sol, b = rng.randint(1, 9), rng.randint(-9, 9), rng.randint(-9, 9)
            lhs = a * x + b
            prompt = f"Solve for x: {sympy.sstr(lhs)} = {a * sol + b}"
            return prompt, str(sol), [], {"kind": "solve"}
        if difficulty == 1:
            p, q = rng.randint(-9, 9), rng.randint(-9, 9)
            prod = f"(x {'+' if p >= 0 else '-'} {abs(p)})*(x {'+' if q >= 0 else '-'} {abs(q)})"
            return f"Expand: {prod}", sympy.sstr(sympy.expand((x + p) * (x + q))), [], {"kind": "expand"}
        r1, r2 = sorted(rng.sample(range(-9, 10), 2))
        poly = sympy.expand((x - r1) * (x - r2))
        return f"Find all roots of {sympy.sstr(poly)} = 0", f"{r1}, {r2}", [], {"kind": "roots"}

    def check(self, task: Task, answer: str) -> Verdict:
        kind = task.meta.get("kind", "solve")
        if kind == "solve":
            ans = re.sub(r"^\s*x\s*=\s*", "", answer)
            if not _RATIONAL.fullmatch(ans):
                return Verdict(0.0, "not_a_number", answer)
            return _math_verdict(lambda: self._eq(ans, task.reference, answer), answer)
        if kind == "expand":
            if "(" in answer:
                return Verdict(0.0, "not_expanded", answer)
            return _math_verdict(lambda: self._eq(answer, task.reference, answer), answer)
        parts = [p for p in re.split(r"[,;]|\band\b", re.sub(r"x\s*=", "", answer)) if p.strip()]
        if not parts or len(parts) > 4:
            return Verdict(0.0, "not_a_root_list", answer)

        def roots() -> Verdict:
            got = {parse_math(p) for p in parts}
            want = {parse_math(p) for p in task.reference.split(",")}
            return Verdict(1.0, "correct", answer) if got == want else Verdict(0.0, "wrong_roots", answer)

        return _math_verdict(roots, answer)

    @staticmethod
    def _eq(a: str, b: str, answer: str) -> Verdict:
        ok = equivalent(parse_math(a), parse_math(b))
        return Verdict(1.0 if ok else 0.0, "correct" if ok else "not_equivalent", answer)


# ---------------------------------------------------------------------- units
# Factor to the SI base (or coherent SI) unit of each dimension. Exact values: NIST SP 811 (2008), Appendix B.
UNITS: dict[str, dict[str, float]] = {
    "length": {"m": 1.0, "km": 1e3, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "nm": 1e-9, "in": 0.0254,
               "ft": 0.3048, "mi": 1609.344, "angstrom": 1e-10},
    "mass": {"kg": 1.0, "g": 1e-3, "mg": 1e-6, "ug": 1e-9, "lb": 0.45359237, "oz": 0.028349523125, "t": 1e3},
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0, "day": 86400.0},
    "energy": {"J": 1.0, "kJ": 1e3, "cal": 4.184, "kcal": 4184.0, "eV": 1.602176634e-19, "kWh": 3.6e6},
    "pressure": {"Pa": 1.0, "kPa": 1e3, "bar": 1e5, "atm": 101325.0, "mmHg": 133.322387415, "psi": 6894.757293},
    "volume": {"L": 1e-3, "mL": 1e-6, "m3": 1.0, "cm3": 1e-6, "gal": 3.785411784e-3},
    "speed": {"m/s": 1.0, "km/h": 1 / 3.6, "mph": 0.44704},
    "amount": {"mol": 1.0, "mmol": 1e-3, "umol": 1e-6},
}
TEMPERATURE = ("C", "K", "F")
UNIT_REL_TOL = 0.01  # 1%: answers rounded to three significant figures pass
# difficulty -> which conversions: 0 metric prefixes of one unit, 1 any pair in a dimension, 2 + temperature
METRIC_EASY = {"length": ("m", "km", "cm", "mm"), "mass": ("kg", "g", "mg"), "time": ("s", "ms", "min")}


def to_kelvin(v: float, unit: str) -> float:
    return {"K": v, "C": v + 273.15, "F": (v - 32) * 5 / 9 + 273.15}[unit]


def from_kelvin(k: float, unit: str) -> float:
    return {"K": k, "C": k - 273.15, "F": (k - 273.15) * 9 / 5 + 32}[unit]


def dimension_of(unit: str) -> str | None:
    if unit in TEMPERATURE:
        return "temperature"
    return next((d for d, us in UNITS.items() if unit in us), None)


class UnitConversion(TaskFamily):
    name = "unit_conversion"
    description = "Convert a quantity between units (dimensional analysis); 1% tolerance, unit checked."

    def make(self, rng: random.Random, difficulty: int) -> tuple[str, str, list[str], dict[str, Any]]:
        if difficulty == 2 and rng.random() < 0.4:
            src, dst = rng.sample(TEMPERATURE, 2)
            value = float(rng.randint(-40, 400))
            result = from_kelvin(to_kelvin(value, src), dst)
            dim = "temperature"
        else:
            if difficulty == 0:
                dim = rng.choice(sorted(METRIC_EASY))
                src, dst = rng.sample(METRIC_EASY[dim], 2)
            else:
                dim = rng.choice(sorted(UNITS))
                src, dst = rng.sample(sorted(UNITS[dim]), 2)
                while abs(UNITS[dim][src] / UNITS[dim][dst] - 1) <= UNIT_REL_TOL:  # mL -> cm3: no conversion
                    src, dst = rng.sample(sorted(UNITS[dim]), 2)
            value = float(rng.choice([1, 2, 2.5, 5, 10, 12, 25, 100, 250, 1000]) * rng.choice([1, 3, 7]))
            result = value * UNITS[dim][src] / UNITS[dim][dst]
        ref = f"{float(f'{result:.6g}'):g} {dst}"
        prompt = f"Convert {value:g} {src} to {dst}."
        return prompt, ref, [], {"value": result, "unit": dst, "dimension": dim}

    def check(self, task: Task, answer: str) -> Verdict:
        got = single_number(answer)
        if isinstance(got, str):
            return Verdict(0.0, got, answer)
        m = re.search(r"[-+]?[\d.,]+(?:\s*(?:[eE]|[x×*]\s*10\s*\^?)\s*[-+]?\d+)?\s*(°?\s*[A-Za-z/0-9]+)?\s*$", answer)
        unit = (m.group(1) or "").replace("°", "").strip() if m else ""
        if unit and unit != task.meta["unit"]:
            return Verdict(0.0, "wrong_unit" if dimension_of(unit) else "unknown_unit", answer)
        if close_enough(got, float(task.meta["value"]), UNIT_REL_TOL, 1e-9):
            return Verdict(1.0, "correct", answer)
        return Verdict(0.0, "wrong_value", answer)
