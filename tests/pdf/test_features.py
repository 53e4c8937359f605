"""Cheap-path features: one text extraction gives text, visibility and vector rules; density
decides the math route (pipelines/pdf/features.py, router.py)."""

from __future__ import annotations

import pymupdf

from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.features import (
    add_graphics_features,
    equation_rows,
    extract_blocks,
    text_flags,
)
from sciforge.pipelines.pdf.router import needs_image_coverage, route_page
from tests.pdf import pdfgen

_f = pdfgen.page_features


def test_math_route_needs_dense_display_math() -> None:
    cfg = PdfConfig()
    one = _f(equation_lines=1, display_equations=1, math_font_chars=12, math_font_share=0.006)
    assert route_page(one, cfg).label == "text"  # one formula on a prose page stays cheap
    two = _f(equation_lines=3, display_equations=2)  # one formula cut into pieces + one more
    assert route_page(two, cfg).label == "text"
    dense = route_page(_f(equation_lines=4, display_equations=3), cfg)
    assert dense.label == "math" and "3 display equations" in dense.reason
    # the threshold is configuration (1 = any display equation, the old rule)
    assert route_page(one, PdfConfig(math_min_display_equations=1)).label == "math"


def test_equation_rows_join_pieces_of_one_formula() -> None:
    # "Q = HW_Q,  V = HW_V,  K = HW_K (1)": three lines on one row are one display equation
    row = [(78, 437, 133, 450), (146, 435, 202, 450), (214, 436, 289, 450)]
    assert equation_rows(row) == 1
    assert equation_rows(row + [(114, 498, 232, 518)]) == 2  # the next formula below
    # formulas at the same height in the two columns of a page are two equations
    assert equation_rows([(60, 300, 200, 312), (340, 300, 480, 312)]) == 2
    assert equation_rows([]) == 0


def test_images_are_measured_only_when_the_text_layer_asks_for_it() -> None:
    cfg = PdfConfig()
    assert not needs_image_coverage(_f(), cfg)  # born-digital page: sound, visible text layer
    assert needs_image_coverage(_f(text_chars=0), cfg)  # no text layer: a scan?
    assert needs_image_coverage(_f(visible_text_ratio=0.0), cfg)  # hidden OCR layer
    assert needs_image_coverage(_f(garble_score=0.06), cfg)  # noisy layer


def _page_with_rules() -> pymupdf.Page:
    doc = pymupdf.open()
    page = doc.new_page(width=pdfgen.W, height=pdfgen.H)
    pdfgen._fonts(page)
    # A paragraph whose lines are written with a rule between them in the content stream (as
    # TeX writes a fraction bar or an underline): MuPDF splits its text block at the path.
    page.insert_text((60, 100), "The first line of one paragraph", fontname="dv", fontsize=10)
    page.draw_line((60, 103), (200, 103), width=0.5)
    page.insert_text((60, 113), "continues on the second line", fontname="dv", fontsize=10)
    page.draw_rect(pymupdf.Rect(60, 300, 300, 400), width=0.5)  # a stroked box: four rules
    return page


def test_one_extraction_gives_text_blocks_visibility_and_rules() -> None:
    page = _page_with_rules()
    tp = page.get_textpage(flags=text_flags())
    blocks, feats = extract_blocks(page, textpage=tp)
    assert [[ln.text for ln in b.lines] for b in blocks] == [
        ["The first line of one paragraph", "continues on the second line"]]
    assert feats.visible_text_ratio == 1.0 and feats.vectors is not None and len(feats.vectors) == 2
    rules = add_graphics_features(page, feats, measure_images=False)
    assert feats.image_coverage == -1.0 and feats.drawing_paths == 2
    assert len(rules.h) == 3 and len(rules.v) == 2  # the underline + the box's four edges
    # a text page made without vectors: the drawing pass gives the same rules
    plain = page.get_textpage(flags=text_flags() & ~pymupdf.TEXT_COLLECT_VECTORS)
    blocks2, feats2 = extract_blocks(page, textpage=plain, collects_vectors=False)
    assert [[ln.text for ln in b.lines] for b in blocks2] == [[ln.text for ln in b.lines] for b in blocks]
    rules2 = add_graphics_features(page, feats2, measure_images=False)
    assert feats2.vectors is None and feats2.drawing_paths == 2
    assert len(rules2.h) == 3 and len(rules2.v) == 2
    for a, b in zip(sorted(rules2.h) + sorted(rules2.v), sorted(rules.h) + sorted(rules.v), strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 0.5  # vector boxes hold the line width

def test_hidden_text_layer_is_invisible_without_a_second_pass() -> None:
    doc = pymupdf.open()
    pdfgen.scan_page(doc, hidden_layer="an invisible OCR layer " * 20)
    page = doc[0]
    _, feats = extract_blocks(page, textpage=page.get_textpage(flags=text_flags()))
    assert feats.text_chars > 100 and feats.visible_text_ratio == 0.0
    assert needs_image_coverage(feats, PdfConfig())
    add_graphics_features(page, feats, measure_images=True)
    assert feats.image_count == 1 and feats.image_coverage > 0.9
    assert route_page(feats, PdfConfig()).label == "scan"
