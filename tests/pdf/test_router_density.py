"""The math route needs display equations that are dense on the page: a count AND a share of the
page's text lines (router.py, PdfConfig.math_min_equation_density)."""

from __future__ import annotations

import pymupdf

from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.features import add_graphics_features, extract_blocks, text_flags
from sciforge.pipelines.pdf.router import route_page
from tests.pdf import pdfgen

_f = pdfgen.page_features


def test_three_formulas_in_a_long_page_are_prose_with_formulas() -> None:
    cfg = PdfConfig()
    long_page = _f(equation_lines=3, display_equations=3, text_lines=120)  # two columns of prose
    assert route_page(long_page, cfg).label == "text"
    short = route_page(_f(equation_lines=3, display_equations=3, text_lines=45), cfg)  # one column
    assert short.label == "math" and "in 45 text lines" in short.reason
    # a derivation of five in the same long page is dense again
    assert route_page(_f(equation_lines=5, display_equations=5, text_lines=120), cfg).label == "math"
    # 0 switches the density test off (the count alone decides)
    assert route_page(long_page, PdfConfig(math_min_equation_density=0)).label == "math"
    # the count still binds on a short page
    assert route_page(_f(equation_lines=2, display_equations=2, text_lines=20), cfg).label == "text"


def _formula(page: pymupdf.Page, x: float, y: float, k: int) -> None:
    """One display equation as TeX sets it: CMMI10 letters, STIX relation and operators, a number."""
    for tok, font in [("f", "cmmi"), ("(", "dv"), ("x", "cmmi"), (")", "dv"), (" = ", "stix"),
                      ("\u2211", "stix"), ("a", "cmmi"), ("n", "cmmi"), ("\u2264", "stix"), ("y", "cmmi")]:
        page.insert_text((x, y), tok, fontname=font, fontsize=11)
        x += 12 * len(tok)
    page.insert_text((x + 20, y), f"({k})", fontname="dv", fontsize=10)


def _page(doc: pymupdf.Document, columns: int) -> pymupdf.Page:
    """Three display equations in a page of prose: two columns of dense text or a few paragraphs."""
    page = doc.new_page(width=pdfgen.W, height=pdfgen.H)
    pdfgen._fonts(page)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_font(fontname="stix", fontfile=pdfgen.STIX)
    text = " ".join([pdfgen.LOREM] * 4)
    if columns == 2:
        for x0, x1 in ((50, pdfgen.W / 2 - 10), (pdfgen.W / 2 + 10, pdfgen.W - 50)):
            pdfgen._para(page, pymupdf.Rect(x0, 60, x1, 330), text, size=8)
            pdfgen._para(page, pymupdf.Rect(x0, 430, x1, 780), text, size=8)
        for k, y in enumerate((355, 380, 405), 1):
            _formula(page, 80, y, k)
    else:
        pdfgen._para(page, pymupdf.Rect(50, 60, pdfgen.W - 50, 200), pdfgen.LOREM)
        for k, y in enumerate((240, 280, 320), 1):
            _formula(page, 150, y, k)
        pdfgen._para(page, pymupdf.Rect(50, 360, pdfgen.W - 50, 500), pdfgen.LOREM)
    return page


def test_text_lines_feature_and_route_on_real_pages() -> None:
    cfg = PdfConfig()
    doc = pymupdf.open()
    routes = {}
    for columns in (2, 1):
        page = _page(doc, columns)
        blocks, feats = extract_blocks(page, page.get_textpage(flags=text_flags()))
        add_graphics_features(page, feats, measure_images=False)
        assert feats.display_equations == 3
        assert feats.text_lines == sum(1 for b in blocks for ln in b.lines if ln.text.strip())
        routes[columns] = (route_page(feats, cfg).label, feats.text_lines)
    assert routes[2][0] == "text" and routes[2][1] > 3 / cfg.math_min_equation_density
    assert routes[1][0] == "math" and routes[1][1] < 3 / cfg.math_min_equation_density


