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

Display formulas are rebuilt in two dimensions (``region_latex`` over the lines of
``display_regions`` and the fraction bars drawn among them): fractions, roots, limits of big
operators, matrices and cases, TeX extension-font glyphs read from their font codes and glyph
names. A formula with a glyph that stays unidentified, or with rows that do not fall into
columns, keeps its text (never invented).
Display lines (``features.is_equation_line``) that are not rebuilt that way become ``$$...$$``
line by line; in prose lines only a token carrying a script or a math-font run becomes ``$...$``
(footnote markers after words stay text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
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
    "∇": r"\nabla", "∆": r"\Delta", "∂": r"\partial", "∞": r"\infty", "∑": r"\sum", "∏": r"\prod", "∫": r"\int",
    "∬": r"\iint", "∮": r"\oint", "√": r"\surd", "±": r"\pm", "∓": r"\mp", "×": r"\times",
    "÷": r"\div", "·": r"\cdot", "⋅": r"\cdot", "∘": r"\circ", "−": "-", "–": "-", "∗": "*",
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "≡": r"\equiv", "∝": r"\propto",
    "∼": r"\sim", "≃": r"\simeq", "≅": r"\cong", "≪": r"\ll", "≫": r"\gg", "→": r"\to",
    "←": r"\leftarrow", "↔": r"\leftrightarrow", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow",
    "⇔": r"\Leftrightarrow", "↦": r"\mapsto", "∈": r"\in", "∉": r"\notin", "∋": r"\ni",
    "⊂": r"\subset", "⊃": r"\supset", "⊆": r"\subseteq", "⊇": r"\supseteq", "∪": r"\cup",
    "∩": r"\cap", "∀": r"\forall", "∃": r"\exists", "∅": r"\emptyset", "¬": r"\neg",
    "∧": r"\wedge", "∨": r"\vee", "⊗": r"\otimes", "⊕": r"\oplus", "†": r"\dagger",
    "ℏ": r"\hbar", "ℓ": r"\ell", "⟨": r"\langle", "⟩": r"\rangle", "‖": r"\|", "∥": r"\|", "⋆": r"\star", "⊤": r"\top", "⊥": r"\perp", "⋄": r"\diamond", "′": "'",
    "″": "''", "…": r"\ldots", "⋯": r"\cdots", "°": r"^{\circ}", "ℝ": r"\mathbb{R}",
    "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "ℚ": r"\mathbb{Q}", "ℂ": r"\mathbb{C}",
    "{": r"\{", "}": r"\}", "%": r"\%", "#": r"\#", "&": r"\&", "$": r"\$", "_": r"\_",
    "\\": r"\backslash", "~": r"\sim", "^": r"\hat{}",
}
# Word's equations (Cambria Math) and the STIX fonts: more signs and arrows, and the invisible
# operators (function application, invisible times / separator / plus, zero-width space), which
# are nothing in LaTeX.
_CMD.update({
    "≔": ":=", "∕": "/", "⁄": "/", "‴": "'''", "⟵": r"\longleftarrow", "⟸": r"\Longleftarrow",
    "⟺": r"\Longleftrightarrow", "∵": r"\because", "∴": r"\therefore", "⊈": r"\nsubseteq", "≢": r"\not\equiv",
    "∦": r"\nparallel", "⨿": r"\amalg", "\u2061": "", "\u2062": "", "\u2063": "", "\u2064": "", "\u200b": "",
})
# Operators, relations, arrows and letterlike symbols of the TeX math fonts (amssymb's too), as
# their Unicode code points come out of fonts that map them.
_CMD.update({
    "∖": r"\setminus", "⊙": r"\odot", "⊘": r"\oslash", "⊖": r"\ominus", "⋮": r"\vdots", "⋱": r"\ddots",
    "∠": r"\angle", "∡": r"\measuredangle", "℘": r"\wp", "ℑ": r"\Im", "ℜ": r"\Re", "ℵ": r"\aleph",
    "≺": r"\prec", "≻": r"\succ", "⪯": r"\preceq", "⪰": r"\succeq", "∣": r"\mid", "∤": r"\nmid",
    "≜": r"\triangleq", "≍": r"\asymp", "≐": r"\doteq", "≲": r"\lesssim", "≳": r"\gtrsim", "⩽": r"\leqslant",
    "⩾": r"\geqslant", "≰": r"\nleq", "≱": r"\ngeq", "⊊": r"\subsetneq", "⊋": r"\supsetneq", "∄": r"\nexists",
    "↑": r"\uparrow", "↓": r"\downarrow", "⟶": r"\longrightarrow", "⟹": r"\Longrightarrow",
    "↪": r"\hookrightarrow", "⇝": r"\rightsquigarrow", "⇀": r"\rightharpoonup", "⇌": r"\rightleftharpoons",
    "⨁": r"\bigoplus", "⨂": r"\bigotimes", "⋃": r"\bigcup", "⋂": r"\bigcap", "∐": r"\coprod", "⊎": r"\uplus",
    "⊔": r"\sqcup", "⊓": r"\sqcap", "⊑": r"\sqsubseteq", "⊒": r"\sqsupseteq", "⊢": r"\vdash", "⊣": r"\dashv",
    "⊨": r"\models", "♯": r"\sharp", "♭": r"\flat", "⌈": r"\lceil", "⌉": r"\rceil", "⌊": r"\lfloor",
    "⌋": r"\rfloor", "△": r"\triangle", "▽": r"\triangledown", "□": r"\square", "∎": r"\blacksquare",
    "ϒ": r"\Upsilon", "ϰ": r"\varkappa", "≀": r"\wr", "∙": r"\bullet",
})
_GREEK_CMDS = frozenset(v for k, v in _CMD.items() if "\u0391" <= k <= "\u03f5" and v.startswith("\\"))
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
    if "\U0001d400" <= c <= "\U0001d7ff":  # math alphanumerics: bold/italic letters and digits, Greek too
        n = unicodedata.normalize("NFKC", c)
        return _CMD.get(n, n)
    if "\u2100" <= c <= "\u214f":  # letterlike symbols set as math letters: ℎ (italic h), ℊ, ℯ, Ω (ohm sign)
        n = unicodedata.normalize("NFKC", c)
        if len(n) == 1 and (n.isascii() and n.isalpha() or n in _CMD):
            return _CMD.get(n, n)
    return c


_CDOTS_RE = re.compile("[·⋅] ?[·⋅] ?[·⋅]")


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
        if c == "." and text.startswith("...", i):  # an ellipsis set as three full stops
            out.append(r"\ldots ")
            i += 3
            continue
        if c in "·⋅" and (m3 := _CDOTS_RE.match(text, i)):  # three centred dots: \cdots
            out.append(r"\cdots ")
            i = m3.end()
            continue
        t = _char_tex(c)
        if t.startswith("\\") and t[-1].isalpha():
            t += " "  # "\alpha x", not "\alphax"
        out.append(t)
        i += 1
    return "".join(out)


def _tidy(tex: str) -> str:
    tex = re.sub(r"\s+", " ", tex).strip().replace(" \\", "\\")
    return re.sub(r" ?([{}^_=+(),/|<>'-]) ?", r"\1", tex).replace("  ", " ")


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


# Top of a glyph box above its baseline as a share of the font size (MuPDF's boxes: CM 0.69,
# Times 0.68): the baseline of a raised span that starts with a synthetic space.
ASCENT = 0.7
# A box reaching this many font sizes above the baseline estimated from its bottom holds glyphs
# set higher than the space that opens it.
RAISED_TOP = 1.0


def _baseline(s: dict[str, Any]) -> float:
    if s["text"][:1].isspace():  # MuPDF's synthetic space carries the previous glyph's baseline
        base = float(s["bbox"][3] - DESCENT * s["size"])
        if s["flags"] & _SUPERSCRIPT_FLAG and base - s["bbox"][1] > RAISED_TOP * s["size"]:
            return float(s["bbox"][1] + ASCENT * s["size"])  # " D" raised after a space: the box's top is the glyph's
        return base
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


def _accented(m: re.Match[str]) -> str:
    """``\\bar{x}`` for an accent glyph and the letter (or Greek letter command) after it."""
    if m.group(2).startswith("\\") and m.group(2) not in _GREEK_CMDS:
        return m.group(0)
    return _ACCENTS[m.group(1)] + "{" + m.group(2) + "}"


