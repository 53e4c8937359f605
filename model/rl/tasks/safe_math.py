"""Parse untrusted math text into sympy WITHOUT eval: Python's `ast` on a whitelisted string, each node
converted explicitly; size, depth and exponent limits reject hostile input before sympy sees it, and the
sympy work itself runs under a wall-clock timeout. Everything failing raises `MathRejected(reason)`."""

from __future__ import annotations

import ast
import re
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sympy

T = TypeVar("T")
MAX_EXPR_CHARS = 300
MAX_AST_NODES = 200
MAX_ABS_EXPONENT = 64  # 9**9**9 would spend minutes in C big-int code that no signal interrupts
MAX_ABS_CONSTANT = 10**15
# Verifier wall-clock budget per answer (sympy simplification of a well-formed answer takes milliseconds).
SYMPY_TIMEOUT_S = 2.0
FUNCS = {"sqrt": sympy.sqrt, "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp,
         "log": sympy.log, "ln": sympy.log, "abs": sympy.Abs}
CONSTS = {"pi": sympy.pi, "e": sympy.E}
_ALLOWED = re.compile(r"[0-9a-zA-Z_+\-*/^().,\s]*")


class MathRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def with_timeout(fn: Callable[[], T], seconds: float = SYMPY_TIMEOUT_S) -> T:
    """Run fn with a SIGALRM timer (main thread, POSIX). Elsewhere fn runs unguarded, relying on the
    parse-time size limits (signals can only be delivered to the main thread)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return fn()

    def _raise(signum: int, frame: Any) -> None:
        raise MathRejected("timeout")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _normalise(text: str) -> str:
    t = text.strip().replace("\u2212", "-").replace("×", "*").replace("·", "*").replace("÷", "/")
    t = t.replace("^", "**")
    # implicit multiplication: 3x -> 3*x, 2(x+1) -> 2*(x+1), )( -> )*(, x(…) stays a call only for FUNCS
    t = re.sub(r"(\d)\s*([a-zA-Z(])", r"\1*\2", t)
    t = re.sub(r"\)\s*([a-zA-Z0-9(])", r")*\1", t)
    return t


def parse_math(text: str, symbols: tuple[str, ...] = ("x", "y", "z")) -> sympy.Expr:
    if not isinstance(text, str) or not text.strip():
        raise MathRejected("empty_expression")
    if len(text) > MAX_EXPR_CHARS:
        raise MathRejected("expression_too_long")
    if not _ALLOWED.fullmatch(text.replace("\u2212", "-").replace("×", "*").replace("·", "*").replace("÷", "/")):
        raise MathRejected("forbidden_characters")
    src = _normalise(text)
    try:
        tree = ast.parse(src, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise MathRejected("unparseable_expression") from err
    if sum(1 for _ in ast.walk(tree)) > MAX_AST_NODES:
        raise MathRejected("expression_too_complex")
    syms = {s: sympy.Symbol(s) for s in symbols}
    return with_timeout(lambda: _convert(tree.body, syms))


def _const_value(node: ast.AST) -> float | None:
    """Numeric value of a constant exponent (possibly signed / a fraction of constants), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _const_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        a, b = _const_value(node.left), _const_value(node.right)
        return None if a is None or b is None or b == 0 else a / b
    return None


def _convert(node: ast.AST, syms: dict[str, sympy.Symbol]) -> Any:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise MathRejected("forbidden_constant")
        if abs(v) > MAX_ABS_CONSTANT:
            raise MathRejected("number_too_large")
        return sympy.Integer(v) if isinstance(v, int) else sympy.nsimplify(v, rational=True)
    if isinstance(node, ast.Name):
        if node.id in syms:
            return syms[node.id]
        if node.id in CONSTS:
            return CONSTS[node.id]
        raise MathRejected("unknown_name")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _convert(node.operand, syms)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow):
            exp = _const_value(node.right)
            if exp is None or abs(exp) > MAX_ABS_EXPONENT:
                raise MathRejected("exponent_too_large")
        a, b = _convert(node.left, syms), _convert(node.right, syms)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            if b == 0:
                raise MathRejected("division_by_zero")
            return a / b
        if isinstance(node.op, ast.Pow):
            return a**b
        raise MathRejected("forbidden_operator")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCS:
        if node.keywords or len(node.args) != 1:
            raise MathRejected("bad_call")
        return FUNCS[node.func.id](_convert(node.args[0], syms))
    raise MathRejected("forbidden_syntax")


def equivalent(a: Any, b: Any) -> bool:
    """a == b symbolically (expand/simplify of the difference), under the timeout."""

    def _eq() -> bool:
        diff = sympy.expand(a - b)
        if diff == 0:
            return True
        return bool(sympy.simplify(diff) == 0)

    return with_timeout(_eq)
