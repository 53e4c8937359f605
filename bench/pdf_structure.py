"""Structured-output benchmark: olmOCR-bench-style unit tests per page, ours and the baselines
in one run.

Page suite (written to --out, recorded in its ``suite.jsonl`` with each PDF's sha256):

1. **generated** (deterministic, --seed): two-column papers with running headers and page-number
   footers (present / absent / order tests); tables in four styles - unruled, booktabs (horizontal
   rules only), fully ruled grid, ruled grid with a header cell spanning all columns - (table
   tests: a cell and its left / right / up / down neighbours); pages of display equations in
   three font families - Times-Italic + base-14 Symbol (Greek as Symbol-encoded Latin letters)
   + DejaVu operators, DejaVu Serif (Unicode operators, a text font), Computer Modern (cmmi10 /
   cmr10 from matplotlib) + STIX operators - with superscripts, subscripts, stacked scripts and
   integral limits (math tests: the formula's LaTeX); prose with inline ``E = mc^2`` (math);
   scans: a printed page rendered at 150 dpi (present), blank sheets with specks and
   handwriting-like scribbles (blank: the page must yield no text);
2. **docling** (real PDFs, ``--data``/pdf/docling/pdf): tests derived from docling's
   ground-truth DocTags per page: text items (present), table cells with their neighbours
   (table), page headers and footers (absent).
3. **real** (public PDFs from GitHub repositories, labelled by hand: ``bench/data/pdf_real/*.jsonl``,
   one JSON object per page with the PDF's repository, commit, path and sha256, its kind, split
   and tests; README there): the PDFs are looked up by sha256 under ``--real-pdfs`` (rebuild them
   with ``bench/pdf_real_fetch.py --out DIR``); a missing one is counted and skipped with a note.
   Only the labelled pages are scored; the stage parses the page ranges of ``pages_per_task``
   pages that hold them, as the Spark job cuts a document. Pass rates per test type, per page
   kind and per split (``dev`` / ``heldout``: only dev pages may be looked at when tuning).

Checking rules (this script's own, in the spirit of olmOCR-bench's ``tests.py``; no code from
it): text is NFKC-normalised, quotes/dashes unified, markdown emphasis and heading marks
dropped, whitespace collapsed; ``present`` = fuzzy match (rapidfuzz partial ratio >= 95 on the
normalised text), ``absent`` = no such match, ``order`` = both present and in that order;
``table`` = some markdown or HTML table of the output (HTML spans expanded) has a cell equal to
the test's cell (normalised) whose given neighbours match; ``math`` = the formula's LaTeX token
sequence (commands, single characters; braces around one token, ``\\left``/``\\right``, spacing
commands, ``\\tag``, ``\\mathrm``, ``\\displaystyle`` dropped; ``\\le``/``\\leq`` etc. unified)
occurs in a ``$...$``/``$$...$$``/``\\(...\\)``/``\\[...\\]`` segment of the output (olmOCR renders
both with KaTeX; token comparison is stricter about equivalent notations); ``blank`` = the
output has no visible character.

Methods (automatic mode, default settings): ``sciforge`` = the whole stage
(``PageParser.parse_segment`` over each document: routing, cheap markdown, OCR, quarantine; a
quarantined page outputs nothing); ``get_text`` = ``page.get_text()``; ``find_tables`` =
``get_text`` of the blocks outside PyMuPDF's ``find_tables`` tables (lines strategy, then text
strategy when none) plus those tables as markdown; ``pymupdf4llm`` = ``to_markdown(doc,
page_chunks=True)`` with its defaults. marker, docling and MinerU need model weights that
cannot be downloaded here: not run.

    .venv/bin/python bench/pdf_structure.py [--data ../shared/data] [--out var/bench/pdf_structure]
        [--tiers generated,docling,real] [--real-pdfs var/pdf_real] [--split all|dev|heldout]
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import re
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import pymupdf
from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sciforge.fixtures.scribble import cursive_row  # noqa: E402
from sciforge.pipelines.pdf.config import PdfConfig  # noqa: E402
from sciforge.pipelines.pdf.parse import PageParser, Segment  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
W, H = 595, 842

# ---------------------------------------------------------------------------------------------
# generated pages

_WORDS = ("sample measurement spectrum detector calibration temperature pressure model theory "
          "electron photon lattice crystal molecule reaction catalyst solvent density field "
          "boundary condition estimate variance signal noise frequency amplitude phase energy "
          "momentum particle wave function operator matrix vector gradient flux diffusion "
          "protein enzyme binding affinity membrane cell tissue gene expression").split()


def _sentence(rng: random.Random, n: int | None = None) -> str:
    words = [rng.choice(_WORDS) for _ in range(n or rng.randint(9, 16))]
    return "The " + " ".join(words) + "."


def _paper_doc(rng: random.Random, n_pages: int, journal: str) -> tuple[pymupdf.Document, list[list[dict]]]:
    doc = pymupdf.open()
    tests: list[list[dict]] = []
    for i in range(n_pages):
        page = doc.new_page(width=W, height=H)
        page.insert_text((50, 40), journal, fontname="tiro", fontsize=8)
        page.insert_text((W / 2 - 15, H - 30), f"Page {i + 1}", fontname="tiro", fontsize=8)
        left = " ".join(_sentence(rng) for _ in range(9))
        right = " ".join(_sentence(rng) for _ in range(9))
        page.insert_text((50, 90), f"{i + 1}. {rng.choice(_WORDS).title()} and {rng.choice(_WORDS)}",
                         fontname="tibo", fontsize=13)
        page.insert_textbox(pymupdf.Rect(50, 105, W / 2 - 10, 700), left, fontname="tiro", fontsize=10)
        page.insert_textbox(pymupdf.Rect(W / 2 + 10, 105, W - 50, 700), right, fontname="tiro", fontsize=10)
        ls, rs = left.split(". "), right.split(". ")
        tests.append([
            {"type": "present", "text": ls[2]}, {"type": "present", "text": rs[4]},
            {"type": "present", "text": ls[-2]},
            {"type": "order", "before": ls[-2], "after": rs[1]},
            {"type": "absent", "text": journal}, {"type": "absent", "text": f"Page {i + 1}"},
        ])
    return doc, tests


_COL_HEADS = ["Sample", "Mass (g)", "Temp (K)", "Yield", "Time (s)", "Error", "Ratio", "Count", "pH",
              "Accuracy", "Score", "Loss"]
_ROW_LABELS = ["Control", "Batch A", "Batch B", "Run 3", "Run 4", "Catalyst X", "Catalyst Y", "Baseline",
               "Ours", "Ablation", "Reference", "Sample 12"]


def _table_page(rng: random.Random, style: str) -> tuple[pymupdf.Document, list[dict]]:
    ncols, nrows = rng.randint(3, 6), rng.randint(4, 9)
    heads = [rng.choice(["Sample", "Method", "Material"])] + rng.sample(_COL_HEADS[1:], ncols - 1)
    rows = [heads] + [[rng.choice(_ROW_LABELS) + f" {r}"] +
                      [f"{rng.uniform(0, 500):.{rng.randint(1, 3)}f}" for _ in range(ncols - 1)]
                      for r in range(1, nrows)]
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    intro = " ".join(_sentence(rng) for _ in range(3))
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 130), intro, fontname="tiro", fontsize=10)
    caption = f"Table {rng.randint(1, 9)}: {rng.choice(_WORDS).title()} results for each {rng.choice(_WORDS)}."
    page.insert_text((60, 160), caption, fontname="tiro", fontsize=9)
    x0, cw, rh = 60, min(95, 470 // ncols), 18
    xs = [x0 + k * cw for k in range(ncols + 1)]
    top = 175 + (rh if style == "merged" else 0)
    ys = [top + r * rh for r in range(nrows + 1)]
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            page.insert_text((xs[c] + 4, ys[r] + 13), cell, fontname="tiro", fontsize=9)
    if style == "booktabs":
        for y in (ys[0] - 1, ys[1], ys[-1]):
            page.draw_line((xs[0], y), (xs[-1], y), width=0.8)
    elif style in ("grid", "merged"):
        gy = [ys[0] - rh] + ys if style == "merged" else ys
        for y in gy:
            page.draw_line((xs[0], y), (xs[-1], y), width=0.6)
        for k, x in enumerate(xs):
            page.draw_line((x, gy[0] if (style == "grid" or k in (0, ncols)) else ys[0]), (x, gy[-1]), width=0.6)
        if style == "merged":
            page.insert_text((xs[0] + 4, gy[0] + 13), "Measured values", fontname="tibo", fontsize=9)
    outro = " ".join(_sentence(rng) for _ in range(3))
    page.insert_textbox(pymupdf.Rect(60, ys[-1] + 30, 535, ys[-1] + 110), outro, fontname="tiro", fontsize=10)
    tests: list[dict] = [{"type": "present", "text": caption}]
    for _ in range(3):
        r, c = rng.randint(1, nrows - 1), rng.randint(0, ncols - 1)
        t: dict[str, Any] = {"type": "table", "cell": rows[r][c], "up": rows[r - 1][c]}
        if c > 0:
            t["left"] = rows[r][c - 1]
        if c < ncols - 1:
            t["right"] = rows[r][c + 1]
        tests.append(t)
    tests.append({"type": "order", "before": intro.split(". ")[1], "after": outro.split(". ")[1]})
    return doc, tests


# Formulas: (pieces, LaTeX). A piece is (text, role, level): role v = italic variable, r = roman,
# g = Greek letter, o = operator symbol; level 1 superscript, -1 subscript, 2/-2 the same but
# stacked over the previous script (no advance).
FORMULAS: list[tuple[list[tuple[str, str, int]], str]] = [
    ([("e", "v", 0), ("i", "v", 1), ("π", "g", 1), (" + 1 = 0", "r", 0)], r"e^{i\pi}+1=0"),
    ([("∇×", "o", 0), (" E", "v", 0), (" = ", "r", 0), ("−∂", "o", 0), ("B", "v", 0), ("/", "r", 0),
      ("∂", "o", 0), ("t", "v", 0)], r"\nabla\times E=-\partial B/\partial t"),
    ([("E", "v", 0), (" = ", "r", 0), ("mc", "v", 0), ("2", "r", 1)], r"E=mc^{2}"),
    ([("x", "v", 0), ("i", "v", -1), ("2", "r", 2), (" + ", "r", 0), ("y", "v", 0), ("i", "v", -1),
      ("2", "r", 2), (" = ", "r", 0), ("r", "v", 0), ("2", "r", 1)], r"x_{i}^{2}+y_{i}^{2}=r^{2}"),
    ([("λ", "g", 0), (" = ", "r", 0), ("h", "v", 0), ("/", "r", 0), ("p", "v", 0)], r"\lambda=h/p"),
    ([("Δ", "g", 0), ("G", "v", 0), (" = ", "r", 0), ("Δ", "g", 0), ("H", "v", 0), (" − ", "o", 0),
      ("T", "v", 0), ("Δ", "g", 0), ("S", "v", 0)], r"\Delta G=\Delta H-T\Delta S"),
    ([("F", "v", 0), (" = ", "r", 0), ("Gm", "v", 0), ("1", "r", -1), ("m", "v", 0), ("2", "r", -1),
      ("/", "r", 0), ("r", "v", 0), ("2", "r", 1)], r"F=Gm_{1}m_{2}/r^{2}"),
    ([("a", "v", 0), ("2", "r", 1), (" + ", "r", 0), ("b", "v", 0), ("2", "r", 1), (" = ", "r", 0),
      ("c", "v", 0), ("2", "r", 1)], r"a^{2}+b^{2}=c^{2}"),
    ([("σ", "g", 0), ("2", "r", 1), (" = ", "r", 0), ("αβ", "g", 0), (" + ", "r", 0), ("ω", "g", 0),
      ("2", "r", 1)], r"\sigma^{2}=\alpha\beta+\omega^{2}"),
    ([("f", "v", 0), ("(", "r", 0), ("x", "v", 0), (") ", "r", 0), ("≤", "o", 0), (" ", "r", 0),
      ("∑", "o", 0), ("k", "v", -1), ("a", "v", 0), ("k", "v", -1)], r"f(x)\leq\sum_{k}a_{k}"),
    ([("p", "v", 0), ("n", "v", -1), (" = ", "r", 0), ("∫", "o", 0), ("0", "r", -1), ("1", "r", 2),
      ("x", "v", 0), ("n", "v", 1), ("dx", "v", 0)], r"p_{n}=\int_{0}^{1}x^{n}dx"),
    ([("∂", "o", 0), ("t", "v", -1), ("u", "v", 0), (" = ", "r", 0), ("D", "v", 0), ("∇", "o", 0),
      ("2", "r", 1), ("u", "v", 0)], r"\partial_{t}u=D\nabla^{2}u"),
]
_SYMBOL_LETTER = {"π": "p", "α": "a", "β": "b", "Δ": "D", "λ": "l", "σ": "s", "ω": "w"}
FAMILIES = {
    # role -> (fontname, fontfile or None for base-14)
    "times": {"v": ("tiit", None), "r": ("tiro", None), "g": ("symb", None),
              "o": ("dvs", str(FONTS / "DejaVuSerif.ttf"))},
    "dejavu": {"v": ("dvi", str(FONTS / "DejaVuSerif-Italic.ttf")), "r": ("dvr", str(FONTS / "DejaVuSerif.ttf")),
               "g": ("dvi", str(FONTS / "DejaVuSerif-Italic.ttf")), "o": ("dvr", str(FONTS / "DejaVuSerif.ttf"))},
    "cm": {"v": ("cmi", str(FONTS / "cmmi10.ttf")), "r": ("cmr", str(FONTS / "cmr10.ttf")),
           "g": ("sti", str(FONTS / "STIXGeneralItalic.ttf")), "o": ("str", str(FONTS / "STIXGeneral.ttf"))},
}
_FONT_OBJ: dict[str, pymupdf.Font] = {}


def _text_len(text: str, name: str, file: str | None, size: float) -> float:
    if file is None:
        return pymupdf.get_text_length(text, fontname=name, fontsize=size)
    f = _FONT_OBJ.get(file)
    if f is None:
        f = _FONT_OBJ[file] = pymupdf.Font(fontfile=file)
    return f.text_length(text, fontsize=size)


def _formula(page: pymupdf.Page, x: float, y: float, pieces: list[tuple[str, str, int]], family: str,
             size: float = 11) -> float:
    fam = FAMILIES[family]
    for name, file in fam.values():
        if file:
            page.insert_font(fontname=name, fontfile=file)
    last_x = x
    for text, role, level in pieces:
        name, file = fam[role]
        if family == "times" and role == "g":
            text = "".join(_SYMBOL_LETTER[c] for c in text)
        s = size * (0.7 if level else 1.0)
        dy = {0: 0.0, 1: -0.38 * size, 2: -0.38 * size, -1: 0.22 * size, -2: 0.22 * size}[level]
        px = last_x if abs(level) == 2 else x
        page.insert_text((px, y + dy), text, fontname=name, fontsize=s)
        if abs(level) != 2:
            last_x = x
            x += _text_len(text, name, file, s)
        else:
            x = max(x, px + _text_len(text, name, file, s))
    return x


def _math_page(rng: random.Random, family: str, n_eq: int = 4) -> tuple[pymupdf.Document, list[dict]]:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    y = 70.0
    tests: list[dict] = []
    picks = rng.sample(range(len(FORMULAS)), n_eq)
    for k, i in enumerate(picks):
        text = " ".join(_sentence(rng) for _ in range(2))
        page.insert_textbox(pymupdf.Rect(60, y, 535, y + 60), text, fontname="tiro", fontsize=10)
        y += 75
        pieces, tex = FORMULAS[i]
        _formula(page, 230, y, pieces, family)
        page.insert_text((500, y), f"({k + 1})", fontname="tiro", fontsize=10)
        tests.append({"type": "math", "math": tex})
        if k == 0:
            tests.append({"type": "present", "text": text.split(". ")[0]})
        y += 30
    while y < 640:  # prose to the foot of the page (equations then are a part of it, not all)
        text = " ".join(_sentence(rng) for _ in range(2))
        page.insert_textbox(pymupdf.Rect(60, y, 535, y + 60), text, fontname="tiro", fontsize=10)
        if not tests:
            tests.append({"type": "present", "text": text.split(". ")[0]})
        y += 70
    return doc, tests


def _inline_page(rng: random.Random) -> tuple[pymupdf.Document, list[dict]]:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    s1 = _sentence(rng)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 120), s1, fontname="tiro", fontsize=10)
    y = 140
    lead = "Hence the rest energy is E = mc"
    page.insert_text((60, y), lead, fontname="tiro", fontsize=10)
    x = 60 + pymupdf.get_text_length(lead, fontname="tiro", fontsize=10)
    page.insert_text((x, y - 4), "2", fontname="tiro", fontsize=7)
    page.insert_text((x + 5, y), " and the area of the disc is A = πr", fontname="tiro", fontsize=10)
    x2 = x + 5 + pymupdf.get_text_length(" and the area of the disc is A = πr", fontname="tiro", fontsize=10)
    page.insert_text((x2, y - 4), "2", fontname="tiro", fontsize=7)
    page.insert_text((x2 + 5, y), ".", fontname="tiro", fontsize=10)
    return doc, [{"type": "math", "math": "mc^{2}"}, {"type": "present", "text": "Hence the rest energy is"},
                 {"type": "present", "text": s1}]


def _scan(doc: pymupdf.Document, src: pymupdf.Page) -> None:
    pix = src.get_pixmap(dpi=150, colorspace="gray")
    doc.new_page(width=W, height=H).insert_image(pymupdf.Rect(0, 0, W, H), pixmap=pix)


def _scan_pages(rng: random.Random, kind: str) -> tuple[pymupdf.Document, list[dict]]:
    doc = pymupdf.open()
    src = pymupdf.open().new_page(width=W, height=H)
    tests: list[dict] = []
    if kind == "printed":
        text = " ".join(_sentence(rng) for _ in range(12))
        src.insert_textbox(pymupdf.Rect(60, 60, 535, 700), text, fontname="tiro", fontsize=12)
        parts = text.split(". ")
        tests = [{"type": "present", "text": parts[1]}, {"type": "present", "text": parts[7]},
                 {"type": "order", "before": parts[2], "after": parts[9]}]
    elif kind == "blank":
        for _ in range(rng.randint(10, 60)):
            src.draw_circle((rng.uniform(20, 575), rng.uniform(20, 820)), rng.uniform(0.2, 0.7),
                            color=(0, 0, 0), fill=(0, 0, 0))
        src.draw_line((0, 838), (W, 838), color=(0.6, 0.6, 0.6), width=2)
        tests = [{"type": "blank"}]
    else:  # handwriting-like strokes
        sh = src.new_shape()
        y = 80.0
        while y < rng.uniform(400, 760):
            cursive_row(sh, rng, 60.0, y, 520)
            y += rng.uniform(24, 36)
        sh.finish(color=(0.1, 0.1, 0.3), width=rng.uniform(0.9, 1.6), closePath=False)
        sh.commit()
        tests = [{"type": "blank"}]
    _scan(doc, src)
    return doc, tests


def generate(out: Path, seed: int) -> list[dict]:
    """Write the generated PDFs under ``out`` and return the suite (one entry per PDF)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    suite: list[dict] = []

    def add(name: str, category: str, doc: pymupdf.Document, tests: list[list[dict]]) -> None:
        path = out / f"{name}.pdf"
        doc.save(str(path), garbage=3, deflate=True, no_new_id=True)
        suite.append({"pdf": str(path), "category": category, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                      "pages": tests})

    for k in range(3):
        doc, tests = _paper_doc(rng, 4, f"Journal of Applied {rng.choice(_WORDS).title()}, Vol. {k + 3}")
        add(f"paper{k}", "paper", doc, tests)
    for k, style in enumerate(["plain", "booktabs", "grid", "merged"] * 4):
        doc, t = _table_page(rng, style)
        add(f"table{k}_{style}", f"table_{style}", doc, [t])
    for k, fam in enumerate(["times", "dejavu", "cm"] * 4):
        doc, t = _math_page(rng, fam)
        add(f"math{k}_{fam}", f"math_{fam}", doc, [t])
    # Routing pages: 0-6 display equations among prose, in the three font families; dense
    # (labelled math) from 3 equations on, as the router's rule is stated (README).
    for k in range(24):
        fam, n_eq = ["times", "dejavu", "cm"][k % 3], [0, 1, 2, 3, 5, 6][k % 6]
        doc, t = _math_page(rng, fam, n_eq)
        add(f"route{k}_{fam}_{n_eq}", "math_" + fam if n_eq >= 3 else f"prose_{n_eq}eq", doc, [t])
    for k in range(2):
        doc, t = _inline_page(rng)
        add(f"inline{k}", "inline_math", doc, [t])
    for k, kind in enumerate(["printed", "blank", "handwriting"] * 3):
        doc, t = _scan_pages(rng, kind)
        add(f"scan{k}_{kind}", f"scan_{kind}", doc, [t])
    return suite


