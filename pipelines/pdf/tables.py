"""Ruled tables from the page's own vector rules and words (a "lattice" extractor).

PyMuPDF's ``page.find_tables`` costs ~100-600 ms a page (it re-extracts every character and
every drawing in Python); the cheap path already has the page's horizontal and vertical rules
(from ``get_cdrawings``) and its text page, so a ruled table costs about a millisecond here:

1. rules that cross each other form connected components (union-find); a component with at
   least 3 distinct rule rows and 3 distinct rule columns is a candidate grid;
2. cell borders are the distinct y of its horizontal rules and x of its vertical rules;
3. every word whose centre lies in the grid goes to the cell around its centre; inside a band
   between two horizontal rules, words on separate text lines become separate rows unless only
   one column continues (a wrapped cell), so tables ruled only around the header still split
   their body rows;
4. empty rows/columns (partial rules) are dropped, and a grid whose cells are mostly empty
   (plot grid lines, boxes of a diagram) is not a table.

Merged cells come out as text in one cell and empty neighbours (as in find_tables' output).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

HRule = tuple[float, float, float]  # (x0, x1, y)
VRule = tuple[float, float, float]  # (y0, y1, x)
Word = tuple[float, float, float, float, str]  # (x0, y0, x1, y1, text)

# Rules closer than this (points) are one border (double rules, anti-aliased hairlines, and the
# 2-point tolerance find_tables' "lines" strategy snaps with).
SNAP_TOL = 2.0
# A grid is a table when at least this share of its (non-empty-row x non-empty-column) cells
# hold text and it has at least MIN_FILLED_CELLS such cells (a 2x2 table).
MIN_FILL_SHARE = 0.4
MIN_FILLED_CELLS = 4
# Words on lines whose centres are closer than this share of the line height are one text row.
ROW_MERGE_SHARE = 0.5
# A band between two row borders is one table row whose text lines are wrapped cells (the
# "lattice" reading of find_tables' lines strategy and of docling's ground truth), unless the
# grid has at most SPLIT_MAX_BANDS bands with text (rules only around the header and the body:
# the body's lines are its rows) or the band has SPLIT_MIN_LINES+ lines that each fill 2+
# columns (unruled body rows under a ruled header or between group rules).
SPLIT_MAX_BANDS = 2
SPLIT_MIN_LINES = 3
# ... and where those lines are at least this share of the band's lines (a label centred on a
# group of rows is a line of its own) and their cells are short (data, not wrapped prose:
# a wrapped line of a text cell has 15+ characters).
SPLIT_MIN_SHARE = 0.6
SPLIT_MAX_CELL_CHARS = 12
# Rules that run this far (points) past the outermost rules of the other direction bound an
# open side of the table (no outer vertical rules, the usual journal style); a filled rectangle
# wider than this inside a grid is a shaded cell.
OPEN_SIDE_MIN = 6.0
# A ruled column holds unruled columns (see _split_columns) split at gutters at least
# SUBCOL_MIN_GUTTER points wide (twice a word space at 10 pt) that the words of at most
# SUBCOL_MAX_CROSSING of the column's rows cross (cells spanning the unruled columns), with
# text on both sides in at least SUBCOL_MIN_ROWS rows.
SUBCOL_MIN_GUTTER = 5.0
SUBCOL_MAX_CROSSING = 0.15
SUBCOL_MIN_ROWS = 2
# Row shading: at least FILL_MIN_ROWS stacked filled rectangles of one width, at least
# FILL_MIN_WIDTH points wide (two columns of text); a header line ending at most FILL_HEADER_GAP
# points above the first shaded row is the table's first row.
FILL_MIN_ROWS = 3
FILL_MIN_WIDTH = 100.0
FILL_HEADER_GAP = 6.0
# A word that runs at least this far (points) into the cells on both sides of a column border
# is two cells' text without a space between them.
STRADDLE_MIN = 2.0
# A word this many times taller than wide is set vertically (a rotated column header).
ROTATED_ASPECT = 1.5


@dataclass
class Table:
    bbox: tuple[float, float, float, float]
    rows: list[list[str]]
    # Per cell its owner (r, c) where cells are merged (spanning), else None: see grid_spans.
    owner: list[list[tuple[int, int]]] | None = None
    # aligned_tables: indices of the pieces the table is made of (its text lines; other lines
    # inside its box, e.g. a paragraph beside it, stay text).
    members: list[int] | None = None


def _snap(values: list[float], tol: float = SNAP_TOL) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _components(hs: Sequence[HRule], vs: Sequence[VRule], tol: float) -> list[tuple[list[int], list[int]]]:
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (hx0, hx1, hy) in enumerate(hs):
        for j, (vy0, vy1, vx) in enumerate(vs):
            if hx0 - tol <= vx <= hx1 + tol and vy0 - tol <= hy <= vy1 + tol:
                a, b = find(i), find(len(hs) + j)
                if a != b:
                    parent[a] = b
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for i in range(len(hs)):
        groups.setdefault(find(i), ([], []))[0].append(i)
    for j in range(len(vs)):
        groups.setdefault(find(len(hs) + j), ([], []))[1].append(j)
    return [g for g in groups.values() if g[0] and g[1]]


def _text_lines(words: list[tuple[int, Word]]) -> list[list[tuple[int, Word]]]:
    """Words (with their column) grouped into text lines, top to bottom."""
    words = sorted(words, key=lambda cw: ((cw[1][1] + cw[1][3]) / 2, cw[1][0]))
    lines: list[list[tuple[int, Word]]] = []
    last_y = last_h = 0.0
    for cw in words:
        w = cw[1]
        y, h = (w[1] + w[3]) / 2, w[3] - w[1]
        if not lines or y - last_y > ROW_MERGE_SHARE * max(h, last_h):
            lines.append([])
            last_y, last_h = y, h
        lines[-1].append(cw)
    return lines


def _band_rows(words: list[tuple[int, Word]], ncols: int) -> list[list[list[tuple[int, Word]]]]:
    """Split the words of one band (between two row borders) into text rows; a line that fills
    at most one column continues the row above (a wrapped cell)."""
    rows: list[list[list[tuple[int, Word]]]] = []
    for ln in _text_lines(words):
        cells: list[list[tuple[int, Word]]] = [[] for _ in range(ncols)]
        for cw in ln:
            cells[cw[0]].append(cw)
        if rows and sum(1 for c in cells if c) <= 1:
            for k in range(ncols):
                rows[-1][k].extend(cells[k])
        else:
            rows.append(cells)
    return rows


def _splits_into_rows(words: list[tuple[int, Word]], n_bands: int) -> bool:
    """Whether a band's text lines are table rows of their own (see SPLIT_MAX_BANDS)."""
    if n_bands <= SPLIT_MAX_BANDS:
        return True
    lines = _text_lines(words)
    multi = [ln for ln in lines if len({cw[0] for cw in ln}) >= 2]
    if len(multi) < SPLIT_MIN_LINES or len(multi) < SPLIT_MIN_SHARE * len(lines):
        return False
    cells = [" ".join(cw[1][4] for cw in ln if cw[0] == k) for ln in multi for k in {cw[0] for cw in ln}]
    return sum(len(c) for c in cells) <= SPLIT_MAX_CELL_CHARS * len(cells)