def _accents_before_letters(spans: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans with each lone spacing-accent span ("¯") moved into the span of the letter it
    sits over, right before that letter (copies; the others as they are): the order
    ``_ACCENT_BEFORE_RE`` reads, whichever order the text layer has them in."""
    ss = list(spans)
    for k, acc in enumerate(ss):
        if (acc.get("text") or "").strip() not in _SPACING_ACCENTS:
            continue
        cx = (acc["bbox"][0] + acc["bbox"][2]) / 2
        for j, sp in enumerate(ss):
            t = sp.get("text") or ""
            x0, x1 = sp["bbox"][0], sp["bbox"][2]
            if j == k or not t.strip() or not x0 <= cx <= x1 or (t.strip() in _SPACING_ACCENTS):
                continue
            i = min(int((cx - x0) / ((x1 - x0) / len(t))), len(t) - 1)
            if t[i].isalpha():
                ss[j] = {**sp, "text": t[:i] + acc["text"].strip() + t[i:]}
                ss[k] = {**acc, "text": ""}
            break
    return ss


def display_latex(spans: Sequence[dict[str, Any]]) -> str:
    """LaTeX of a display-equation line (without the ``$$``); an equation number at its end
    becomes ``\\tag{n}``."""
    pieces = line_pieces(_accents_before_letters(spans))
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
    scripts: dict[int, str] = {}  # the scripts of the current base, subscript and superscript runs joined
    for lv, t, it in pieces + [(0, "", False)]:
        if lv:  # A^{(}_{M}^{t)} set interleaved is A_{M}^{(t)}
            scripts[lv] = scripts.get(lv, "") + _tex(t, it).strip()
            continue
        if scripts:
            parts.extend(_script_tex(mark, scripts[k]) for k, mark in ((-1, "_"), (1, "^")) if scripts.get(k))
            scripts = {}
        parts.append(_tex(t, it))
    tex = _ACCENT_BEFORE_RE.sub(_accented, "".join(parts))
    return _tidy(tex) + tag


def _script_tex(mark: str, tex: str) -> str:
    """``^{tex}`` / ``_{tex}``; a script of primes only is written as primes (``R'``, not ``R^{'}``)."""
    return tex if tex and tex.strip("'") == "" else mark + "{" + tex + "}"


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
        sup = _script_tex("^" if lv > 0 else "_", _tex(script, it).strip())
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


# ---------------------------------------------------------------------------------------------
# Display equations in two dimensions: the spans of every text line a display formula is made
# of (MuPDF returns a fraction's numerator, denominator, a root's radicand and a sum's limits as
# lines of their own) and the short horizontal rules drawn among them (fraction bars and root
# vinculums, vector paths or thin images) -> one LaTeX formula.

# TeX's math extension font (cmex, OMX encoding) when the PDF maps no Unicode: MuPDF reports the
# font's codes. Delimiters of every size map to the delimiter, the pieces of tall delimiters to
# the top piece's delimiter (the others to nothing), radicals to a root, big operators to theirs.
_CMEX_CODES = (
    "( ) [ ] ⌊ ⌋ ⌈ ⌉ { } ⟨ ⟩ | ‖ / \\ "  # 0x00: \big
    "( ) ( ) [ ] ⌊ ⌋ ⌈ ⌉ { } ⟨ ⟩ / \\ "  # 0x10: \Big, \bigg
    "( ) [ ] ⌊ ⌋ ⌈ ⌉ { } ⟨ ⟩ / \\ / \\ "  # 0x20: \Bigg
    "( ) [ ] - - - - { } - - - - - - "  # 0x30: top pieces stand for the delimiter, other pieces "-"
    "- - - - ⟨ ⟩ ⊔ ⊔ ∮ ∮ ⊙ ⊙ ⊕ ⊕ ⊗ ⊗ "
    "∑ ∏ ∫ ⋃ ⋂ ⊎ ∧ ∨ ∑ ∏ ∫ ⋃ ⋂ ⊎ ∧ ∨ "
    "∐ ∐ ˆ ˆ ˆ ˜ ˜ ˜ [ ] ⌊ ⌋ ⌈ ⌉ { } "
    "√ √ √ √ √ - - - - - - - - - - -"
).split()
# Advance widths (em) of cmex10's big operators, which no other glyph of the font shares: a
# glyph without Unicode is identified by them (sums and products in text and display size).
_CMEX_WIDTHS = ((1.444, "∑"), (1.056, "∑"), (1.278, "∏"), (0.944, "∏"))
_CMEX_WIDTH_TOL = 0.02
_CMEX: dict[str, str] = {chr(i): ("" if c == "-" else c) for i, c in enumerate(_CMEX_CODES)}
# Unicode pieces of tall delimiters (fonts that map them): the top piece stands for the delimiter.
_PIECES = {"⎛": "(", "⎞": ")", "⎡": "[", "⎤": "]", "⎧": "{", "⎫": "}", "⎝": "", "⎠": "", "⎜": "", "⎟": "",
           "⎣": "", "⎦": "", "⎢": "", "⎥": "", "⎨": "", "⎬": "", "⎩": "", "⎭": "", "⎪": "", "⎮": "",
           "⌠": r"\int", "⌡": ""}
# Accents set as glyphs of their own above a letter (TeX's \ddot a: a "¨" over an "a").
_ACCENTS = {"¨": r"\ddot", "˙": r"\dot", "ˆ": r"\hat", "^": r"\hat", "˜": r"\tilde", "~": r"\tilde", "¯": r"\bar",
            "\u20d7": r"\vec", "ˇ": r"\check", "˘": r"\breve", "´": r"\acute", "`": r"\grave",
            "\u0307": r"\dot", "\u0308": r"\ddot", "\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar"}
_BIG_OPS = frozenset(r"\sum \prod \int \oint \bigcup \bigcap \coprod \lim \max \min \sup \inf".split()
                     + [r"\operatorname{argmax}", r"\operatorname{argmin}"])
# Accents that MuPDF reports as zero-width combining marks at the pen position before their
# letter (cmmi's vector arrow, U+20D7, as TeX's \vec sets it): they belong to the glyph after them.
_COMBINING_ACCENTS = frozenset("\u20d7\u0300\u0301\u0302\u0303\u0304\u0307\u0308")
ZERO_WIDTH = 0.5  # points: a glyph box narrower than this is a combining mark's
# Spacing accents (TeX's \bar, \hat ... as glyphs of their own), which MuPDF may put at the end of
# the span before their letter's.
_SPACING_ACCENTS = frozenset("¨˙ˆ˜¯ˇ˘")
_ACCENT_BEFORE_RE = re.compile("([¨˙ˆ˜¯ˇ˘])\\s?(\\\\[A-Za-z]+|[A-Za-z])(?![A-Za-z])")
_CAL_FONT_RE = re.compile(r"(^|[+_-])(CMSY|CMBSY|LMSY|LMMathSymbols|TXSY|PXSY|NTXSY|NewTXSY|MTSY|RMTSY|EUSM|RSFS)", re.I)
_BB_FONT_RE = re.compile(r"(^|[+_-])(MSBM|BBold|DSRom|txmiaX|TXMIAX)", re.I)
def extension_font(font: str) -> bool:
    """A TeX math extension font (cmex and its clones: big delimiters, radicals, operators)."""
    return bool(_CMEX_FONT_RE.search(font))


_CMEX_FONT_RE = re.compile(r"(^|[+_-])(CMEX|LMEX|LMMathExtension|TXEX|PXEX|NTXEX|NewTXEX|MTEX|RMTEX|EUEX|"
                           r"TeX_CM_Maths_Extension)", re.I)
_ARGOP = {"argmax": r"\operatorname{argmax}", "argmin": r"\operatorname{argmin}"}
_EQ_NUMBER_ONLY_RE = re.compile(r"\(\s*((?:[A-Z]\.)?\d{1,3}(?:\.\d{1,3})?[a-z]?)\s*\)")


def needs_font_codes(spans: Sequence[dict[str, Any]]) -> bool:
    """Some extension-font glyph of the spans came without Unicode: its font code tells what it is."""
    return any("\ufffd" in (s.get("text") or "") and _CMEX_FONT_RE.search(s.get("font", "")) for s in spans)


def font_code_index(raw: dict[str, Any]) -> dict[tuple[str, float, float], list[dict[str, Any]]]:
    """The characters of the extension-font spans of a page's ``rawdict`` extracted with
    ``TEXT_CID_FOR_UNKNOWN_UNICODE`` (a glyph without Unicode reports its font code), by font and
    the span's top-left corner."""
    out: dict[tuple[str, float, float], list[dict[str, Any]]] = {}
    for b in raw.get("blocks", ()):
        for ln in b.get("lines", ()):
            for s in ln["spans"]:
                if _CMEX_FONT_RE.search(s["font"]):
                    out[(s["font"], round(s["bbox"][0], 1), round(s["bbox"][1], 1))] = s["chars"]
    return out