# ---------------------------------------------------------------------------------------------
# tests from docling's ground truth (real PDFs)

_TAG_RE = re.compile(r"<(text|section_header_level_1|page_header|page_footer|otsl|list_item|caption)>(.*?)</\1>",
                     re.S)
_LOC_RE = re.compile(r"<loc_\d+>")
_CELL_RE = re.compile(r"<(fcel|ecel|ched|rhed|lcel|ucel|xcel|srow|nl)>")


def _otsl_rows(body: str) -> list[list[str | None]]:
    rows: list[list[str | None]] = [[]]
    parts = _CELL_RE.split(_LOC_RE.sub("", body))
    i = 1
    while i < len(parts):
        tag, text = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        if tag == "nl":
            rows.append([])
        elif tag in ("fcel", "ched", "rhed", "srow"):
            rows[-1].append(text.strip())
        elif tag == "ecel":
            rows[-1].append("")
        else:  # merged continuation
            rows[-1].append(None)
        i += 2
    return [r for r in rows if r]


def docling_suite(data: Path, rng: random.Random) -> list[dict]:
    src = data / "pdf" / "docling" / "pdf"
    suite = []
    for dt in sorted((src / "groundtruth").glob("*.doctags.txt")):
        pdf = src / "sources" / dt.name.replace(".doctags.txt", ".pdf")
        if not pdf.exists():
            continue
        pages = dt.read_text(encoding="utf-8").split("<page_break>")
        with pymupdf.open(pdf) as d:
            if d.page_count != len(pages):
                continue
        tests_by_page = []
        for body in pages:
            tests: list[dict] = []
            texts = []
            for tag, inner in _TAG_RE.findall(body):
                content = " ".join(_LOC_RE.sub("", inner).split())
                if tag in ("page_header", "page_footer") and len(content) >= 3 and not content.isdigit():
                    tests.append({"type": "absent", "text": content})
                elif tag == "otsl":
                    rows = _otsl_rows(inner)
                    cands = [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row)
                             if v and 1 <= len(v) <= 60 and len(row) > 1]
                    for r, c in rng.sample(cands, min(3, len(cands))):
                        t: dict[str, Any] = {"type": "table", "cell": rows[r][c]}
                        if c + 1 < len(rows[r]) and rows[r][c + 1]:
                            t["right"] = rows[r][c + 1]
                        if r + 1 < len(rows) and c < len(rows[r + 1]) and rows[r + 1][c]:
                            t["down"] = rows[r + 1][c]
                        if len(t) > 2:
                            tests.append(t)
                elif tag in ("text", "section_header_level_1", "list_item", "caption") and len(content) >= 30:
                    texts.append(content)
            for t in rng.sample(texts, min(3, len(texts))):
                tests.append({"type": "present", "text": t[:120]})
            tests_by_page.append(tests)
        if any(tests_by_page):
            suite.append({"pdf": str(pdf), "category": "docling", "sha256": hashlib.sha256(pdf.read_bytes()).hexdigest(),
                          "pages": tests_by_page})
    return suite


