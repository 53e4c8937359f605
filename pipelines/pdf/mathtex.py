"""LaTeX from the glyph layer of born-digital math: one text line's spans -> ``$...$`` pieces.

What the cheap path can rebuild faithfully from PyMuPDF's spans (text, font, size, flags,
baseline origin), whatever the font (Computer Modern, Times + Symbol, DejaVu, STIX):

- superscripts and subscripts: a span set smaller than the line's main size (or flagged
  superscript by MuPDF, ``flags & 1``) whose baseline sits above / below the main baseline
  becomes ``^{...}`` / ``_{...}`` of the token before it; stacked scripts (``x_i^2``, which
  MuPDF splits into two lines) are merged into one line by ``features`` first;
- Greek letters, operators, relations, arrows and big operators to LaTeX commands
  (``∇`` -> ``\\nabla``, ``≤`` -> ``\\leq``, ``∑`` -> ``\\sum``), Unicode super/subscript digits to
  scripts, math alphanumerics (U+1D400...) to plain letters, operator names to ``\\sin`` etc.;
- an equation number ``(12)`` ending a display line to ``\\tag{12}``.

Fractions stacked on two lines, roots and matrices are not rebuilt: their text is kept as it
is in the text layer (never invented). Display lines (``features.is_equation_line``) become
``$$...$$``; in prose lines only a token carrying a script or a math-font run becomes ``$...$``
(footnote markers after words stay text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

# Unicode -> LaTeX (math mode). Letters and digits pass through.
_CMD = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon", "ϵ": r"\epsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ϑ": r"\vartheta", "ι": r"\iota", "κ": r"\kappa",
    "λ": r"\lambda", "μ": r"\mu", "µ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "ο": "o", "π": r"\pi",
    "ϖ": r"\varpi", "ρ": r"\rho", "ϱ": r"\varrho", "σ": r"\sigma", "ς": r"\varsigma", "τ": r"\tau",
    "υ": r"\upsilon", "φ": r"\phi", "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega",
    "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi",
    "Σ": r"\Sigma", "Υ": r"\Upsilon", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X",
    "∇": r"\nabla", "∂": r"\partial", "∞": r"\infty", "∑": r"\sum", "∏": r"\prod", "∫": r"\int",
    "∬": r"\iint", "∮": r"\oint", "√": r"\surd", "±": r"\pm", "∓": r"\mp", "×": r"\times",
    "÷": r"\div", "·": r"\cdot", "⋅": r"\cdot", "∘": r"\circ", "−": "-", "–": "-", "∗": "*",
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "≡": r"\equiv", "∝": r"\propto",
    "∼": r"\sim", "≃": r"\simeq", "≅": r"\cong", "≪": r"\ll", "≫": r"\gg", "→": r"\to",
    "←": r"\leftarrow", "↔": r"\leftrightarrow", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow",
    "⇔": r"\Leftrightarrow", "↦": r"\mapsto", "∈": r"\in", "∉": r"\notin", "∋": r"\ni",
    "⊂": r"\subset", "⊃": r"\supset", "⊆": r"\subseteq", "⊇": r"\supseteq", "∪": r"\cup",
    "∩": r"\cap", "∀": r"\forall", "∃": r"\exists", "∅": r"\emptyset", "¬": r"\neg",
    "∧": r"\wedge", "∨": r"\vee", "⊗": r"\otimes", "⊕": r"\oplus", "†": r"\dagger",
    "ℏ": r"\hbar", "ℓ": r"\ell", "⟨": r"\langle", "⟩": r"\rangle", "‖": r"\|", "′": "'",
    "″": "''", "…": r"\ldots", "⋯": r"\cdots", "°": r"^{\circ}", "ℝ": r"\mathbb{R}",
    "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "ℚ": r"\mathbb{Q}", "ℂ": r"\mathbb{C}",
    "{": r"\{", "}": r"\}", "%": r"\%", "#": r"\#", "&": r"\&", "$": r"\$", "_": r"\_",
    "\\": r"\backslash", "~": r"\sim", "^": r"\hat{}",
}
_SUP_DIGITS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ", "0123456789+-=()ni", strict=True))
_SUB_DIGITS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎", "0123456789+-=()", strict=True))
_EQ_TAG_RE = re.compile(r"\s*\(\s*((?:[A-Z]\.)?\d{1,3}(?:\.\d{1,3})?[a-z]?)\s*\)\s*$")
_WORD_RE = re.compile(r"[A-Za-z]{2,}")
# A token that can carry a math script: Latin and Greek letters, digits, brackets, primes.
_MATH_LETTERS_RE = re.compile(r"[A-Za-z0-9\u0391-\u03c9\u03d1\u03d5\u03f5()\[\]'′.+−-]+")
_OPERATOR_NAMES = frozenset("sin cos tan cot sec csc sinh cosh tanh log ln exp max min sup inf lim det arg "
                            "ker dim deg gcd Pr".split())

# A span smaller than this share of the line's main size, whose baseline is off the main
# baseline by at least SCRIPT_SHIFT of the main size, is a script (TeX: \scriptstyle is 70% of
# the text size, raised ~0.35-0.45 em or lowered ~0.15-0.25 em).
SCRIPT_MAX_SIZE = 0.85
SCRIPT_SHIFT = 0.08
_SUPERSCRIPT_FLAG = 1
# Unmapped glyphs (U+FFFD, private use): the formula's text is not trustworthy, so no LaTeX.
_UNREADABLE_RE = re.compile("[\ufffd\ue000-\uf8ff]")
_ITALIC_FLAG = 2


def _char_tex(c: str) -> str:
    cmd = _CMD.get(c)
    if cmd is not None:
        return cmd
    if c.isascii():
        return c
    if "\U0001d400" <= c <= "\U0001d7ff":  # math alphanumerics: bold/italic letters and digits
        return unicodedata.normalize("NFKC", c)
    return c


def _tex(text: str, italic: bool) -> str:
    """Math-mode LaTeX of one run of text; upright words that are operator names become
    commands (``\\sin``), other upright words ``\\mathrm{...}``, spaces between words kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SUP_DIGITS or c in _SUB_DIGITS:
            table, mark = (_SUP_DIGITS, "^") if c in _SUP_DIGITS else (_SUB_DIGITS, "_")
            j = i
            while j < n and text[j] in table:
                j += 1
            out.append(mark + "{" + "".join(table[x] for x in text[i:j]) + "}")
            i = j
            continue
        if c.isascii() and c.isalpha():
            m = _WORD_RE.match(text, i)
            if m and not italic:
                w = m.group(0)
                out.append(("\\" + w + " ") if w in _OPERATOR_NAMES else r"\mathrm{" + w + "}")
                i = m.end()
                continue
        t = _char_tex(c)
        if t.startswith("\\") and t[-1].isalpha():
            t += " "  # "\alpha x", not "\alphax"
        out.append(t)
        i += 1
    return "".join(out)