def _rotated(w: Word) -> bool:
    return len(w[4]) >= 2 and (w[3] - w[1]) > ROTATED_ASPECT * (w[2] - w[0])


def cell_text(words: Sequence[Word]) -> str:
    """A cell's words in reading order: by text line, then left to right; a cell of words set
    vertically (rotated column headers) reads left to right, one word a line."""
    if not words:
        return ""
    if all(_rotated(w) for w in words):
        return " ".join(w[4] for w in sorted(words, key=lambda w: (w[0], w[1])))
    lines = _text_lines([(0, w) for w in words])
    return " ".join(cw[1][4] for ln in lines for cw in sorted(ln, key=lambda cw: cw[1][0]))


def _join_segments(rules: Sequence[tuple[float, float, float]], tol: float) -> list[tuple[float, float, float]]:
    """Collinear rule segments that touch or overlap joined into one rule (a border drawn one cell
    at a time)."""
    out: list[tuple[float, float, float]] = []
    for a0, a1, c in sorted(rules, key=lambda r: (round(r[2] / tol), r[0])):
        if out and abs(out[-1][2] - c) <= tol and a0 <= out[-1][1] + tol:
            p0, p1, pc = out[-1]
            out[-1] = (p0, max(p1, a1), pc)
        else:
            out.append((a0, a1, c))
    return out