# ---------------------------------------------------------------------------------------------
# real public PDFs, labelled by hand (bench/data/pdf_real/*.jsonl; README there)

REAL_LABELS = ROOT / "bench" / "data" / "pdf_real"
DEFAULT_REAL_PDFS = ROOT / "var" / "pdf_real"
REAL_KEYS = ("id", "repo", "commit", "path", "sha256", "page", "kind", "born_digital", "split", "licence", "tests")


def real_records(labels: Path = REAL_LABELS) -> list[dict]:
    """Every labelled page of ``labels/*.jsonl`` (one JSON object per page), checked for the
    fields of the format and for one (repo, commit, path) per sha256."""
    recs: list[dict] = []
    for f in sorted(labels.glob("*.jsonl")):
        for k, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            r = json.loads(line)
            missing = [key for key in REAL_KEYS if key not in r]
            if missing:
                raise ValueError(f"{f.name}:{k}: missing {missing}")
            r["file"] = f.name
            recs.append(r)
    ids = [r["id"] for r in recs]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate page ids: " + ", ".join(sorted({i for i in ids if ids.count(i) > 1})))
    src: dict[str, tuple[str, str, str]] = {}
    for r in recs:
        if src.setdefault(r["sha256"], (r["repo"], r["commit"], r["path"])) != (r["repo"], r["commit"], r["path"]):
            raise ValueError(f"{r['id']}: sha256 {r['sha256'][:12]} recorded with two sources")
    return recs


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def real_suite(pdf_dir: Path, labels: Path = REAL_LABELS) -> tuple[list[dict], list[str]]:
    """Suite entries (one per PDF: its labelled pages' tests, ``only`` = those 0-based page
    numbers) for the labelled pages whose PDF is under ``pdf_dir`` (found by sha256, any file
    name, any depth); notes for the PDFs that are missing or do not have the labelled page."""
    recs = real_records(labels)
    have: dict[str, Path] = {}
    if pdf_dir.is_dir():
        for f in sorted(pdf_dir.rglob("*.pdf")):
            if f.is_file():
                have.setdefault(sha256_file(f), f)
    by_sha: dict[str, list[dict]] = defaultdict(list)
    for r in recs:
        by_sha[r["sha256"]].append(r)
    suite: list[dict] = []
    notes: list[str] = []
    for sha, rs in sorted(by_sha.items()):
        f = have.get(sha)
        n_tests = sum(len(r["tests"]) for r in rs)
        if f is None:
            notes.append(f"missing PDF {rs[0]['repo']}:{rs[0]['path']} (sha256 {sha[:12]}): "
                         f"{len(rs)} pages, {n_tests} tests skipped")
            continue
        try:
            with pymupdf.open(f) as d:
                n = d.page_count
        except Exception as e:  # a file that no longer opens is skipped like a missing one
            notes.append(f"unreadable PDF {f}: {type(e).__name__}: {e}: {len(rs)} pages skipped")
            continue
        pages: list[list[dict]] = [[] for _ in range(n)]
        meta: dict[int, dict] = {}
        for r in rs:
            if not 1 <= r["page"] <= n:
                notes.append(f"{r['id']}: page {r['page']} > {n} pages of {f.name}: skipped")
                continue
            pages[r["page"] - 1] = r["tests"]
            meta[r["page"] - 1] = {"id": r["id"], "kind": r["kind"], "split": r["split"],
                                   "born_digital": r["born_digital"], "file": r["file"]}
        if meta:
            suite.append({"pdf": str(f), "category": "real", "sha256": sha, "pages": pages,
                          "only": sorted(meta), "meta": meta})
    return suite, notes


