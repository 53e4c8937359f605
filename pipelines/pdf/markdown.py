"""Cheap parser: PyMuPDF text blocks -> per-page markdown.

Headings from font size relative to the page's body size, reading order for two-column
layouts, bullet and numbered lists, code blocks (monospace), captions, and ruled tables (only on
pages whose vector lines form a grid; cells from the page's rules and words, see tables.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sciforge.pipelines.pdf import mathtex
from sciforge.pipelines.pdf import text as T
from sciforge.pipelines.pdf.clean import (
    font_family,
    in_margin,
    is_lone_furniture,
    is_page_number,
    is_running_head,
    is_side_stamp,
    margin_key,
)
from sciforge.pipelines.pdf.features import (
    _EQ_NUMBER_RE,
    LIMIT_MAX_CHARS,
    LIMIT_MAX_SIZE,
    MATH_WORDS,
    Block,
    Line,
    PageFeatures,
    Rules,
    font_info,
    prose_text,
    text_flags,
)
from sciforge.pipelines.pdf.tables import FILL_MIN_ROWS, Table, aligned_tables, fill_stacks, ruled_tables

# Heading levels by font size / body size (the usual 1.2x type-scale steps used by LaTeX
# classes and word processors: \Large ~1.44, \large ~1.2 of \normalsize).
HEADING_RATIOS = ((1.6, 1), (1.3, 2), (1.12, 3))
MAX_HEADING_CHARS = 160
MAX_HEADING_LINES = 3
# A column block may overhang the page's middle by this share of the page width.
COLUMN_TOLERANCE = 0.03
_BULLET_RE = re.compile(r"^\s*([•●◦▪▫■□‣⁃∙·\-–—*])\s+")
_NUMBERED_RE = re.compile(r"^\s*(\(?\d{1,3}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])\s+")
_CAPTION_RE = re.compile(r"^(Figure|Fig\.|Table|Listing|Algorithm|Scheme|Chart)\s*[A-Z]?\d+[.:]?\s", re.I)
_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")  # Hebrew, Arabic, Syriac, Thaana
# MuPDF's TEXT_CID_FOR_UNKNOWN_UNICODE: a glyph without Unicode reports its font code.
_CID_FOR_UNKNOWN_UNICODE = 128
_SECTION_RE = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|[IVX]+\.)\s+\S")


@dataclass
class _Item:
    bbox: tuple[float, float, float, float]
    md: str
    # id() of the text lines a table is made of; None: every line whose centre is in its box
    lines: set[int] | None = None


def _heading_level(block: Block, body: float) -> int:
    text = block.text.strip()
    if not text or len(text) > MAX_HEADING_CHARS or len(block.lines) > MAX_HEADING_LINES:
        return 0
    lines = [ln for ln in block.lines if ln.size]
    if not lines or any(ln.eq or ln.math_font for ln in lines):  # a formula set large is not a heading
        return 0
    if T.math_char_count(text) * 4 >= len(text.replace(" ", "")):  # "∇× E", "∂t": symbols, not a title
        return 0
    size = max(ln.size for ln in lines)
    for ratio, level in HEADING_RATIOS:
        if size >= body * ratio and sum(c.isalpha() for c in text) >= 2:
            return level
    if all(ln.bold for ln in lines) and len(block.lines) == 1 and len(text) <= 80 \
            and _SECTION_RE.match(text) and not text.endswith((".", ":", ",")):
        return 3
    return 0


# A display-equation line inside a block of prose is displayed math when it is centred in the
# block (centre within this share of the block width of the block's centre) and narrower than
# DISPLAY_MAX_WIDTH of it; else it is a line of the paragraph.
DISPLAY_CENTRE_TOLERANCE = 0.15
DISPLAY_MAX_WIDTH = 0.8


def _is_display(ln: Line, block: Block) -> bool:
    if not ln.eq:
        return False
    if all(x.eq or not x.text.strip() or _EQ_NUMBER_RE.fullmatch(x.text.strip()) for x in block.lines):
        return True
    bx0, _, bx1, _ = block.bbox
    w = max(bx1 - bx0, 1.0)
    x0, _, x1, _ = ln.bbox
    return abs((x0 + x1) / 2 - (bx0 + bx1) / 2) <= DISPLAY_CENTRE_TOLERANCE * w and x1 - x0 <= DISPLAY_MAX_WIDTH * w


def _stacked_pieces(members: list[Line]) -> bool:
    """Some glyph run of the formula lies over another (a numerator over its denominator)."""
    boxes = [sp["bbox"] for ln in members for sp in ln.spans or () if sp["text"].strip()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if min(a[2], b[2]) - max(a[0], b[0]) > 1.0 and min(a[3], b[3]) - max(a[1], b[1]) <= 0:
                return True
    return False


# A vector block at most this tall (points) beside a formula may hide a fraction bar: a compound
# path, or a stroked line whose box MuPDF pads by the stroke's miter reach (~11 pt for a 0.4 pt bar).
FAT_BAR_MAX_BOX = 16.0
# A formula's bars may run past its glyph boxes by this many font sizes (TeX's vinculum ends past
# the radicand's last glyph; a fraction bar overhangs its numerator and denominator by nullspace).
BAR_OVERHANG = 0.5


def _drawn_bars(page: Any) -> list[tuple[float, float, float]]:
    """The page's short horizontal segments (x0, x1, y) from its drawing commands: fraction bars
    and vinculums inside compound paths, and stroked lines whose text-page box the stroke widens
    (MuPDF pads a stroked line's box by its miter reach: a 0.4 pt bar comes as an 11 pt box)."""
    try:
        paths = page.get_cdrawings()
    except Exception:  # a broken content stream: no bars, the formula keeps its text
        return []
    thin, out = mathtex.BAR_MAX_THICKNESS, []
    for p in paths:
        for it in p.get("items", ()):
            if it[0] == "l":
                (x0, y0), (x1, y1) = it[1], it[2]
            elif it[0] == "re":
                x0, y0, x1, y1 = it[1][0], it[1][1], it[1][2], it[1][3]
            else:
                continue
            x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
            if y1 - y0 <= thin and mathtex.BAR_MIN_LENGTH <= x1 - x0 < 200:
                out.append((x0, x1, (y0 + y1) / 2))
    return out


def _unique_bars(bars: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """One bar where several sources (or a filled bar's two edges) saw it: the longest."""
    out: list[tuple[float, float, float]] = []
    for b in sorted(bars, key=lambda b: (b[0] - b[1], b[2])):
        if not any(abs(b[2] - o[2]) <= 1.0 and o[0] - 0.5 <= b[0] and b[1] <= o[1] + 0.5 for o in out):
            out.append(b)
    return out


def _formula_words(ln: Line) -> str:
    """Where a formula line's prose words can be: its text without math-font spans (as
    features.prose_text) and without spans set in a script size (a text-font letter and its index
    read "Wyf": W_{yf})."""
    if not ln.spans:
        return ln.text
    big = max((sp["size"] for sp in ln.spans if sp["text"].strip()), default=0.0)
    return "".join(" " if sp["size"] < LIMIT_MAX_SIZE * big or (ln.math_font and font_info(sp["font"], sp["flags"]).math)
                   else sp["text"] for sp in ln.spans if sp["text"])


_RELATION_START_RE = re.compile(r"^\s*[=<>≤≥≈≡∝≃≅∼]")


def _continued_row(ln: Line) -> bool:
    """A row of a derivation that starts with its relation sign and holds no prose ("= lim" over
    a limit and beside a fraction MuPDF returns as lines of their own)."""
    return bool(_RELATION_START_RE.match(ln.text)) and len(ln.text) <= 30 and mathtex._few_words(ln.text, MATH_WORDS)


def _display_math(page: Any, blocks: list[Block], feats: PageFeatures) -> dict[int, str]:
    """id() of the lines of each display formula rebuilt in two dimensions (mathtex.region_latex:
    fractions, roots, limits, accents) -> its ``$$...$$`` for the first line, "" for the others.
    Formulas that cannot be rebuilt are left to the line-by-line path."""
    small = LIMIT_MAX_SIZE * feats.body_size  # a limit ("h→0" under "lim") is part of a formula, not one
    seeds = [ln for b in blocks for ln in b.lines if ln.spans and (ln.eq or _continued_row(ln)) and (_is_display(ln, b) or all(
        len(x.text) <= 60 and (x.eq or mathtex._few_words(prose_text(x), MATH_WORDS)) for x in b.lines))  # a formula's own block
        and not (0 < ln.size < small and len(ln.text.strip()) <= LIMIT_MAX_CHARS)]
    if not seeds:
        return {}
    lines = [ln for b in blocks for ln in b.lines if ln.spans]
    coded = [ln for ln in lines if "\ufffd" in ln.text and mathtex.needs_font_codes(ln.spans or ()) and (  # formula lines: prose keeps its spans
        ln.eq or len(ln.text) <= 60 and mathtex._few_words(prose_text(ln), MATH_WORDS))]
    if page is not None and coded:
        clip = (min(ln.bbox[0] for ln in coded) - 1, min(ln.bbox[1] for ln in coded) - 1,
                max(ln.bbox[2] for ln in coded) + 1, max(ln.bbox[3] for ln in coded) + 1)
        try:  # extension-font glyphs without Unicode: their font codes (their sizes place a matrix's rows)
            codes = mathtex.font_code_index(page.get_text("rawdict", clip=clip,
                                                          flags=text_flags() | _CID_FOR_UNKNOWN_UNICODE))
            names = mathtex.font_glyph_names(page)
        except Exception:  # a page MuPDF cannot read twice keeps the formulas' text
            codes, names = {}, {}
        for ln in coded:
            ln.spans = mathtex.with_font_codes(ln.spans or [], codes, names)
    thin = mathtex.BAR_MAX_THICKNESS
    page_bars = [(v[0], v[2], (v[1] + v[3]) / 2) for v in feats.vectors or () if v[3] - v[1] <= thin and v[2] - v[0] < 200]
    if page is not None and any(v[3] - v[1] > thin and v[3] - v[1] < FAT_BAR_MAX_BOX and any(
            v[0] < ln.bbox[2] and v[2] > ln.bbox[0] and v[1] < ln.bbox[3] + ln.size and v[3] > ln.bbox[1] - ln.size
            for ln in seeds) for v in feats.vectors or ()):
        # a path beside a formula whose text-page box hides its segments: the drawing pass, once a page
        page_bars = _unique_bars(page_bars + _drawn_bars(page))
    img_bars: list[tuple[float, float, float]] | None = None
    out: dict[int, str] = {}
    for members in mathtex.display_regions(seeds, lines, MATH_WORDS, _formula_words, page_bars):
        x0 = min(ln.bbox[0] for ln in members) - 1
        y0 = min(ln.bbox[1] for ln in members) - 1
        x1 = max(ln.bbox[2] for ln in members) + 1
        y1 = max(ln.bbox[3] for ln in members) + 1
        reach = BAR_OVERHANG * max(ln.size for ln in members)  # a vinculum runs on past its radicand's last glyph
        bars = [b for b in page_bars if x0 - reach <= b[0] and b[1] <= x1 + reach and y0 <= b[2] <= y1]
        if not bars and page is not None and _stacked_pieces(members):
            if img_bars is None:  # some TeX drivers draw rules as thin images: asked for once a page
                try:
                    infos = page.get_image_info()
                except Exception:  # a broken image list must not lose the page
                    infos = []
                img_bars = [(i["bbox"][0], i["bbox"][2], (i["bbox"][1] + i["bbox"][3]) / 2) for i in infos
                            if i["bbox"][3] - i["bbox"][1] <= thin and i["bbox"][2] - i["bbox"][0] < 200]
            bars = [b for b in img_bars if x0 - reach <= b[0] and b[1] <= x1 + reach and y0 <= b[2] <= y1]
        spans = [s for ln in members for s in ln.spans or ()]
        tex = mathtex.region_latex(spans, bars)
        if not tex:
            continue
        out[id(members[0])] = f"$${tex}$$"
        for ln in members[1:]:
            out[id(ln)] = ""
    return out


def _line_text(ln: Line) -> str:
    """A prose line's markdown: scripted tokens as inline LaTeX (mathtex.inline_markdown)."""
    if ln.script and ln.spans and not _RTL_RE.search(ln.text):  # right-to-left spans are not in x order
        return mathtex.inline_markdown(ln.spans)
    return ln.text


def _render_block(block: Block, body: float, code_blocks: bool = True, regions: dict[int, str] | None = None) -> str:
    if code_blocks and all(ln.mono for ln in block.lines if ln.size) and any(ln.size for ln in block.lines):
        code = "\n".join(ln.text.rstrip() for ln in block.lines)
        return f"```\n{code}\n```"
    regions = regions or {}
    if any(ln.eq or id(ln) in regions for ln in block.lines):
        # Display equations as $$...$$ paragraphs between the block's prose runs.
        parts: list[str] = []
        prose: list[Line] = []
        for ln in block.lines:
            if id(ln) in regions:  # a display formula rebuilt in two dimensions (its first line), or a piece of it
                if prose:
                    parts.append(_render_lines(_sub_block(prose, block), body))
                    prose = []
                parts.append(regions[id(ln)])
                continue
            num = _EQ_NUMBER_RE.fullmatch(ln.text.strip())
            if num and not prose and parts and parts[-1].endswith("$$") and "\\tag{" not in parts[-1]:
                parts[-1] = parts[-1][:-2] + " \\tag{" + num.group(0).strip("() ") + "}$$"
                continue
            if _is_display(ln, block):
                if prose:
                    parts.append(_render_lines(_sub_block(prose, block), body))
                    prose = []
                tex = mathtex.display_latex(ln.spans) if ln.spans else ""
                parts.append(f"$${tex}$$" if tex else ln.text)
            else:
                prose.append(ln)
        if prose:
            parts.append(_render_lines(_sub_block(prose, block), body))
        return "\n\n".join(p for p in parts if p)
    return _render_lines(block, body)


def _sub_block(lines: list[Line], block: Block) -> Block:
    return Block(lines, block.bbox, "\n".join(ln.text for ln in lines))


def _render_lines(block: Block, body: float) -> str:
    level = _heading_level(block, body)
    if level:
        return "#" * level + " " + T.join_lines([_line_text(ln) for ln in block.lines])
    lines = [_line_text(ln) for ln in block.lines]
    if _BULLET_RE.match(lines[0]) or _NUMBERED_RE.match(lines[0]):
        items: list[list[str]] = []
        for x in lines:
            if _BULLET_RE.match(x) or _NUMBERED_RE.match(x) or not items:
                items.append([x])
            else:
                items[-1].append(x)
        out = []
        for it in items:
            first = it[0]
            m = _BULLET_RE.match(first)
            body_text = T.join_lines([first[m.end():] if m else first] + it[1:])
            out.append(f"- {body_text}" if m else body_text)
        return "\n".join(out)
    para = T.join_lines(lines)
    if _CAPTION_RE.match(para):
        return f"*{para}*"
    return para


def _reading_order(items: list[_Item], width: float) -> list[_Item]:
    """Two-column aware order: full-width items split the page into bands; inside a band the
    left column is read before the right one. One-column pages are read top to bottom."""
    mid, tol = width / 2, width * COLUMN_TOLERANCE

    def col(it: _Item) -> int:
        x0, _, x1, _ = it.bbox
        if x1 <= mid + tol:
            return 0
        if x0 >= mid - tol:
            return 1
        return 2

    cols = [col(it) for it in items]
    if cols.count(0) < 2 or cols.count(1) < 2:
        return sorted(items, key=lambda it: (round(it.bbox[1] / 3), it.bbox[0]))
    out: list[_Item] = []
    band: list[tuple[int, _Item]] = []

    def flush(before_full_width: bool) -> None:
        ordered = sorted(band, key=lambda ci: (ci[0], ci[1].bbox[1]))
        if before_full_width and ordered:
            # A heading that ends a column below everything of the other column heads the
            # full-width section under it ("Additional Features" over a page-wide list), not
            # its column.
            c, last = max(ordered, key=lambda ci: ci[1].bbox[1])
            if last.md.startswith("#") and all(it.bbox[3] <= last.bbox[1] for oc, it in ordered if oc != c):
                ordered.remove((c, last))
                ordered.append((c, last))
        out.extend(it for _, it in ordered)
        band.clear()

    for c, it in sorted(zip(cols, items, strict=True), key=lambda ci: (ci[1].bbox[1], ci[1].bbox[0])):
        if c == 2:
            flush(True)
            out.append(it)
        else:
            band.append((c, it))
    flush(False)
    return out


# Whitespace-aligned tables are looked for among at least this many text lines (3 rows x 2).
MIN_TABLE_PIECES = 6


# A text line this short can be a table cell (tables.MAX_MEAN_CELL_CHARS).
SHORT_PIECE_CHARS = 28
# Lines of a page column's prose average at least this many characters (two-column papers:
# ~50-60 a line); a table cell far fewer.
PROSE_MIN_MEAN_CHARS = 35


def _across_page_columns(members: list[tuple[float, float, float, float, str]], mid: float) -> bool:
    """A whitespace "table" made of a prose column's lines beside a table in the other page
    column (rows at the same heights): no piece crosses the page middle and one side's lines
    are prose-long."""
    left = [p for p in members if p[2] <= mid]
    right = [p for p in members if p[0] >= mid]
    if not left or not right or len(left) + len(right) < len(members):
        return False
    return any(sum(len(p[4]) for p in side) >= PROSE_MIN_MEAN_CHARS * len(side) for side in (left, right))


def _tables(page: Any, feats: PageFeatures, min_crossings: int, extractor: str, rules: Rules | None,
            textpage: Any, blocks: list[Block], margin_share: float) -> list[_Item]:
    """Ruled tables (where rules cross like a grid) and then whitespace-aligned tables among the
    remaining text lines (tables.aligned_tables: unruled and booktabs tables)."""
    if extractor == "none":
        return []
    out: list[_Item] = []
    # Tables are found in the page's displayed orientation: on a page turned by /Rotate (a
    # landscape table page) the text layer's boxes are turned first and the tables' boxes back.
    rot = back = None
    if page is not None and page.rotation % 360:
        rot, back = page.rotation_matrix, page.derotation_matrix
    if feats.grid_crossings >= min_crossings or (
            extractor == "rules" and rules is not None and len(rules.fills) >= FILL_MIN_ROWS and fill_stacks(rules.fills)):
        out = _ruled(page, feats, extractor, rules, textpage, rot, back)
    pieces = []
    formulas: list[bool] = []
    owners: list[Line] = []
    for b in blocks:
        for ln in b.lines:
            text = ln.text.strip()
            box = ln.bbox if rot is None else _turn(ln.bbox, rot)
            if not text or (out and any(_inside(ln.bbox, it.bbox) for it in out)) \
                    or in_margin(box, feats.height, margin_share) or is_side_stamp(ln.bbox, text, feats.width):
                continue
            pieces.append((*box, text))
            # equation numbers count as formulas: beside display equations they line up like a
            # column ("(1)" headers of regression tables are cells)
            formulas.append(bool(ln.eq or _EQ_NUMBER_RE.fullmatch(text)))
            owners.append(ln)
    if len(pieces) >= MIN_TABLE_PIECES:
        taken: set[int] = set()
        width = page.rect.width if rot is not None else feats.width
        mid, tol = width / 2, width * COLUMN_TOLERANCE
        for tab in aligned_tables(pieces, formulas):
            if _across_page_columns([pieces[i] for i in tab.members or ()], mid):
                continue
            md = table_markdown(tab.rows)
            if md:
                out.append(_Item(_turn(tab.bbox, back), md, {id(owners[i]) for i in tab.members or ()}))
                taken.update(tab.members or ())
        # A table inside one column of a two-column page: its rows share their y with the other
        # column's prose, so each column's remaining lines are searched on their own.
        rest = [i for i in range(len(pieces)) if i not in taken]
        for side in ([i for i in rest if pieces[i][2] <= mid + tol], [i for i in rest if pieces[i][0] >= mid - tol]):
            # (only where the column has a table's worth of short pieces: cells, not prose)
            if len(side) == len(rest) or sum(len(pieces[i][4]) <= SHORT_PIECE_CHARS for i in side) < MIN_TABLE_PIECES:
                continue
            for tab in aligned_tables([pieces[i] for i in side], [formulas[i] for i in side]):
                md = table_markdown(tab.rows)
                if md:
                    out.append(_Item(_turn(tab.bbox, back), md, {id(owners[side[i]]) for i in tab.members or ()}))
    feats.tables = len(out)
    return out


def _turn(box: Any, m: Any) -> tuple[float, float, float, float]:
    """A box through a rotation matrix (None: unchanged)."""
    if m is None:
        return (box[0], box[1], box[2], box[3])
    import pymupdf

    r = pymupdf.Rect(box) * m
    return (r.x0, r.y0, r.x1, r.y1)


def _turn_rules(rules: Rules, m: Any) -> Rules:
    out = Rules(fills=[_turn(f, m) for f in rules.fills])
    for x0, y0, x1, y1 in [_turn((a, y, b, y), m) for a, b, y in rules.h] + [_turn((x, a, x, b), m) for a, b, x in rules.v]:
        if y1 - y0 <= x1 - x0:
            out.h.append((x0, x1, (y0 + y1) / 2))
        else:
            out.v.append((y0, y1, (x0 + x1) / 2))
    return out


def _ruled(page: Any, feats: PageFeatures, extractor: str, rules: Rules | None, textpage: Any,
           rot: Any = None, back: Any = None) -> list[_Item]:
    out = []
    if extractor == "rules" and rules is not None:
        tp = textpage if textpage is not None else page.get_textpage(flags=text_flags())
        words = [(*_turn(w[:4], rot), w[4]) for w in tp.extractWORDS()]
        if rot is not None:
            rules = _turn_rules(rules, rot)
        for t in ruled_tables(rules.h, rules.v, words, fills=rules.fills):
            md = table_html(t) if t.owner else table_markdown(t.rows)
            if md:
                out.append(_Item(_turn(t.bbox, back), md))
        return out
    try:
        g = feats.grid_bbox
        clip = (g[0] - 2, g[1] - 2, g[2] + 2, g[3] + 2)  # search only where the rules are (~3x faster)
        found = page.find_tables(strategy="lines", clip=clip)
    except Exception:  # a malformed drawing list must not lose the page's text
        return []
    for tab in found.tables:
        if tab.row_count >= 2 and tab.col_count >= 2:
            md = table_markdown(tab.extract())
            if md:
                out.append(_Item(tuple(tab.bbox), md))
    return out


def table_html(t: Table) -> str:
    """An HTML table for a grid with merged cells (markdown cannot span): the owner cell of a
    merged region carries rowspan/colspan, the cells it covers are left out."""
    import html

    assert t.owner is not None
    out = ["<table>"]
    for r, row in enumerate(t.rows):
        cells = []
        for c in range(len(row)):
            if t.owner[r][c] != (r, c):
                continue
            rs = sum(1 for rr in range(r, len(t.rows)) if t.owner[rr][c] == (r, c))
            cs = sum(1 for cc in range(c, len(row)) if t.owner[r][cc] == (r, c))
            # the merged region's text: the owner's and the covered cells', in reading order
            texts = [t.rows[rr][cc] for rr in range(r, r + rs) for cc in range(c, c + cs) if t.rows[rr][cc]]
            attrs = (f' rowspan="{rs}"' if rs > 1 else "") + (f' colspan="{cs}"' if cs > 1 else "")
            tag = "th" if r == 0 else "td"
            cells.append(f"<{tag}{attrs}>{html.escape(' '.join(' '.join(texts).split()), quote=False)}</{tag}>")
        if cells:
            out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def table_markdown(rows: Sequence[Sequence[str | None]]) -> str:
    """A pipe table from extracted cell texts; merged cells (None) stay empty instead of being
    repeated, no synthetic "ColN" headers, no HTML escapes."""
    clean = [[" ".join((c or "").split()).replace("|", "\\|") for c in row] for row in rows]
    clean = [row for row in clean if any(row)]
    if len(clean) < 2:
        return ""
    width = max(len(r) for r in clean)
    clean = [r + [""] * (width - len(r)) for r in clean]
    lines = ["| " + " | ".join(clean[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in clean[1:]]
    return "\n".join(lines)


# Share of the page height at the top and bottom where the first/last block may be a running head
# (journal heads sit in the top ~12-15% of the page, below the margin_share zone on some layouts).
RUNNING_HEAD_ZONE = 0.15


def _family(lines: list[Line]) -> str:
    """The font family (clean.font_family) that sets most characters of ``lines``."""
    chars: dict[str, int] = {}
    for ln in lines:
        for s in ln.spans or ():
            n = len(s["text"].strip())
            if n:
                fam = font_family(s["font"])
                chars[fam] = chars.get(fam, 0) + n
    return max(sorted(chars), key=chars.__getitem__) if chars else ""


def _one_row(b: Block) -> bool:
    y0, y1 = b.lines[0].bbox[1], b.lines[0].bbox[3]
    return all(min(y1, ln.bbox[3]) - max(y0, ln.bbox[1]) > 0.5 * (ln.bbox[3] - ln.bbox[1]) for ln in b.lines)


def _inside(b: tuple[float, float, float, float], r: tuple[float, float, float, float]) -> bool:
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return r[0] <= cx <= r[2] and r[1] <= cy <= r[3]


def page_markdown(page: Any, blocks: list[Block], feats: PageFeatures, *, running: set[str],
                  margin_share: float, table_min_crossings: int, code_blocks: bool = True,
                  table_extractor: str = "rules", rules: Rules | None = None, textpage: Any = None,
                  header_zone: float = RUNNING_HEAD_ZONE) -> str:
    """Markdown of one page from its text blocks, without running headers and page numbers.
    ``code_blocks=False`` for OCR text pages (their glyph-less font reports as monospace).
    Tables: ``table_extractor`` "rules" (the page's ``rules`` and the words of its ``textpage``,
    see tables.py), "find_tables" (PyMuPDF's, ~100x slower) or "none". Lines of ``running``
    (clean.running_keys) are dropped within ``header_zone`` of the top/bottom edge, page numbers
    within ``margin_share``; side stamps (clean.is_side_stamp) anywhere."""
    # Table words come in visual (reversed) order for right-to-left scripts: keep block text there.
    rtl = any(_RTL_RE.search(b.text) for b in blocks)
    tables = [] if rtl else _tables(page, feats, table_min_crossings, table_extractor, rules, textpage,
                                    blocks, margin_share)
    body = feats.body_size
    # The page's first and last text blocks, when they lie in the running-head zone: candidates for
    # a running head with its page number (clean.is_running_head), recognised on the page alone.
    zone = RUNNING_HEAD_ZONE * feats.height
    nonblank = [b for b in blocks if b.text.strip()]
    edge_top = min(nonblank, key=lambda b: b.bbox[1]) if nonblank else None
    edge_bottom = max(nonblank, key=lambda b: b.bbox[3]) if nonblank else None
    if edge_top is not None and edge_top.bbox[3] > zone:
        edge_top = None
    if edge_bottom is not None and edge_bottom.bbox[1] < feats.height - zone:
        edge_bottom = None
    regions = _display_math(page, blocks, feats) if feats.equation_lines else {}
    items: list[_Item] = []
    body_family: str | None = None  # the body text's font family, found when first needed
    pending = sorted(tables, key=lambda t: t.bbox[1])
    for b in blocks:
        while pending and pending[0].bbox[1] <= b.bbox[1]:  # a table goes before the first block below it
            items.append(pending.pop(0))
        if tables:  # lines of the block that a table took (its rows may share a block with prose)
            kept = [ln for ln in b.lines if not any(id(ln) in t.lines if t.lines is not None
                                                    else _inside(ln.bbox, t.bbox) for t in tables)]
            if len(kept) < len(b.lines):
                if not kept:
                    continue
                b = Block(kept, b.bbox, "\n".join(ln.text for ln in kept))
        text = b.text.strip()
        if not text:
            continue
        if in_margin(b.bbox, feats.height, margin_share) and is_page_number(text):
            continue
        if running and in_margin(b.bbox, feats.height, header_zone) and margin_key(text) in running:
            continue
        if len(b.lines) == 1 and is_side_stamp(b.bbox, text, feats.width):
            continue
        if (b is edge_top or b is edge_bottom) and _one_row(b):
            row = " ".join(ln.text.strip() for ln in b.lines)
            size = max(ln.size for ln in b.lines)
            if is_running_head(row, size, body):
                continue
            if in_margin(b.bbox, feats.height, margin_share) and 0 < size <= body - 0.5:
                if body_family is None:
                    body_family = _family([ln for bb in blocks for ln in bb.lines])
                if is_lone_furniture(row, size, _family(b.lines), body, body_family):
                    continue
        md = _render_block(b, body, code_blocks, regions)
        if md:
            items.append(_Item(b.bbox, md))
    items.extend(pending)
    return "\n\n".join(it.md for it in _reading_order(items, feats.width))