def _latin_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _split_straddling(words: Sequence[Word], vs: Sequence[VRule], tol: float) -> list[Word]:
    """Words that cross a vertical rule (no space between two cells' text in the text layer)
    cut at the rule, characters taken as equally wide."""
    out: list[Word] = []
    rule_xs = sorted(v[2] for v in vs)
    for w in words:
        x0, y0, x1, y1, text = w
        k = bisect_right(rule_xs, x0 + STRADDLE_MIN)
        if k == len(rule_xs) or rule_xs[k] >= x1 - STRADDLE_MIN:  # no rule inside the word
            out.append(w)
            continue
        cy = (y0 + y1) / 2
        cut = sorted(vx for vy0, vy1, vx in vs
                     if x0 + STRADDLE_MIN < vx < x1 - STRADDLE_MIN and vy0 - tol <= cy <= vy1 + tol)
        if not cut or len(text) < 2:
            out.append(w)
            continue
        step = (x1 - x0) / len(text)
        start = 0
        for x in cut:
            k = round((x - x0) / step)
            # never inside a run of Latin letters and digits (a number whose glyph boxes run
            # past the rule it is set against is one cell's text)
            if start < k < len(text) and not (_latin_alnum(text[k - 1]) and _latin_alnum(text[k])):
                out.append((x0 + start * step, y0, x0 + k * step, y1, text[start:k]))
                start = k
        out.append((x0 + start * step, y0, x1, y1, text[start:]))
    return out


def ruled_tables(hs: Sequence[HRule], vs: Sequence[VRule], words: Sequence[Word],
                 tol: float = SNAP_TOL, fills: Sequence[tuple[float, float, float, float]] = ()) -> list[Table]:
    """The ruled tables of a page from its rules, filled rectangles and words (see the module
    docstring)."""
    out: list[Table] = []
    hs, vs = _join_segments(hs, tol), _join_segments(vs, tol)
    grids = [([hs[i] for i in hi], [vs[j] for j in vi]) for hi, vi in _components(hs, vs, tol)]
    boxes = [(min(h[0] for h in ch), min(v[0] for v in cv), max(h[1] for h in ch), max(v[1] for v in cv))
             for ch, cv in grids]
    for stack in fill_stacks(fills, tol):  # row shading without rules (zebra tables)
        x0, x1, y0, y1 = stack[0][0], stack[0][2], stack[0][1], stack[-1][3]
        if any(b[0] - tol <= x0 and x1 <= b[2] + tol and b[1] - tol <= y0 and y1 <= b[3] + tol for b in boxes):
            continue
        ch = [(x0, x1, f[1]) for f in stack] + [(x0, x1, y1)]
        # the header line right above the first shaded row (its own row, not shaded)
        head = [w for w in words if y0 - FILL_HEADER_GAP <= w[3] <= y0 + tol and x0 < (w[0] + w[2]) / 2 < x1]
        if head:
            top = min(w[1] for w in head) - tol
            ch.append((x0, x1, top))
            y0 = top
        grids.append((ch, [(y0, y1, x0), (y0, y1, x1)]))
    for ch, cv in grids:
        xs = _snap([v[2] for v in cv], tol)
        ys = _snap([h[2] for h in ch], tol)
        if len(ys) < 2 or len(xs) < 2:
            continue
        # Open sides: rules that run past the outermost rules of the other direction bound a
        # column (a row) there when text lies in it (tables without outer vertical rules).
        gx0, gx1 = min(h[0] for h in ch), max(h[1] for h in ch)
        gy0, gy1 = min(v[0] for v in cv), max(v[1] for v in cv)
        if gx0 < xs[0] - OPEN_SIDE_MIN and _has_words(words, gx0, ys[0], xs[0], ys[-1]):
            xs.insert(0, gx0)
        if gx1 > xs[-1] + OPEN_SIDE_MIN and _has_words(words, xs[-1], ys[0], gx1, ys[-1]):
            xs.append(gx1)
        if gy0 < ys[0] - OPEN_SIDE_MIN and _has_words(words, xs[0], gy0, xs[-1], ys[0]):
            ys.insert(0, gy0)
        if gy1 > ys[-1] + OPEN_SIDE_MIN and _has_words(words, xs[0], ys[-1], xs[-1], gy1):
            ys.append(gy1)
        # Shaded cells: their top and bottom edges inside the grid are row borders (a fill
        # under another one, a background, is not a cell).
        for f in fills:
            if f[0] >= xs[0] - tol and f[2] <= xs[-1] + tol and f[2] - f[0] > OPEN_SIDE_MIN \
                    and not _under_another(f, fills, tol):
                for y in (f[1], f[3]):
                    if ys[0] + tol < y < ys[-1] - tol:
                        ch.append((f[0], f[2], y))
        ys = _snap(ys + [h[2] for h in ch if ys[0] + tol < h[2] < ys[-1] - tol], tol)
        if len(ys) < 3 or len(xs) < 2:
            continue
        t = _grid_table(ch, cv, xs, ys, _split_straddling(words, cv, tol), tol)
        if t is not None:
            out.append(t)
    return out