# ---------------------------------------------------------------------------------------------
# the checker

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "−": "-", "\u00a0": " "})


_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>\n]*)?/?>")


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = re.sub(r"[*_#`]+", "", text)
    # HTML tags only (a tag name follows "<" at once, CommonMark): "0 < y < 1 ... p(y) > 0" in
    # text or LaTeX is content, not a tag to strip.
    text = _HTML_TAG_RE.sub(" ", text)
    return " ".join(text.split())


def _find(needle: str, hay: str) -> int:
    """Position of a fuzzy match of needle in hay (-1 when none)."""
    n, h = norm(needle), hay
    if not n:
        return -1
    i = h.find(n)
    if i >= 0:
        return i
    if len(n) < 8:
        return -1
    al = fuzz.partial_ratio_alignment(n, h, score_cutoff=95)
    return al.dest_start if al is not None else -1


def _md_tables(md: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    cur: list[list[str]] = []
    for ln in md.splitlines() + [""]:
        s = ln.strip()
        if s.startswith("|") and s.endswith("|") and len(s) > 1:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", s[1:-1])]
            if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
                cur.append(cells)
        elif cur:
            tables.append(cur)
            cur = []
    for m in re.finditer(r"<table>(.*?)</table>", md, re.S | re.I):
        grid: dict[tuple[int, int], str] = {}
        for r, tr in enumerate(re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S | re.I)):
            c = 0
            for attrs, text in re.findall(r"<t[hd]([^>]*)>(.*?)</t[hd]>", tr, re.S | re.I):
                while (r, c) in grid:
                    c += 1
                rs = int((re.search(r'rowspan="?(\d+)', attrs) or [0, 1])[1])
                cs = int((re.search(r'colspan="?(\d+)', attrs) or [0, 1])[1])
                for dr in range(rs):
                    for dc in range(cs):
                        grid[(r + dr, c + dc)] = html.unescape(re.sub(r"<[^>]+>", "", text))
                c += cs
        if grid:
            nr, nc = max(k[0] for k in grid) + 1, max(k[1] for k in grid) + 1
            tables.append([[grid.get((r, c), "") for c in range(nc)] for r in range(nr)])
    return tables


