"""Structured page output: tables as markdown/HTML, equations as LaTeX, routing of equations set
in text fonts, and OCR validation (blank and unreadable pages). Every fixture is generated here."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pymupdf
import pytest

from sciforge.fixtures.scribble import cursive_row
from sciforge.pipelines.pdf.backends import ocr_confident_chars, ocr_tsv_stats
from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.parse import PageParser, Segment, cheap_pass
from sciforge.pipelines.pdf.text import ocr_garble_score, ocr_nonsense_score
from tests.pdf import pdfgen

W, H = 595, 842
PROSE = ("The samples were prepared following the standard protocol and measured twice; the "
         "results agree with the reference values within the stated uncertainty of the method. ")


def _save(doc: pymupdf.Document, tmp_path: Path, name: str) -> str:
    path = str(tmp_path / name)
    doc.save(path)
    return path


def _cheap(path: str, page: int = 0, **cfg: object) -> dict:
    out = cheap_pass(path, page, page + 1, PdfConfig(**cfg).model_dump_json())  # type: ignore[arg-type]
    return out["pages"][0]


def _table_page(page: pymupdf.Page, rows: list[list[str]], xs: list[float], y: float, dy: float = 16) -> float:
    for r in rows:
        for x, cell in zip(xs, r, strict=True):
            if cell:
                page.insert_text((x, y), cell, fontname="tiro", fontsize=10)
        y += dy
    return y


ROWS = [["Sample", "Mass (g)", "Temp (K)", "Yield"], ["A-1", "12.5", "300", "0.81"],
        ["B-22", "7.25", "310", "0.77"], ["Control group", "0.0", "295", "n/a"]]


# --------------------------------------------------------------------------------------------
# tables


def test_unruled_table_comes_out_as_markdown_rows_in_order(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 120), PROSE, fontname="tiro", fontsize=10)
    _table_page(page, ROWS, [60, 180, 280, 380], 150)
    page.insert_textbox(pymupdf.Rect(60, 240, 535, 300), PROSE, fontname="tiro", fontsize=10)
    md = _cheap(_save(doc, tmp_path, "t.pdf"))["md"]
    assert "| Sample | Mass (g) | Temp (K) | Yield |\n|---|---|---|---|\n| A-1 | 12.5 | 300 | 0.81 |" in md
    assert "| Control group | 0.0 | 295 | n/a |" in md
    # the table sits between the two paragraphs, its cells are not repeated as loose lines
    assert md.index("The samples") < md.index("| Sample") < md.rindex("The samples")
    assert md.count("B-22") == 1


def test_booktabs_table_and_ruled_grid_with_merged_header(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    y = _table_page(page, ROWS, [60, 180, 280, 380], 110)
    for yy in (97, 114, y - 8):  # booktabs: three horizontal rules, no vertical ones
        page.draw_line((55, yy), (450, yy))
    # ruled 3 x 3 grid whose first row is one cell spanning all columns
    x0, x1, ys, xs = 60, 360, [400, 420, 440, 460], [60, 160, 260, 360]
    for yy in ys:
        page.draw_line((x0, yy), (x1, yy))
    for k, xx in enumerate(xs):
        page.draw_line((xx, ys[0] if k in (0, 3) else ys[1]), (xx, ys[-1]))
    page.insert_text((150, 414), "Spectral lines", fontname="tiro", fontsize=10)
    for r, row in enumerate([["Element", "Line (nm)", "Intensity"], ["Na", "589.0", "high"]]):
        for c, cell in enumerate(row):
            page.insert_text((xs[c] + 5, ys[r + 1] + 14), cell, fontname="tiro", fontsize=10)
    md = _cheap(_save(doc, tmp_path, "b.pdf"))["md"]
    assert "| Sample | Mass (g) | Temp (K) | Yield |" in md and "| B-22 | 7.25 | 310 | 0.77 |" in md
    assert '<th colspan="3">Spectral lines</th>' in md
    assert "<tr><td>Element</td><td>Line (nm)</td><td>Intensity</td></tr>" in md
    assert "<tr><td>Na</td><td>589.0</td><td>high</td></tr>" in md


def test_two_column_prose_and_equation_numbers_are_not_tables(tmp_path: Path) -> None:
    doc = pymupdf.open()
    pdfgen.text_pages(doc, n=1)
    page = doc.new_page(width=W, height=H)
    for k in range(4):  # display equations with numbers: two pieces a row, but no table
        page.insert_text((200, 100 + 30 * k), f"x = {k + 1}a + b", fontname="tiit", fontsize=11)
        page.insert_text((480, 100 + 30 * k), f"({k + 1})", fontname="tiro", fontsize=10)
    path = _save(doc, tmp_path, "p.pdf")
    for pno in (0, 1):
        p = _cheap(path, pno)
        assert "|---" not in p["md"] and "<table>" not in p["md"]
        assert p["features"]["tables"] == 0


# --------------------------------------------------------------------------------------------
# math


def _euler_and_maxwell(page: pymupdf.Page, x: float, y: float) -> None:
    """e^{iπ} + 1 = 0 in Times-Italic with a Symbol-font π (base-14, text layer "p"), and
    ∇ × E = −∂B/∂t in DejaVu (a text font with Unicode operators), set larger than the body."""
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="dvi", fontfile=str(pdfgen.FONTS / "DejaVuSerif-Italic.ttf"))
    page.insert_text((x, y), "e", fontname="tiit", fontsize=11)
    page.insert_text((x + 6, y - 4), "i", fontname="tiit", fontsize=7)
    page.insert_text((x + 9, y - 4), "p", fontname="symb", fontsize=7)
    page.insert_text((x + 15, y), " + 1 = 0", fontname="tiro", fontsize=11)
    y += 40
    for dx, tok, font in [(0, "\u2207\u00d7 ", "dv"), (24, "E", "dvi"), (34, " = \u2212\u2202", "dv"),
                          (66, "B", "dvi"), (75, "/\u2202", "dv"), (88, "t", "dvi")]:
        page.insert_text((x + dx, y), tok, fontname=font, fontsize=14)


def test_display_equations_as_latex_and_never_headings(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 120), PROSE, fontname="tiro", fontsize=10)
    _euler_and_maxwell(page, 250, 150)
    x, y = 250, 250  # x_i^2 = 4: sub- and superscript stacked (MuPDF splits them into two lines)
    page.insert_text((x, y), "x", fontname="tiit", fontsize=11)
    page.insert_text((x + 6, y + 3), "i", fontname="tiit", fontsize=7)
    page.insert_text((x + 6, y - 4), "2", fontname="tiro", fontsize=7)
    page.insert_text((x + 11, y), " = 4", fontname="tiro", fontsize=11)
    md = _cheap(_save(doc, tmp_path, "m.pdf"))["md"]
    assert "$$e^{i\\pi}+1=0$$" in md
    assert "$$\\nabla\\times E=-\\partial B/\\partial t$$" in md
    assert "$$x_{i}^{2}=4$$" in md
    assert "#" not in md and "e + i" not in md


def test_inline_scripts_become_latex_but_footnote_markers_stay_text(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    y = 100
    page.insert_text((60, y), "The energy is E = mc", fontname="tiro", fontsize=10)
    x = 60 + pymupdf.get_text_length("The energy is E = mc", fontname="tiro", fontsize=10)
    page.insert_text((x, y - 4), "2", fontname="tiro", fontsize=7)
    page.insert_text((x + 5, y), " for a body at rest, as measured", fontname="tiro", fontsize=10)
    x = 60 + pymupdf.get_text_length("Recent experiments", fontname="tiro", fontsize=10)
    page.insert_text((60, y + 14), "Recent experiments", fontname="tiro", fontsize=10)
    page.insert_text((x, y + 10), "12", fontname="tiro", fontsize=7)
    page.insert_text((x + 8, y + 14), " confirm it to high precision.", fontname="tiro", fontsize=10)
    md = _cheap(_save(doc, tmp_path, "i.pdf"))["md"]
    assert "E = $mc^{2}$ for a body at rest" in md
    assert "$" not in md.split("Recent")[1] and "experiments12" in md


# --------------------------------------------------------------------------------------------
# routing


def _derivation_page(doc: pymupdf.Document, n_equations: int) -> None:
    """Prose with ``n_equations`` display equations set in Times-Italic and Symbol (one math code
    point or none a line: the font-name and math-character rules alone do not see them)."""
    page = doc.new_page(width=W, height=H)
    page.insert_textbox(pymupdf.Rect(60, 50, 535, 130), PROSE * 2, fontname="tiro", fontsize=10)
    y = 160
    for k in range(n_equations):
        page.insert_text((250, y), "f", fontname="tiit", fontsize=11)
        page.insert_text((256, y - 4), "2", fontname="tiro", fontsize=7)
        page.insert_text((262, y), f"(x) = a x + {k + 2}", fontname="tiit", fontsize=11)
        page.insert_text((500, y), f"({k + 1})", fontname="tiro", fontsize=10)
        page.insert_textbox(pymupdf.Rect(60, y + 12, 535, y + 45), PROSE[:150], fontname="tiro", fontsize=10)
        y += 60
    page.insert_text((250, y), "e", fontname="tiit", fontsize=11)
    page.insert_text((256, y - 4), "i", fontname="tiit", fontsize=7)
    page.insert_text((259, y - 4), "p", fontname="symb", fontsize=7)
    page.insert_text((266, y), " + 1 = 0", fontname="tiro", fontsize=11)


def test_equations_in_text_fonts_route_the_page_to_math(tmp_path: Path) -> None:
    doc = pymupdf.open()
    _derivation_page(doc, 4)
    _derivation_page(doc, 0)  # one formula in prose: stays on the cheap path
    path = _save(doc, tmp_path, "r.pdf")
    dense, light = _cheap(path, 0), _cheap(path, 1)
    assert dense["route"] == "math", dense["reason"]
    assert dense["features"]["display_equations"] >= 5 and dense["features"]["math_font_chars"] <= 4
    assert "$$f^{2}(x)=a x+2 \\tag{1}$$" in dense["md"]
    assert light["route"] == "text" and light["features"]["display_equations"] == 1
    # the default math backend keeps the cheap pass's LaTeX (pymupdf4llm emits none)
    with PageParser(PdfConfig(ocr_backend="none"), isolate_cheap=False) as pp:
        res = pp.parse_segment(path, Segment("d", "r.pdf", 0, 2, 2))
    rows = {r["page"]: r for r in res.kept}
    assert rows[1]["route"] == "math" and "$$e^{i\\pi}+1=0$$" in rows[1]["text"]
    assert res.counters.metrics["parser_glyph"] == 1 and "expensive_unavailable" not in rows[1]["flags"]


# --------------------------------------------------------------------------------------------
# OCR validation

HAS_TESSERACT = shutil.which("tesseract") is not None
needs_tesseract = pytest.mark.skipif(not HAS_TESSERACT, reason="tesseract binary not installed")


def _as_scan(doc: pymupdf.Document, src: pymupdf.Page) -> None:
    pix = src.get_pixmap(dpi=150, colorspace="gray")
    doc.new_page(width=W, height=H).insert_image(pymupdf.Rect(0, 0, W, H), pixmap=pix)


def _blank_sheet(seed: int = 1) -> pymupdf.Page:
    rng = random.Random(seed)
    src = pymupdf.open().new_page(width=W, height=H)
    for _ in range(40):  # dust and scanner specks
        src.draw_circle((rng.uniform(20, 575), rng.uniform(20, 820)), rng.uniform(0.2, 0.6),
                        color=(0, 0, 0), fill=(0, 0, 0))
    src.draw_line((0, 838), (W, 838), color=(0.6, 0.6, 0.6), width=2)
    return src


def _scribbles(seed: int = 2) -> pymupdf.Page:
    """Lines of cursive-like strokes: ink where OCR finds only nonsense (handwriting)."""
    rng = random.Random(seed)
    src = pymupdf.open().new_page(width=W, height=H)
    sh = src.new_shape()
    y = 80.0
    while y < 700:
        cursive_row(sh, rng, 60.0, y, 520)
        y += rng.uniform(26, 34)
    sh.finish(color=(0.1, 0.1, 0.3), width=1.3, closePath=False)
    sh.commit()
    return src


@needs_tesseract
def test_blank_scan_yields_nothing(tmp_path: Path) -> None:
    doc = pymupdf.open()
    _as_scan(doc, _blank_sheet())
    path = _save(doc, tmp_path, "blank.pdf")
    with PageParser(PdfConfig(ocr_backend="tesseract")) as pp:
        res = pp.parse_segment(path, Segment("d", "blank.pdf", 0, 1, 1))
    assert res.kept == []
    (q,) = res.quarantined
    assert q["reason"] == "blank_page" and q["text"] == "" and "ink 0.0" in q["detail"]


@needs_tesseract
def test_faint_print_on_a_light_sheet_is_not_blank(tmp_path: Path) -> None:
    # Grey 140 text (pencil, a faded copy) on off-white paper: never darker than mid-grey.
    src = pymupdf.open().new_page(width=W, height=H)
    src.draw_rect(src.rect, color=None, fill=(0.93, 0.92, 0.88))
    lines = ["Handwritten notes were scanned for the archive", "and this second line says the page is nearly empty"]
    for i, text in enumerate(lines):
        src.insert_text((60, 100 + 30 * i), text, fontname="tiro", fontsize=14, color=(0.55, 0.55, 0.55))
    doc = pymupdf.open()
    _as_scan(doc, src)
    path = _save(doc, tmp_path, "faint.pdf")
    with PageParser(PdfConfig(ocr_backend="tesseract")) as pp:
        res = pp.parse_segment(path, Segment("d", "faint.pdf", 0, 1, 1))
    (row,) = res.kept
    text = " ".join(row["text"].replace("#", " ").split())
    assert lines[0] in text and lines[1] in text


def _big_scan(lines: list[str], size: float = 1440, px: int = 3000, fs: float = 24) -> pymupdf.Document:
    """A page of ``size`` points that is one ``px``-pixel square image (a 20-inch scan) holding
    ``lines`` of text near the top and 40 specks of dust."""
    rng = random.Random(3)
    src = pymupdf.open().new_page(width=size, height=size)
    for i, text in enumerate(lines):
        src.insert_text((size * 0.1, size * 0.1 + 2 * fs * i), text, fontname="tiro", fontsize=fs)
    for _ in range(40):
        src.draw_circle((rng.uniform(20, size - 20), rng.uniform(20, size - 20)), rng.uniform(0.4, 1.2),
                        color=(0, 0, 0), fill=(0, 0, 0))
    pix = src.get_pixmap(dpi=int(px / size * 72), colorspace="gray")
    doc = pymupdf.open()
    doc.new_page(width=size, height=size).insert_image(pymupdf.Rect(0, 0, size, size), pixmap=pix)
    return doc


@needs_tesseract
def test_near_blank_big_scan_keeps_its_few_lines(tmp_path: Path) -> None:
    lines = ["Handwritten notes were scanned for the archive",
             "and this second line says the page is nearly empty"]
    path = _save(_big_scan(lines), tmp_path, "near.pdf")
    with PageParser(PdfConfig(ocr_backend="tesseract", ocr_dpi=100)) as pp:
        res = pp.parse_segment(path, Segment("d", "near.pdf", 0, 1, 1))
    (row,) = res.kept
    text = " ".join(row["text"].replace("#", " ").split())
    assert lines[0] in text and lines[1] in text and text.index(lines[0]) < text.index(lines[1])


@needs_tesseract
def test_near_blank_scan_with_a_stray_mark_is_blank(tmp_path: Path) -> None:
    # Dust and one short mark: whatever OCR reads there is not a confident word.
    path = _save(_big_scan(["i"]), tmp_path, "dust.pdf")
    with PageParser(PdfConfig(ocr_backend="tesseract", ocr_dpi=100)) as pp:
        res = pp.parse_segment(path, Segment("d", "dust.pdf", 0, 1, 1))
    assert res.kept == []
    (q,) = res.quarantined
    assert q["reason"] == "blank_page" and q["text"] == ""


def test_confident_characters_of_ocr_words() -> None:
    head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [head, "5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t95.0\tNotes,", "5\t1\t1\t1\t1\t2\t0\t0\t10\t10\t96.0\t|",
            "5\t1\t1\t1\t1\t3\t0\t0\t10\t10\t91.0\ti", "5\t1\t1\t1\t1\t4\t0\t0\t10\t10\t30.0\tzqxv"]
    assert ocr_confident_chars("\n".join(rows)) == 5


@needs_tesseract
@pytest.mark.slow  # one OCR run on a full page: ~5 s idle
def test_handwriting_like_scan_is_quarantined_as_unreadable(tmp_path: Path) -> None:
    doc = pymupdf.open()
    _as_scan(doc, _scribbles())
    path = _save(doc, tmp_path, "hw.pdf")
    with PageParser(PdfConfig(ocr_backend="tesseract")) as pp:
        res = pp.parse_segment(path, Segment("d", "hw.pdf", 0, 1, 1))
    assert res.kept == []
    (q,) = res.quarantined
    assert q["reason"] == "ocr_unreadable" and "mean confidence" in q["detail"]


def test_tsv_confidence_stats() -> None:
    head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [head, "4\t1\t1\t1\t1\t0\t0\t0\t10\t10\t-1\t", "5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t90.0\tHello",
            "5\t1\t1\t1\t1\t2\t0\t0\t10\t10\t20.0\tzq", "5\t1\t1\t1\t1\t3\t0\t0\t10\t10\t-1\t "]
    words, conf, good = ocr_tsv_stats("\n".join(rows))
    assert words == 2 and conf == pytest.approx((90 * 5 + 20 * 2) / 7) and good == pytest.approx(5 / 7)


def test_ocr_nonsense_scores_vowel_less_capital_runs() -> None:
    nonsense = ("SRS ts OA AW REAR UE LE BY FEZ BELLA RIDE MUA AVS RNMBSR HSB MMS DN RD MW WW "
                "YQ aR PN DRI AMD MOAR AR AY NASI RYN TS Mn IMIS Mort ye ") * 3
    prose = PROSE * 6 + " The mass was 5 mm and the frequency 12 Hz in the NMR run."
    assert ocr_nonsense_score(nonsense) > 0.1 and ocr_garble_score(nonsense) >= 0.1
    assert ocr_nonsense_score(prose) == 0.0
    assert ocr_nonsense_score("SRS HSB MMS") == 0.0  # too few words to judge


# --------------------------------------------------------------------------------------------
# page furniture on a single page


def test_running_head_with_page_number_is_dropped_on_a_lone_page(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    page.insert_text((150, 95), "Optimized Table Tokenization for Structure Recognition", fontname="tiro", fontsize=9)
    page.insert_text((480, 95), "9", fontname="tiro", fontsize=9)
    page.insert_text((60, 150), "3 Methods", fontname="tibo", fontsize=10)
    page.insert_textbox(pymupdf.Rect(60, 160, 535, 400), PROSE * 3, fontname="tiro", fontsize=10)
    page.insert_text((W / 2 - 10, H - 40), "7-45", fontname="tiro", fontsize=9)
    md = _cheap(_save(doc, tmp_path, "h.pdf"))["md"]
    assert "Optimized" not in md and "7-45" not in md
    assert md.startswith("3 Methods") or "3 Methods" in md.split("\n")[0]


def test_side_stamp_in_the_page_margin_is_dropped_but_rotated_figure_labels_stay(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    page.insert_text((30, 600), "arXiv:0807.3577v2 [astro-ph] 3 Oct 2008", fontname="tiro", fontsize=20, rotate=90)
    page.insert_text((570, 500), "JCAP10(2008)003", fontname="helv", fontsize=24, rotate=90)
    page.insert_textbox(pymupdf.Rect(80, 100, 515, 400), PROSE * 3, fontname="tiro", fontsize=10)
    page.insert_text((120, 600), "Intensity (arb. units)", fontname="tiro", fontsize=9, rotate=90)
    md = _cheap(_save(doc, tmp_path, "s.pdf"))["md"]
    assert "arXiv" not in md and "JCAP" not in md
    assert "Intensity (arb. units)" in md and "The samples were prepared" in md


def test_alternate_page_running_heads_below_the_margin_zone_are_dropped(tmp_path: Path) -> None:
    # A 5-page paper: author names on even pages, the title on odd ones, set at 12% of the page
    # height (below margin_share=0.1); each recurs on only 2 pages.
    doc = pymupdf.open()
    for i in range(5):
        page = doc.new_page(width=W, height=H)
        if i:
            head = "Alam et al." if i % 2 else "Antioxidant activity of P. paludosa"
            page.insert_text((300, 100), head, fontname="tiro", fontsize=10)
        page.insert_textbox(pymupdf.Rect(80, 130, 515, 400), f"PAGE{i} " + PROSE * 3, fontname="tiro", fontsize=10)
    path = _save(doc, tmp_path, "alt.pdf")
    out = cheap_pass(path, 0, 5, PdfConfig().model_dump_json())
    mds = [p["md"] for p in out["pages"]]
    assert all(f"PAGE{i}" in md for i, md in enumerate(mds))
    assert not any("Alam et al." in md or "Antioxidant" in md for md in mds)


def test_lone_page_header_and_footer_in_another_font_are_dropped(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((256, 45), "Official - Subject to Final Review", fontname="tiro", fontsize=10)
    page.insert_textbox(pymupdf.Rect(90, 100, 520, 500), PROSE * 4, fontname="cour", fontsize=12)
    page.insert_text((264, 755), "Alderson Reporting Company", fontname="tiro", fontsize=10)
    md = _cheap(_save(doc, tmp_path, "t.pdf"))["md"]
    assert "Official" not in md and "Alderson" not in md and "The samples were prepared" in md
    # The same lines in the body's font family, or a sentence, are the page's own text.
    for name, top, bottom, font in (("same.pdf", "Official - Subject to Final Review", "Alderson Reporting Company", "cour"),
                                    ("sentence.pdf", "Filed with the clerk.", "See the appendix for details.", "tiro")):
        doc = pymupdf.open()
        page = doc.new_page(width=612, height=792)
        page.insert_text((256, 45), top, fontname=font, fontsize=10)
        page.insert_textbox(pymupdf.Rect(90, 100, 520, 500), PROSE * 4, fontname="cour", fontsize=12)
        page.insert_text((264, 755), bottom, fontname=font, fontsize=10)
        md = _cheap(_save(doc, tmp_path, name))["md"]
        assert top in md and bottom in md, name


def test_heading_closing_a_column_band_heads_the_full_width_section_below(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    page.insert_textbox(pymupdf.Rect(50, 80, 290, 300), "LEFTCOL " + PROSE * 2, fontname="tiro", fontsize=10)
    page.insert_textbox(pymupdf.Rect(305, 80, 545, 330), "RIGHTCOL " + PROSE * 2, fontname="tiro", fontsize=10)
    page.insert_text((50, 320), "Additional Features", fontname="tibo", fontsize=13)
    page.insert_textbox(pymupdf.Rect(50, 345, 545, 500), "FULLWIDTH " + PROSE * 2, fontname="tiro", fontsize=10)
    md = _cheap(_save(doc, tmp_path, "band.pdf"))["md"]
    order = [md.index(k) for k in ("LEFTCOL", "RIGHTCOL", "Additional Features", "FULLWIDTH")]
    assert order == sorted(order), md
