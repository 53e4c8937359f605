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


@dataclass
class Table:
    bbox: tuple[float, float, float, float]
    rows: list[list[str]]


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


def _band_rows(words: list[tuple[int, Word]], ncols: int) -> list[list[list[tuple[int, Word]]]]:
    """Split the words of one band (between two horizontal rules) into text rows."""
    words.sort(key=lambda cw: ((cw[1][1] + cw[1][3]) / 2, cw[1][0]))
    lines: list[list[tuple[int, Word]]] = []
    last_y = last_h = None
    for cw in words:
        w = cw[1]
        y, h = (w[1] + w[3]) / 2, w[3] - w[1]
        if last_y is None or y - last_y > ROW_MERGE_SHARE * max(h, last_h or h):
            lines.append([])
            last_y, last_h = y, h
        lines[-1].append(cw)
    rows: list[list[list[tuple[int, Word]]]] = []
    for ln in lines:
        cells: list[list[tuple[int, Word]]] = [[] for _ in range(ncols)]
        for cw in ln:
            cells[cw[0]].append(cw)
        if rows and sum(1 for c in cells if c) <= 1:  # a wrapped cell continues the row above
            for k in range(ncols):
                rows[-1][k].extend(cells[k])
        else:
            rows.append(cells)
    return rows


def ruled_tables(hs: Sequence[HRule], vs: Sequence[VRule], words: Sequence[Word],
                 tol: float = SNAP_TOL) -> list[Table]:
    """The ruled tables of a page from its rules and words (see the module docstring)."""
    out: list[Table] = []
    for hi, vi in _components(hs, vs, tol):
        ys = _snap([hs[i][2] for i in hi], tol)
        xs = _snap([vs[j][2] for j in vi], tol)
        if len(ys) < 3 or len(xs) < 3:
            continue
        x0, x1, y0, y1 = xs[0], xs[-1], ys[0], ys[-1]
        ncols = len(xs) - 1
        bands: list[list[tuple[int, Word]]] = [[] for _ in range(len(ys) - 1)]
        for w in words:
            cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
            if x0 < cx < x1 and y0 < cy < y1:
                bands[bisect_right(ys, cy) - 1].append((bisect_right(xs, cx) - 1, w))
        grid: list[list[list[tuple[int, Word]]]] = []
        for band in bands:
            if band:
                grid.extend(_band_rows(band, ncols))
        keep_cols = [k for k in range(ncols) if any(r[k] for r in grid)]
        if len(grid) < 2 or len(keep_cols) < 2:
            continue
        filled = sum(1 for r in grid for k in keep_cols if r[k])
        if filled < MIN_FILLED_CELLS or filled < MIN_FILL_SHARE * len(grid) * len(keep_cols):
            continue
        rows = [[" ".join(cw[1][4] for cw in sorted(r[k], key=lambda cw: (round(cw[1][1]), cw[1][0])))
                 for k in keep_cols] for r in grid]
        out.append(Table((x0, y0, x1, y1), rows))
    return out