def _table_ok(test: dict, tables: list[list[list[str]]]) -> bool:
    want = norm(test["cell"])
    for t in tables:
        for r, row in enumerate(t):
            for c, cell in enumerate(row):
                if norm(cell) != want:
                    continue
                ok = True
                for key, (dr, dc) in (("up", (-1, 0)), ("down", (1, 0)), ("left", (0, -1)), ("right", (0, 1))):
                    if key in test:
                        rr, cc = r + dr, c + dc
                        if not (0 <= rr < len(t) and 0 <= cc < len(t[rr]) and norm(t[rr][cc]) == norm(test[key])):
                            ok = False
                if ok:
                    return True
    return False


_TEX_SAME = {r"\le": r"\leq", r"\ge": r"\geq", r"\ne": r"\neq", r"\rightarrow": r"\to", r"\varepsilon": r"\epsilon",
             r"\varphi": r"\phi", r"\lbrace": r"\{", r"\rbrace": r"\}", "−": "-", "×": r"\times", "·": r"\cdot"}
_TEX_DROP = {r"\left", r"\right", r"\,", r"\;", r"\!", r"\quad", r"\qquad", r"\displaystyle", r"\textstyle", "\\ "}
_TEX_TOKEN_RE = re.compile(r"\\[A-Za-z]+|\\.|\S")


