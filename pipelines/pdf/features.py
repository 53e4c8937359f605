"""Cheap per-page features from PyMuPDF, computed from ONE text extraction that the cheap
markdown parser then reuses (so the features cost little beyond plain text extraction)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from pipelines.pdf import text as T

# Text extraction flags: ligatures expanded by MuPDF, whitespace kept, clipped to the page box,
# no image payloads (images are measured separately without decoding them). Not
# TEXT_COLLECT_VECTORS: it would give path boxes in the same pass, but MuPDF then cuts text
# blocks at every path, which breaks paragraphs and table rows.
_BLOCK_TEXT = 0
# A straight rule: at most this thick (points) and at least this long (horizontal/vertical).
RULE_MAX_THICKNESS = 2.0
HRULE_MIN_LENGTH = 20.0
VRULE_MIN_LENGTH = 8.0


def text_flags() -> int:
    import pymupdf

    return (pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP) & ~pymupdf.TEXT_PRESERVE_LIGATURES


@dataclass(slots=True)
class Line:
    """One text line, its spans folded into what the markdown renderer and the router use."""

    text: str
    bbox: tuple[float, float, float, float]
    size: float = 0.0  # largest font size of its non-blank spans (0: blank line)
    bold: bool = False  # every non-blank span bold
    mono: bool = False  # every non-blank span monospace
    math_font: bool = False  # some span in a math font


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


_FONT_CACHE: dict[tuple[str, int], FontInfo] = {}


def font_info(font: str, flags: int) -> FontInfo:
    """What a font name (and PyMuPDF's span flags) says; cached: a page has few distinct fonts
    and a corpus a few thousand, but spans number in the hundreds per page."""
    key = (font, flags & 24)
    fi = _FONT_CACHE.get(key)
    if fi is None:
        low = font.lower()
        fi = FontInfo(T.is_math_font(font), T.is_symbol_font(font), bool(flags & 16) or "bold" in low,
                      bool(flags & 8) or "mono" in low or "courier" in low or "consolas" in low)
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
    body_size: float = 10.0  # most common font size, weighted by characters (0.5 pt bins)
    fonts: list[str] = field(default_factory=list)  # distinct font names, sorted
    math_font_chars: int = 0
    math_font_share: float = 0.0
    math_chars: int = 0  # mathematical code points (operators, Greek, math alphanumerics ...)
    math_char_share: float = 0.0
    symbol_latin_chars: int = 0  # Symbol-font Latin letters repaired to Greek
    equation_lines: int = 0  # lines that look like display equations (see is_equation_line), not in figures
    figure_equation_lines: int = 0  # equation-like lines inside a drawn figure (labels, not counted above)
    misencoded_math_lines: int = 0  # lines with math-font glyphs that have no usable Unicode (text wrong)
    bad_chars: int = 0
    garble_score: float = 0.0
    image_count: int = 0
    image_coverage: float = 0.0  # share of the page area under images (union bound by page)
    drawing_paths: int = 0
    hlines: int = 0
    vlines: int = 0
    visible_text_ratio: float = 1.0  # share of text-layer characters that actually render
    tables: int = 0
    grid_bbox: list[float] = field(default_factory=list)  # union of the ruling lines (table search area)
    grid_crossings: int = 0  # crossings of horizontal and vertical rules (a ruled table has many)

    # Boxes of the equation lines (for the figure test in add_graphics_features); not serialised.
    equation_boxes: list[tuple[float, float, float, float]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for k in _FEATURE_FIELDS:
            v = getattr(self, k)
            d[k] = round(v, 4) if isinstance(v, float) else list(v) if isinstance(v, list) else v
        return d


_FEATURE_FIELDS = tuple(f.name for f in fields(PageFeatures) if f.name != "equation_boxes")


_RELATION_RE = re.compile("[=<>≤≥≈≡∝∼≃≅→←⇒⇔∈⊂⊆]")
_PROSE_WORD_RE = re.compile(r"[^\W\d_]{3,}")
# Operator names set upright in formulas: words, but not prose.
MATH_WORDS = frozenset("sin cos tan cot sec csc sinh cosh tanh log ln exp max min sup inf lim det arg mod "
                       "ker dim deg gcd lcm sgn diag rank var cov softmax argmax argmin erf trace".split())
# A display equation has at most this many prose words ("where", "for all" ...).
EQUATION_MAX_PROSE_WORDS = 3


def is_equation_line(line: Line) -> bool:
    """A line set (partly) in a math font or with math code points, with a relation sign and
    (almost) no prose words: "a2 + 8 = 12" in CMMI/CMR, "E = mc2", "x ∈ A ⇒ f(x) ≤ 1"."""
    text = line.text
    if len(text) > 200 or not _RELATION_RE.search(text):
        return False
    # One arrow or Greek letter in a line is common in prose and CJK lists ("A → B"): without a
    # math font, ask for two math code points.
    mathy = line.math_font or len(T.MATH_CHAR_RE.findall(text)) >= 2
    if not mathy:
        return False
    prose = sum(1 for w in _PROSE_WORD_RE.findall(text) if w.lower() not in MATH_WORDS)
    return prose <= EQUATION_MAX_PROSE_WORDS


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


def extract_blocks(page: Any, textpage: Any = None) -> tuple[list[Block], PageFeatures]:
    """Text blocks of the page (Symbol-font Latin repaired to Greek) and the text features, from
    one ``dict`` extraction (pass the page's ``textpage`` to reuse it, e.g. for table words).

    This loop runs over every span of every page, so it is written for speed: fonts and sizes
    are looked up in caches, and spans are folded into their line at once."""
    feats = PageFeatures(width=page.rect.width, height=page.rect.height, rotation=page.rotation)
    d = page.get_text("dict", flags=text_flags(), textpage=textpage)
    blocks: list[Block] = []
    fonts: set[str] = set()
    total = math_font = sym = 0
    all_text: list[str] = []
    hist: dict[float, int] = {}  # characters per font size (0.5 pt bins)
    fcache_get = _FONT_CACHE.get
    scache_get = _SIZE_CACHE.get
    for b in d["blocks"]:
        if b.get("type", 0) != _BLOCK_TEXT:
            continue
        lines = []
        for ln in b["lines"]:
            parts: list[str] = []
            size, bold, mono, mfont, content, misenc = 0.0, True, True, False, False, False
            for s in ln["spans"]:
                t = s["text"]
                if not t:
                    continue
                font, flags = s["font"], s["flags"]
                fi = fcache_get((font, flags & 24)) or font_info(font, flags)
                fonts.add(font)
                n = len(t) - t.count(" ")
                total += n
                if fi.math:
                    mfont = True
                    math_font += n
                    if fi.symbol and any("A" <= c <= "z" and c.isalpha() for c in t):
                        fixed = T.symbol_latin_to_greek(t)
                        sym += sum(x != y for x, y in zip(t, fixed, strict=True))
                        t = fixed
                    if not misenc and T.MISENCODED_MATH_RE.search(t):
                        misenc = True
                raw = s["size"]
                s1, s2 = scache_get(raw) or _sizes(raw)
                hist[s2] = hist.get(s2, 0) + len(t)
                if n or t.strip():
                    content = True
                    if s1 > size:
                        size = s1
                    bold = bold and fi.bold
                    mono = mono and fi.mono
                parts.append(t)
            if parts:
                text = parts[0] if len(parts) == 1 else "".join(parts)
                line = Line(text, ln["bbox"], size, bold and content, mono and content, mfont)
                lines.append(line)
                all_text.append(text)
                if misenc:  # counted apart: its relation signs may be letters ("Q Z a" for "Q = a")
                    feats.misencoded_math_lines += 1
                elif is_equation_line(line):
                    feats.equation_lines += 1
                    feats.equation_boxes.append(line.bbox)
        if lines:
            blocks.append(Block(lines, b["bbox"], "\n".join([ln.text for ln in lines])))
    text = "\n".join(all_text)
    math_chars = T.math_char_count(text)
    feats.text_chars = T.visible_chars(text)
    feats.text_blocks = len(blocks)
    feats.fonts = sorted(fonts)
    feats.body_size = max(hist.items(), key=lambda kv: kv[1])[0] if hist else 10.0
    feats.math_font_chars = math_font
    feats.math_font_share = math_font / total if total else 0.0
    feats.math_chars = math_chars
    feats.math_char_share = math_chars / feats.text_chars if feats.text_chars else 0.0
    feats.symbol_latin_chars = sym
    feats.bad_chars = T.bad_char_count(text)
    feats.garble_score = T.garble_score(text)
    return blocks, feats


@dataclass
class Rules:
    """The page's straight ruling lines (table borders, underlines, frames)."""

    h: list[tuple[float, float, float]] = field(default_factory=list)  # (x0, x1, y)
    v: list[tuple[float, float, float]] = field(default_factory=list)  # (y0, y1, x)

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


_MAX_CROSSING_PAIRS = 250_000


def add_graphics_features(page: Any, feats: PageFeatures, *, visibility_min_coverage: float) -> Rules:
    """Images, vector rules and, on pages whose images cover at least ``visibility_min_coverage``,
    text visibility (texttrace costs ~as much as the text itself). Returns the horizontal and
    vertical rules (the table extractor's input)."""
    area = max(1.0, feats.width * feats.height)
    if page.get_images(full=False):  # cheap xref listing first: most pages have no images
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
    paths = page.get_cdrawings()
    feats.drawing_paths = len(paths)
    if feats.equation_boxes and paths:
        _drop_figure_equations(paths, feats)
    rules = Rules()
    for p in paths:
        for it in p.get("items", ()):
            op = it[0]
            if op == "l":
                (x0, y0), (x1, y1) = it[1], it[2]
            elif op == "re":
                x0, y0, x1, y1 = it[1][0], it[1][1], it[1][2], it[1][3]
            else:
                continue
            rules.add_box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
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
    if feats.text_chars and feats.image_count and feats.image_coverage >= visibility_min_coverage:
        feats.visible_text_ratio = visible_text_ratio(page, feats)
    return rules


# A drawn region at least this large on both sides (points; ~1.4 cm) and at most this share of
# the page is a figure (diagram, plot): equation-like lines inside it are its labels
# ("p = (x, y)" next to an arrow), not display equations. Boxed equations (\\boxed, a frame
# hugging one line) stay under the minimum side.
FIGURE_MIN_SIDE = 40.0
FIGURE_MAX_PAGE_SHARE = 0.5


def _drop_figure_equations(paths: list[dict[str, Any]], feats: PageFeatures) -> None:
    page_area = max(1.0, feats.width * feats.height)
    figs = []
    for p in paths:
        x0, y0, x1, y1 = p["rect"]
        w, h = x1 - x0, y1 - y0
        if w >= FIGURE_MIN_SIDE and h >= FIGURE_MIN_SIDE and w * h <= FIGURE_MAX_PAGE_SHARE * page_area:
            figs.append((x0 - 1, y0 - 1, x1 + 1, y1 + 1))
    if not figs:
        return
    inside = sum(1 for b in feats.equation_boxes
                 if any(f[0] <= b[0] and f[1] <= b[1] and b[2] <= f[2] and b[3] <= f[3] for f in figs))
    feats.figure_equation_lines = inside
    feats.equation_lines -= inside


def visible_text_ratio(page: Any, feats: PageFeatures) -> float:
    """Share of text-layer characters that render: not invisible (PDF text render mode 3, the
    way OCR tools hide their layer behind a page image) and not fully transparent. A scan with
    a hidden OCR layer scores ~0; a born-digital page scores 1."""
    trace = page.get_texttrace()
    total = visible = 0
    for sp in trace:
        n = len(sp["chars"])
        total += n
        if sp.get("type") != 3 and sp.get("opacity", 1.0) > 0:
            visible += n
    return visible / total if total else 1.0