def _under_another(f: tuple[float, float, float, float], fills: Sequence[tuple[float, float, float, float]],
                   tol: float) -> bool:
    return any(g is not f and min(f[2], g[2]) - max(f[0], g[0]) > tol and min(f[3], g[3]) - max(f[1], g[1]) > tol
               for g in fills)


def fill_stacks(fills: Sequence[tuple[float, float, float, float]], tol: float = SNAP_TOL
                ) -> list[list[tuple[float, float, float, float]]]:
    """Runs of at least FILL_MIN_ROWS filled rectangles of one width (at least FILL_MIN_WIDTH),
    each starting where the one above ends: the row shading of a table without rules."""
    wide = sorted((f for f in fills if f[2] - f[0] >= FILL_MIN_WIDTH),
                  key=lambda f: (round(f[0] / tol), round(f[2] / tol), f[1]))
    out: list[list[tuple[float, float, float, float]]] = []
    cur: list[tuple[float, float, float, float]] = []
    for f in wide:
        last = cur[-1] if cur else None
        if last is not None and abs(f[0] - last[0]) <= tol and abs(f[2] - last[2]) <= tol \
                and last[1] + tol < f[1] <= last[3] + tol:
            cur.append(f)
            continue
        if len(cur) >= FILL_MIN_ROWS:
            out.append(cur)
        cur = [f]
    if len(cur) >= FILL_MIN_ROWS:
        out.append(cur)
    return out


def _has_words(words: Sequence[Word], x0: float, y0: float, x1: float, y1: float) -> bool:
    return any(x0 < (w[0] + w[2]) / 2 < x1 and y0 < (w[1] + w[3]) / 2 < y1 for w in words)


def _split_columns(grid: list[list[list[tuple[int, Word]]]], xs: Sequence[float]
                   ) -> tuple[list[list[list[tuple[int, Word]]]], int, bool]:
    """Ruled columns that hold several unruled ones (tables ruled between groups of columns):
    each ruled column is cut at its gutters, x ranges at least SUBCOL_MIN_GUTTER wide that the
    words of at most SUBCOL_MAX_CROSSING of its rows cross and that have words on both sides
    in at least SUBCOL_MIN_ROWS rows. Returns the grid, its column count and whether any
    column was cut."""
    ncols = len(xs) - 1
    cuts: list[list[float]] = []
    for k in range(ncols):
        rows = [[cw[1] for cw in r[k]] for r in grid if r[k]]
        cuts.append(_gutters(rows, xs[k], xs[k + 1]) if len(rows) >= SUBCOL_MIN_ROWS else [])
    if not any(cuts):
        return grid, ncols, False
    base = [0]
    for k in range(ncols):
        base.append(base[-1] + len(cuts[k]) + 1)
    out = []
    for r in grid:
        row: list[list[tuple[int, Word]]] = [[] for _ in range(base[-1])]
        for k, cell in enumerate(r):
            # a table's title set in its first row stays whole
            whole = bool(cell) and bool(_TABLE_CAPTION_RE.match(cell_text([cw[1] for cw in cell])))
            for cw in cell:
                sub = 0 if whole else bisect_right(cuts[k], (cw[1][0] + cw[1][2]) / 2)
                row[base[k] + sub].append((base[k] + sub, cw[1]))
        out.append(row)
    return out, base[-1], True