def _tidy(tex: str) -> str:
    tex = re.sub(r"\s+", " ", tex).strip().replace(" \\", "\\")
    return re.sub(r" ?([{}^_=+(),]) ?", r"\1", tex).replace("  ", " ")


def _span_list(spans: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in spans if s.get("text")]


def _main(spans: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """(main size, main baseline y) of a line: the size carrying most characters, and the
    baseline of the spans at that size."""
    weight: dict[float, int] = {}
    for s in spans:
        n = len(s["text"].strip())
        if n:
            weight[round(s["size"], 1)] = weight.get(round(s["size"], 1), 0) + n
    if not weight:
        return 10.0, 0.0
    size = max(weight.items(), key=lambda kv: (kv[1], kv[0]))[0]
    ys = [_baseline(s) for s in spans if round(s["size"], 1) == size and s["text"].strip()]
    return size, sorted(ys)[len(ys) // 2]


# Descent below the baseline as a share of the font size (Times 0.22, DejaVu 0.24, CM 0.25):
# the baseline of a span whose origin is a space MuPDF inserted is estimated from its box.
DESCENT = 0.22


def _baseline(s: dict[str, Any]) -> float:
    if s["text"][:1].isspace():  # MuPDF's synthetic space carries the previous glyph's baseline
        return float(s["bbox"][3] - DESCENT * s["size"])
    return float(s["origin"][1])


def _level(s: dict[str, Any], size: float, base: float) -> int:
    """+1 superscript, -1 subscript, 0 on the baseline."""
    small = s["size"] < SCRIPT_MAX_SIZE * size
    dy = _baseline(s) - base
    if (s["flags"] & _SUPERSCRIPT_FLAG and dy < 0) or (small and dy <= -SCRIPT_SHIFT * size):
        return 1
    if small and dy >= SCRIPT_SHIFT * size:
        return -1
    return 0


def line_pieces(spans: Sequence[dict[str, Any]]) -> list[tuple[int, str, bool]]:
    """(level, text, italic) runs of a line in reading order, adjacent runs of one level joined."""
    ss = _span_list(spans)
    if not ss:
        return []
    size, base = _main(ss)
    out: list[tuple[int, str, bool]] = []
    for s in sorted(ss, key=lambda s: s["bbox"][0]) if _unordered(ss) else ss:
        lv = _level(s, size, base) if s["text"].strip() else (out[-1][0] if out else 0)
        it = bool(s["flags"] & _ITALIC_FLAG)
        if out and out[-1][0] == lv and (lv or out[-1][2] == it):
            out[-1] = (lv, out[-1][1] + s["text"], out[-1][2] and it)
        else:
            out.append((lv, s["text"], it))
    return out


def _unordered(ss: Sequence[dict[str, Any]]) -> bool:
    return any(b["bbox"][0] < a["bbox"][0] - 0.5 for a, b in zip(ss, ss[1:], strict=False))


def display_latex(spans: Sequence[dict[str, Any]]) -> str:
    """LaTeX of a display-equation line (without the ``$$``); an equation number at its end
    becomes ``\\tag{n}``."""
    pieces = line_pieces(spans)
    if any(_UNREADABLE_RE.search(t) for _, t, _ in pieces):
        return ""  # glyphs without Unicode (big delimiters, misencoded fonts): keep the text
    tag = ""
    if pieces and pieces[-1][0] == 0:
        m = _EQ_TAG_RE.search(pieces[-1][1])
        if m and m.start() > 0 or (m and len(pieces) > 1):
            tag = r" \tag{" + m.group(1) + "}"
            lv, t, it = pieces[-1]
            pieces[-1] = (lv, t[:m.start()], it)
    parts: list[str] = []
    for lv, t, it in pieces:
        tex = _tex(t, it).strip() if lv else _tex(t, it)
        if not tex.strip():
            parts.append(tex)
            continue
        parts.append(("^{" if lv > 0 else "_{") + tex + "}" if lv else tex)
    return _tidy("".join(parts)) + tag


def inline_markdown(spans: Sequence[dict[str, Any]]) -> str:
    """A prose line with its scripted tokens as ``$...$``: ``E = mc`` + superscript ``2`` ->
    ``E = $mc^{2}$``; a script after a word of 3+ letters that is only digits, commas or
    footnote signs is a footnote or citation marker and stays text. Lines without scripts
    come back as their plain text."""
    pieces = line_pieces(spans)
    if not any(lv for lv, _, _ in pieces) or any(_UNREADABLE_RE.search(t) for _, t, _ in pieces):
        return "".join(t for _, t, _ in pieces)
    out: list[str] = []
    after_script = False  # the previous piece became a formula: a second script joins it (x_i^2)
    for lv, t, it in pieces:
        if not lv:
            out.append(t)
            after_script = False
            continue
        script = t.strip()
        sup = ("^{" if lv > 0 else "_{") + _tex(script, it).strip() + "}"
        if after_script and script and not out[-1].endswith(" "):
            out[-1] = out[-1][:-1] + sup + "$" + (" " if t[-1:].isspace() else "")
            continue
        prev = out[-1] if out else ""
        m = re.search(r"[^\s(\[,;:$]+$", prev)
        token = m.group(0) if m else ""
        if not token or not script or (re.fullmatch(r"[\d,.*†‡§–()\[\]-]+", script) and (
                (len(token) >= 3 and token.isalpha()) or not _MATH_LETTERS_RE.fullmatch(token))):
            out.append(t)  # a footnote or citation marker, or nothing to attach to
            continue
        out[-1] = prev[:len(prev) - len(token)]
        out.append("$" + _tidy(_tex(token, True) + sup) + "$" + (" " if t[-1:].isspace() else ""))
        after_script = True
    return "".join(out)