# The glyph names of cmex10's codes 0-127 (TeX's OMX encoding, cmex10.afm): a font whose PDF
# encoding or embedded program names its glyphs ("summationdisplay") is read through them, whatever
# codes the PDF producer gave the glyphs (dvipdfm and subsetting tools renumber them 1, 2, 3...).
_OMX_NAMES = (
    "parenleftbig parenrightbig bracketleftbig bracketrightbig floorleftbig floorrightbig ceilingleftbig "
    "ceilingrightbig braceleftbig bracerightbig angbracketleftbig angbracketrightbig vextendsingle vextenddouble "
    "slashbig backslashbig parenleftBig parenrightBig parenleftbigg parenrightbigg bracketleftbigg "
    "bracketrightbigg floorleftbigg floorrightbigg ceilingleftbigg ceilingrightbigg braceleftbigg bracerightbigg "
    "angbracketleftbigg angbracketrightbigg slashbigg backslashbigg parenleftBigg parenrightBigg bracketleftBigg "
    "bracketrightBigg floorleftBigg floorrightBigg ceilingleftBigg ceilingrightBigg braceleftBigg bracerightBigg "
    "angbracketleftBigg angbracketrightBigg slashBigg backslashBigg slashBig backslashBig parenlefttp "
    "parenrighttp bracketlefttp bracketrighttp bracketleftbt bracketrightbt bracketleftex bracketrightex "
    "bracelefttp bracerighttp braceleftbt bracerightbt braceleftmid bracerightmid braceex arrowvertex "
    "parenleftbt parenrightbt parenleftex parenrightex angbracketleftBig angbracketrightBig unionsqtext "
    "unionsqdisplay contintegraltext contintegraldisplay circledottext circledotdisplay circleplustext "
    "circleplusdisplay circlemultiplytext circlemultiplydisplay summationtext producttext integraltext "
    "uniontext intersectiontext unionmultitext logicalandtext logicalortext summationdisplay productdisplay "
    "integraldisplay uniondisplay intersectiondisplay unionmultidisplay logicalanddisplay logicalordisplay "
    "coproducttext coproductdisplay hatwide hatwider hatwidest tildewide tildewider tildewidest bracketleftBig "
    "bracketrightBig floorleftBig floorrightBig ceilingleftBig ceilingrightBig braceleftBig bracerightBig "
    "radicalbig radicalBig radicalbigg radicalBigg radicalbt radicalvertex radicaltp arrowvertexdbl arrowtp "
    "arrowbt bracehtipdownleft bracehtipdownright bracehtipupleft bracehtipupright arrowdbltp arrowdblbt"
).split()
_OMX_CODE = {n: i for i, n in enumerate(_OMX_NAMES)}
_DIFFERENCES_RE = re.compile(r"/Differences\s*\[([^\]]*)\]")
_TYPE1_ENCODING_RE = re.compile(rb"dup\s+(\d+)\s*/([^\s/]+)\s+put")
# The clear-text part of a Type 1 program that holds its built-in encoding (the glyph programs follow).
_TYPE1_HEADER_BYTES = 65536


def _differences(obj: str) -> dict[int, str]:
    out: dict[int, str] = {}
    m = _DIFFERENCES_RE.search(obj)
    code = 0
    for tok in (m.group(1).replace("/", " /").split() if m else ()):
        if tok.startswith("/"):
            out[code] = tok[1:]
            code += 1
        elif tok.isdigit():
            code = int(tok)
    return out


def font_glyph_names(page: Any) -> dict[str, dict[int, str]]:
    """The page's extension fonts (by name without the subset prefix) -> their codes' glyph names,
    from the embedded Type 1 program's built-in encoding and the font's ``/Encoding /Differences``
    (which wins); a font that names nothing is left out (TeX's codes are assumed for it)."""
    doc = page.parent
    out: dict[str, dict[int, str]] = {}
    for xref, _ext, _kind, base, _res, _enc in page.get_fonts():
        short = base.split("+", 1)[-1]
        if not _CMEX_FONT_RE.search(short):
            continue
        names: dict[int, str] = {}
        try:
            fd = doc.xref_get_key(xref, "FontDescriptor")
            ff = doc.xref_get_key(int(fd[1].split()[0]), "FontFile") if fd[0] == "xref" else ("null", "")
            if ff[0] == "xref":
                head = (doc.xref_stream(int(ff[1].split()[0])) or b"")[:_TYPE1_HEADER_BYTES]
                names = {int(c): n.decode("latin-1") for c, n in _TYPE1_ENCODING_RE.findall(head) if int(c) < 256}
            enc = doc.xref_get_key(xref, "Encoding")
            if enc[0] == "xref":
                names.update(_differences(doc.xref_object(int(enc[1].split()[0]))))
            elif enc[0] == "dict":
                names.update(_differences(enc[1]))
        except Exception:  # a broken font object: its glyphs keep TeX's codes
            continue
        if names:
            out.setdefault(short, names)
    return out


# Height (em) of cmex10's sized delimiters, by the size in their glyph name (\\big ... \\Bigg): a
# delimiter hangs that far below its origin, over the rows of a matrix or the cases it encloses.
_DELIMITER_EM = (("Bigg", 3.0), ("bigg", 2.4), ("Big", 1.8), ("big", 1.2), ("tp", 3.0))


def _code_char(code: str, names: dict[int, str] | None) -> tuple[str, float]:
    """The character a cmex-like glyph stands for, from its font code, and its height in em when
    it is a sized delimiter (else 0): through the font's glyph name where the font names its
    glyphs (an unknown name stays U+FFFD), else TeX's code."""
    if names is not None:
        name = names.get(ord(code))
        if name is None or name not in _OMX_CODE:
            return "\ufffd", 0.0
        code = chr(_OMX_CODE[name])
    if ord(code) >= len(_CMEX_CODES):
        return "\ufffd", 0.0
    c = _CMEX_CODES[ord(code)]
    name = _OMX_NAMES[ord(code)]
    em = next((h for k, h in _DELIMITER_EM if name.endswith(k) and not name.startswith(("radical", "slash", "back"))), 0.0)
    return ("" if c == "-" else c), em


def with_font_codes(spans: Sequence[dict[str, Any]], index: dict[tuple[str, float, float], list[dict[str, Any]]],
                    names: dict[str, dict[int, str]]) -> list[dict[str, Any]]:
    """The spans with each extension-font span holding glyphs without Unicode split into one span
    per glyph, a glyph without Unicode read from its font code (``font_glyph_names``, else TeX's
    codes: ``X`` is the display sum, ``r`` a radical, 0x10 a big left parenthesis; the middle and
    bottom pieces of a tall delimiter are nothing); spans not in ``index`` stay as they are."""
    out: list[dict[str, Any]] = []
    for s in spans:
        t = s.get("text") or ""
        font = s.get("font", "")
        chars = index.get((font, round(s["bbox"][0], 1), round(s["bbox"][1], 1))) \
            if "\ufffd" in t and _CMEX_FONT_RE.search(font) else None
        if chars is None or len(chars) != len(t):
            out.append(s)
            continue
        named = next((v for k, v in names.items() if k.startswith(font)), None) if font else None
        for c, ch in zip(t, chars, strict=True):
            text, em = _code_char(ch["c"], named) if c == "\ufffd" else (c, 0.0)
            out.append({**s, "text": text, "bbox": tuple(ch["bbox"]), "origin": tuple(ch["origin"]), "coded": True,
                        "delimiter_em": em})
    return out