def tex_tokens(tex: str) -> list[str]:
    tex = re.sub(r"\\tag\{[^}]*\}", "", tex)
    tex = re.sub(r"\\(?:mathrm|mathit|text|operatorname|mathbf)\{([^}]*)\}", r"\1", tex)
    toks = [_TEX_SAME.get(t, t) for t in _TEX_TOKEN_RE.findall(tex) if t not in _TEX_DROP]
    out: list[str] = []
    for t in toks:  # drop braces around a single token: x^{2} == x^2
        out.append(t)
        if t == "}" and len(out) >= 3 and out[-3] == "{":
            out[-3:] = [out[-2]]
    return out


_MATH_SEG_RE = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|\$(.+?)\$", re.S)


def _math_ok(test: dict, md: str) -> bool:
    want = tex_tokens(test["latex"] if "latex" in test else test["math"])
    n = len(want)
    for m in _MATH_SEG_RE.finditer(md):
        got = tex_tokens(next(g for g in m.groups() if g is not None))
        if any(got[i:i + n] == want for i in range(len(got) - n + 1)):
            return True
    return False


def check(test: dict, md: str) -> bool:
    kind = test["type"]
    hay = norm(md)
    if kind == "present":
        return _find(test["text"], hay) >= 0
    if kind == "absent":
        return _find(test["text"], hay) < 0
    if kind == "order":
        a, b = _find(test["before"], hay), _find(test["after"], hay)
        return 0 <= a < b
    if kind == "table":
        return _table_ok(test, _md_tables(md))
    if kind == "math":
        return _math_ok(test, md)
    if kind == "blank":
        return not "".join(md.split())
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------
# methods


