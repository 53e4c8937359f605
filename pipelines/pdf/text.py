"""Character-level analysis and repair of page text: math code points, garbled-text score,
Symbol-font Latin letters standing for Greek, ligatures and end-of-line hyphenation."""

from __future__ import annotations

import re
import unicodedata

# Mathematical code points: Greek, letterlike symbols, arrows, mathematical operators, misc
# technical, math alphanumerics, supplemental operators/arrows, miscellaneous math symbols.
_MATH_RANGES = (
    "\u0391-\u03a9\u03b1-\u03c9\u03d1\u03d5\u03d6\u03f0\u03f1\u03f5"
    "\u2102\u2107-\u2113\u2115\u2118-\u211d\u2124\u2128\u212c\u212d\u212f-\u2131\u2133-\u2138"
    "\u2190-\u21ff\u2200-\u22ff\u2308-\u230b\u27c0-\u27ef\u27f0-\u27ff\u2900-\u297f"
    "\u2980-\u29ff\u2a00-\u2aff\U0001d400-\U0001d7ff"
    "\u00b1\u00d7\u00f7\u00ac\u00b7\u2032-\u2034\u2016"
)
MATH_CHAR_RE = re.compile(f"[{_MATH_RANGES}]")
# Fonts whose glyphs are mathematics (TeX's Computer Modern math, AMS, newtx/txfonts, STIX,
# Cambria Math, Symbol, MathType's MT Extra, Mathematica, Euclid, Lucida Math, MathTime
# (MTMI/MTSY/MTEX, and RMTMI as Neural Networks embeds it), txfonts/pxfonts (rtxmi, rpxmi),
# Linotype's Mathematical Pi, the Advent "AdvMath*" fonts that Elsevier's typesetting embeds,
# Aries' "TeX_CM_Maths_*" (PLOS ONE), esint, and the OpenType math fonts of TeX Gyre, STIX Two
# and Libertinus).
MATH_FONT_RE = re.compile(
    r"(^|[+_-])(CMMI|CMSY|CMEX|CMBSY|CMMIB|MSAM|MSBM|EUFM|EUSM|RSFS|LMMATH|TXSY|TXBSY|TXEX|PXSY|PXEX|"
    r"R?TXMI|R?PXMI|NTXMI|NTXSY|NewTXMI|NewTXSY|R?MTMI|MTSY|MTEX|MathematicalPi|MathPi|AdvMath|TeX_CM_Maths|"
    r"STIXMath|STIXTwoMath|STIXGeneral-Italic|STIXSizeOne|STIXNonUnicode|CambriaMath|Cambria-Math|esint|"
    r"TeXGyre\w*Math|LibertinusMath|"
    r"Symbol|MTExtra|MT-Extra|Mathematica|Euclid|LucidaMath|MathJax|XITSMath|LatinModernMath)",
    re.IGNORECASE,
)
# Characters that a math font cannot mean: Latin-1 letters and signs (other than the math signs
# ± × ÷ ¬ · µ ° and the superscript digits) and control codes. They appear when a math font is
# embedded without a usable ToUnicode map, so the text layer says "Q% Z a C ðPÞ" for
# "Q = a C (P)": the formula is there but its text is wrong, and only a parser that looks at the
# glyphs can read it.
MISENCODED_MATH_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\u00a1-\u00a9\u00ab\u00ae\u00af\u00b4\u00b6"
                                "\u00b8\u00ba-\u00d6\u00d8-\u00f6\u00f8-\u00ff]")
SYMBOL_FONT_RE = re.compile(r"(^|[+_-])(Symbol|SymbolMT|Symbol-)(?!s)", re.IGNORECASE)  # not "..._Symbols" (below)

