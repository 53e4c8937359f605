"""Cheap per-page features from PyMuPDF, computed from ONE text extraction that the cheap
markdown parser then reuses (so the features cost little beyond plain text extraction)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelines.pdf import text as T

# Text extraction flags: ligatures expanded by MuPDF, whitespace kept, clipped to the page box,
# no image payloads (images are measured separately without decoding them).
_BLOCK_TEXT = 0


def text_flags() -> int:
    import pymupdf

    return (pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP) & ~pymupdf.TEXT_PRESERVE_LIGATURES


@dataclass
class Span:
    text: str
    font: str
    size: float
    flags: int
    bbox: tuple[float, float, float, float]

    @property
    def bold(self) -> bool:
        return bool(self.flags & 16) or "bold" in self.font.lower()

    @property
    def mono(self) -> bool:
        f = self.font.lower()
        return bool(self.flags & 8) or "mono" in f or "courier" in f or "consolas" in f


@dataclass
class Line:
    spans: list[Span]
    bbox: tuple[float, float, float, float]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


@dataclass
class Block:
    lines: list[Line]
    bbox: tuple[float, float, float, float]

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)


@dataclass
class PageFeatures:
    """What the router sees. All shares are in [0, 1]."""

    width: float = 0.0
    height: float = 0.0
    rotation: int = 0
    text_chars: int = 0  # non-space characters of the text layer
    text_blocks: int = 0
    fonts: list[str] = field(default_factory=list)  # distinct font names, sorted
    math_font_chars: int = 0
    math_font_share: float = 0.0
    math_chars: int = 0  # mathematical code points (operators, Greek, math alphanumerics ...)
    math_char_share: float = 0.0
    symbol_latin_chars: int = 0  # Symbol-font Latin letters repaired to Greek
    equation_lines: int = 0  # lines that look like display equations (see is_equation_line)
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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4)
        return d


_RELATION_RE = re.compile("[=<>≤≥≈≡∝∼≃≅→←⇒⇔∈⊂⊆]")
_PROSE_WORD_RE = re.compile(r"[^\W\d_]{4,}")
# A display equation has at most this many prose words ("where", "for all" ...).
EQUATION_MAX_PROSE_WORDS = 3


def is_equation_line(line: Line) -> bool:
    """A line set (partly) in a math font or with math code points, with a relation sign and
    (almost) no prose words: "a2 + 8 = 12" in CMMI/CMR, "E = mc2", "x ∈ A ⇒ f(x) ≤ 1"."""
    text = line.text
    if not _RELATION_RE.search(text) or len(text) > 200:
        return False
    # One arrow or Greek letter in a line is common in prose and CJK lists ("A → B"): without a
    # math font, ask for two math code points.
    mathy = any(T.is_math_font(s.font) for s in line.spans) or len(T.MATH_CHAR_RE.findall(text)) >= 2
    return mathy and len(_PROSE_WORD_RE.findall(text)) <= EQUATION_MAX_PROSE_WORDS


def extract_blocks(page: Any, textpage: Any = None) -> tuple[list[Block], PageFeatures]:
    """Text blocks of the page (Symbol-font Latin repaired to Greek) and the text features."""
    feats = PageFeatures(width=page.rect.width, height=page.rect.height, rotation=page.rotation)
    d = page.get_text("dict", flags=text_flags(), textpage=textpage)
    blocks: list[Block] = []
    fonts: set[str] = set()
    total = math_font = math_chars = sym = 0
    all_text: list[str] = []
    for b in d["blocks"]:
        if b.get("type", 0) != _BLOCK_TEXT:
            continue
        lines = []
        for ln in b["lines"]:
            spans = []
            for s in ln["spans"]:
                t = s["text"]
                if not t:
                    continue
                font = s["font"]
                fonts.add(font)
                n = len(t) - t.count(" ")
                total += n
                if T.is_math_font(font):
                    math_font += n
                    if T.is_symbol_font(font) and any("A" <= c <= "z" and c.isalpha() for c in t):
                        fixed = T.symbol_latin_to_greek(t)
                        sym += sum(a != b for a, b in zip(t, fixed, strict=True))
                        t = fixed
                spans.append(Span(t, font, round(s["size"], 1), s["flags"], tuple(s["bbox"])))
            if spans:
                line = Line(spans, tuple(ln["bbox"]))
                lines.append(line)
                all_text.append(line.text)
                if is_equation_line(line):
                    feats.equation_lines += 1
        if lines:
            blocks.append(Block(lines, tuple(b["bbox"])))
    text = "\n".join(all_text)
    math_chars = T.math_char_count(text)
    feats.text_chars = T.visible_chars(text)
    feats.text_blocks = len(blocks)
    feats.fonts = sorted(fonts)
    feats.math_font_chars = math_font
    feats.math_font_share = math_font / total if total else 0.0
    feats.math_chars = math_chars
    feats.math_char_share = math_chars / feats.text_chars if feats.text_chars else 0.0
    feats.symbol_latin_chars = sym
    feats.bad_chars = T.bad_char_count(text)
    feats.garble_score = T.garble_score(text)
    return blocks, feats


_MAX_CROSSING_PAIRS = 250_000


def add_graphics_features(page: Any, feats: PageFeatures, *, visibility_min_coverage: float) -> list[Any]:
    """Images, vector drawings and, on pages whose images cover at least
    ``visibility_min_coverage``, text visibility (texttrace costs ~as much as the text itself)."""
    area = max(1.0, feats.width * feats.height)
    if page.get_images(full=False):  # cheap xref listing first: most pages have no images
        infos = page.get_image_info()
        feats.image_count = len(infos)
        cover = 0.0
        prect = page.rect
        for info in infos:
            r = _rect(info["bbox"]) & prect
            if not r.is_empty:
                cover += r.width * r.height
        feats.image_coverage = min(1.0, cover / area)
    paths = page.get_cdrawings()
    feats.drawing_paths = len(paths)
    hs: list[tuple[float, float, float]] = []  # (x0, x1, y)
    vs: list[tuple[float, float, float]] = []  # (y0, y1, x)
    for p in paths:
        for it in p.get("items", ()):
            op = it[0]
            if op == "l":
                (x0, y0), (x1, y1) = it[1], it[2]
            elif op == "re":
                x0, y0, x1, y1 = it[1][0], it[1][1], it[1][2], it[1][3]
            else:
                continue
            w, hh = abs(x1 - x0), abs(y1 - y0)
            if hh < 2 and w > 20:  # horizontal rule (a line or a hairline rectangle)
                hs.append((min(x0, x1), max(x0, x1), (y0 + y1) / 2))
            elif w < 2 and hh > 8:  # vertical rule
                vs.append((min(y0, y1), max(y0, y1), (x0 + x1) / 2))
    h, v = len(hs), len(vs)
    if h * v > _MAX_CROSSING_PAIRS:  # a hatched drawing: do not spend quadratic time on it
        feats.grid_crossings = h * v
    else:
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
    return paths


def _rect(b: Any) -> Any:
    import pymupdf

    return pymupdf.Rect(b)


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
