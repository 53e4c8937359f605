"""OCR acceptance set: near-blank, faint and handwritten scans, sciforge against plain Tesseract
in one run.

Each page is a text PDF page rendered at 150 dpi, degraded and inserted as a full-page image (a
scan without a text layer), made deterministically from ``--seed`` (``random`` and numpy
generators, JPEG by Pillow): low contrast, a toned or dark sheet, Gaussian noise and specks, JPEG
artefacts, skew, 6.5 pt print, a few lines of text on an empty sheet, a page number or a stamp only,
bleed-through of a mirrored verso, faint pencil strokes, handwriting-like strokes beside printed
lines. The right output is the page's real words where they can be read and nothing where only
noise is there:

- ``present``: a printed line of the page is in the output (the fuzzy match of
  ``bench/pdf_structure.py``);
- ``blank``: the output has no visible character (noise, bleed-through, strokes, a lone page
  number: furniture);
- ``clean``: no OCR nonsense: at most ``CLEAN_MAX_UNKNOWN`` (10%, at least one word) of the
  output's words of 3+ letters are unlike every word printed on the page (rapidfuzz ratio < 80: a
  misread letter is still the word; strokes or a mirrored verso read as letters are not).

Methods: ``sciforge`` = the stage (``PageParser.parse_segment``: routing, Tesseract with word
confidences, quarantine; a quarantined page outputs nothing); ``tesseract`` = PyMuPDF's
``get_textpage_ocr`` (the same Tesseract and language data, full-page OCR at the same dpi) read
with ``get_text``. Pass rates per test type and per page kind, with sciforge's route or
quarantine reason per page.

    .venv/bin/python bench/pdf_ocr_faint.py [--seed 7] [--variants 2] [--out var/bench/pdf_ocr_faint]
        [--methods sciforge,tesseract] [--pages]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf
from PIL import Image
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pdf_structure import check as structure_check  # noqa: E402
from bench.pdf_structure import norm  # noqa: E402
from sciforge.fixtures.scribble import cursive_row  # noqa: E402
from sciforge.pipelines.pdf.backends import tessdata_dir  # noqa: E402
from sciforge.pipelines.pdf.config import PdfConfig  # noqa: E402
from sciforge.pipelines.pdf.parse import PageParser, Segment  # noqa: E402

W, H = 595, 842
SCAN_DPI = 150
# A word of the output is known when some printed word of the page is this similar (rapidfuzz
# ratio, 0-100): one misread letter in a 6-letter word scores 83.
CLEAN_MIN_RATIO = 80
# "clean" passes with at most this share of unknown words (and always with one).
CLEAN_MAX_UNKNOWN = 0.10

# Sentences in plain English (written for this benchmark), long enough to test a line at a time.
SENTENCES = [
    "The samples were stored at four degrees before the second measurement",
    "Each detector was calibrated against the reference source every morning",
    "The committee approved the budget for the new laboratory building",
    "Results of the survey are summarised in the table on the next page",
    "Water levels in the northern basin rose steadily during the spring",
    "Please return the signed form to the office before the end of March",
    "The reaction was quenched with cold water and filtered under vacuum",
    "Two of the patients reported mild headaches after the first dose",
    "The lecture covers the harmonic oscillator and its energy levels",
    "Copies of the original letters are kept in the county archive",
    "The bridge was closed for repairs during the winter of that year",
    "Students should bring a calculator and a pencil to the examination",
    "The garden behind the house was planted with apple and pear trees",
    "Measurements were repeated three times and the mean is reported",
    "The minutes of the previous meeting were read and approved",
    "A short summary of the method is given in the appendix",
]
HEADINGS = ["Appendix B", "Chapter Seven", "Notes and Queries", "Part Two: Methods"]
STAMPS = [("RECEIVED", "12 MAR 1998"), ("APPROVED", "04 JUN 2011"), ("COPY", "FILED 1987")]


# ---------------------------------------------------------------------------------------------
# source pages (vector) and their degradation (raster)


def _src() -> pymupdf.Page:
    return pymupdf.open().new_page(width=W, height=H)


def _lines(page: pymupdf.Page, lines: list[str], x: float, y: float, *, size: float = 11, grey: float = 0.0,
           font: str = "tiro", lead: float = 1.6) -> None:
    for i, text in enumerate(lines):
        page.insert_text((x, y + lead * size * i), text, fontname=font, fontsize=size, color=(grey, grey, grey))


def _strokes(page: pymupdf.Page, rng: random.Random, x0: float, y0: float, x1: float, y1: float, *,
             grey: float, width: float, row: float = 30) -> None:
    """Rows of cursive-like strokes (handwriting or a pencil note OCR cannot read)."""
    sh = page.new_shape()
    y = y0
    while y < y1:
        cursive_row(sh, rng, x0 + rng.uniform(0, 20), y, x1 - 30)
        y += row * rng.uniform(0.85, 1.15)
    sh.finish(color=(grey, grey, grey + 0.1 if grey < 0.9 else grey), width=width, closePath=False)
    sh.commit()


def _gray(page: pymupdf.Page, angle: float = 0.0) -> np.ndarray:
    """The page at SCAN_DPI as a float grey image (0 black, 255 white), rotated by ``angle``
    degrees (skew) on a white fill, cropped back to the page size."""
    pix = page.get_pixmap(dpi=SCAN_DPI, colorspace="gray")
    img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    return np.asarray(img, dtype=np.float64)


def _tone(a: np.ndarray, sheet: float, ink: float) -> np.ndarray:
    """Map white -> ``sheet`` grey and black -> ``ink`` grey (low contrast, toned paper)."""
    return ink + (sheet - ink) * a / 255.0


def _noise(a: np.ndarray, nrng: np.random.Generator, sigma: float, specks: int = 0) -> np.ndarray:
    a = a + nrng.normal(0, sigma, a.shape) if sigma else a.copy()
    h, w = a.shape
    for _ in range(specks):  # dust: 1-3 px dark dots
        y, x, r = int(nrng.integers(0, h - 3)), int(nrng.integers(0, w - 3)), int(nrng.integers(1, 4))
        a[y:y + r, x:x + r] = float(nrng.uniform(20, 120))
    return a


def _bleed(a: np.ndarray, verso: np.ndarray, strength: float) -> np.ndarray:
    """The mirrored verso showing through: its ink darkens the sheet by ``strength`` of its
    darkness, blurred (paper scatters it)."""
    v = Image.fromarray(np.clip(verso, 0, 255).astype(np.uint8)[:, ::-1])
    from PIL import ImageFilter

    v = np.asarray(v.filter(ImageFilter.GaussianBlur(1.6)), dtype=np.float64)
    return a - strength * (255.0 - v)


def _jpeg(a: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float64)


def _scan_pdf(a: np.ndarray) -> bytes:
    """One page holding the grey image ``a`` across the whole page (PNG, lossless)."""
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)).save(buf, "PNG")
    doc = pymupdf.open()
    doc.new_page(width=W, height=H).insert_image(pymupdf.Rect(0, 0, W, H), stream=buf.getvalue())
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return bytes(data)


def _present(lines: list[str]) -> list[dict]:
    return [{"type": "present", "text": ln} for ln in lines]


def _clean(lines: list[str]) -> dict:
    return {"type": "clean", "words": sorted({w.lower() for ln in lines for w in re.findall(r"[A-Za-z]{3,}", ln)})}


def _verso(rng: random.Random) -> np.ndarray:
    v = _src()
    v.insert_textbox(pymupdf.Rect(60, 70, 535, 780), " ".join(rng.choice(SENTENCES) + "." for _ in range(40)),
                     fontname="tiro", fontsize=11)
    return _gray(v)


def make_page(kind: str, rng: random.Random, nrng: np.random.Generator) -> tuple[bytes, list[dict]]:
    """One degraded scan of ``kind`` and its tests."""
    s = _src()
    pick = rng.sample(SENTENCES, 8)
    y0 = rng.uniform(80, 300)
    if kind == "few_lines":  # three printed lines on an empty sheet, light noise and dust
        lines = pick[:3]
        _lines(s, lines, 70, y0)
        a = _jpeg(_noise(_gray(s), nrng, 4, specks=30), 60)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "faint_lines":  # faded print on white: ink ~190, noise, JPEG
        lines = pick[:3]
        _lines(s, lines, 70, y0)
        a = _jpeg(_noise(_tone(_gray(s), 250, rng.uniform(170, 190)), nrng, 6, specks=10), 40)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "faint_toned":  # pencil-grey print on toned paper: contrast ~55 grey levels
        lines = pick[:4]
        _lines(s, lines, 70, y0, size=12)
        a = _jpeg(_noise(_tone(_gray(s), 215, rng.uniform(155, 165)), nrng, 5), 50)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "dark_sheet":  # a dark grey scan (grey 120 sheet), black print, heavy noise
        lines = pick[:3]
        _lines(s, lines, 70, y0, size=12)
        a = _jpeg(_noise(_tone(_gray(s), 125, 15), nrng, 10, specks=20), 40)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "skewed_lines":  # four lines, page skewed 2-3 degrees, noise
        lines = pick[:4]
        _lines(s, lines, 70, y0)
        a = _jpeg(_noise(_gray(s, rng.choice((-1, 1)) * rng.uniform(2, 3)), nrng, 6, specks=20), 50)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "heading_only":  # one short heading, nothing else
        head = rng.choice(HEADINGS)
        _lines(s, [head], 70, y0, size=18, font="tibo")
        a = _jpeg(_noise(_gray(s), nrng, 4, specks=20), 60)
        return _scan_pdf(a), _present([head]) + [_clean([head])]
    if kind == "page_number_only":  # a lone page number (furniture): nothing to keep
        s.insert_text((W / 2 - 8, H - 40), str(rng.randint(2, 300)), fontname="tiro", fontsize=10)
        a = _jpeg(_noise(_gray(s), nrng, 5, specks=30), 50)
        return _scan_pdf(a), [{"type": "blank"}]
    if kind == "stamp_only":  # an office stamp, slightly rotated, in grey
        word, date = rng.choice(STAMPS)
        x, y = rng.uniform(300, 380), rng.uniform(100, 250)
        s.draw_rect(pymupdf.Rect(x - 12, y - 30, x + 170, y + 36), color=(0.35, 0.35, 0.35), width=2)
        _lines(s, [word, date], x, y, size=18, grey=0.35, font="hebo", lead=1.8)
        a = _jpeg(_noise(_gray(s, rng.uniform(-4, 4)), nrng, 6, specks=20), 50)
        return _scan_pdf(a), _present([word]) + [_clean([word, date])]
    if kind == "noise_only":  # an empty sheet: noise, dust, JPEG artefacts
        a = _jpeg(_noise(_tone(_gray(s), 235, 0), nrng, 14, specks=120), 25)
        return _scan_pdf(a), [{"type": "blank"}]
    if kind == "bleed_only":  # an empty recto with the verso's text showing through
        a = _jpeg(_noise(_bleed(_gray(s), _verso(rng), rng.uniform(0.18, 0.25)), nrng, 4), 50)
        return _scan_pdf(a), [{"type": "blank"}]
    if kind == "bleed_with_text":  # five printed lines over a verso showing through
        lines = pick[:5]
        _lines(s, lines, 70, y0)
        a = _jpeg(_noise(_bleed(_gray(s), _verso(rng), rng.uniform(0.18, 0.25)), nrng, 4), 50)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "pencil_note":  # two rows of faint pencil strokes on an empty sheet
        _strokes(s, rng, 320, y0, 540, y0 + 50, grey=0.6, width=0.7)
        a = _jpeg(_noise(_gray(s), nrng, 4, specks=10), 60)
        return _scan_pdf(a), [{"type": "blank"}]
    if kind == "text_pencil_note":  # six printed lines and a pencil note beside them
        lines = pick[:6]
        _lines(s, lines, 60, y0, size=10)
        _strokes(s, rng, 400, y0 + 140, 560, y0 + 200, grey=0.55, width=0.8)
        a = _jpeg(_noise(_gray(s), nrng, 4), 60)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "handwriting":  # a page of handwriting-like strokes
        _strokes(s, rng, 60, 80, 540, rng.uniform(500, 760), grey=0.1, width=rng.uniform(1.0, 1.5))
        a = _jpeg(_noise(_gray(s), nrng, 4), 60)
        return _scan_pdf(a), [{"type": "blank"}]
    if kind == "exam_answers":  # printed questions, each followed by handwritten answer rows
        lines = pick[:3]
        y = 90.0
        for ln in lines:
            _lines(s, [ln], 60, y, size=11)
            _strokes(s, rng, 80, y + 28, 540, y + 130, grey=0.15, width=1.2)
            y += 190
        a = _jpeg(_noise(_gray(s), nrng, 4), 60)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "low_contrast_page":  # a full page of faded print (contrast ~70), JPEG
        text = ". ".join(rng.sample(SENTENCES, 12)) + "."
        s.insert_textbox(pymupdf.Rect(60, 70, 535, 780), text, fontname="tiro", fontsize=11)
        lines = text.split(". ")
        a = _jpeg(_noise(_tone(_gray(s), 240, 170), nrng, 5), 35)
        return _scan_pdf(a), _present([lines[1], lines[6], lines[10]]) + [_clean(lines)]
    if kind == "very_faint":  # barely visible print: ink ~215 on 250 (contrast ~35)
        lines = pick[:3]
        _lines(s, lines, 70, y0, size=12)
        a = _jpeg(_noise(_tone(_gray(s), 250, rng.uniform(210, 218)), nrng, 3), 60)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "faint_with_bleed":  # faded recto lines over a verso showing through
        lines = pick[:4]
        _lines(s, lines, 70, y0)
        a = _bleed(_tone(_gray(s), 248, rng.uniform(165, 180)), _verso(rng), rng.uniform(0.12, 0.16))
        return _scan_pdf(_jpeg(_noise(a, nrng, 4), 50)), _present(lines) + [_clean(lines)]
    if kind == "noisy_lines":  # four lines under heavy grain and dust
        lines = pick[:4]
        _lines(s, lines, 70, y0, size=12)
        a = _jpeg(_noise(_tone(_gray(s), 235, 20), nrng, 22, specks=400), 40)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    if kind == "tiny_print":  # three lines of 6.5 pt print (a footnote, a form's small print)
        lines = pick[:3]
        _lines(s, lines, 70, y0, size=6.5)
        a = _jpeg(_noise(_gray(s), nrng, 4, specks=10), 60)
        return _scan_pdf(a), _present(lines) + [_clean(lines)]
    raise ValueError(kind)


KINDS = ["few_lines", "faint_lines", "faint_toned", "dark_sheet", "skewed_lines", "heading_only",
         "page_number_only", "stamp_only", "noise_only", "bleed_only", "bleed_with_text", "pencil_note",
         "text_pencil_note", "handwriting", "exam_answers", "low_contrast_page", "very_faint", "faint_with_bleed",
         "noisy_lines", "tiny_print"]


def generate(out: Path, seed: int, variants: int) -> list[dict]:
    """Write one PDF per (kind, variant) under ``out``; return [{"name", "kind", "path", "tests"}]."""
    out.mkdir(parents=True, exist_ok=True)
    suite = []
    for v in range(variants):
        for k, kind in enumerate(KINDS):
            rng = random.Random(seed * 1000 + v * 100 + k)
            nrng = np.random.default_rng(seed * 1000 + v * 100 + k)
            data, tests = make_page(kind, rng, nrng)
            path = out / f"{kind}-{v}.pdf"
            path.write_bytes(data)
            suite.append({"name": f"{kind}-{v}", "kind": kind, "path": str(path), "tests": tests})
    return suite


# ---------------------------------------------------------------------------------------------
# checking and methods


def unknown_words(md: str, words: list[str]) -> tuple[int, int]:
    """(words of 3+ letters in ``md``, those unlike every word of ``words``)."""
    got = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", norm(md))]
    bad = sum(1 for w in got if process.extractOne(w, words, scorer=fuzz.ratio, score_cutoff=CLEAN_MIN_RATIO) is None)
    return len(got), bad


def check(test: dict, md: str) -> bool:
    if test["type"] == "clean":
        n, bad = unknown_words(md, test["words"])
        return bad <= max(1, CLEAN_MAX_UNKNOWN * n)
    return structure_check(test, md)


def run_sciforge(pp: PageParser, path: str) -> tuple[str, str]:
    """(markdown, "kept <route>" or "<quarantine reason>") of the one-page PDF."""
    res = pp.parse_segment(path, Segment("faint", Path(path).name, 0, 1, 1))
    if res.kept:
        return res.kept[0]["text"], f"kept {res.kept[0]['route']}/{res.kept[0]['parser']}"
    q = res.quarantined[0]
    return "", f"{q['reason']}: {q['detail'][-110:]}"


def run_tesseract(path: str, dpi: int, language: str) -> str:
    with pymupdf.open(path) as doc:
        page = doc[0]
        tp = page.get_textpage_ocr(language=language, dpi=dpi, full=True, tessdata=tessdata_dir())
        return str(page.get_text(textpage=tp))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "pdf_ocr_faint", help="suite folder")
    ap.add_argument("--seed", type=int, default=7, help="generator seed")
    ap.add_argument("--variants", type=int, default=2, help="pages per kind")
    ap.add_argument("--methods", default="sciforge,tesseract")
    ap.add_argument("--pages", action="store_true", help="print each page's outcome per method")
    ap.add_argument("--json", type=Path, help="write the pass counts per method and category here")
    args = ap.parse_args(argv)
    suite = generate(args.out / "pdfs", args.seed, args.variants)
    n_tests = sum(len(s["tests"]) for s in suite)
    print(f"suite: {len(suite)} pages ({len(KINDS)} kinds x {args.variants}), {n_tests} tests, seed {args.seed} "
          f"-> {args.out / 'pdfs'}")
    cfg = PdfConfig(ocr_backend="tesseract")
    methods = args.methods.split(",")
    results: dict[str, dict[str, list[int]]] = {}
    with PageParser(cfg) as pp:
        for m in methods:
            per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            t0 = time.time()
            for s in suite:
                if m == "sciforge":
                    md, how = run_sciforge(pp, s["path"])
                else:
                    md, how = run_tesseract(s["path"], cfg.ocr_dpi, cfg.ocr_language), "ocr"
                oks = [check(t, md) for t in s["tests"]]
                for t, ok in zip(s["tests"], oks, strict=True):
                    for key in ("all", f"test:{t['type']}", f"kind:{s['kind']}"):
                        per[key][0] += ok
                        per[key][1] += 1
                pages = per["pages all tests passed"]
                pages[0] += all(oks)
                pages[1] += 1
                if args.pages:
                    mark = "ok  " if all(oks) else "FAIL"
                    print(f"{mark} {m:9s} {s['name']:20s} {sum(oks)}/{len(oks)} {how} | "
                          f"{' '.join(md.split())[:90]!r}")
            results[m] = dict(per)
            print(f"{m}: {time.time() - t0:.0f} s wall")
    keys = sorted({k for r in results.values() for k in r}, key=lambda k: (k != "all", not k.startswith("pages"), k))
    print("| category | tests | " + " | ".join(methods) + (" | ratio |" if len(methods) == 2 else ""))
    print("|---|---:|" + "---:|" * (len(methods) + (len(methods) == 2)))
    for k in keys:
        n = next(r[k][1] for r in results.values() if k in r)
        rates = [results[m][k][0] / results[m][k][1] if k in results[m] else float("nan") for m in methods]
        row = f"| {k} | {n} | " + " | ".join(f"{r:.2f}" for r in rates)
        if len(methods) == 2:
            row += f" | {rates[0] / rates[1]:.2f}" if rates[1] else " | -"
        print(row + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, sort_keys=True))
    return results


if __name__ == "__main__":
    main()