# Aries (PLOS ONE's typesetter) embeds TeX's cmsy as "TeX_CM_Maths_Symbols" without a usable
# ToUnicode map, with glyphs of its own added: MuPDF reports the font's codes, OMS's for cmsy's
# glyphs (j for |, f g for { }, 2 for ∈, 8 9 for ∀ ∃, [ for ∪, ^ for ∧, n for \) and Latin-1
# ones for the additions (ð Þ for the parentheses, ¼ for =, þ for +, ½ for [), each checked
# against the rendered glyphs of a PLOS ONE paper. Its codes below 0x20 (minus, ≥ ...) come out
# as U+FFFD and stay unreadable.
TEXCM_SYMBOLS_FONT_RE = re.compile(r"(^|[+_-])TeX_CM_Maths_Symbols", re.IGNORECASE)
_OMS_CODES = dict(zip("012345689", "′∞∈∋△▽/∀∃", strict=True))
_OMS_CODES.update(zip("abcdefghijklmnopqrstuvwxyz", "⊣⌊⌋⌈⌉{}⟨⟩|‖↕⇕\\≀√⨿∇∫⊔⊓⊑⊒§†‡", strict=True))
_OMS_CODES.update(zip("[\\]^_", "∪∩⊎∧∨", strict=True))
_TEXCM_SYMBOLS = str.maketrans({**_OMS_CODES, "ð": "(", "Þ": ")", "¼": "=", "þ": "+", "½": "["})

# Adobe Symbol encoding: ASCII letters in a Symbol-font span stand for Greek (PyMuPDF reports
# the font's codes when the PDF lacks a ToUnicode map, giving "a b g" for "alpha beta gamma").
_SYMBOL_ENCODING = {
    "a": "α", "b": "β", "c": "χ", "d": "δ", "e": "ε", "f": "φ", "g": "γ", "h": "η", "i": "ι",
    "j": "ϕ", "k": "κ", "l": "λ", "m": "μ", "n": "ν", "o": "ο", "p": "π", "q": "θ", "r": "ρ",
    "s": "σ", "t": "τ", "u": "υ", "v": "ϖ", "w": "ω", "x": "ξ", "y": "ψ", "z": "ζ",
    "A": "Α", "B": "Β", "C": "Χ", "D": "Δ", "E": "Ε", "F": "Φ", "G": "Γ", "H": "Η", "I": "Ι",
    "J": "ϑ", "K": "Κ", "L": "Λ", "M": "Μ", "N": "Ν", "O": "Ο", "P": "Π", "Q": "Θ", "R": "Ρ",
    "S": "Σ", "T": "Τ", "U": "Υ", "V": "ς", "W": "Ω", "X": "Ξ", "Y": "Ψ", "Z": "Ζ",
}
SYMBOL_TO_GREEK = str.maketrans(_SYMBOL_ENCODING)

# The rest of Adobe's Symbol encoding (codes 0x20-0xFE; letters above). A Symbol font set from
# Word carries a (3,0) "symbol" cmap, whose codes sit at U+F000 + code, and its ToUnicode map
# often gives those Private Use code points ("=" as U+F03D, alpha as U+F061): they are read back
# through the encoding. The extension pieces of tall delimiters map to Unicode's pieces (which
# mathtex reads as the delimiter); the radical and arrow extenders are nothing.
_SYMBOL_CODES: dict[int, str] = {c: chr(c) for c in range(0x20, 0x7F)}
_SYMBOL_CODES.update({ord(k): v for k, v in _SYMBOL_ENCODING.items()})
_SYMBOL_CODES.update(zip(b'"$\'*-@\\^`~', "∀∃∋∗−≅∴⊥\u203e∼", strict=True))
_SYMBOL_CODES.update(enumerate(
    "€ϒ′≤⁄∞ƒ♣♦♥♠↔←↑→↓°±″≥×∝∂•÷≠≡≈…\u23d0\u23af↵ℵℑℜ℘⊗⊕∅∩∪⊃⊇⊄⊂⊆∈∉∠∇®©™∏√⋅¬∧∨⇔⇐⇑⇒⇓"
    "◊⟨®©™∑⎛⎜⎝⎡⎢⎣⎧⎨⎩⎪\uf8ff⟩∫⌠⎮⌡⎞⎟⎠⎤⎥⎦⎫⎬⎭", 0xA0))
for _c in (0x60, 0xBD, 0xBE):  # radical extender, arrow extenders: no character of their own
    _SYMBOL_CODES[_c] = ""
_SYMBOL_PUA = {0xF000 + c: v for c, v in _SYMBOL_CODES.items() if c != 0xF0}
_SYMBOL_PUA_RE = re.compile("[\uf020-\uf0fe]")

LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st", "\u0132": "IJ", "\u0133": "ij", "\u0152": "OE", "\u0153": "oe",
}
_LIG_RE = re.compile("[" + "".join(LIGATURES) + "]")

# Code points that mean "the glyph had no Unicode mapping" or binary junk.
_BAD_CHAR_RE = re.compile("[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# UTF-8 decoded as cp1252/latin-1 (classic mojibake): Ã©, â€™, Â , Ã¼ ...
_MOJIBAKE_RE = re.compile("(?:Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u02c6\u2018-\u203a]"
                          "|â€[\u0080-\u00bf\u2018-\u203a\u2122\u0153\u0161\u017e]?|Â[\u00a0-\u00bf])")
_CID_RE = re.compile(r"\(cid:\d+\)")


def math_char_count(text: str) -> int:
    return len(MATH_CHAR_RE.findall(text))


def is_math_font(font: str) -> bool:
    return bool(MATH_FONT_RE.search(font))


def is_symbol_font(font: str) -> bool:
    return bool(SYMBOL_FONT_RE.search(font))


def is_texcm_symbols_font(font: str) -> bool:
    return bool(TEXCM_SYMBOLS_FONT_RE.search(font))


def texcm_symbols_to_unicode(text: str) -> str:
    """The characters of a "TeX_CM_Maths_Symbols" span from the codes MuPDF reports."""
    return text.translate(_TEXCM_SYMBOLS)


def symbol_pua_to_unicode(text: str) -> str:
    """A Symbol-font span's Private Use code points (U+F000 + Symbol code) as Unicode."""
    return text.translate(_SYMBOL_PUA) if _SYMBOL_PUA_RE.search(text) else text


def symbol_latin_to_greek(text: str) -> str:
    """Repair a Symbol-font span whose letters came out as Latin."""
    return text.translate(SYMBOL_TO_GREEK)


def bad_char_count(text: str) -> int:
    """Unmapped glyphs (U+FFFD, private use), control characters, mojibake, (cid:N) codes."""
    n = len(_BAD_CHAR_RE.findall(text))
    n += sum(len(m) for m in _MOJIBAKE_RE.findall(text))
    n += sum(len(m) for m in _CID_RE.findall(text))
    return n


# Junk: 5+ ASCII letters without a vowel ("rnnst"), or the OCR confusions l/1 and O/0 inside a
# lowercase word ("l1l", "rn0del", "d0ne"); chemical formulas and indices (H2O, CO2, x1) are not junk.
_NO_VOWEL_RE = re.compile(r"^[^A-Za-z]*[B-DF-HJ-NP-TV-XZb-df-hj-np-tv-xz]{5,}[^A-Za-z]*$")
_MIXED_RE = re.compile(r"[a-z][01][a-z]")
_CONSONANT_RUN_RE = re.compile(r"[B-DF-HJ-NP-TV-XZb-df-hj-np-tv-xz]{5}")
# The same rules as whole-text scans (one C-level pass each instead of a Python loop over
# tokens): tokens holding a Latin letter, and tokens matching _NO_VOWEL_RE or _MIXED_RE.
_LATIN_TOKEN_RE = re.compile(r"[^\s|]*[A-Za-z][^\s|]*")
_JUNK_TOKEN_RE = re.compile(
    r"(?<![^\s|])(?:[^A-Za-z\s|]*[B-DF-HJ-NP-TV-XZb-df-hj-np-tv-xz]{5,}[^A-Za-z\s|]*(?![^\s|])"
    r"|[^\s|]*?[a-z][01][a-z][^\s|]*)")


def junk_token_share(text: str) -> float:
    """Share of Latin-letter tokens that no language writes: no vowel in 5+ letters ("rnnst"), or
    a 0/1 digit inside a lowercase word ("l1l", "rn0del").
    Noisy OCR layers and wrong font encodings produce these; real prose stays under ~5%.
    Markdown table pipes separate cells, they are not part of words.

    Runs on every page: the token scans (the costly part) run only when a cheap search finds a
    run of 5 consonants or a 0/1 between lowercase letters, without which no token is junk."""
    if not (_CONSONANT_RUN_RE.search(text) or _MIXED_RE.search(text)):
        return 0.0
    junk = len(_JUNK_TOKEN_RE.findall(text))
    if not junk:
        return 0.0
    n = len(_LATIN_TOKEN_RE.findall(text))
    return junk / n if n >= 20 else 0.0


# Weight of the junk-token share in the garbled score: a junk token is weaker evidence than an
# unmapped glyph (abbreviations, identifiers and formulas produce some).
JUNK_TOKEN_WEIGHT = 0.5


def visible_chars(text: str) -> int:
    """Characters other than whitespace (str.split's notion of whitespace, done in C)."""
    return len("".join(text.split()))


def text_scores(text: str) -> tuple[int, int, float]:
    """(visible characters, bad characters, garble score) of one text, each computed once."""
    visible = visible_chars(text)
    if visible == 0:
        return 0, 0, 0.0
    bad = bad_char_count(text)
    return visible, bad, min(1.0, bad / visible + JUNK_TOKEN_WEIGHT * junk_token_share(text))


def garble_score(text: str) -> float:
    """0 = clean text, 1 = nothing readable. Share of bad characters plus weighted junk tokens."""
    return text_scores(text)[2]


_LATIN_WORD_RE = re.compile(r"[A-Za-z]{2,}")
_VOWELS = frozenset("aeiouyAEIOUY")
# OCR nonsense (handwriting, a script the OCR language does not cover, noise read as letters)
# comes out as short capital-letter runs without vowels ("RNMBSR HSB MMS"): 24-29% of its
# Latin words of 2+ letters have no vowel, against 0-3.5% on docling's ground-truth pages
# (units such as "mm", "Hz" and acronyms make up that share; bench/pdf_structure.py's OCR
# pages). The share above this baseline counts, weighted like the junk tokens; only texts of at
# least OCR_NONSENSE_MIN_WORDS such words are judged.
OCR_NONSENSE_BASELINE = 0.08
OCR_NONSENSE_MIN_WORDS = 40


def ocr_nonsense_score(text: str) -> float:
    """0 for readable text; grows with the share of vowel-less Latin words above the baseline
    (see OCR_NONSENSE_BASELINE). For OCR output and hidden OCR layers, where a wrong language
    or handwriting produces letters that spell nothing."""
    words = _LATIN_WORD_RE.findall(text)
    if len(words) < OCR_NONSENSE_MIN_WORDS:
        return 0.0
    novowel = sum(1 for w in words if _VOWELS.isdisjoint(w))
    return max(0.0, novowel / len(words) - OCR_NONSENSE_BASELINE)


def ocr_garble_score(text: str) -> float:
    """garble_score plus ocr_nonsense_score: the garble test for OCR text."""
    return min(1.0, garble_score(text) + ocr_nonsense_score(text))


def fix_ligatures(text: str) -> str:
    return _LIG_RE.sub(lambda m: LIGATURES[m.group(0)], text)


_HYPHENS = "-\u00ad\u2010"


def join_lines(lines: list[str]) -> str:
    """Join the lines of one paragraph, undoing end-of-line hyphenation ("exam-" + "ple"): a
    soft/hard hyphen after a letter or digit at a line end, before a lowercase word.
    Linear in the paragraph's length (pieces joined once, only the tail looked at)."""
    parts: list[str] = []
    tail = ""  # the last two characters joined so far
    for ln in lines:
        ln = ln.strip()
        if not ln:
            continue
        if not parts:
            parts.append(ln)
            tail = ln[-2:]
        elif len(tail) == 2 and tail[1] in _HYPHENS and (tail[0].isalnum() or tail[0] == "_") \
                and ln[:1].islower():
            parts[-1] = parts[-1][:-1]
            parts.append(ln)
            tail = (tail[0] + ln)[-2:]
        else:
            parts.append(" ")
            parts.append(ln)
            tail = (" " + ln)[-2:]
    out = "".join(parts)
    return out.replace("\u00ad", "") if "\u00ad" in out else out


def normalize_text(text: str) -> str:
    """Unicode NFC, ligatures expanded, odd spaces made plain."""
    if not text.isascii():
        text = fix_ligatures(unicodedata.normalize("NFC", text))
    return text.replace("\u00a0", " ").replace("\u2009", " ").replace("\u200b", "")