class _Atom:
    """A piece of a formula: a span's text (or a rebuilt fraction / root) with its box."""

    __slots__ = ("x0", "y0", "x1", "y1", "base", "size", "tex", "op", "text", "tall", "ext")

    def __init__(self, box: Sequence[float], base: float, size: float, tex: str, op: bool = False,
                 text: str = "", tall: bool = False) -> None:
        self.x0, self.y0, self.x1, self.y1 = float(box[0]), float(box[1]), float(box[2]), float(box[3])
        self.base, self.size, self.tex, self.op, self.text = base, size, tex, op, text
        self.tall = tall  # a delimiter that may span rows: an extension-font glyph or a tall piece
        self.ext = False  # an extension-font glyph: its origin is its top, not a baseline

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


def _span_text(s: dict[str, Any]) -> str:
    """A span's text with the font's meaning: TeX font codes that came without Unicode (cmex:
    delimiters, radicals, operators; cmsy: symbols; cmmi: the partial sign and the letters a
    Quartz-made ToUnicode maps to keyboard symbols) to their characters."""
    t = s["text"]
    font = s.get("font", "")
    if s.get("coded"):  # read from its font code (with_font_codes)
        return t
    if _CMEX_FONT_RE.search(font):
        if "\ufffd" in t and t.strip() == "\ufffd":  # no Unicode, no code: the glyph's width tells a big operator
            em = (s["bbox"][2] - s["bbox"][0]) / max(s["size"], 1.0)
            return next((g for w, g in _CMEX_WIDTHS if abs(em - w) <= _CMEX_WIDTH_TOL), t)
        return "".join(_CMEX.get(c, c) if c.isascii() else _CMEX[chr(_QUARTZ_CODES[c])] if c in _QUARTZ_CODES
                       else _PIECES.get(c, c) for c in t)
    if _OMS_FONT_RE.search(font) and any(c in _OMS for c in t):
        return "".join(_OMS.get(c, c) for c in t)
    if _OML_FONT_RE.search(font) and any(c in _OML for c in t):
        return "".join(_OML.get(c, c) for c in t)
    if any(c in _PIECES for c in t):
        return "".join(_PIECES.get(c, c) for c in t)
    return t


# TeX math symbol font (OMS encoding): the codes of digits and lower-case letters, which are
# symbols there (its only letters are calligraphic capitals), as a cmsy span without Unicode
# reports them; and what macOS Quartz writes for the codes below 0x20 (keyboard symbols: ⇥ for
# code 2, ⇤ for code 3).
_OMS = dict(zip("0123456789", "′∞∈∋△▽/ ∀∃", strict=True))
_OMS.update(zip("abcdefghijklmnopqrstuvwxyz", "⊣⌊⌋⌈⌉{}⟨⟩|‖↕⇕\\≀√⨿∇∫⊔⊓⊑⊒§†‡", strict=True))
_OMS["`"] = "⊢"
_OMS.update({"⇥": "×", "⇤": "∗"})
# TeX math italic (OML): code 0x40 is the partial sign; Quartz's keyboard symbols for codes 0x0B,
# 0x0F, 0x11 (alpha, epsilon, eta); code 0x60 is the script ell, which a font without ToUnicode
# reports as "`".
# The keyboard symbols macOS Quartz writes for a TeX font's codes below 0x20 (the same codes in
# every font: cmsy's 0x02 / 0x03, cmmi's 0x0B / 0x0F / 0x11 above; MathTime's extension font
# sets its \\Big parentheses, codes 0x10 / 0x11, as "⇣" / "⌘").
_QUARTZ_CODES = {"⇥": 0x02, "⇤": 0x03, "↵": 0x0B, "✏": 0x0F, "⇣": 0x10, "⌘": 0x11}
_OML = {"@": "∂", "↵": "α", "✏": "ε", "⌘": "η", "`": "ℓ"}
_OMS_FONT_RE = re.compile(r"(^|[+_-])(CMSY|CMBSY|LMSY|LMMathSymbols|MTSY|RMTSY)", re.I)
_OML_FONT_RE = re.compile(r"(^|[+_-])(CMMI|CMBMI|LMMI|LMMathItalic|MTMI|RMTMI)", re.I)


_ACCENT_IN_TEXT_RE = re.compile("([" + "".join(re.escape(c) for c in "¨˙ˆ˜¯\u20d7ˇ˘") + r"])\s?(\w)")


def _word_tex(text: str, italic: bool, font: str) -> str:
    italic = italic or bool(_OML_FONT_RE.search(font))  # math italic, whatever the flags say
    if len(text) > 1 and _ACCENT_IN_TEXT_RE.search(text):  # "∂ ⃗B": an accent glyph before its letter
        parts = _ACCENT_IN_TEXT_RE.split(text)
        out = [_word_tex(parts[0], italic, font)] if parts[0] else []
        for k in range(1, len(parts), 3):
            out.append(_ACCENTS[parts[k]] + "{" + _word_tex(parts[k + 1], True, font).strip() + "}")
            if parts[k + 2]:
                out.append(_word_tex(parts[k + 2], italic, font))
        return " ".join(out)
    if _BB_FONT_RE.search(font):
        return "".join(r"\mathbb{" + c + "}" if c.isalpha() and c.isascii() else _tex(c, True) for c in text)
    if _CAL_FONT_RE.search(font):
        return "".join(r"\mathcal{" + c + "}" if "A" <= c <= "Z" else _tex(c, True) for c in text)
    w = text.strip()
    if w in _ARGOP:
        return _ARGOP[w]
    return _tex(text, italic)


def _atoms(spans: Sequence[dict[str, Any]]) -> list[_Atom]:
    """Atoms of the spans (blank spans dropped, leading/trailing blanks trimmed from the box);
    a lone accent glyph is put on the letter under it."""
    out: list[_Atom] = []
    accents: list[tuple[_Atom, str]] = []
    for s in spans:
        raw = s.get("text") or ""
        t = _span_text(s)
        if not t.strip():
            continue
        x0, y0, x1, y1 = s["bbox"]
        n = max(len(raw), 1)
        w = (x1 - x0) / n
        lead = len(t) - len(t.lstrip())
        trail = len(t) - len(t.rstrip())
        box = (x0 + w * lead, y0, x1 - w * trail, y1)
        t = t.strip()
        base = _baseline(s)
        if len(t) > 1 and t[-1] in _COMBINING_ACCENTS:  # "∂⃗" then "B": a combining accent ends the span
            accents.append((_Atom((box[2], box[1], box[2], box[3]), base, s["size"], "", text=t[-1]), _ACCENTS[t[-1]]))
            t = t[:-1].rstrip()
            box = (box[0], box[1], box[2] - w, box[3])
        elif len(t) > 1 and t[-1] in _SPACING_ACCENTS:  # " = (¯" then "x, y": the macron is over the x
            accents.append((_Atom((box[2] - w, box[1], box[2], box[3]), base, s["size"], "", text=t[-1]),
                            _ACCENTS[t[-1]]))
            t = t[:-1].rstrip()
            box = (box[0], box[1], box[2] - w, box[3])
        if t in _ACCENTS:
            accents.append((_Atom(box, base, s["size"], "", text=t), _ACCENTS[t]))
            continue
        it = bool(s["flags"] & _ITALIC_FLAG)
        font = s.get("font", "")
        # radicals, big delimiters and operators are atoms of their own (a root's vinculum starts
        # at its radical, limits stack over their operator)
        if len(t) > 1 and (_CMEX_FONT_RE.search(font) or "√" in t) and len(t) == len(raw.strip()):
            cw = (box[2] - box[0]) / len(t)
            for k, c in enumerate(t):
                if c.strip():
                    tex = _word_tex(c, it, font)
                    out.append(_Atom((box[0] + k * cw, y0, box[0] + (k + 1) * cw, y1), base, s["size"], tex,
                                     tex.strip() in _BIG_OPS, text=c))
            continue
        tex = _word_tex(t, it, font)
        op = tex.strip() in _BIG_OPS or t in _OPERATOR_NAMES and ("\\" + t) in _BIG_OPS
        tall = s.get("delimiter_em", 0.0) >= ARRAY_MIN_EM or any(c in _PIECES for c in raw)
        out.append(_Atom(box, base, s["size"], tex, op, text=t, tall=tall))
        out[-1].ext = bool(_CMEX_FONT_RE.search(font))
    for acc, cmd in accents:
        if acc.x1 - acc.x0 < ZERO_WIDTH:  # a combining accent (TeX's \vec): drawn over the glyph after its origin
            right = [a for a in out if a.text and acc.x0 - ZERO_WIDTH <= a.x0 <= acc.x0 + 0.5 * acc.size
                     and a.y0 < acc.y1 and acc.y0 < a.y1]
            under = [min(right, key=lambda a: a.x0)] if right else []
        else:
            # the letter's centre is not above the accent's, or their tops meet (an accent font's box
            # is its font's, as tall as a delimiter: MathTime's hat)
            under = [a for a in out if a.x0 - 0.5 <= acc.cx <= a.x1 + 0.5 and a.text and (
                a.cy > acc.cy - 0.3 * a.size or a.y0 >= acc.y0 - 0.1 * a.size)]
        if not under:
            continue
        a = min(under, key=lambda a: abs(a.cy - acc.cy) + abs(a.cx - acc.cx))
        w = (a.x1 - a.x0) / len(a.text)
        i = min(int((acc.cx - a.x0) / w) if w > 0 else 0, len(a.text) - 1)
        c = a.text[i]
        a.tex = _tex(a.text[:i], True) + cmd + "{" + _tex(c, True).strip() + "}" + _tex(a.text[i + 1:], True)
    return out


