"""Cheap per-page features from PyMuPDF, computed from ONE text extraction that the cheap
markdown parser then reuses (so the features cost little beyond plain text extraction)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from sciforge.pipelines.pdf import mathtex
from sciforge.pipelines.pdf import text as T

# Text extraction flags: ligatures expanded by MuPDF, whitespace kept, clipped to the page box,
# no image payloads (images are measured separately without decoding them), and the page's
# vector paths collected in the same pass (TEXT_COLLECT_VECTORS: their boxes give the ruling
# lines of tables and the drawn figures, which otherwise cost a second content-stream pass,
# ``get_cdrawings``, ~as much as the text itself). MuPDF then starts a new text block (and
# line) after every path; ``_merge_vector_splits`` joins those pieces back.
_BLOCK_TEXT = 0
_BLOCK_VECTOR = 3
# MuPDF's per-character flags (``char_flags`` of a span): FZ_STEXT_FILLED | FZ_STEXT_STROKED.
_PAINTED = 16 | 32
# A straight rule: at most this thick (points) and at least this long (horizontal/vertical).
RULE_MAX_THICKNESS = 2.0
HRULE_MIN_LENGTH = 20.0
VRULE_MIN_LENGTH = 8.0


def text_flags() -> int:
    import pymupdf

    return ((pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP | pymupdf.TEXT_COLLECT_VECTORS)
            & ~pymupdf.TEXT_PRESERVE_LIGATURES)


@dataclass(slots=True)
class Line:
    """One text line, its spans folded into what the markdown renderer and the router use."""

    text: str
    bbox: tuple[float, float, float, float]
    size: float = 0.0  # largest font size of its non-blank spans (0: blank line)
    bold: bool = False  # every non-blank span bold
    mono: bool = False  # every non-blank span monospace
    math_font: bool = False  # some span in a math font
    script: bool = False  # some span set as a super/subscript (MuPDF's flag, or smaller than the line)
    italic: bool = False  # some non-blank span italic
    eq: bool = False  # a display-equation line (is_equation_line)
    # The line's raw spans (PyMuPDF dicts, Symbol letters repaired; a reference, no copy): the
    # LaTeX builder (mathtex.py) reads them for lines with scripts or equations.
    spans: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class Block:
    lines: list[Line]
    bbox: tuple[float, float, float, float]
    text: str = ""  # the lines' text, newline-joined once


@dataclass(frozen=True, slots=True)
class FontInfo:
    math: bool
    symbol: bool
    bold: bool
    mono: bool
    texcm_symbols: bool = False  # text.TEXCM_SYMBOLS_FONT_RE: a cmsy whose codes MuPDF reports


_FONT_CACHE: dict[tuple[str, int], FontInfo] = {}


def font_info(font: str, flags: int) -> FontInfo:
    """What a font name (and PyMuPDF's span flags) says; cached: a page has few distinct fonts
    and a corpus a few thousand, but spans number in the hundreds per page."""
    key = (font, flags & 24)
    fi = _FONT_CACHE.get(key)
    if fi is None:
        low = font.lower()
        fi = FontInfo(T.is_math_font(font), T.is_symbol_font(font), bool(flags & 16) or "bold" in low,
                      bool(flags & 8) or "mono" in low or "courier" in low or "consolas" in low,
                      T.is_texcm_symbols_font(font))
        if len(_FONT_CACHE) < 100_000:
            _FONT_CACHE[key] = fi
    return fi


@dataclass
class PageFeatures:
    """What the router sees. All shares are in [0, 1]."""

    width: float = 0.0
    height: float = 0.0
    rotation: int = 0
    text_chars: int = 0  # non-space characters of the text layer
    text_blocks: int = 0
    text_lines: int = 0  # text lines with visible content (the denominator of the display-equation density)
    body_size: float = 10.0  # most common font size, weighted by characters (0.5 pt bins)
    fonts: list[str] = field(default_factory=list)  # distinct font names, sorted
    math_font_chars: int = 0
    math_font_share: float = 0.0
    math_chars: int = 0  # mathematical code points (operators, Greek, math alphanumerics ...)
    math_char_share: float = 0.0
    symbol_latin_chars: int = 0  # Symbol-font Latin letters repaired to Greek
    equation_lines: int = 0  # lines that look like display equations (see is_equation_line), not in figures
    # Display equations: rows of equation lines (the pieces of one formula side by side, which
    # MuPDF may return as several lines, count once; each row of a multi-line derivation counts).
    display_equations: int = 0
    figure_equation_lines: int = 0  # equation-like lines inside a drawn figure (labels, not counted above)
    # Equation numbers "(12)" alone on their row (no text to their left in the column): formulas
    # set as images or outlines, missing from the text layer; each counts as a display equation.
    equation_numbers: int = 0
    misencoded_math_lines: int = 0  # lines with math-font glyphs that have no usable Unicode (text wrong)
    bad_chars: int = 0
    garble_score: float = 0.0
    # Images placed on the page and the share of its area under them (union bound by page); -1
    # when not measured (a sound text layer: no image rule of the router can apply).
    image_count: int = 0
    image_coverage: float = 0.0
    drawing_paths: int = 0
    hlines: int = 0
    vlines: int = 0
    # Share of text-layer characters that render (filled or stroked, not fully transparent): a
    # scan with a hidden OCR layer (render mode 3) scores ~0, a born-digital page 1. From the
    # same text extraction (MuPDF's per-character flags), no second pass.
    visible_text_ratio: float = 1.0
    tables: int = 0
    grid_bbox: list[float] = field(default_factory=list)  # union of the ruling lines (table search area)
    grid_crossings: int = 0  # crossings of horizontal and vertical rules (a ruled table has many)

    # Boxes of the equation lines (for the figure test in add_graphics_features); not serialised.
    equation_boxes: list[tuple[float, float, float, float]] = field(default_factory=list, repr=False)
    number_boxes: list[tuple[float, float, float, float]] = field(default_factory=list, repr=False)  # idem
    # The page's vector paths from the text extraction: (x0, y0, x1, y1, stroked, is_rect); None
    # when the text page did not collect them (add_graphics_features then asks get_cdrawings).
    vectors: list[tuple[float, float, float, float, bool, bool]] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for k in _FEATURE_FIELDS:
            v = getattr(self, k)
            d[k] = round(v, 4) if isinstance(v, float) else list(v) if isinstance(v, list) else v
        return d


_FEATURE_FIELDS = tuple(f.name for f in fields(PageFeatures)
                        if f.name not in ("equation_boxes", "number_boxes", "vectors"))


_RELATION_RE = re.compile("[=<>≤≥≈≡∝∼≃≅→←⇒⇔∈⊂⊆]")
_PROSE_WORD_RE = re.compile(r"[^\W\d_]{3,}")
# Operator names set upright in formulas: words, but not prose.
MATH_WORDS = frozenset("sin cos tan cot sec csc sinh cosh tanh log ln exp max min sup inf lim det arg mod "
                       "ker dim deg gcd lcm sgn diag rank var cov softmax argmax argmin erf trace".split())
# A display equation has at most this many prose words ("where", "for all" ...).
EQUATION_MAX_PROSE_WORDS = 3


# A relation sign alone on its line: the middle column of an aligned derivation (eqnarray,
# align), which MuPDF returns apart from both sides; prose never sets one alone.
_RELATION_ONLY_RE = re.compile("(?:=|:=|=:|<|>|≤|≥|≈|≡|≃|≅|∝)")
# A short left-hand side and its relation sign alone on a line ("Θ =", "f(x) ="): a display
# formula MuPDF cut where its right-hand side is stacked (a fraction); prose lines do not end so.
_LHS_ONLY_RE = re.compile(r"[^\s=<>]{1,5}\s?(?:=|:=|≡|≈|∝)")


def is_equation_line(line: Line) -> bool:
    """A line set (partly) in a math font or with math code points, with a relation sign and
    (almost) no prose words: "a2 + 8 = 12" in CMMI/CMR, "E = mc2", "x ∈ A ⇒ f(x) ≤ 1"; or a
    relation sign alone (the "=" column of an aligned derivation)."""
    text = line.text
    if len(text) <= 4 and _RELATION_ONLY_RE.fullmatch(text.strip()):
        # not the codes of a math extension font's delimiter pieces ("<" ">" of a tall brace)
        return not (line.spans and all(mathtex.extension_font(s["font"]) for s in line.spans if s["text"].strip()))
    if len(text) <= 8 and _LHS_ONLY_RE.fullmatch(text.strip()) and not _PROSE_WORD_RE.search(text):
        return True
    if len(text) > 200 or not _RELATION_RE.search(text):
        return False
    # One arrow or Greek letter in a line is common in prose and CJK lists ("A → B"): without a
    # math font, ask for two math code points, or one with a script or an italic variable
    # ("e^iπ + 1 = 0" in Times + Symbol), or a script on an italic variable ("E = mc^2" in
    # Times-Italic): math set in text fonts, which a font-name test cannot see.
    if not line.math_font:
        n_math = len(T.MATH_CHAR_RE.findall(text))
        if not (n_math >= 2 or (n_math and (line.script or line.italic)) or (line.script and line.italic)):
            return False
    prose = _prose_words(text)
    if prose > EQUATION_MAX_PROSE_WORDS and line.math_font and line.spans:
        # letters set in a math font are variables and their indices ("pjrt" is p with the
        # subscript jrt in CMMI), not prose words: count the words of the other spans only
        prose = _prose_words(prose_text(line))
    return prose <= EQUATION_MAX_PROSE_WORDS and not _relations_enclosed(text)


# Two-letter function words: half a prose word each ("x = 0 if y < 0" stays an equation line,
# "F(y) is a nondecreasing function of y. If y1 < y2, then ..." is a sentence).
_FUNCTION_WORD_RE = re.compile(r"\b(?:is|of|if|in|on|to|be|as|at|by|or|an|we|it)\b", re.IGNORECASE)


def _prose_words(text: str) -> float:
    return sum(1 for w in _PROSE_WORD_RE.findall(text) if w.lower() not in MATH_WORDS) \
        + 0.5 * len(_FUNCTION_WORD_RE.findall(text))


_OPERATOR_RE = re.compile("[+\u2212×·/*^-]")


def _italic_formula(line: Line) -> bool:
    """A line of variables in an italic text font, a relation and an operator, and no prose word
    ("y = a + bx" as Word sets it in Times-Italic): an equation line when an equation number
    stands on its row (extract_blocks), which prose and table cells do not have."""
    text = line.text
    return (len(text) <= 120 and bool(_RELATION_RE.search(text)) and bool(_OPERATOR_RE.search(text))
            and any(c.isalpha() for c in text) and _prose_words(text) == 0 and not _relations_enclosed(text))


def _relations_enclosed(text: str) -> bool:
    """Every relation sign of the line lies inside parentheses, and the line opens or closes one
    it does not match (a wrapped line of prose or data: "29), 3.20 (1H, dd, J=11.5, 5.03 Hz, H-3),
    2.36"): a display formula sets its relation at the top level."""
    if "(" not in text and ")" not in text:
        return False
    depth, low, marks = 0, 0, []
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            low = min(low, depth)
        elif _RELATION_RE.match(c):
            marks.append(depth)
    # a relation is enclosed when it sits deeper than the line's lowest level (the closing
    # parenthesis of an opening on the line before counts as one level out)
    return depth != 0 and bool(marks) and all(m > low for m in marks)


def prose_text(line: Line) -> str:
    """The line's text with its math-font spans blanked out: where its prose words can be."""
    if not line.math_font or not line.spans:
        return line.text
    return "".join(" " if font_info(s["font"], s["flags"]).math else s["text"] for s in line.spans if s["text"])


# Two equation lines are one display equation when they overlap vertically by at least this
# share of the lower one's height and lie within ROW_MAX_GAP points of each other horizontally
# (a formula MuPDF cut at a fraction bar or a wide space; not the next column's formula).
ROW_MIN_OVERLAP = 0.5
ROW_MAX_GAP = 40.0


# Limits of sums and integrals: equation lines at most this many characters long, set in less
# than this share of the body font size (TeX sets limits in \scriptstyle, 70% of the text size).
LIMIT_MAX_CHARS = 8
LIMIT_MAX_SIZE = 0.85
# An equation number: "(12)", "(3a)", "(A.4)", "(2.17)".
_EQ_NUMBER_RE = re.compile(r"\(\s*(?:[A-Z]\.)?\d{1,3}(?:\.\d{1,3})?[a-z]?\s*\)")
# Text to the left of an equation number within this share of the page width (its column) means
# the number ends a line of text or a table row, not a display equation.
EQ_NUMBER_BAND = 0.4


def lone_equation_numbers(numbers: list[tuple[float, float, float, float]],
                          lines: list[tuple[float, float, float, float]], page_width: float
                          ) -> list[tuple[float, float, float, float]]:
    """The equation-number boxes with no other text line on their row within EQ_NUMBER_BAND of
    the page width to their left: the number of a display equation whose formula the text layer
    lacks (an image or outlines, as some IEEE/Word PDFs set them). A formula with text is an
    equation line on that row already, and prose or table cells on the row veto the number."""
    out = []
    for nb in numbers:
        x0, y0, _, y1 = nb
        band = x0 - EQ_NUMBER_BAND * page_width
        h = max(y1 - y0, 1.0)
        if not any(b is not nb and b[2] > band and b[0] < x0
                   and min(b[3], y1) - max(b[1], y0) >= ROW_MIN_OVERLAP * min(h, b[3] - b[1]) for b in lines):
            out.append(nb)
    return out


def equation_rows(boxes: list[tuple[float, float, float, float]]) -> int:
    """Number of display equations among equation-line boxes (side-by-side pieces joined)."""
    rows: list[list[float]] = []
    for x0, y0, x1, y1 in sorted(boxes, key=lambda b: (b[1], b[0])):
        h = max(y1 - y0, 1.0)
        for r in rows:
            if min(r[3], y1) - max(r[1], y0) >= ROW_MIN_OVERLAP * min(h, r[3] - r[1]) \
                    and x0 - r[2] <= ROW_MAX_GAP and r[0] - x1 <= ROW_MAX_GAP:
                r[0], r[1], r[2], r[3] = min(r[0], x0), min(r[1], y0), max(r[2], x1), max(r[3], y1)
                break
        else:
            rows.append([x0, y0, x1, y1])
    return len(rows)


_SIZE_CACHE: dict[float, tuple[float, float]] = {}


def _sizes(raw: float) -> tuple[float, float]:
    """(size rounded to 0.1 pt, size rounded to 0.5 pt for the body-size histogram)."""
    r = _SIZE_CACHE.get(raw)
    if r is None:
        s1 = round(raw, 1)
        r = (s1, round(s1 * 2) / 2)
        if len(_SIZE_CACHE) < 100_000:
            _SIZE_CACHE[raw] = r
    return r


# Joining the text pieces MuPDF splits at vector paths (TEXT_COLLECT_VECTORS): after a path, a
# text block continues the previous one when its first line lies on the same row (within this
# share of the line height) close to the right (a fraction bar or underline inside a line: the
# same line when the gap is under SPLIT_SAME_LINE_GAP line heights, else a new line, as table
# cells on one row), or starts at most SPLIT_NEXT_LINE_GAP line heights below the previous line
# and overlaps the block horizontally (the next line of the paragraph). These are the gaps
# MuPDF's own line and paragraph building tolerates (~a line's leading); measured against the
# blocks of a plain text page on the benchmark's 73 pages.
SPLIT_ROW_TOLERANCE = 0.3
SPLIT_SAME_LINE_GAP = 1.0
SPLIT_SAME_ROW_GAP = 3.0
SPLIT_NEXT_LINE_GAP = 0.6


def _merge_vector_splits(raw_blocks: list[dict[str, Any]],
                         vectors: list[tuple[float, float, float, float, bool, bool]]) -> list[dict[str, Any]]:
    """Text blocks of a TEXT_COLLECT_VECTORS page with the vector-caused splits joined; the
    vector blocks go to ``vectors``."""
    out: list[dict[str, Any]] = []
    interrupted = False
    tol = SPLIT_ROW_TOLERANCE
    for b in raw_blocks:
        kind = b.get("type", 0)
        if kind == _BLOCK_VECTOR:
            x0, y0, x1, y1 = b["bbox"]
            vectors.append((x0, y0, x1, y1, bool(b.get("stroked")), bool(b.get("isrect"))))
            interrupted = True
            continue
        if kind != _BLOCK_TEXT or not b["lines"]:
            continue
        if interrupted and out:
            a = out[-1]
            last = a["lines"][-1]
            first = b["lines"][0]
            lb, fb, ab = last["bbox"], first["bbox"], a["bbox"]
            h = max(lb[3] - lb[1], 1.0)
            gap = fb[0] - lb[2]
            same_row = (abs(fb[1] - lb[1]) < tol * h and abs(fb[3] - lb[3]) < tol * h
                        and -tol * h <= gap <= SPLIT_SAME_ROW_GAP * h)
            below = (-tol * h <= fb[1] - lb[3] <= SPLIT_NEXT_LINE_GAP * h
                     and min(ab[2], fb[2]) > max(ab[0], fb[0]))
            if same_row or below:
                lines = b["lines"]
                if same_row and gap <= SPLIT_SAME_LINE_GAP * h and last.get("dir") == first.get("dir"):
                    spans = list(last["spans"])
                    if spans and gap > 0.15 * h and not spans[-1]["text"].endswith(" ") \
                            and not first["spans"][0]["text"].startswith(" "):
                        spans.append({**spans[-1], "text": " "})  # the space MuPDF would insert
                    last["spans"] = spans + first["spans"]
                    last["bbox"] = (min(lb[0], fb[0]), min(lb[1], fb[1]), max(lb[2], fb[2]), max(lb[3], fb[3]))
                    lines = lines[1:]
                a["lines"].extend(lines)
                bb = b["bbox"]
                a["bbox"] = (min(ab[0], bb[0]), min(ab[1], bb[1]), max(ab[2], bb[2]), max(ab[3], bb[3]))
                interrupted = False
                continue
        out.append(b)
        interrupted = False
    return out


_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")  # Hebrew, Arabic, Syriac, Thaana
# A span smaller than this share of its line's largest size is a script (TeX's \\scriptstyle
# is 70% of the text size; 0.85 leaves small caps and mixed 9/10 pt text alone).
SCRIPT_SIZE = 0.85


def _stacked(a: Line, b: Line) -> bool:
    """Two lines of one block that are one formula line MuPDF split where a subscript and a
    superscript stack (``x_i^2``): rows overlapping by half the smaller height, and ``b``
    starting inside ``a`` or within a third of its height after it."""
    (ax0, ay0, ax1, ay1), (bx0, by0, _, by1) = a.bbox, b.bbox
    h = min(ay1 - ay0, by1 - by0)
    return (h > 0 and min(ay1, by1) - max(ay0, by0) >= 0.5 * h
            and ax0 <= bx0 <= ax1 + 0.34 * max(ay1 - ay0, by1 - by0)
            and not _RTL_RE.search(a.text) and not _RTL_RE.search(b.text))  # right-to-left: order is not x


def _join_stacked(a: Line, b: Line) -> Line:
    spans = sorted([*(a.spans or []), *(b.spans or [])], key=lambda s: s["bbox"][0])
    text = "".join(s["text"] for s in spans) if spans else a.text + b.text
    bb = (min(a.bbox[0], b.bbox[0]), min(a.bbox[1], b.bbox[1]), max(a.bbox[2], b.bbox[2]),
          max(a.bbox[3], b.bbox[3]))
    return Line(text, bb, max(a.size, b.size), a.bold and b.bold, a.mono and b.mono,
                a.math_font or b.math_font, True, a.italic or b.italic, spans=spans)


def extract_blocks(page: Any, textpage: Any = None, *, collects_vectors: bool = True
                   ) -> tuple[list[Block], PageFeatures]:
    """Text blocks of the page (Symbol-font Latin repaired to Greek) and the text features, from
    one ``dict`` extraction (pass the page's ``textpage`` to reuse it, e.g. for table words),
    and the page's vector paths from the same pass (``collects_vectors``: the text page was made
    with ``text_flags()``, which collect them; else ``add_graphics_features`` asks
    ``get_cdrawings``).

    This loop runs over every span of every page, so it is written for speed: fonts and sizes
    are looked up in caches, and spans are folded into their line at once."""
    rect = page.rect  # a MuPDF call each time it is read
    feats = PageFeatures(width=rect.width, height=rect.height, rotation=page.rotation)
    d = page.get_text("dict", flags=text_flags(), textpage=textpage)
    blocks: list[Block] = []
    fonts: set[str] = set()
    total = math_font = sym = invisible = n_lines = 0
    eq_lines: list[Line] = []
    numbered: list[Line] = []  # italic formulas without other math evidence: equation lines when numbered
    misencoded: set[int] = set()  # id() of lines whose math-font glyphs lack usable Unicode
    all_text: list[str] = []
    hist: dict[float, int] = {}  # characters per font size (0.5 pt bins)
    fcache_get = _FONT_CACHE.get
    scache_get = _SIZE_CACHE.get
    vectors: list[tuple[float, float, float, float, bool, bool]] = []
    raw_blocks = d["blocks"]
    if any(b.get("type") == _BLOCK_VECTOR for b in raw_blocks):
        raw_blocks = _merge_vector_splits(raw_blocks, vectors)
    if collects_vectors:  # else add_graphics_features runs its own drawing pass
        feats.vectors = vectors
    for b in raw_blocks:
        if b.get("type", 0) != _BLOCK_TEXT:
            continue
        lines: list[Line] = []
        for ln in b["lines"]:
            parts: list[str] = []
            size, bold, mono, mfont, content, misenc = 0.0, True, True, False, False, False
            small, sup, ital = 1e9, False, False
            for s in ln["spans"]:
                t = s["text"]
                if not t:
                    continue
                if t == " ":  # MuPDF's word spaces come as one-space spans: ~half of all spans
                    s2 = (scache_get(s["size"]) or _sizes(s["size"]))[1]
                    hist[s2] = hist.get(s2, 0) + 1
                    parts.append(t)
                    continue
                font, flags = s["font"], s["flags"]
                fi = fcache_get((font, flags & 24)) or font_info(font, flags)
                fonts.add(font)
                n = len(t) - t.count(" ")
                total += n
                # Text that is neither filled nor stroked (render mode 3/7, the way OCR tools hide
                # their layer behind a page image) or fully transparent does not render.
                if not s["char_flags"] & _PAINTED or not s["alpha"]:  # both in every span (PyMuPDF >= 1.25.2)
                    invisible += n
                if fi.math:
                    mfont = True
                    math_font += n
                    if fi.symbol and (fixed := T.symbol_pua_to_unicode(t)) is not t:  # Word's U+F000 + code
                        sym += sum(1 for c in t if "\uf020" <= c <= "\uf0fe")
                        t = s["text"] = fixed
                    if fi.symbol and any("A" <= c <= "z" and c.isalpha() for c in t):
                        fixed = T.symbol_latin_to_greek(t)
                        sym += sum(x != y for x, y in zip(t, fixed, strict=True))
                        t = s["text"] = fixed
                    elif fi.texcm_symbols:
                        t = s["text"] = T.texcm_symbols_to_unicode(t)
                    if not misenc and T.MISENCODED_MATH_RE.search(t):
                        misenc = True
                raw = s["size"]
                s1, s2 = scache_get(raw) or _sizes(raw)
                hist[s2] = hist.get(s2, 0) + len(t)
                if n or t.strip():
                    content = True
                    if s1 > size:
                        size = s1
                    if s1 < small:
                        small = s1
                    if flags & 3:
                        sup = sup or bool(flags & 1)
                        ital = ital or bool(flags & 2)
                    bold = bold and fi.bold
                    mono = mono and fi.mono
                parts.append(t)
            if parts:
                text = parts[0] if len(parts) == 1 else "".join(parts)
                script = sup or small < SCRIPT_SIZE * size
                line = Line(text, ln["bbox"], size, bold and content, mono and content, mfont, script, ital,
                            spans=ln["spans"])
                if misenc:
                    misencoded.add(id(line))
                if lines and (script or lines[-1].script) and _stacked(lines[-1], line):
                    line = _join_stacked(lines.pop(), line)
                    n_lines -= 1
                lines.append(line)
                n_lines += content
        if lines:
            if blocks and (lines[0].script or blocks[-1].lines[-1].script) \
                    and _stacked(blocks[-1].lines[-1], lines[0]):  # a script MuPDF put in a block of its own
                prev = blocks.pop()
                lines = prev.lines[:-1] + [_join_stacked(prev.lines[-1], lines[0])] + lines[1:]
                n_lines -= 1
                bb, pb = b["bbox"], prev.bbox
                bbox = (min(bb[0], pb[0]), min(bb[1], pb[1]), max(bb[2], pb[2]), max(bb[3], pb[3]))
            else:
                bbox = b["bbox"]
            blocks.append(Block(lines, bbox, "\n".join([ln.text for ln in lines])))
    for blk in blocks:
        for line in blk.lines:
            text = line.text
            all_text.append(text)
            if id(line) in misencoded:  # counted apart: its relation signs may be letters ("Q Z a" for "Q = a")
                feats.misencoded_math_lines += 1
            elif is_equation_line(line):
                line.eq = True
                feats.equation_lines += 1
                eq_lines.append(line)
            elif len(text) <= 12 and "(" in text and _EQ_NUMBER_RE.fullmatch(text.strip()):
                feats.number_boxes.append(line.bbox)
            elif line.italic and _italic_formula(line):
                numbered.append(line)
    for line in numbered:  # "y = a + bx" in Times-Italic with its equation number on its row
        x0, y0, x1, y1 = line.bbox
        h = max(y1 - y0, 1.0)
        if any(nb[0] > x1 and min(nb[3], y1) - max(nb[1], y0) >= ROW_MIN_OVERLAP * min(h, nb[3] - nb[1])
               for nb in feats.number_boxes):
            line.eq = True
            feats.equation_lines += 1
            eq_lines.append(line)
    text = "\n".join(all_text)
    math_chars = T.math_char_count(text)
    feats.text_chars, feats.bad_chars, feats.garble_score = T.text_scores(text)
    feats.visible_text_ratio = 1.0 - invisible / total if total else 1.0
    if invisible * 2 >= total > 0:  # a hidden (OCR) text layer: OCR nonsense counts as garble
        feats.garble_score = min(1.0, feats.garble_score + T.ocr_nonsense_score(text))
    feats.text_blocks = len(blocks)
    feats.text_lines = n_lines
    feats.fonts = sorted(fonts)
    feats.body_size = max(hist.items(), key=lambda kv: kv[1])[0] if hist else 10.0
    feats.math_font_chars = math_font
    feats.math_font_share = math_font / total if total else 0.0
    feats.math_chars = math_chars
    feats.math_char_share = math_chars / feats.text_chars if feats.text_chars else 0.0
    feats.symbol_latin_chars = sym
    # A short line in a smaller size is the limit of a sum or integral ("i=1" under the sigma, which
    # MuPDF returns as a line of its own below the formula's row): part of that formula, not a row.
    small = LIMIT_MAX_SIZE * feats.body_size
    feats.equation_boxes = [ln.bbox for ln in eq_lines
                            if not (0 < ln.size < small and len(ln.text.strip()) <= LIMIT_MAX_CHARS)]
    if feats.number_boxes:
        feats.number_boxes = lone_equation_numbers(
            feats.number_boxes, [ln.bbox for b in blocks for ln in b.lines if ln.text.strip()], feats.width)
        feats.equation_numbers = len(feats.number_boxes)
    feats.display_equations = equation_rows(feats.equation_boxes) + feats.equation_numbers
    return blocks, feats


@dataclass
class Rules:
    """The page's straight ruling lines (table borders, underlines, frames)."""

    h: list[tuple[float, float, float]] = field(default_factory=list)  # (x0, x1, y)
    v: list[tuple[float, float, float]] = field(default_factory=list)  # (y0, y1, x)
    # Filled rectangles wider than a rule (cell and header shading): their edges are row borders
    # inside a ruled table (tables.ruled_tables), never rules of their own.
    fills: list[tuple[float, float, float, float]] = field(default_factory=list)

    def add_box(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        """Record the box as a rule if it is one; False when it is not."""
        w, h = x1 - x0, y1 - y0
        if h < RULE_MAX_THICKNESS and w > HRULE_MIN_LENGTH:
            self.h.append((x0, x1, (y0 + y1) / 2))
        elif w < RULE_MAX_THICKNESS and h > VRULE_MIN_LENGTH:
            self.v.append((y0, y1, (x0 + x1) / 2))
        else:
            return False
        return True

    def add_frame(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A stroked rectangle (a cell border, a frame): its four edges are rules."""
        for box in ((x0, y0, x1, y0), (x0, y1, x1, y1), (x0, y0, x0, y1), (x1, y0, x1, y1)):
            self.add_box(*box)


_MAX_CROSSING_PAIRS = 250_000


def add_graphics_features(page: Any, feats: PageFeatures, *, measure_images: bool = True) -> Rules:
    """Images and vector rules. Image boxes cost a second pass over the page's content stream
    (~as much as the text itself on pages with pictures), so with ``measure_images=False`` (the
    router's image rules cannot fire on this page, see ``router.needs_image_coverage``) they
    are not measured and ``image_count``/``image_coverage`` stay -1. Returns the horizontal and
    vertical rules (the table extractor's input)."""
    area = max(1.0, feats.width * feats.height)
    if not measure_images:
        feats.image_count, feats.image_coverage = -1, -1.0
    elif page.get_images(full=False):  # cheap xref listing first: most pages have no images
        # Image boxes from the bbox device (one content-stream pass, no text page; get_image_info
        # builds a whole text page with image blocks, ~3x the cost).
        x0, y0, x1, y1 = page.rect
        cover, count = 0.0, 0
        for kind, (a0, b0, a1, b1) in page.get_bboxlog():
            if kind in ("fill-image", "fill-imgmask"):  # colour images and stencil masks (CCITT scans)
                count += 1
                w, h = min(a1, x1) - max(a0, x0), min(b1, y1) - max(b0, y0)
                if w > 0 and h > 0:
                    cover += w * h
        feats.image_count = count
        feats.image_coverage = min(1.0, cover / area)
    rules = Rules()
    vecs = feats.vectors
    if vecs is None or any(not is_rect and x1 - x0 > RULE_MAX_THICKNESS and y1 - y0 > RULE_MAX_THICKNESS
                           for x0, y0, x1, y1, _, is_rect in vecs):
        # No vectors from the text page, or a path that is neither a rule nor a rectangle (a
        # polygon, a grid drawn as one path, a curve): its box hides its segments, which can be
        # table rules (cell shading drawn as polygons), so one drawing pass gives the segments.
        paths = page.get_cdrawings()
        feats.drawing_paths = len(paths)
        if (feats.equation_boxes or feats.number_boxes) and paths:
            _drop_figure_equations([tuple(p["rect"]) for p in paths], feats)
        for p in paths:
            for it in p.get("items", ()):
                op = it[0]
                if op == "l":
                    (x0, y0), (x1, y1) = it[1], it[2]
                elif op == "re":
                    x0, y0, x1, y1 = it[1][0], it[1][1], it[1][2], it[1][3]
                else:
                    continue
                box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
                if not rules.add_box(*box) and op == "re":
                    if "s" in (p.get("type") or ""):
                        rules.add_frame(*box)
                    elif p.get("fill") is not None:
                        rules.fills.append(box)
    else:
        feats.drawing_paths = len(vecs)
        if (feats.equation_boxes or feats.number_boxes) and vecs:
            _drop_figure_equations([v[:4] for v in vecs], feats)
        for x0, y0, x1, y1, stroked, is_rect in vecs:
            if not rules.add_box(x0, y0, x1, y1) and is_rect:
                if stroked:
                    rules.add_frame(x0, y0, x1, y1)
                else:
                    rules.fills.append((x0, y0, x1, y1))
    hs, vs = rules.h, rules.v
    h, v = len(hs), len(vs)
    if h * v > _MAX_CROSSING_PAIRS:  # a hatched drawing: do not spend quadratic time on it
        feats.grid_crossings = h * v
    elif h and v:
        tol = 2.0
        feats.grid_crossings = sum(1 for hx0, hx1, hy in hs for vy0, vy1, vx in vs
                                   if hx0 - tol <= vx <= hx1 + tol and vy0 - tol <= hy <= vy1 + tol)
    if h or v:
        xs = [x for a in hs for x in a[:2]] + [a[2] for a in vs]
        ys = [a[2] for a in hs] + [y for a in vs for y in a[:2]]
        feats.grid_bbox = [round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1)]
    feats.hlines, feats.vlines = h, v
    return rules


# A drawn region at least this large on both sides (points; ~1.4 cm) and at most this share of
# the page is a figure (diagram, plot): equation-like lines inside it are its labels
# ("p = (x, y)" next to an arrow), not display equations. Boxed equations (\\boxed, a frame
# hugging one line) stay under the minimum side.
FIGURE_MIN_SIDE = 40.0
FIGURE_MAX_PAGE_SHARE = 0.5


def _drop_figure_equations(rects: list[tuple[float, float, float, float]], feats: PageFeatures) -> None:
    page_area = max(1.0, feats.width * feats.height)
    figs = []
    for x0, y0, x1, y1 in rects:
        w, h = x1 - x0, y1 - y0
        if w >= FIGURE_MIN_SIDE and h >= FIGURE_MIN_SIDE and w * h <= FIGURE_MAX_PAGE_SHARE * page_area:
            figs.append((x0 - 1, y0 - 1, x1 + 1, y1 + 1))
    if not figs:
        return

    def outside(b: tuple[float, float, float, float]) -> bool:
        return not any(f[0] <= b[0] and f[1] <= b[1] and b[2] <= f[2] and b[3] <= f[3] for f in figs)

    kept = [b for b in feats.equation_boxes if outside(b)]
    inside = len(feats.equation_boxes) - len(kept)
    numbers = [b for b in feats.number_boxes if outside(b)]  # "(1)" labels of a diagram
    feats.figure_equation_lines = inside
    feats.equation_lines -= inside
    if inside or len(numbers) != feats.equation_numbers:
        feats.equation_numbers = len(numbers)
        feats.display_equations = equation_rows(kept) + len(numbers)
