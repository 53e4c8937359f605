"""OCR that can be trusted on near-blank, faint and handwritten scans: ink measured against the
sheet, faint ink stretched before OCR, OCR lines judged by their word confidences, mixed pages
keeping only their readable lines. Every fixture is generated here (numpy images, PyMuPDF text)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from sciforge.fixtures.scribble import cursive_row
from sciforge.pipelines.pdf import backends as B
from sciforge.pipelines.pdf.backends import OcrLine, ink_share, ocr_lines, ocr_verdict, stretch_contrast
from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.parse import PageParser, Segment

W, H = 595, 842
LINES = ["The samples were stored at four degrees before the second measurement",
         "Each detector was calibrated against the reference source every morning",
         "Please return the signed form to the office before the end of March"]
CFG = PdfConfig()
OPTS = {"ocr_min_confidence": CFG.ocr_min_confidence, "ocr_min_good_share": CFG.ocr_min_good_share,
        "ocr_max_unreadable_share": CFG.ocr_max_unreadable_share, "ocr_min_chars": CFG.ocr_min_chars,
        "ocr_near_blank_ink": CFG.ocr_near_blank_ink}


def _text_grey(lines: list[str] = LINES, *, size: float = 11, dpi: int = 150, mirror: bool = False) -> np.ndarray:
    """A white A4 page with ``lines`` in black near the top, as a float grey image at ``dpi``."""
    page = pymupdf.open().new_page(width=W, height=H)
    for i, text in enumerate(lines):
        page.insert_text((70, 120 + 1.6 * size * i), text, fontname="tiro", fontsize=size)
    pix = page.get_pixmap(dpi=dpi, colorspace="gray")
    a = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).astype(np.float64)
    return a[:, ::-1] if mirror else a


def _blur(a: np.ndarray, passes: int = 2) -> np.ndarray:
    """3 x 3 box blur, ``passes`` times (light scattered in paper, as a verso shows through)."""
    for _ in range(passes):
        p = np.pad(a, 1, mode="edge")
        a = sum(p[dy:dy + a.shape[0], dx:dx + a.shape[1]] for dy in range(3) for dx in range(3)) / 9.0
    return a


def _tone(a: np.ndarray, sheet: float, ink: float) -> np.ndarray:
    return ink + (sheet - ink) * a / 255.0


def _pix(a: np.ndarray) -> pymupdf.Pixmap:
    b = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return pymupdf.Pixmap(pymupdf.csGRAY, b.shape[1], b.shape[0], b.tobytes(), 0)


def _scan_pdf(a: np.ndarray, tmp_path: Path, name: str) -> str:
    """A one-page PDF whose page is the grey image ``a``."""
    doc = pymupdf.open()
    doc.new_page(width=W, height=H).insert_image(pymupdf.Rect(0, 0, W, H), pixmap=_pix(a))
    path = str(tmp_path / name)
    doc.save(path)
    return path


def _at_ink_dpi(a: np.ndarray) -> pymupdf.Pixmap:
    """The 150-dpi image ``a`` as the stage measures it: a page image rendered at INK_DPI."""
    doc = pymupdf.open()
    doc.new_page(width=W, height=H).insert_image(pymupdf.Rect(0, 0, W, H), pixmap=_pix(a))
    return doc[0].get_pixmap(dpi=B.INK_DPI, colorspace="gray")


# --------------------------------------------------------------------------------------------
# ink, relative to the sheet (INK_MIN_CONTRAST, INK_NOISE_SIGMAS, the ink-neighbour rule)


@pytest.mark.parametrize(("sheet", "ink"), [(255, 0), (250, 185), (215, 160), (125, 15)],
                         ids=["black-on-white", "faded-print", "grey-on-toned", "dark-scan"])
def test_ink_of_three_lines_is_measured_against_the_sheet(sheet: float, ink: float) -> None:
    # Faded print (contrast 65) and grey print on toned paper (55) are ink; a dark scan's sheet
    # (grey 125, darker than mid-grey) is not: every case reads as three lines, none as blank
    # (< ocr_blank_max_ink) or as a page covered with ink.
    share = ink_share(_at_ink_dpi(_tone(_text_grey(), sheet, ink)))
    assert 10 * CFG.ocr_blank_max_ink < share < CFG.ocr_near_blank_ink


def test_noise_dust_and_bleed_through_are_not_ink() -> None:
    rng = np.random.default_rng(1)
    blank = np.full((1754, 1240), 240.0) + rng.normal(0, 12, (1754, 1240))  # paper grain, sigma 12
    ys, xs = rng.integers(0, 1754, 300), rng.integers(0, 1240, 300)
    blank[ys, xs] = 60.0  # 300 one-pixel specks of dust
    assert ink_share(_at_ink_dpi(blank)) < CFG.ocr_blank_max_ink
    # the verso's text showing through, mirrored and blurred by the paper: 20% of its darkness
    verso = _text_grey(LINES * 8, mirror=True)
    bleed = 253.0 - 0.2 * (255.0 - _blur(verso))
    assert ink_share(_at_ink_dpi(bleed)) < CFG.ocr_blank_max_ink
    # ... the same text at full strength is ink
    assert ink_share(_at_ink_dpi(verso)) > 100 * CFG.ocr_blank_max_ink


# --------------------------------------------------------------------------------------------
# contrast stretch (STRETCH_BELOW_CONTRAST, STRETCH_INK_PERCENTILE, STRETCH_MIN_INK)


def test_faint_ink_is_stretched_to_black_and_print_is_left_alone() -> None:
    faint = np.clip(np.rint(_tone(_text_grey(dpi=200), 215, 160)), 0, 255).astype(np.uint8)
    out = stretch_contrast(faint)
    assert out is not None
    assert np.median(out) >= 250  # the sheet is white
    ink = faint < 180
    assert np.percentile(out[ink], 50) < 64  # the strokes' cores are black
    black = np.clip(np.rint(_text_grey(dpi=200)), 0, 255).astype(np.uint8)
    assert stretch_contrast(black) is None  # black print: contrast >= STRETCH_BELOW_CONTRAST


def test_a_verso_showing_through_faint_print_stays_white_when_stretched() -> None:
    recto = _tone(_text_grey(dpi=200), 248, 175)
    verso = _text_grey(LINES * 8, dpi=200, mirror=True)
    page = np.clip(np.rint(recto - 0.14 * (255.0 - _blur(verso))), 0, 255).astype(np.uint8)
    out = stretch_contrast(page)
    assert out is not None
    shows_through = (verso < 128) & (recto > 247)  # the verso's strokes where the recto is blank
    # STRETCH_WHITE_POINT: lighter than ink, they stay (almost) white; the recto's strokes turn black
    assert np.percentile(out[shows_through], 50) >= 230
    assert np.percentile(out[recto < 185], 50) < 100


def test_a_sheet_without_ink_is_not_stretched() -> None:
    rng = np.random.default_rng(2)
    sheet = np.clip(np.rint(235 + rng.normal(0, 6, (2339, 1654))), 0, 255).astype(np.uint8)
    sheet[1000:1003, 800:803] = 120  # one speck: below STRETCH_MIN_INK
    assert stretch_contrast(sheet) is None


# --------------------------------------------------------------------------------------------
# the verdict on OCR lines (ocr_min_chars, ocr_near_blank_ink, ocr_max_unreadable_share)


def _line(words: str, conf: float, top: int = 0) -> OcrLine:
    return OcrLine(tuple((w, conf, (100 * i, top, 90, 30)) for i, w in enumerate(words.split())))


PRINTED = [_line(ln, 96, 40 * i) for i, ln in enumerate(LINES)]
SCRIBBLE = [_line("ASD ORR RE OW Fan, NYA aw ae MAIN DYN ME", 36, 400 + 40 * i) for i in range(4)]


def test_a_mixed_page_keeps_its_printed_lines_only() -> None:
    reject, drop, detail = ocr_verdict(PRINTED + SCRIBBLE, 0.04, OPTS)
    assert reject is None and drop == SCRIBBLE and "4 of 7 lines unreadable, left out" in detail


def test_a_printed_page_with_a_few_misreads_is_judged_whole() -> None:
    # one unreadable short line (a rule read as "—~", a split word) under the unreadable share
    lines = PRINTED * 3 + [_line("claimer,", 52)]
    assert sum(ln.chars for ln in lines[-1:]) < CFG.ocr_max_unreadable_share * sum(ln.chars for ln in lines)
    assert ocr_verdict(lines, 0.04, OPTS) == (None, [], ocr_verdict(lines, 0.04, OPTS)[2])
    # ... and above it the page is mixed: the line is left out
    opts = {**OPTS, "ocr_max_unreadable_share": 0.0}
    assert ocr_verdict(lines, 0.04, opts)[1] == lines[-1:]


def test_handwriting_alone_is_unreadable_and_a_lone_page_number_blank() -> None:
    reject, drop, detail = ocr_verdict(SCRIBBLE * 3, 0.05, OPTS)
    assert reject == "ocr_unreadable" and "no readable words" in detail
    # "121", read with confidence: 3 letters and digits < ocr_min_chars, little ink: blank
    reject, _, detail = ocr_verdict([_line("121", 96)], 0.0003, OPTS)
    assert reject == "blank_page" and "near-blank page, 3 letters and digits" in detail
    # a heading of 8+ letters is kept
    assert ocr_verdict([_line("Appendix B", 96)], 0.002, OPTS)[0] is None
    # the same few characters on a page full of ink (a picture) are unreadable, not blank
    assert ocr_verdict([_line("121", 96)], 2 * CFG.ocr_near_blank_ink, OPTS)[0] == "ocr_unreadable"


def test_tsv_words_group_into_lines_with_boxes() -> None:
    head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [head, "4\t1\t1\t1\t1\t0\t10\t20\t300\t30\t-1\t",
            "5\t1\t1\t1\t1\t1\t10\t20\t80\t30\t95.5\tNotes", "5\t1\t1\t1\t1\t2\t100\t20\t40\t30\t91\ton",
            "5\t1\t1\t1\t2\t1\t10\t60\t80\t30\t30\tzqxv", "5\t1\t1\t1\t2\t2\t10\t60\t80\t30\t-1\t "]
    a, b = ocr_lines("\n".join(rows))
    assert [w[0] for w in a.words] == ["Notes", "on"] and a.words[1][2] == (100, 20, 40, 30)
    assert a.sure_chars == 7 and a.readable(60, 0.5) and not b.readable(60, 0.5)
    assert b.conf == 30 and b.good_share == 0.0


# --------------------------------------------------------------------------------------------
# the whole OCR backend on generated scans

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract binary not installed")


def _run(path: str, name: str) -> tuple[list[dict], list[dict]]:
    with PageParser(PdfConfig(ocr_backend="tesseract")) as pp:
        res = pp.parse_segment(path, Segment("d", name, 0, 1, 1))
    return res.kept, res.quarantined


@needs_tesseract
def test_faint_print_on_toned_paper_is_read(tmp_path: Path) -> None:
    # grey 160 on grey 215 with grain: Tesseract alone reads nothing here (bench/pdf_ocr_faint.py)
    rng = np.random.default_rng(3)
    a = _tone(_text_grey(size=12), 215, 160)
    a += rng.normal(0, 5, a.shape)
    (row,), _ = _run(_scan_pdf(a, tmp_path, "faint.pdf"), "faint.pdf")
    text = " ".join(row["text"].replace("#", " ").split())
    assert all(ln in text for ln in LINES) and row["flags"] == ["ocr_contrast_stretched"]


@needs_tesseract
@pytest.mark.slow  # one OCR run on a page of strokes: ~4 s idle
def test_printed_questions_with_handwritten_answers_keep_the_questions(tmp_path: Path) -> None:
    rng = random.Random(4)
    page = pymupdf.open().new_page(width=W, height=H)
    sh = page.new_shape()
    for i, text in enumerate(LINES):
        y = 90 + 190 * i
        page.insert_text((60, y), text, fontname="tiro", fontsize=11)
        yy = y + 28
        while yy < y + 130:  # three rows of cursive-like strokes under each question
            cursive_row(sh, rng, 80.0, yy, 510)
            yy += 30
    sh.finish(color=(0.15, 0.15, 0.25), width=1.2, closePath=False)
    sh.commit()
    pix = page.get_pixmap(dpi=150, colorspace="gray")
    a = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).astype(np.float64)
    (row,), _ = _run(_scan_pdf(a, tmp_path, "exam.pdf"), "exam.pdf")
    text = " ".join(row["text"].replace("#", " ").split())
    assert all(ln in text for ln in LINES) and "ocr_lines_left_out" in row["flags"]
    # nothing but the questions: the strokes' nonsense lines were cut from the text layer
    assert len(text) < 1.1 * len(" ".join(LINES))