# A fraction bar or root vinculum is a horizontal rule at most this thick (points) and at least
# this long: TeX's default rule is 0.4 pt; a one-letter denominator is ~4 pt wide.
BAR_MAX_THICKNESS = 1.5
BAR_MIN_LENGTH = 2.5


def _radical(a: _Atom, bar: tuple[float, float, float]) -> bool:
    """A radical sign whose right end meets the bar's left end at its top: the bar is the root's
    vinculum. An extension-font glyph without Unicode there is a radical too (its shape is)."""
    return a.tex.strip() in ("√", r"\surd", "\ufffd") and abs(a.x1 - bar[0]) <= max(2.0, 0.3 * a.size) \
        and a.y0 - 2.0 <= bar[2] <= a.y1


def _fracs_and_roots(atoms: list[_Atom], bars: list[tuple[float, float, float]]) -> list[_Atom]:
    """Atoms with each fraction (a bar with atoms above and below it within its width) and each
    root (a radical glyph whose right end meets a bar over the radicand) rebuilt as one atom;
    widest bars first, so nested ones are built inside their parent's numerator or radicand."""
    # roots first (narrowest first: a root inside a root), so that a root in a denominator is one
    # atom below the fraction's bar; then fractions, widest first
    # a radical's vinculum is the highest bar meeting its right end (a fraction bar under it that
    # starts there too is the radicand's)
    vinculum: dict[tuple[float, float, float], _Atom] = {}
    for a in atoms:
        top = min((b for b in bars if _radical(a, b)), key=lambda b: b[2], default=None)
        if top is not None:
            vinculum.setdefault(top, a)

    def is_root(b: tuple[float, float, float]) -> bool:
        return b in vinculum

    bars = sorted(bars, key=lambda b: (not is_root(b), (b[1] - b[0]) * (1 if is_root(b) else -1)))
    while bars:
        bx0, bx1, by = bars.pop(0)
        tol = 0.2 * min(bx1 - bx0, 4.0)
        inside = [a for a in atoms if bx0 - tol <= a.cx <= bx1 + tol]
        root = vinculum.get((bx0, bx1, by))
        root = root if root is not None and any(a is root for a in atoms) else None
        if root is not None:
            # the radicand lies under the vinculum, above any wider bar below it (a root in a numerator)
            stop = min((b[2] for b in bars if b[2] > by + 1 and b[0] < bx1 and b[1] > bx0 and b[1] - b[0] > bx1 - bx0),
                       default=1e9)
            body = [a for a in inside if by < a.cy < stop and a.y0 < root.y1 + root.size and a is not root]
            if not body:
                continue
            inner = [b for b in bars if bx0 - tol <= b[0] and b[1] <= bx1 + tol and b[2] > by]
            bars = [b for b in bars if b not in inner]
            built = _fracs_and_roots(body, inner)
            tex = r"\sqrt{" + _linear(built) + "}"
            members = [root, *body]
            big_size, big_base = _main_line(built)  # a radicand that is a fraction sits on the axis, not on its numerator
            atom = _Atom((root.x0, min(a.y0 for a in members), max(a.x1 for a in members), max(a.y1 for a in members)),
                         big_base, big_size, tex)
        else:
            num = [a for a in inside if a.cy < by]
            den = [a for a in inside if a.cy > by]
            if not num or not den:
                continue
            inner = [b for b in bars if bx0 - tol <= b[0] and b[1] <= bx1 + tol]
            bars = [b for b in bars if b not in inner]
            ni = [b for b in inner if b[2] < by]
            di = [b for b in inner if b[2] > by]
            tex = r"\frac{" + _linear(_fracs_and_roots(num, ni)) + "}{" + _linear(_fracs_and_roots(den, di)) + "}"
            members = num + den
            size = max(a.size for a in members)
            # the formula's baseline lies about a quarter em below the bar (TeX's math axis)
            atom = _Atom((min(a.x0 for a in members), min(a.y0 for a in members), max(a.x1 for a in members),
                          max(a.y1 for a in members)), by + 0.25 * size, size, tex)
            atom.text = "\x00"  # a built atom: its size and baseline vote only when nothing else does
        gone = set(map(id, members))
        atoms = [a for a in atoms if id(a) not in gone] + [atom]
    return atoms


# A bar drawn over a glyph run, with nothing above it, is an overline (TeX's \bar{s} set as a rule):
# its ends within OVERBAR_OVERHANG font sizes of the run's, its height between the run's x-height
# and OVERBAR_RISE font sizes over the run's box top.
OVERBAR_OVERHANG = 0.3
OVERBAR_XHEIGHT = 0.35
OVERBAR_RISE = 0.35


def _overbars(atoms: list[_Atom], bars: list[tuple[float, float, float]]
              ) -> tuple[list[_Atom], list[tuple[float, float, float]]]:
    """Atoms with the bars that lie right over one of them (and over no other atom) as
    ``\\bar{x}`` (one letter) or ``\\overline{..}``; the bars left for fractions and roots."""
    left: list[tuple[float, float, float]] = []
    for b in bars:
        bx0, bx1, by = b
        over = [a for a in atoms if min(a.x1, bx1) - max(a.x0, bx0) > 0.25 * (bx1 - bx0)]  # touching boxes do not count
        under = [a for a in over if by < a.base - OVERBAR_XHEIGHT * a.size and by > a.y0 - OVERBAR_RISE * a.size]
        hit = under[0] if len(under) == 1 else None
        if hit is None or any(a.cy < by for a in over) or hit.text in ("", "\x00") \
                or abs(bx0 - hit.x0) > OVERBAR_OVERHANG * hit.size or abs(bx1 - hit.x1) > OVERBAR_OVERHANG * hit.size \
                or _radical(hit, b) or any(_radical(a, b) for a in atoms):
            left.append(b)
            continue
        body = hit.tex.strip()
        hit.tex = (r"\bar{" if len(hit.text) == 1 else r"\overline{") + body + "}"
    return atoms, left