def test_equation_numbers_alone_on_their_row_count_as_display_equations() -> None:
    """IEEE/Word PDFs may set formulas as images: the text layer then holds only "(1)" at the
    right of the column. Such a number counts as a display equation; one that ends a line of
    prose or a table row does not."""
    doc = pymupdf.open()
    page = doc.new_page(width=pdfgen.W, height=pdfgen.H)
    pdfgen._fonts(page)
    pdfgen._para(page, pymupdf.Rect(50, 60, 287, 200), pdfgen.LOREM, size=9)  # left column prose
    pdfgen._para(page, pymupdf.Rect(307, 60, 545, 200), pdfgen.LOREM, size=9)  # right column prose
    for k, y in enumerate((230, 270, 310), 1):  # formula images in the left column: numbers only
        page.draw_rect(pymupdf.Rect(90, y - 12, 230, y + 2), color=(0, 0, 0), fill=(0.9, 0.9, 0.9))
        page.insert_text((265, y), f"({k})", fontname="dv", fontsize=9)
        page.insert_text((320, y), "the right column continues with prose here", fontname="dv", fontsize=9)
    page.insert_text((60, 360), "Table row with a value", fontname="dv", fontsize=9)  # a table cell "(4)"
    page.insert_text((265, 360), "(4)", fontname="dv", fontsize=9)
    blocks, feats = extract_blocks(page, page.get_textpage(flags=text_flags()))
    assert feats.equation_numbers == 3 and feats.display_equations == 3
    add_graphics_features(page, feats, measure_images=False)  # the grey boxes are not figures (< 40 pt high)
    assert feats.display_equations == 3


def test_limits_of_a_sum_are_part_of_its_formula() -> None:
    """MuPDF returns the "i=1" under a sigma as a line of its own below the formula's row; set
    small and short, it is the formula's limit, not another display equation."""
    doc = pymupdf.open()
    page = doc.new_page(width=pdfgen.W, height=pdfgen.H)
    pdfgen._fonts(page)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_font(fontname="stix", fontfile=pdfgen.STIX)
    pdfgen._para(page, pymupdf.Rect(50, 60, 545, 200), pdfgen.LOREM, size=11)
    x = 200
    for tok, font in [("v", "cmmi"), (" = ", "stix"), ("\u2211", "stix"), ("a", "cmmi"), ("x", "cmmi")]:
        page.insert_text((x, 260), tok, fontname=font, fontsize=11)
        x += 14 * len(tok)
    page.insert_text((236, 274), "i", fontname="cmmi", fontsize=7)  # the limit, in script size
    page.insert_text((240, 274), "=1", fontname="stix", fontsize=7)
    blocks, feats = extract_blocks(page, page.get_textpage(flags=text_flags()))
    assert feats.equation_lines == 2  # the formula's line and its limit's
    assert feats.display_equations == 1


def test_the_relation_column_of_an_aligned_derivation_is_an_equation_line() -> None:
    """eqnarray/align: MuPDF returns the "=" column apart from both sides, whose pieces (fractions,
    sums) carry no relation sign of their own; a relation sign alone on its line is a row."""
    doc = pymupdf.open()
    page = doc.new_page(width=pdfgen.W, height=pdfgen.H)
    pdfgen._fonts(page)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    pdfgen._para(page, pymupdf.Rect(50, 60, 545, 200), pdfgen.LOREM, size=11)
    for k, y in enumerate((240, 270, 300), 1):
        page.insert_text((200, y), "\u2202E", fontname="cmmi", fontsize=11)  # left side, no relation
        page.insert_text((260, y), "=", fontname="dv", fontsize=11)  # the relation column (CMR-like)
        page.insert_text((300, y), "x + y", fontname="cmmi", fontsize=11)
        page.insert_text((500, y), f"({k})", fontname="dv", fontsize=10)
    page.insert_text((60, 340), "Prose may say a = b inline, which stays prose.", fontname="dv", fontsize=11)
    blocks, feats = extract_blocks(page, page.get_textpage(flags=text_flags()))
    assert feats.display_equations == 3


def test_routing_bench_labels_are_well_formed() -> None:
    """bench/pdf_routing.py embeds its hand labels: one valid code per listed page, a full
    sha256 and a source for every file (a typo there would silently shift labels)."""
    import re

    from bench.pdf_routing import LABELLINGS, LABELS, parse_pages

    assert parse_pages("1-133/4")[:3] == [1, 5, 9] and parse_pages("1-1") == [1]
    names = set()
    for coll, name, src, sha, spec, codes in LABELS:
        assert coll in ("mineru_demo", "github", "heldout") and name not in names
        names.add(name)
        assert re.fullmatch("[0-9a-f]{64}", sha)
        assert (src is None) == (coll == "mineru_demo")
        assert src is None or (re.fullmatch("[0-9a-f]{40}", src[1]) and src[2].endswith(".pdf"))
        cs = codes.split()
        assert len(cs) == len(parse_pages(spec)) and set(cs) <= {"0", "1", "1d", "3", "3d"}, name
    assert LABELLINGS["dense"]("3d") and not LABELLINGS["ge3"]("1d") and LABELLINGS["any"]("1")