def _gutters(rows: list[list[Word]], x0: float, x1: float) -> list[float]:
    """The middles of a ruled column's gutters (see _split_columns)."""
    n = int(x1 - x0) + 1
    cnt = [0] * n
    for ws in rows:
        covered = [False] * n
        for w in ws:
            for b in range(max(0, int(w[0] - x0)), min(n, int(w[2] - x0) + 1)):
                covered[b] = True
        for b in range(n):
            cnt[b] += covered[b]
    allowed = int(SUBCOL_MAX_CROSSING * len(rows))
    out: list[float] = []
    b = 0
    while b < n:
        if cnt[b] > allowed:
            b += 1
            continue
        e = b
        while e < n and cnt[e] <= allowed:
            e += 1
        g0, g1 = x0 + b, x0 + e - 1
        if b > 0 and e < n and g1 - g0 >= SUBCOL_MIN_GUTTER:
            both = sum(1 for ws in rows if any((w[0] + w[2]) / 2 < g0 for w in ws)
                       and any((w[0] + w[2]) / 2 > g1 for w in ws))
            if both >= SUBCOL_MIN_ROWS:
                out.append((g0 + g1) / 2)
        b = e
    return out


def _grid_table(ch: Sequence[HRule], cv: Sequence[VRule], xs: list[float], ys: list[float],
                words: Sequence[Word], tol: float) -> Table | None:
    x0, x1, y0, y1 = xs[0], xs[-1], ys[0], ys[-1]
    ncols = len(xs) - 1
    bands: list[list[tuple[int, Word]]] = [[] for _ in range(len(ys) - 1)]
    for w in words:
        cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
        if x0 < cx < x1 and y0 < cy < y1:
            bands[bisect_right(ys, cy) - 1].append((bisect_right(xs, cx) - 1, w))
    n_bands = sum(1 for b in bands if b)
    grid: list[list[list[tuple[int, Word]]]] = []
    one_row_per_band = True
    for band in bands:
        if not band:
            one_row_per_band = False
        elif _splits_into_rows(band, n_bands):
            rows_here = _band_rows(band, ncols)
            one_row_per_band = one_row_per_band and len(rows_here) == 1
            grid.extend(rows_here)
        else:  # one row: the band's lines are wrapped cells
            cells: list[list[tuple[int, Word]]] = [[] for _ in range(ncols)]
            for cw in band:
                cells[cw[0]].append(cw)
            grid.append(cells)
    grid, ncols, split = _split_columns(grid, xs)
    owner = None
    if one_row_per_band and ncols >= 2 and not split:
        own = grid_spans(ch, cv, xs, ys, tol)
        if any(o != (r, c) for r, row in enumerate(own) for c, o in enumerate(row)) \
                and spans_are_rectangles(own):
            owner = own
    keep_cols = list(range(ncols)) if owner else [k for k in range(ncols) if any(r[k] for r in grid)]
    if len(grid) < 2 or len(keep_cols) < 2:
        return None
    filled = sum(1 for r in grid for k in keep_cols if r[k])
    if filled < MIN_FILLED_CELLS or filled < MIN_FILL_SHARE * len(grid) * len(keep_cols):
        return None
    rows = [[cell_text([cw[1] for cw in r[k]]) for k in keep_cols] for r in grid]
    return Table((x0, y0, x1, y1), rows, owner)


# ---------------------------------------------------------------------------------------------
# Merged cells of fully ruled grids