def _main_line(atoms: Sequence[_Atom]) -> tuple[float, float]:
    """(size, baseline) of the formula's main line: the largest size set on at least half as
    many atoms as the most frequent size (a subscript word like "max" is one atom; a variable
    with a sub- and a superscript has more script atoms than base atoms); its baseline from
    the span atoms."""
    weight: dict[float, int] = {}
    for a in atoms:
        weight[round(a.size, 1)] = weight.get(round(a.size, 1), 0) + 1
    most = max(weight.values())
    size = max(sz for sz, n in weight.items() if 2 * n >= most)
    ys = sorted(a.base for a in atoms if round(a.size, 1) == size and a.text != "\x00") \
        or sorted(a.base for a in atoms if round(a.size, 1) == size)
    return size, ys[len(ys) // 2]


def _linear(atoms: list[_Atom]) -> str:
    """LaTeX of atoms on one baseline (fractions and roots already built): limits stacked over
    and under big operators, then scripts by size and baseline shift, left to right."""
    if not atoms:
        return ""
    atoms = sorted(atoms, key=lambda a: a.x0)
    used: set[int] = set()
    limits: dict[int, tuple[list[_Atom], list[_Atom]]] = {}
    for op in atoms:
        if not op.op:
            continue
        # candidates: smaller atoms below (above) it that are not under another operator
        free = [a for a in atoms if id(a) not in used and a is not op and a.size < op.size * 0.95
                and not any(o is not op and o.op and o.x0 <= a.cx <= o.x1 for o in atoms)]
        # beside the operator's middle by a quarter of its height (an extension-font glyph's box
        # is the font's, and reaches over its limits), at most LIMIT_OFFSET of its size (a box as
        # tall as the glyph with its limits, MathTime's: a limit's centre lies inside it)
        off = min(0.25 * (op.y1 - op.y0), LIMIT_OFFSET * op.size)
        lo = _limit(op, [a for a in free if a.cy > op.cy + off])
        hi = _limit(op, [a for a in free if a.cy < op.cy - off])
        if not lo and not hi:
            lo = _side_limit(op, free)
        if lo or hi:
            limits[id(op)] = (lo, hi)
            used.update(map(id, lo + hi))
    out: list[str] = []
    i, rest = 0, [a for a in atoms if id(a) not in used]
    size, base = _main_line([a for a in rest if not a.op] or rest)
    while i < len(rest):
        a = rest[i]
        lv = _atom_level(a, size, base)
        if lv == 0 or not out:
            tex = a.tex
            if id(a) in limits:
                lo, hi = limits[id(a)]
                tex = tex.strip() + ("_{" + _linear(lo) + "}" if lo else "") + ("^{" + _linear(hi) + "}" if hi else "")
            out.append(tex)
            i += 1
            continue
        j = i  # the scripts of one base: subscript first (x_i^2), as TeX writes them
        while j < len(rest) and _atom_level(rest[j], size, base) != 0:
            j += 1
        sub = [a for a in rest[i:j] if _atom_level(a, size, base) < 0]
        sup_tex = _linear([a for a in rest[i:j] if _atom_level(a, size, base) > 0])
        if j < len(rest) and sub and rest[j - 1] is sub[-1] and _prime_of(rest[j], sub[-1]):
            sub.append(rest[j])  # e_{r'}: a prime set smaller than the subscript it follows is the subscript's
            j += 1
        primes = len(sup_tex) - len(sup_tex.lstrip("'"))  # R' is written with a prime, not R^{'}
        sup_tex = sup_tex[primes:].strip()
        out.append("'" * primes + ("_{" + _linear(sub) + "}" if sub else "") + ("^{" + sup_tex + "}" if sup_tex else ""))
        i = j
    return _tidy(" ".join(out))


def _prime_of(a: _Atom, prev: _Atom) -> bool:
    """A prime set smaller than the script atom before it and right after it: that script's prime."""
    return a.text in ("′", "″", "'") and a.size < 0.95 * prev.size and a.x0 - prev.x1 < 0.3 * prev.size


def _limit(op: _Atom, cands: list[_Atom]) -> list[_Atom]:
    """The atoms of a limit under (or over) a big operator: those overlapping its width, and the
    atoms on their row that continue them without a gap (``j=1,...,d`` under a narrow ``max``)."""
    w = op.x1 - op.x0
    got = [a for a in cands if a.x1 > op.x0 - 0.1 * w and a.x0 < op.x1 + 0.1 * w]
    grew = bool(got)
    while grew:
        grew = False
        for a in cands:
            if a not in got and any(abs(a.base - g.base) < 0.3 * g.size and
                                    (0 <= a.x0 - g.x1 < 0.3 * g.size or 0 <= g.x0 - a.x1 < 0.3 * g.size) for g in got):
                got.append(a)
                grew = True
    return got


LIMIT_OFFSET = 0.3


def _side_limit(op: _Atom, cands: list[_Atom]) -> list[_Atom]:
    """A limit set beside its operator (``\\lim_{x\\to 1}`` in a text-style formula): smaller atoms
    starting right after it, below its baseline, on one baseline of their own. Told from the
    operator's own baseline, not the formula's (a line where scripts outnumber the letters)."""
    first = min((a for a in cands if -0.5 <= a.x0 - op.x1 <= 0.3 * op.size and a.base - op.base >= SCRIPT_SHIFT * op.size
                 and a.size < SCRIPT_MAX_SIZE * op.size), key=lambda a: a.x0, default=None)
    if first is None:
        return []
    got, end = [first], first.x1
    for a in sorted(cands, key=lambda a: a.x0):
        if a.x0 > first.x0 and abs(a.base - first.base) < 0.3 * first.size and -0.3 * first.size <= a.x0 - end < 0.3 * first.size \
                and a.size < SCRIPT_MAX_SIZE * op.size:
            got.append(a)
            end = max(end, a.x1)
    return got


def _atom_level(a: _Atom, size: float, base: float) -> int:
    small = a.size < SCRIPT_MAX_SIZE * size
    dy = a.base - base
    if small and dy <= -SCRIPT_SHIFT * size:
        return 1
    if small and dy >= SCRIPT_SHIFT * size:
        return -1
    return 0


def region_latex(spans: Sequence[dict[str, Any]], bars: Sequence[tuple[float, float, float]]) -> str:
    """LaTeX of one display formula from the spans of all its lines and the horizontal rules
    ``(x0, x1, y)`` drawn among them; an equation number at its right end becomes ``\\tag{n}``.
    Empty when a glyph has no Unicode (the formula's text is kept instead)."""
    ss = [s for s in spans if s.get("text")]
    if not ss or any(_UNREADABLE_RE.search(s["text"]) and not (
            _CMEX_FONT_RE.search(s.get("font", "")) and "\ufffd" in s["text"]) for s in ss):
        return ""
    atoms = _atoms(ss)
    if not atoms:
        return ""
    tag = ""
    last = max(atoms, key=lambda a: a.x1)
    m = _EQ_NUMBER_ONLY_RE.fullmatch(last.text)
    if m and len(atoms) > 1 and last.x0 - max(a.x1 for a in atoms if a is not last) > last.size:
        tag = r" \tag{" + m.group(1) + "}"
        atoms.remove(last)
    atoms, rules = _overbars(atoms, [b for b in bars if b[1] - b[0] >= BAR_MIN_LENGTH])
    atoms = _fracs_and_roots(atoms, rules)
    arrays = _arrays(atoms)
    if arrays is None or _stacked_rows(arrays):
        return ""  # rows that do not fall into columns, or one over another outside any structure: keep the text
    tex = _linear(arrays)
    return "" if "\ufffd" in tex else tex + tag  # an extension-font glyph left unidentified: keep the text


# Matrices and cases: rows of full-size glyphs inside a pair of tall delimiters (an extension-font
# glyph or a delimiter built of pieces), or right of a tall left brace alone, whose baselines lie
# at least ARRAY_ROW_GAP font sizes apart; a gap of ARRAY_COL_GAP font sizes between two glyph runs
# of a row separates columns (TeX: 2 \arraycolsep = 10 pt between matrix columns, a quad before a
# case's condition; spaces inside a cell are at most a thick space, 0.28 em).
ARRAY_ROW_GAP = 0.6
ARRAY_COL_GAP = 0.8
# A delimiter around rows is at least TeX's \\bigg size (2.4 em; \\Big, 1.8 em, holds one row with
# fractions), or built of pieces; one whose size is unknown (no glyph name or code) is not.
ARRAY_MIN_EM = 2.4
_MATRIX_ENVS = {"(": ("pmatrix", ")"), "[": ("bmatrix", "]"), "{": ("Bmatrix", "}"), "|": ("vmatrix", "|"),
                "‖": ("Vmatrix", "‖")}


def _stacked_rows(atoms: list[_Atom]) -> bool:
    """Full-size glyphs on two baselines ARRAY_ROW_GAP font sizes apart or more, one over the
    other, that no fraction, root, limit or array took: written left to right they would
    interleave (two rows of a display, a fraction whose bar was not found)."""
    plain = [a for a in atoms if not a.op and not a.ext]
    if len(plain) < 2:
        return False
    size, _ = _main_line(plain)
    rows = _rows(plain, size)
    if rows is None:
        return False
    full = [[a for a in r if a.size >= SCRIPT_MAX_SIZE * size] for r in rows]
    # a row holds a letter, a digit or a built piece (a sign alone is a symbol font's box off its baseline)
    spans = [(min(a.x0 for a in r), max(a.x1 for a in r)) for r in full
             if any(a.text == "\x00" or any(c.isalnum() for c in a.text) for a in r)]
    return any(min(a[1], b[1]) - max(a[0], b[0]) > size for i, a in enumerate(spans) for b in spans[i + 1:])


def _rows(content: list[_Atom], size: float) -> list[list[_Atom]] | None:
    """The rows of an array's atoms (each at least one full-size atom; script-size atoms go to
    the row whose baseline is nearest), top to bottom; None for fewer than two rows."""
    full = sorted((a for a in content if a.size >= SCRIPT_MAX_SIZE * size and not a.ext), key=lambda a: a.base)
    if not full:
        return None
    bases: list[list[float]] = [[full[0].base]]
    for a in full[1:]:
        if a.base - bases[-1][-1] > ARRAY_ROW_GAP * size:
            bases.append([a.base])
        else:
            bases[-1].append(a.base)
    if len(bases) < 2:
        return None
    mids = [sum(b) / len(b) for b in bases]
    rows: list[list[_Atom]] = [[] for _ in mids]
    for a in content:  # an extension-font glyph goes by its middle (its origin is its top)
        y = a.cy if a.ext else a.base
        rows[min(range(len(mids)), key=lambda k: abs(mids[k] - y))].append(a)
    return rows


def _cells(row: list[_Atom], size: float) -> list[list[_Atom]]:
    """A row's atoms cut into cells at gaps of ARRAY_COL_GAP font sizes, left to right."""
    cells: list[list[_Atom]] = []
    end = -1e9
    for a in sorted(row, key=lambda a: a.x0):
        if not cells or a.x0 - end >= ARRAY_COL_GAP * size:
            cells.append([a])
        else:
            cells[-1].append(a)
        end = max(end, a.x1)
    return cells


def _arrays(atoms: list[_Atom]) -> list[_Atom] | None:
    """Atoms with each matrix (rows between a pair of tall delimiters: ``pmatrix``, ``bmatrix``,
    ``Bmatrix``, ``vmatrix``, ``Vmatrix``) and each ``cases`` (rows right of a tall left brace
    with no right one: a value, then the rest of the row as its condition) rebuilt as one atom. None when such rows do not fall
    into the same columns (a matrix with an empty cell, misread rows): the formula keeps its text."""
    lefts = sorted((a for a in atoms if a.tall and a.text in _MATRIX_ENVS), key=lambda a: a.x0)
    if not lefts:
        return atoms
    size, base = _main_line([a for a in atoms if not a.op and a.text != "\x00"] or atoms)
    out = list(atoms)
    for left in lefts:
        if not any(a is left for a in out):
            continue
        env, closer = _MATRIX_ENVS[left.text]
        right = min((a for a in out if a.tall and a is not left and a.text == closer and a.x0 >= left.x1 - 0.5),
                    key=lambda a: a.x0, default=None)
        if right is None and left.text != "{":
            continue
        if right is None:
            env = "cases"
        stop = right.x0 + 0.5 if right is not None else 1e9
        content = [a for a in out if a is not left and a is not right and a.x0 >= left.x1 - 0.5 and a.x1 <= stop]
        if any(a.tall for a in content):
            continue  # tall delimiters inside: a bracketed expression, not rows of cells
        rows = _rows(content, size)
        if rows is None:
            continue
        cells = [_cells(r, size) for r in rows]
        if env == "cases":  # a value and its condition: the condition's words ("if  x > 0") are one cell
            cells = [c[:1] + ([[a for cell in c[1:] for a in cell]] if len(c) > 1 else []) for c in cells]
        n = max(len(c) for c in cells)
        if env != "cases" and any(len(c) != n for c in cells):
            return None
        body = r"\\".join("&".join(_linear(c) for c in row) for row in cells)
        members = [left, *content] + ([right] if right is not None else [])
        gone = set(map(id, members))
        rest = [a for a in out if id(a) not in gone and not a.op and not a.ext and a.text != "\x00"]
        # the array sits on the formula's baseline (the row of its left-hand side), not on one of its rows
        on = _main_line(rest)[1] if rest else base
        atom = _Atom((min(a.x0 for a in members), min(a.y0 for a in members), max(a.x1 for a in members),
                      max(a.y1 for a in members)), on, size, r"\begin{" + env + "}" + body + r"\end{" + env + "}")
        atom.text = "\x00"
        out = [a for a in out if id(a) not in gone] + [atom]
    return out


# A line joins a display formula's region when it overlaps the region's rows, or lies within
# REGION_GAP of its font size above or below it (a numerator, denominator or limit set on a line
# of its own), and within REGION_X_GAP font sizes of it horizontally; an equation number on the
# region's row joins from anywhere to its right.
REGION_GAP = 0.35
REGION_X_GAP = 1.5
# Pieces of one display formula on one row (display-equation lines) may lie this far apart in
# points (features.ROW_MAX_GAP: a formula MuPDF cut at a wide space).
REGION_ROW_GAP = 40.0
# A numerator or denominator starts within this share of its font size of its fraction bar.
BAR_REACH = 0.6


# A display operator's limit lies further from the formula's row than a numerator does (TeX sets
# it below the operator's depth): a short line in a script size under or over a member holding a
# big operator joins within this many font sizes.
LIMIT_GAP = 1.0
LIMIT_SIZE = 0.85
LIMIT_CHARS = 8
_BIG_OP_CHARS_RE = re.compile("[∑∏∫∮⋃⋂∐]")


def _limit_of(ln: Any, members: Sequence[Any], size: float) -> bool:
    """A short line set smaller than the formula, under or over one of its big operators."""
    if not 0 < ln.size < LIMIT_SIZE * size or len(ln.text.strip()) > LIMIT_CHARS:
        return False
    a0, a1 = ln.bbox[0], ln.bbox[2]
    return any(m.bbox[0] < a1 and a0 < m.bbox[2] and (_BIG_OP_CHARS_RE.search(m.text) or any(
        extension_font(sp.get("font", "")) for sp in getattr(m, "spans", None) or ())) for m in members)


_LETTERS_RE = re.compile(r"[A-Za-z]{3,}")
_OTHER_SCRIPT_RE = re.compile("[\u0400-\u1fff\u3000-\uffef]")  # Cyrillic ... CJK: prose, not math


def _few_words(text: str, math_words: frozenset[str]) -> bool:
    """No prose word: only Greek letters, Latin letters in runs of 1-2, digits, signs and
    operator names ("λmin" is a variable with its subscript)."""
    return not _OTHER_SCRIPT_RE.search(text) and not any(
        w.lower() not in math_words and not _math_word_run(w.lower(), math_words) for w in _LETTERS_RE.findall(text))


def _math_word_run(w: str, math_words: frozenset[str]) -> bool:
    """An operator name run into a variable or another name ("limx", "xlim": MuPDF joins a limit's
    line with its operator's): what is left once the operator names are taken out has no run of
    three letters."""
    names = [m for m in math_words if m in w]
    if not names:
        return False
    for m in sorted(names, key=len, reverse=True):
        w = w.replace(m, " ")
    return not _LETTERS_RE.search(w)


# Limits of a big operator: a line set smaller than LIMIT_SIZE of the formula, of at most
# OP_LIMIT_CHARS characters, right over or under the operator's glyph within OP_LIMIT_GAP of its
# size, joins whatever it holds (an equation line of its own: "i=1"). A
# TeX extension-font operator hangs from its origin (cmex10's display sum reaches 1.45 em below
# it, its integral 2.2 em) while MuPDF's box for it is the font's ascent and descent (0.04 / 0.6
# em): its foot is taken EXT_DEPTH below the origin.
OP_LIMIT_CHARS = 12
OP_LIMIT_GAP = 0.6
EXT_DEPTH = 1.45
_OP_CHARS_RE = re.compile("[∑∏∫∮⋃⋂∐⨁⨂]|^(lim|max|min|sup|inf|argmax|argmin)$")


def _op_spans(ln: Any) -> list[tuple[float, float, float, float, float]]:
    """(x0, x1, top, foot, size) of the big operators of a line: extension-font glyphs, operator
    signs and operator names."""
    out = []
    for s in ln.spans or ():
        t = (s.get("text") or "").strip()
        if not t:
            continue
        ext = bool(_CMEX_FONT_RE.search(s.get("font", "")))
        if ext or _OP_CHARS_RE.search(t):
            x0, y0, x1, y1 = s["bbox"]
            foot = max(y1, s["origin"][1] + EXT_DEPTH * s["size"]) if ext else y1
            out.append((x0, x1, y0, foot, s["size"]))
    return out


def _limit_line(ln: Any, ops: list[tuple[float, float, float, float, float]], size: float) -> bool:
    """A short line set small right over or under one of the formula's big operators (its limit)."""
    text = ln.text.strip()
    if not ops or not text or len(text) > OP_LIMIT_CHARS or not 0 < ln.size < LIMIT_SIZE * size:
        return False
    a0, b0, a1, b1 = ln.bbox
    for x0, x1, top, foot, sz in ops:
        pad = 0.3 * sz
        if a1 < x0 - pad or a0 > x1 + pad:
            continue
        if foot - 0.5 * (foot - top) <= b0 <= foot + OP_LIMIT_GAP * sz or top - OP_LIMIT_GAP * sz <= b1 <= top + 0.5 * (foot - top):
            return True
    return False


def _tall_openers(ln: Any) -> list[tuple[float, float, float]]:
    """(x1, top, foot) of the sized left delimiters of a line read from their font codes
    (with_font_codes): a matrix's or a cases' rows lie between top and foot."""
    out = []
    for s in ln.spans or ():
        em = s.get("delimiter_em", 0.0)
        if em >= ARRAY_MIN_EM and s.get("text") in _MATRIX_ENVS:
            out.append((s["bbox"][2], s["origin"][1], s["origin"][1] + em * s["size"]))
    return out


def _array_row(ln: Any, talls: list[tuple[float, float, float]], size: float) -> bool:
    """A line that is (a cell of) a row of a matrix or of cases: it starts right of a tall left
    delimiter of the formula and lies within the delimiter's height."""
    a0, b0, _, b1 = ln.bbox
    return any(a0 >= x1 - 0.5 and top - 0.5 * size <= b0 and b1 <= foot + 0.5 * size for x1, top, foot in talls)


# Words a condition of cases may hold besides its formula.
_CASE_WORDS_RE = re.compile(r"\b(if|otherwise|else|for|all|and|or|when|with|where|elsewhere|unless)\b", re.I)


def _extent(ln: Any) -> tuple[float, float, float, float]:
    """A line's box, reaching down to the foot of its tall delimiters (MuPDF's box of an
    extension-font glyph is the font's ascent and descent, not the glyph's)."""
    x0, y0, x1, y1 = ln.bbox
    spans = [s for s in ln.spans or () if (s.get("text") or "").strip()]
    text = [s for s in spans if not _CMEX_FONT_RE.search(s.get("font", ""))]
    if text and len(text) < len(spans):  # an extension font's box is its font's (MathTime's reach 3 em)
        y0, y1 = min(s["bbox"][1] for s in text), max(s["bbox"][3] for s in text)
    for _, top, foot in _tall_openers(ln):
        y0, y1 = min(y0, top), max(y1, foot)
    return x0, y0, x1, y1


def display_regions(seeds: Sequence[Any], lines: Sequence[Any], math_words: frozenset[str],  # noqa: C901
                    words: Callable[[Any], str] | None = None,
                    bars: Sequence[tuple[float, float, float]] = ()) -> list[list[Any]]:
    """The lines each display-equation line in ``seeds`` is built from (itself first): lines
    with ``bbox``, ``text``, ``size`` and ``eq``. A line belongs to one region at most, the one
    of the display line nearest to it vertically, or, for a line right over or under a fraction
    bar of ``bars`` (x0, x1, y), the one of the display line the bar crosses (rows of a
    derivation set close: a denominator lies nearer the next row than its own); another
    display-equation line joins only when it shares the region's row (a formula MuPDF cut) or
    is such a denominator. ``words(line)`` is the part of a line's text that may hold prose words
    (default: all of it; ``features.prose_text`` leaves out math-font spans, whose letter runs
    are variables and indices)."""
    seed_ids = {id(ln) for ln in seeds}
    anchors = [ln for ln in lines if ln.eq] + [ln for ln in seeds if not ln.eq]
    extents: dict[int, tuple[float, float, float, float]] = {}

    def extent(ln: Any) -> tuple[float, float, float, float]:
        got = extents.get(id(ln))
        if got is None:
            got = extents[id(ln)] = _extent(ln)
        return got

    nearest: dict[int, int] = {}
    owner: dict[int, int] = {}

    def bar_owner(ln: Any) -> int:  # id() of the equation line a fraction bar right over or under a line crosses
        got = owner.get(id(ln))
        if got is not None:
            return got
        got, cx = 0, (ln.bbox[0] + ln.bbox[2]) / 2
        for bx0, bx1, by in bars:
            if bx0 - 1 <= cx <= bx1 + 1 and (0 <= ln.bbox[1] - by <= BAR_REACH * ln.size
                                               or 0 <= by - ln.bbox[3] <= BAR_REACH * ln.size):
                owners = [sd for sd in anchors if sd is not ln and sd.bbox[1] <= by <= sd.bbox[3]
                          and sd.bbox[0] < bx1 and sd.bbox[2] > bx0]
                if owners:
                    got = id(min(owners, key=lambda sd: abs((sd.bbox[1] + sd.bbox[3]) / 2 - by)))
                    break
        owner[id(ln)] = got
        return got

    def near(ln: Any) -> int:  # id() of the equation line nearest to a line (vertical centres), among those beside it
        got = nearest.get(id(ln)) or bar_owner(ln)
        if got:
            return got
        ext = extent(ln)
        cy = (ext[1] + ext[3]) / 2
        best, arg = 1e9, 0
        for sd in anchors:
            if sd.bbox[0] - REGION_X_GAP * sd.size * 4 < ln.bbox[2] and ln.bbox[0] < sd.bbox[2] + REGION_X_GAP * sd.size * 4:
                d = abs((sd.bbox[1] + sd.bbox[3]) / 2 - cy)
                if d < best:
                    best, arg = d, id(sd)
        nearest[id(ln)] = arg
        return arg

    taken: set[int] = set()
    out: list[list[Any]] = []
    # rows of a matrix or of cases that are equation lines of their own ("x ≥ 0") come last: the
    # formula's main row, whose region takes the delimiter, takes them first
    all_talls = [t for ln in lines for t in _tall_openers(ln)]
    for seed in sorted(seeds, key=lambda ln: (_array_row(ln, all_talls, max(ln.size, 1.0)), ln.bbox[1], ln.bbox[0])):
        if id(seed) in taken:
            continue
        taken.add(id(seed))
        members = [seed]
        ops = _op_spans(seed)
        talls = _tall_openers(seed)
        x0, y0, x1, y1 = extent(seed)
        size = max(seed.size, 1.0)
        reach = 6 * size  # lines further than this above or below cannot join (a formula's rows are close)
        near_lines = [ln for ln in lines if ln.bbox[3] > y0 - reach and ln.bbox[1] < y1 + reach]
        grew = True
        while grew:
            grew = False
            for ln in near_lines:
                if id(ln) in taken or not ln.text.strip():
                    continue
                a0, b0, a1, b1 = extent(ln)
                overlap = min(b1, y1) - max(b0, y0)
                h = max(min(b1 - b0, y1 - y0), 1.0)
                same_row = overlap >= 0.5 * h
                text = ln.text.strip()
                number = same_row and a0 > x1 and _EQ_NUMBER_ONLY_RE.fullmatch(text)
                if number or _limit_line(ln, ops, size) or (_array_row(ln, talls, size) and a0 <= x1 + REGION_ROW_GAP
                                                            and len(text) <= 60 and _few_words(
                        _CASE_WORDS_RE.sub(" ", words(ln) if words else text), math_words)):
                    pass
                elif a0 > x1 + (gap := REGION_ROW_GAP if ln.eq and same_row else REGION_X_GAP * size) \
                        or a1 < x0 - gap:
                    continue
                elif ln.eq and not same_row and bar_owner(ln) != id(seed):
                    continue  # another display row of a derivation, or an equation line of its own
                elif not (overlap > 0 or -overlap <= REGION_GAP * size
                          or (-overlap <= LIMIT_GAP * size and _limit_of(ln, members, size))) or not _few_words(words(ln) if words else text, math_words) \
                        or len(text) > 60 or (id(ln) not in seed_ids and not same_row and near(ln) != id(seed)):
                    continue
                taken.add(id(ln))
                members.append(ln)
                ops.extend(_op_spans(ln))
                talls.extend(_tall_openers(ln))
                if not number:  # the number's box does not widen the formula
                    x0, y0, x1, y1 = min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)
                grew = True
        out.append(members)
    return out