ROUTES: dict[tuple[str, int], str] = {}  # (pdf, 0-based page) -> the route sciforge took


def run_sciforge(pdf: str, n: int, pp: PageParser, only: list[int] | None = None) -> list[str]:
    """The stage over the document, in the job's page ranges of ``pages_per_task`` pages (only
    the ranges holding a page of ``only`` when given)."""
    step = pp.cfg.pages_per_task
    starts = sorted({p // step * step for p in only}) if only is not None else range(0, n, step)
    out = [""] * n
    for start in starts:
        end = min(start + step, n)
        res = pp.parse_segment(pdf, Segment("bench", Path(pdf).name, start, end, n))
        for r in res.kept:
            out[r["page"] - 1] = r["text"]
        for r in res.kept + res.quarantined:
            if r["page"] >= 1:
                ROUTES[(pdf, r["page"] - 1)] = r["route"]
    return out


def routing_report(suite: list[dict]) -> dict[str, Any]:
    """Math-route precision / recall on the pages whose label is known: generated equation pages
    (4 display equations each: dense) are math; every other generated page and docling's pages
    are not (docling's one formula page holds a single equation in prose)."""
    tp = fp = fn = n = 0
    for s in suite:
        for pno in range(len(s["pages"])):
            route = ROUTES.get((s["pdf"], pno))
            if route is None:
                continue
            n += 1
            want = s["category"].startswith("math_")
            got = route == "math"
            tp += want and got
            fp += got and not want
            fn += want and not got
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    print(f"math routing on {n} pages: precision {prec:.2f}, recall {rec:.2f} ({tp} true, {fp} false positives, "
          f"{fn} misses); expensive share {(tp + fp) / max(n, 1):.1%}")
    return {"precision": prec, "recall": rec, "pages": n}


def run_get_text(pdf: str, n: int, only: list[int] | None = None) -> list[str]:
    out = [""] * n
    with pymupdf.open(pdf) as d:
        for pno in range(n) if only is None else only:
            out[pno] = d[pno].get_text()
    return out


def run_find_tables(pdf: str, n: int, only: list[int] | None = None) -> list[str]:
    from sciforge.pipelines.pdf.markdown import table_markdown

    out = [""] * n
    with pymupdf.open(pdf) as d:
        for pno in range(n) if only is None else only:
            p = d[pno]
            try:
                tabs = p.find_tables(strategy="lines").tables or p.find_tables(strategy="text").tables
            except Exception:
                tabs = []
            boxes = [pymupdf.Rect(t.bbox) for t in tabs]
            items = [(t.bbox[1], table_markdown(t.extract())) for t in tabs]
            for b in p.get_text("blocks"):
                r = pymupdf.Rect(b[:4])
                if not any(bx.contains(pymupdf.Point((r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2)) for bx in boxes):
                    items.append((b[1], b[4]))
            out[pno] = "\n\n".join(t for _, t in sorted(items, key=lambda it: it[0]))
    return out


def run_pymupdf4llm(pdf: str, n: int, only: list[int] | None = None) -> list[str]:
    import pymupdf4llm

    chunks = pymupdf4llm.to_markdown(pdf, page_chunks=True, show_progress=False, pages=only)
    wanted = list(range(n)) if only is None else only
    out = [""] * n
    for k, ch in enumerate(chunks):
        pno = ch.get("metadata", {}).get("page")
        pno = pno - 1 if isinstance(pno, int) and 1 <= pno <= n else (wanted[k] if k < len(wanted) else -1)
        if pno >= 0:
            out[pno] = ch.get("text", "")
    return out


def _table(title: str, results: dict[str, dict[str, list[int]]], keys: list[str]) -> None:
    names = list(results)
    print(f"\n{title}\n| category | tests | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for k in keys:
        tot = next(r[k][1] for r in results.values() if k in r)
        cells = [f"{r[k][0] / r[k][1]:.2f}" if k in r else "-" for r in results.values()]
        print(f"| {k} | {tot} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (default ../shared/data)")
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "pdf_structure", help="suite folder")
    ap.add_argument("--seed", type=int, default=2026, help="generator seed")
    ap.add_argument("--methods", default="sciforge,get_text,find_tables,pymupdf4llm")
    ap.add_argument("--tiers", default="generated,docling,real", help="comma-separated: generated, docling, real")
    ap.add_argument("--no-docling", action="store_true", help="leave the docling tier out")
    ap.add_argument("--real-pdfs", type=Path, default=DEFAULT_REAL_PDFS,
                    help="folder of the real tier's PDFs, found by sha256 (bench/pdf_real_fetch.py --out DIR)")
    ap.add_argument("--real-labels", type=Path, default=REAL_LABELS, help="folder of the real tier's *.jsonl")
    ap.add_argument("--split", choices=("all", "dev", "heldout"), default="all", help="real tier pages to run")
    ap.add_argument("--failures", action="store_true", help="print sciforge's failed tests")
    ap.add_argument("--json", type=Path, help="write the pass counts per method and category here")
    args = ap.parse_args(argv)
    tiers = set(args.tiers.split(","))
    suite: list[dict] = []
    if "generated" in tiers:
        suite += generate(args.out / "pdfs", args.seed)
    if "docling" in tiers and not args.no_docling and (args.data / "pdf" / "docling").is_dir():
        suite += docling_suite(args.data, random.Random(args.seed))
    if "real" in tiers:
        real, notes = real_suite(args.real_pdfs, args.real_labels)
        if args.split != "all":
            for s in real:
                s["only"] = [p for p in s["only"] if s["meta"][p]["split"] == args.split]
            real = [s for s in real if s["only"]]
        for note in notes[:5]:
            print("real tier: " + note)
        if len(notes) > 5:
            print(f"real tier: {len(notes) - 5} more notes; {sum(n.startswith('missing') for n in notes)} PDFs missing "
                  f"under {args.real_pdfs} (bench/pdf_real_fetch.py --out DIR rebuilds them)")
        suite += real
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "suite.jsonl", "w", encoding="utf-8") as f:
        for s in suite:
            f.write(json.dumps({k: v for k, v in s.items() if k != "meta"}, ensure_ascii=False) + "\n")

    def labelled(s: dict) -> list[int]:
        return s["only"] if "only" in s else list(range(len(s["pages"])))

    n_pages = sum(len(labelled(s)) for s in suite)
    n_tests = sum(len(s["pages"][p]) for s in suite for p in labelled(s))
    n_real = sum(len(s["only"]) for s in suite if s["category"] == "real")
    print(f"suite: {len(suite)} PDFs, {n_pages} pages ({n_real} real), {n_tests} tests -> {args.out / 'suite.jsonl'}")
    methods: dict[str, Callable[[str, int, list[int] | None], list[str]]] = {
        "get_text": run_get_text, "find_tables": run_find_tables, "pymupdf4llm": run_pymupdf4llm}
    results: dict[str, dict[str, list[int]]] = {}
    timing: dict[str, float] = {}
    fails: list[str] = []
    with PageParser(PdfConfig()) as pp:
        for name in args.methods.split(","):
            per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            t0 = time.process_time()
            for s in suite:
                n = len(s["pages"])
                only = s.get("only")
                try:
                    outs = run_sciforge(s["pdf"], n, pp, only) if name == "sciforge" else methods[name](s["pdf"], n, only)
                except Exception as e:  # a baseline that crashes scores 0 on the document
                    print(f"  {name} failed on {s['pdf']}: {type(e).__name__}: {e}")
                    outs = [""] * n
                for pno in labelled(s):
                    for t in s["pages"][pno]:
                        ok = check(t, outs[pno])
                        if s["category"] == "real":
                            m = s["meta"][pno]
                            keys = (f"real:{t['type']}", "real:all", f"real_kind:{m['kind']}",
                                    f"real_split:{m['split']}", f"real_{m['split']}:{t['type']}",
                                    "real_born_digital:" + ("yes" if m["born_digital"] else "no"),
                                    f"real_file:{m['file']}")
                            where = m["id"]
                        else:
                            cat = t["type"] if s["category"] != "docling" else f"docling_{t['type']}"
                            keys = (cat, "all", f"page:{s['category']}")
                            where = f"{Path(s['pdf']).name} p{pno + 1}"
                        for key in keys:
                            per[key][0] += ok
                            per[key][1] += 1
                        if not ok and name == "sciforge" and args.failures:
                            fails.append(f"{where} {json.dumps(t, ensure_ascii=False)[:160]}")
            timing[name] = time.process_time() - t0
            results[name] = dict(per)
    all_keys = {k for r in results.values() for k in r}
    keys = sorted((k for k in all_keys if not k.startswith("real")),
                  key=lambda k: (k.startswith("page:"), k != "all", k))
    if keys:
        _table("generated and docling tiers", results, keys)
    real_keys = sorted((k for k in all_keys if k.startswith("real")),
                       key=lambda k: (k.split(":")[0] != "real", k != "real:all", k))
    if real_keys:
        _table("real tier (bench/data/pdf_real)", results, real_keys)
    if any((s["pdf"], 0) in ROUTES for s in suite if s["category"] != "real"):
        routing_report([s for s in suite if s["category"] != "real"])
    for tier, key in (("generated+docling", "all"), ("real", "real:all")):
        if "sciforge" in results and "pymupdf4llm" in results and key in results["sciforge"]:
            a, b = results["sciforge"][key], results["pymupdf4llm"][key]
            print(f"\noverall pass rate ({tier}): sciforge {a[0] / a[1]:.3f}, pymupdf4llm {b[0] / b[1]:.3f} "
                  f"(difference {a[0] / a[1] - b[0] / b[1]:+.3f})")
    print("CPU seconds of this process per method (the stage's workers are not counted): " +
          ", ".join(f"{k} {v:.1f}" for k, v in timing.items()))
    for line in fails:
        print("FAIL", line)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "timing": timing}, indent=1, sort_keys=True) + "\n")
    return {"results": results, "timing": timing}


if __name__ == "__main__":
    main()