def grid_spans(hs: Sequence[HRule], vs: Sequence[VRule], xs: Sequence[float], ys: Sequence[float],
               tol: float = SNAP_TOL) -> list[list[tuple[int, int]]]:
    """For a ruled grid with column borders ``xs`` and row borders ``ys``: per cell (r, c) its
    owner cell, where a missing rule segment between two cells merges them (a cell spanning
    columns or rows). ``owner[r][c] == (r, c)`` for a cell of its own."""
    nr, nc = len(ys) - 1, len(xs) - 1

    def v_at(x: float, y: float) -> bool:
        return any(abs(vx - x) <= tol and vy0 - tol <= y <= vy1 + tol for vy0, vy1, vx in vs)

    def h_at(y: float, x: float) -> bool:
        return any(abs(hy - y) <= tol and hx0 - tol <= x <= hx1 + tol for hx0, hx1, hy in hs)

    parent = {(r, c): (r, c) for r in range(nr) for c in range(nc)}

    def find(a: tuple[int, int]) -> tuple[int, int]:
        while parent[a] != a:
            a = parent[a]
        return a

    def union(a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the top-left cell owns the span

    for r in range(nr):
        ym = (ys[r] + ys[r + 1]) / 2
        for c in range(1, nc):
            if not v_at(xs[c], ym):
                union((r, c - 1), (r, c))
    for c in range(nc):
        xm = (xs[c] + xs[c + 1]) / 2
        for r in range(1, nr):
            if not h_at(ys[r], xm):
                union((r - 1, c), (r, c))
    return [[find((r, c)) for c in range(nc)] for r in range(nr)]


def spans_are_rectangles(owner: list[list[tuple[int, int]]]) -> bool:
    """Every merged region is a rectangle (else the rules are partial and spans are unreliable)."""
    regions: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for r, row in enumerate(owner):
        for c, o in enumerate(row):
            regions.setdefault(o, []).append((r, c))
    for cells in regions.values():
        rs = {r for r, _ in cells}
        cs = {c for _, c in cells}
        if len(cells) != len(rs) * len(cs) or max(rs) - min(rs) + 1 != len(rs) or max(cs) - min(cs) + 1 != len(cs):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Unruled (and booktabs) tables from text-line alignment

Piece = tuple[float, float, float, float, str]  # a text line's box and text (MuPDF cuts lines at wide gaps)

# A table has at least this many rows (header + 2) and 2 columns.
MIN_TABLE_ROWS = 3
# Consecutive rows farther apart than this many row heights end a table.
ROW_MAX_GAP = 1.6
# Gutters (x ranges free of text in every row of the table) narrower than this are word gaps.
MIN_GUTTER = 4.0
# Cells are short: prose columns (two-column papers) have ~50-60 characters a line.
MAX_MEAN_CELL_CHARS = 28
MAX_CELL_CHARS = 90
# At least this share of the (row x column) cells hold text.
MIN_TEXT_FILL = 0.6
# A two-column candidate needs this share of its second-column cells to be numbers (a
# key/value list or two text columns side by side is not a table otherwise).
TWO_COLUMN_MIN_NUMERIC = 0.5
# The next line of a wrapped cell lies at most this many line heights below the row above.
WRAP_MAX_GAP = 0.6
# At most this share of a table's rows hold a cell spanning two columns.
MAX_SPANNING_ROW_SHARE = 0.34
# A table holds formulas or equation numbers in at most this share of its rows (a cell such
# as "< 100 chars", a "(1)" column header; not the "(73)" codes down a patent front page);
# display equations with numbers have one in every row.
MAX_FORMULA_ROW_SHARE = 0.2
_NUMBERED_HEAD_RE = re.compile(r"\(\s*[0-9ivxIVX]{1,4}\s*\)")
_UNIT_SUFFIXES = set("kKMBGT%")
# A two-column run whose second column is text is a table when its first column holds short
# keys (at most this many characters on average) and a "Table N" caption lies within
# CAPTION_MAX_GAP row heights above or below it.
TWO_COLUMN_MAX_KEY_CHARS = 16
CAPTION_MAX_GAP = 3.0
_TABLE_CAPTION_RE = re.compile(r"^(Table|TABLE|Tab\.)[.:]?\s*[A-Z]?[0-9IVX]+[.:]?(\s|$)")
_NUMERIC_CHARS = set("0123456789.,%±+-−–()[]/ ×eE<>~≈*")


def _tabular(row: list[tuple[float, float, float, float, str, int]], keys: bool = False) -> bool:
    """A row that can belong to a table: 3+ pieces, or 2 of which one is a number, both are
    short or (``keys``: the page has a table caption) the first is a short key (two prose
    columns side by side are neither)."""
    if len(row) < 2:
        return False
    for p in row:
        if len(p[4]) > MAX_CELL_CHARS:
            return False
    if len(row) >= 3:
        return True
    a, b = row[0][4], row[1][4]
    return (len(a) <= 25 and len(b) <= 25) or _numeric(a) or _numeric(b) or (keys and len(a) <= TWO_COLUMN_MAX_KEY_CHARS)


def _numeric(text: str) -> bool:
    t = text.strip()
    if len(t) >= 2 and t[-1] in _UNIT_SUFFIXES and t[-2].isdigit():  # 20k, 0.3M, 15%
        t = t[:-1]
    return bool(t) and any(c.isdigit() for c in t) and sum(c in _NUMERIC_CHARS for c in t) >= 0.7 * len(t)


def _gaps(covered: list[tuple[float, float]], x0: float, x1: float) -> list[tuple[float, float]]:
    out, cur = [], x0
    for a, b in sorted(covered):
        if a - cur >= MIN_GUTTER:
            out.append((cur, a))
        cur = max(cur, b)
    del x1
    return out


def _rows(pieces: Sequence[Piece]) -> list[list[tuple[float, float, float, float, str, int]]]:
    rows: list[list[tuple[float, float, float, float, str, int]]] = []
    indexed = [(*p, i) for i, p in enumerate(pieces)]
    ly0 = ly1 = 0.0  # vertical extent of the last row, kept as pieces join it
    for p in sorted(indexed, key=lambda p: ((p[1] + p[3]) / 2, p[0])):
        y0, y1 = p[1], p[3]
        if rows and abs((y0 + y1) / 2 - (ly0 + ly1) / 2) <= 0.4 * max(y1 - y0, ly1 - ly0):
            rows[-1].append(p)
            if y0 < ly0:
                ly0 = y0
            if y1 > ly1:
                ly1 = y1
            continue
        rows.append([p])
        ly0, ly1 = y0, y1
    for r in rows:
        r.sort(key=lambda p: p[0])
    return rows


def aligned_tables(pieces: Sequence[Piece], formulas: Sequence[bool] = ()) -> list[Table]:
    """Tables whose columns are set apart by whitespace (no rules, or only horizontal ones):
    runs of consecutive rows of 2+ text pieces whose x gaps line up in every row (gutters) and
    whose cells are short. A row whose text crosses a gutter (a title, a paragraph, a cell
    spanning columns) ends the run. ``formulas[i]``: piece i is a formula or an equation
    number (display equations with their numbers line up like a two-column table)."""
    rows = _rows(pieces)
    captions = [p for p in pieces if _TABLE_CAPTION_RE.match(p[4])]
    tabular = [_tabular(r, bool(captions)) for r in rows]  # each row judged once
    if sum(tabular) < MIN_TABLE_ROWS:
        return []
    out: list[Table] = []
    i = 0
    while i < len(rows):
        if not tabular[i]:
            i += 1
            continue
        run = [rows[i]]
        cover = [(p[0], p[2]) for p in rows[i]]
        x0, x1 = min(p[0] for p in rows[i]), max(p[2] for p in rows[i])
        gut = _gaps(cover, x0, x1)
        j = i + 1
        spanning = 0
        wrapped: set[int] = set()
        while j < len(rows):
            row = rows[j]
            h = max(p[3] - p[1] for p in row)
            prev_bottom = max(p[3] for p in run[-1])
            if min(p[1] for p in row) - prev_bottom > ROW_MAX_GAP * h:
                break
            if not tabular[j]:
                # A lone piece right below a row, inside one column other than the first and
                # clear of every gutter, is the next line of a wrapped cell.
                p = row[0]
                if len(row) == 1 and len(run) >= 2 and gut and p[0] > gut[0][1] - MIN_GUTTER \
                        and min(p[1] for p in row) - prev_bottom <= WRAP_MAX_GAP * h \
                        and not any(p[0] < b and a < p[2] for a, b in gut):
                    run.append(row)
                    wrapped.add(len(run) - 1)
                    j += 1
                    continue
                break
            nx0, nx1 = min(x0, min(p[0] for p in row)), max(x1, max(p[2] for p in row))
            ncover = cover + [(p[0], p[2]) for p in row]
            ngut = _gaps(ncover, nx0, nx1)
            if len(ngut) < len(gut) or not ngut:
                # A row with one cell across one gutter (a cell spanning two columns) stays in
                # the table without moving its gutters.
                if len(gut) >= 2 and len(ngut) == len(gut) - 1 and len(row) >= 2 \
                        and spanning + 1 <= MAX_SPANNING_ROW_SHARE * (len(run) + 1):
                    run.append(row)
                    spanning += 1
                    j += 1
                    continue
                break
            run.append(row)
            cover, gut, x0, x1 = ncover, ngut, nx0, nx1
            j += 1
        # spanning rows and wrapped lines do not count towards a table's rows
        t = _run_table(run, gut, formulas, captions, wrapped) \
            if len(run) - spanning - len(wrapped) >= MIN_TABLE_ROWS else None
        if t is not None:
            out.append(t)
            i = j
        else:
            i += 1
    return out


def _run_table(run: list[list[tuple[float, float, float, float, str, int]]],
               gutters: list[tuple[float, float]], formulas: Sequence[bool] = (),
               captions: Sequence[Piece] = (), wrapped: set[int] | None = None) -> Table | None:
    if len(run) - len(wrapped or ()) < MIN_TABLE_ROWS or not gutters:
        return None
    # a row of several numbered column heads ("(1) (2) (3)") is a header, not a formula row
    if formulas and sum(any(formulas[p[5]] for p in r) and sum(bool(_NUMBERED_HEAD_RE.fullmatch(p[4])) for p in r) < 2
                        for r in run) > MAX_FORMULA_ROW_SHARE * len(run):
        return None
    bounds = [(a + b) / 2 for a, b in gutters]
    ncols = len(bounds) + 1
    grid: list[list[str]] = []
    for n, row in enumerate(run):
        cells = grid[-1] if wrapped and n in wrapped else [""] * ncols
        for p in row:
            k = bisect_right(bounds, (p[0] + p[2]) / 2)
            cells[k] = (cells[k] + " " + p[4].strip()).strip()
        if not (wrapped and n in wrapped):
            grid.append(cells)
    keep = [k for k in range(ncols) if any(r[k] for r in grid)]
    grid = [[r[k] for k in keep] for r in grid]
    ncols = len(keep)
    texts = [c for r in grid for c in r if c]
    if ncols < 2 or not texts:
        return None
    if len(texts) < MIN_TEXT_FILL * len(grid) * ncols:
        return None
    if sum(len(c) for c in texts) > MAX_MEAN_CELL_CHARS * len(texts) or max(len(c) for c in texts) > MAX_CELL_CHARS:
        return None
    bx0 = min(p[0] for r in run for p in r)
    by0 = min(p[1] for r in run for p in r)
    bx1 = max(p[2] for r in run for p in r)
    by1 = max(p[3] for r in run for p in r)
    if ncols == 2:
        second = [r[1] for r in grid[1:] if r[1]]
        if not second:
            return None
        numeric = sum(_numeric(c) for c in second) >= TWO_COLUMN_MIN_NUMERIC * len(second)
        # A term / description table (short keys) is one when a "Table N" caption sits beside it.
        h = max(p[3] - p[1] for p in run[0])
        keys = [r[0] for r in grid if r[0]]
        captioned = sum(len(k) for k in keys) <= TWO_COLUMN_MAX_KEY_CHARS * len(keys) and any(
            min(c[2], bx1) > max(c[0], bx0) and (0 <= by0 - c[3] <= CAPTION_MAX_GAP * h or 0 <= c[1] - by1 <= CAPTION_MAX_GAP * h)
            for c in captions)
        if not numeric and not captioned:
            return None
    return Table((bx0, by0, bx1, by1), grid, members=sorted(p[5] for r in run for p in r))
