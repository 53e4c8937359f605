"""Display formulas rebuilt in two dimensions (mathtex.region_latex / display_regions): fractions
from drawn bars, roots, limits of big operators, accents, TeX extension-font codes, primes,
equation numbers; end to end on small generated pages."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pymupdf

from sciforge.pipelines.pdf import mathtex
from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.parse import cheap_pass
from tests.pdf import pdfgen


def _span(text: str, x: float, base: float, size: float = 10.0, font: str = "CMMI10", italic: bool = True,
          width: float | None = None) -> dict:
    w = width if width is not None else 0.55 * size * len(text)
    return {"text": text, "bbox": (x, base - 0.75 * size, x + w, base + 0.25 * size), "origin": (x, base),
            "size": size, "flags": 2 if italic else 0, "font": font}


def test_fraction_from_a_bar_with_numerator_above_and_denominator_below() -> None:
    spans = [_span("y", 100, 200), _span("=", 108, 200, font="CMR10", italic=False),
             _span("a", 122, 193), _span("b", 122, 209), _span("+", 132, 200, font="CMR10", italic=False),
             _span("1", 142, 200, font="CMR10", italic=False)]
    assert mathtex.region_latex(spans, [(120.0, 129.0, 197.5)]) == r"y=\frac{a}{b}+1"
    # no bar: the pieces are not stacked into a fraction (nothing invented)
    assert r"\frac" not in mathtex.region_latex(spans, [])


def test_nested_fraction_root_and_equation_number() -> None:
    spans = [_span("1", 124, 190, font="CMR10", italic=False),
             _span("r", 112, 206, font="CMEX10", italic=False, width=9),  # cmex code 0x72: a radical
             _span("x", 122, 210), _span("(3)", 300, 202, font="CMR10", italic=False)]
    bars = [(110.0, 132.0, 196.0), (121.0, 130.0, 199.0)]  # the fraction bar, the root's vinculum
    assert mathtex.region_latex(spans, bars) == r"\frac{1}{\sqrt{x}} \tag{3}"


def test_limits_under_and_over_a_big_operator_and_scripts() -> None:
    spans = [_span("X", 100, 205, size=14, font="CMEX10", italic=False, width=14),  # cmex 0x58: display sum
             _span("i", 101, 220, size=7), _span("=1", 104, 220, size=7, font="CMR7", italic=False),
             _span("n", 105, 188, size=7), _span("x", 117, 200), _span("i", 122, 202, size=7),
             _span("2", 122, 196, size=7, font="CMR7", italic=False)]
    assert mathtex.region_latex(spans, []) == r"\sum_{i=1}^{n}x_{i}^{2}"


def test_accents_primes_and_calligraphic_letters() -> None:
    spans = [_span("¨", 100.5, 196, font="CMR10", italic=False, width=5), _span("a", 100, 200, width=5),
             _span("=", 108, 200, font="CMR10", italic=False), _span("Q", 118, 200, font="CMSY10", width=7),
             _span("R", 128, 200, width=7), _span("′", 135, 196, size=7, font="CMSY7", italic=False, width=2)]
    assert mathtex.region_latex(spans, []) == r"\ddot{a}=\mathcal{Q}R'"


def test_unmapped_glyphs_keep_the_text() -> None:
    assert mathtex.region_latex([_span("a\ufffd", 100, 200)], []) == ""


def test_a_fraction_on_a_generated_page_comes_out_as_latex(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_text((40, 60), "The response of the system is given by the ratio below.", fontname="tiro", fontsize=10)
    # f(x) = (a + b) / c  with a drawn fraction bar, then an equation number at the right margin
    page.insert_text((120, 110), "f", fontname="cmmi", fontsize=10)
    page.insert_text((126, 110), "(x) =", fontname="tiro", fontsize=10)
    page.insert_text((160, 103), "a + b", fontname="cmmi", fontsize=10)
    page.draw_line((158, 107), (186, 107), width=0.4)
    page.insert_text((168, 119), "c", fontname="cmmi", fontsize=10)
    page.insert_text((340, 110), "(7)", fontname="tiro", fontsize=10)
    page.insert_text((40, 150), "where c is the speed of the wave in the medium considered here.", fontname="tiro",
                     fontsize=10)
    path = str(tmp_path / "frac.pdf")
    doc.save(path)
    md = cheap_pass(path, 0, 1, PdfConfig().model_dump_json())["pages"][0]["md"]
    assert r"$$f(x)=\frac{a+b}{c} \tag{7}$$" in md
    assert "The response of the system" in md and "where c is the speed" in md


def test_an_extension_glyph_without_unicode_is_read_by_its_width_or_its_vinculum() -> None:
    # cmex10's display sum is 1.444 em wide; its box (the font's) reaches over both limits
    spans = [{"text": "\ufffd", "bbox": (100, 87, 114.4, 118), "origin": (100, 94.6), "size": 10.0, "flags": 0,
              "font": "CMEX10"},
             _span("j", 100, 116, size=7), _span("=1", 104, 116, size=7, font="CMR7", italic=False),
             _span("d", 103, 91.5, size=7), _span("x", 116, 104), _span("j", 121, 106, size=7)]
    assert mathtex.region_latex(spans, []) == r"\sum_{j=1}^{d}x_{j}"
    # a glyph of unknown width: the text is kept, nothing is guessed ...
    odd = {**spans[0], "bbox": (100, 87, 106, 118)}
    assert mathtex.region_latex([odd, *spans[1:]], []) == ""
    # ... unless a vinculum starts at its right end: a radical
    root = [{"text": "\ufffd", "bbox": (100, 95, 108, 110), "origin": (100, 96), "size": 10.0, "flags": 0,
             "font": "CMEX10"}, _span("x", 109, 106)]
    assert mathtex.region_latex(root, [(108.0, 116.0, 96.0)]) == r"\sqrt{x}"


def test_tex_font_codes_and_quartz_keyboard_glyphs() -> None:
    # cmmi's code "@" is the partial sign; Quartz writes "⌘" for eta (cmmi) and "⇥" for times (cmsy)
    assert mathtex.region_latex([_span("@", 100, 200, font="RMTMI"), _span("C", 106, 200),
                                 _span("=", 114, 200, font="CMR10", italic=False),
                                 _span("⌘", 124, 200, font="RMTMI"), _span("⇥", 130, 200, font="MTSY", italic=False),
                                 _span("2", 136, 200, font="CMR10", italic=False)], []) == r"\partial C=\eta\times 2"


def _raw_content(doc: pymupdf.Document, page: pymupdf.Page, ops: str, fonts: dict[str, str] | None = None) -> None:
    """Append PDF drawing/text operators to a page (user space: origin at the bottom left), with
    font objects (name -> dictionary source) added to its resources."""
    page.clean_contents()
    for name, src in (fonts or {}).items():
        x = doc.get_new_xref()
        doc.update_object(x, src)
        doc.xref_set_key(page.xref, f"Resources/Font/{name}", f"{x} 0 R")
    cx = page.get_contents()[0]
    doc.update_stream(cx, doc.xref_stream(cx) + b"\n" + ops.encode("latin-1") + b"\n")


def _md(doc: pymupdf.Document, path: Path) -> str:
    doc.save(str(path))
    return cheap_pass(str(path), 0, 1, PdfConfig().model_dump_json())["pages"][0]["md"]


def test_extension_glyphs_without_unicode_are_read_by_their_glyph_names_and_limits_join(tmp_path: Path) -> None:
    # a cmex subset whose codes a PDF producer renumbered 1, 2, 3 (dvipdfm does): no ToUnicode, so
    # MuPDF reports U+FFFD; the font's /Differences names the glyphs: a display sum, tall parentheses
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_text((40, 60), "The total of the terms is written below as a sum over all the indices.", fontname="tiro",
                     fontsize=10)
    page.insert_text((120, 110), "y", fontname="cmmi", fontsize=10)
    page.insert_text((127, 110), "=", fontname="tiro", fontsize=10)
    page.insert_text((139, 124), "i=1", fontname="cmmi", fontsize=7)  # the sum's limits, lines of their own
    page.insert_text((144, 94), "n", fontname="cmmi", fontsize=7)
    page.insert_text((160, 110), "a+b", fontname="cmmi", fontsize=10)
    page.insert_text((340, 110), "(4)", fontname="tiro", fontsize=10)
    page.insert_text((40, 150), "where n is the number of terms and each of them is the same.", fontname="tiro", fontsize=10)
    cmex = ("<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+CMEX10 /FirstChar 1 /LastChar 3 /Widths [1444 736 736] "
            "/Encoding << /Type /Encoding /Differences [1 /summationdisplay /parenleftbigg /parenrightbigg] >> >>")
    # cmex glyphs hang from their origin: the sum's origin is at its top, 1.7 em over the baseline
    _raw_content(doc, page, "BT /FX 10 Tf 1 0 0 1 138 199 Tm (\\001) Tj 1 0 0 1 153 199 Tm (\\002) Tj "
                            "1 0 0 1 186 199 Tm (\\003) Tj ET", {"FX": cmex})
    md = _md(doc, tmp_path / "cmex.pdf")
    assert r"$$y=\sum_{i=1}^{n}(a+b) \tag{4}$$" in md
    assert "\ufffd" not in md and "where n is the number" in md


def test_tex_codes_when_the_font_names_no_glyph_and_unknown_names_stay_unread() -> None:
    span = {"text": "\ufffd\ufffd", "bbox": (100.0, 95.0, 120.0, 101.0), "origin": (100.0, 96.0), "size": 10.0,
            "flags": 0, "font": "CMEX10"}
    chars = [{"c": "X", "bbox": (100.0, 95.0, 114.4, 101.0), "origin": (100.0, 96.0)},
             {"c": "\x10", "bbox": (114.4, 95.0, 120.0, 101.0), "origin": (114.4, 96.0)}]
    index = {("CMEX10", 100.0, 95.0): chars}
    # no glyph names: TeX's codes (0x58 the display sum, 0x10 \Big's left parenthesis)
    assert [s["text"] for s in mathtex.with_font_codes([span], index, {})] == ["∑", "("]
    # the font names its glyphs: a name outside cmex's stays unread (the formula keeps its text)
    named = mathtex.with_font_codes([span], index, {"CMEX10": {0x58: "summationdisplay", 0x10: "someglyph"}})
    assert [s["text"] for s in named] == ["∑", "\ufffd"]
    assert mathtex.region_latex(named, []) == ""
    # a span whose codes were not extracted stays as it is
    assert mathtex.with_font_codes([span], {}, {}) == [span]


def test_fraction_bars_hidden_in_stroked_or_compound_paths_are_found_in_the_drawing(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_text((40, 60), "The derivative of a constant function is zero, as shown below.", fontname="tiro",
                     fontsize=10)
    page.insert_text((122, 103), "d", fontname="cmmi", fontsize=10)
    page.insert_text((120, 119), "dx", fontname="cmmi", fontsize=10)
    page.insert_text((133, 110), "c", fontname="cmmi", fontsize=10)
    page.insert_text((140, 110), "= 0", fontname="tiro", fontsize=10)
    page.insert_text((40, 160), "The same holds for every other function that does not change.", fontname="tiro",
                     fontsize=10)
    # the bar as a TeX driver writes it: a 0.558 pt line drawn in a 0.1-scaled space with width
    # 5.58, whose text-page box MuPDF pads by 5.58 pt (no longer a thin rule), beside a shape of
    # the same compound path
    _raw_content(doc, page, "q 0.1 0 0 0.1 0 0 cm 5.58 w 1200 1930 m 1310 1930 l 3000 1930 m 3000 2100 l S Q")
    md = _md(doc, tmp_path / "bars.pdf")
    assert r"$$\frac{d}{dx}c=0$$" in md


def _line(text: str, bbox: tuple[float, float, float, float], eq: bool, size: float = 10.0) -> SimpleNamespace:
    return SimpleNamespace(text=text, bbox=bbox, size=size, eq=eq, spans=[])


def test_rows_of_a_derivation_keep_their_own_numerators_and_denominators() -> None:
    # row 1: "= (a + b) / (c + d)" with its bar at y 130; row 2: "= e / f" with its bar at 160.
    # Row 1's denominator (an equation line itself: "c → d") lies nearer row 2 than its own row
    row1 = _line("= a + b", (100, 116, 160, 136), True)
    den1 = _line("c → d", (112, 131, 150, 146), True)
    num2 = _line("e", (120, 143, 126, 153), False)
    row2 = _line("= lim", (100, 150, 135, 166), False)
    den2 = _line("f", (120, 161, 126, 171), False)
    lines = [row1, den1, num2, row2, den2]
    regions = mathtex.display_regions([row1, row2], lines, frozenset({"lim"}),
                                      bars=[(110.0, 152.0, 130.0), (118.0, 128.0, 156.0)])
    assert [[ln.text for ln in r] for r in regions] == [["= a + b", "c → d"], ["= lim", "e", "f"]]
    # without the bars, the denominator goes to the row it is nearest (and as an equation line of
    # its own row it stays out of row 1)
    regions = mathtex.display_regions([row1, row2], lines, frozenset({"lim"}))
    assert ["c → d"] not in [[ln.text for ln in r][1:] for r in regions if r[0] is row1]


def test_a_limit_beside_its_operator_and_operator_names_run_into_variables() -> None:
    # \lim_{x\to 1} f(x) in text style: the limit sits right after "lim", lower and smaller
    spans = [_span("lim", 100, 200, font="CMR10", italic=False, width=13), _span("x", 113.5, 202, size=7),
             _span("→", 117.5, 202, size=7, font="CMSY7", italic=False, width=6),
             _span("1", 123.5, 202, size=7, font="CMR7", italic=False, width=4),
             _span("f", 130, 200, width=5), _span("(x)", 135, 200, font="CMR10", italic=False, width=12)]
    assert mathtex.region_latex(spans, []) == r"\lim_{x\to 1}f(x)"
    assert mathtex._few_words("limx→1 x − limx→1 2", frozenset({"lim"}))
    assert not mathtex._few_words("limits of x", frozenset({"lim"}))


def test_a_radical_takes_its_highest_bar_and_a_root_in_a_denominator_stays_below_the_bar() -> None:
    # sqrt(1/d): the vinculum (y 190) and the fraction bar under it (y 201) both start at the
    # radical's right end; the vinculum is the higher one, the fraction is its radicand
    spans = [_span("√", 100, 205, font="CMSY10", italic=False, width=9), _span("1", 111, 198, font="CMR10", italic=False),
             _span("d", 110, 211)]
    spans[0]["bbox"] = (100.0, 189.0, 109.0, 214.0)  # a big radical, as tall as the fraction
    assert mathtex.region_latex(spans, [(109.0, 119.0, 190.0), (109.5, 117.0, 201.0)]) == r"\sqrt{\frac{1}{d}}"
    # QK / sqrt(d): the radical's box (the font's) reaches over the fraction bar at y 200.5; its
    # vinculum at 202.5 lies inside that box, and the root goes under the fraction bar whole
    spans = [_span("QK", 100, 197), _span("√", 102, 208, font="CMSY10", italic=False, width=8),
             _span("d", 110.5, 212)]
    spans[1]["bbox"] = (102.0, 195.5, 110.0, 205.0)
    assert mathtex.region_latex(spans, [(99.0, 118.0, 200.5), (109.8, 117.0, 202.5)]) == r"\frac{QK}{\sqrt{d}}"


def test_a_vinculum_running_past_the_formula_still_counts(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_text((40, 60), "The amplitude follows from the two constants in the usual way.", fontname="tiro",
                     fontsize=10)
    page.insert_text((120, 110), "x", fontname="cmmi", fontsize=10)
    page.insert_text((128, 110), "=", fontname="tiro", fontsize=10)
    page.insert_text((140, 110), "√", fontname="dv", fontsize=10)
    page.insert_text((147, 110), "k", fontname="cmmi", fontsize=10)
    page.draw_line((146.5, 101.5), (157.5, 101.5), width=0.4)  # 4.5 pt past the k's box
    page.insert_text((40, 150), "where k is the stiffness of the spring that holds the mass here.", fontname="tiro",
                     fontsize=10)
    md = _md(doc, tmp_path / "root.pdf")
    assert r"$$x=\sqrt{k}$$" in md


def _array_page(tmp_path: Path, name: str, rows: list[tuple[float, float, str]], delimiters: list[tuple[float, str]],
                lhs: str, number: str) -> str:
    """A display formula ``lhs = <delimiter> rows <delimiter>`` as TeX sets a matrix or cases: the
    tall delimiters are cmex glyphs without Unicode, named by the font's /Differences, hanging from
    their origin 1.5 em over the formula's baseline (y 110); rows are cmmi/Times text."""
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_text((40, 60), "The display below is one formula set over several rows of cells.", fontname="tiro",
                     fontsize=10)
    page.insert_text((110, 110), lhs, fontname="cmmi", fontsize=10)
    page.insert_text((131, 110), "=", fontname="tiro", fontsize=10)
    for x, y, text in rows:
        page.insert_text((x, y), text, fontname="cmmi", fontsize=10)
    page.insert_text((340, 110), number, fontname="tiro", fontsize=10)
    page.insert_text((40, 160), "where every entry is a real number taken from the example above.", fontname="tiro",
                     fontsize=10)
    glyphs = " ".join(f"/{g}" for _, g in delimiters)
    widths = " ".join("750" for _ in delimiters)
    cmex = (f"<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+CMEX10 /FirstChar 1 /LastChar {len(delimiters)} "
            f"/Widths [{widths}] /Encoding << /Type /Encoding /Differences [1 {glyphs}] >> >>")
    shows = " ".join(f"1 0 0 1 {x} 205 Tm (\\{k + 1:03o}) Tj" for k, (x, _) in enumerate(delimiters))
    _raw_content(doc, page, f"BT /FX 10 Tf {shows} ET", {"FX": cmex})
    return _md(doc, tmp_path / name)


def test_a_matrix_between_tall_parentheses_comes_out_as_pmatrix(tmp_path: Path) -> None:
    md = _array_page(tmp_path, "matrix.pdf", [(150, 103, "a"), (170, 103, "b"), (150, 117, "c"), (170, 117, "d")],
                     [(141, "parenleftbigg"), (178, "parenrightbigg")], "A", "(2)")
    assert r"$$A=\begin{pmatrix}a&b\\c&d\end{pmatrix} \tag{2}$$" in md


def test_cases_right_of_a_tall_brace_take_their_conditions_even_as_equation_lines(tmp_path: Path) -> None:
    # each condition ("x>0") is an equation line of its own; the rows join the formula whose brace they are in
    md = _array_page(tmp_path, "cases.pdf", [(152, 103, "1"), (175, 103, "x>0"), (152, 117, "-1"), (175, 117, "x<0")],
                     [(142, "braceleftbigg")], "f(x)", "(3)")
    assert r"$$f(x)=\begin{cases}1&x>0\\-1&x<0\end{cases} \tag{3}$$" in md


def test_rows_that_do_not_fall_into_columns_keep_the_text() -> None:
    # a tall parenthesis pair around rows with 2 and 1 cells: not a matrix that can be read back
    paren = {"text": "(", "bbox": (100.0, 186.0, 106.0, 192.0), "origin": (100.0, 186.0), "size": 10.0, "flags": 0,
             "font": "CMEX10", "coded": True, "delimiter_em": 2.4}
    close = {**paren, "text": ")", "bbox": (140.0, 186.0, 146.0, 192.0), "origin": (140.0, 186.0)}
    spans = [paren, _span("a", 108, 196), _span("b", 128, 196), _span("c", 118, 210), close]
    assert mathtex.region_latex(spans, []) == ""
    # the same rows aligned are a matrix; one row is a bracketed expression, left alone
    spans = [paren, _span("a", 108, 196), _span("b", 128, 196), _span("c", 108, 210), _span("d", 128, 210), close]
    assert mathtex.region_latex(spans, []) == r"\begin{pmatrix}a&b\\c&d\end{pmatrix}"
    assert mathtex.region_latex([paren, _span("a", 108, 203), _span("+b", 114, 203), close], []) == "(a+b)"


def test_limits_inside_a_tall_operator_box_and_an_accent_whose_box_is_its_fonts() -> None:
    # MathTime's extension font gives its sum a box as tall as the sum with its limits: the limits'
    # centres lie inside it; its hat's box is as tall as a delimiter, its top level with the letter's
    spans = [{"text": "X", "bbox": (60.2, 730.3, 73.7, 766.0), "origin": (60.2, 737.7), "size": 9.6, "flags": 0,
              "font": "MTEX"},
             _span("K", 64.8, 735.6, size=5.8), _span("k", 61.1, 757.2, size=5.8),
             _span("=", 64.2, 757.2, size=6.7, font="MTSYN", italic=False, width=5.2),
             _span("1", 69.4, 757.2, size=5.8, font="CMR7", italic=False, width=3.3),
             _span("y", 75.3, 746.8, size=8.3, width=4.5),
             {"text": "ˆ", "bbox": (76.0, 737.9, 79.1, 755.6), "origin": (76.0, 746.5), "size": 9.6, "flags": 0,
              "font": "MTSYN"},
             _span("k", 79.8, 748.2, size=5.8, width=3.0)]
    spans[5]["bbox"] = (75.3, 737.8, 79.8, 749.8)
    assert mathtex.region_latex(spans, []) == r"\sum_{k=1}^{K}\hat{y}_{k}"


def test_two_rows_one_over_the_other_outside_any_structure_keep_the_text() -> None:
    # "min f(x)" over "such that x > 0": two rows of a display that no bar, limit or array joins
    spans = [_span("min", 100, 200, font="CMR10", italic=False, width=15), _span("f(x)", 120, 200, width=16),
             _span("s.t.", 100, 214, font="CMR10", italic=False, width=14), _span("x>0", 120, 214, width=16)]
    assert mathtex.region_latex(spans, []) == ""
    # a sign whose symbol-font box sits off the baseline is no row of its own
    spans = [_span("a", 100, 200), _span("=", 108, 207, font="MTSYN", italic=False), _span("b", 118, 200),
             _span("+", 126, 207, font="MTSYN", italic=False), _span("c", 136, 200)]
    assert mathtex.region_latex(spans, []) == "a=b+c"


def test_quartz_keyboard_symbols_of_an_extension_font_and_text_font_indices() -> None:
    # MathTime's \Big parentheses as a Quartz-made PDF writes them ("⇣" code 0x10, "⌘" code 0x11)
    spans = [_span("σ", 100, 200, font="RMTMI", width=6),
             {"text": "⇣", "bbox": (107.0, 190.0, 112.0, 226.0), "origin": (107.0, 198.0), "size": 9.6, "flags": 0,
              "font": "MTEX"},
             _span("x", 112, 200, width=5),
             {"text": "⌘", "bbox": (118.0, 190.0, 123.0, 226.0), "origin": (118.0, 198.0), "size": 9.6, "flags": 0,
              "font": "MTEX"}]
    assert mathtex.region_latex(spans, []) == r"\sigma(x)"
    # "W" and its index "yf" set in a text font read "Wyf": the index is no prose word
    line = SimpleNamespace(text="⇣Wyf y", spans=[_span("W", 100, 200, font="t1-gul-bold", italic=False),
                                                 _span("yf", 108, 202, size=5.8, font="t1-gul-italic"),
                                                 _span(" y", 113, 200, font="t1-gul-bold", italic=False)],
                           script=True, math_font=False)
    from sciforge.pipelines.pdf.markdown import _formula_words
    assert "yf" not in _formula_words(line)  # type: ignore[arg-type]


def test_an_extension_fonts_tall_box_does_not_pull_the_next_row_in() -> None:
    # MathTime's parenthesis box reaches 3 em down, over the next display row (its own equation)
    row1 = SimpleNamespace(text="o = σ⇣x⌘", bbox=(100.0, 190.0, 160.0, 226.0), size=9.6, eq=True,
                           spans=[_span("o", 100, 200), _span("= σ", 106, 200, font="RMTMI"),
                                  {"text": "⇣", "bbox": (125.0, 190.0, 130.0, 226.0), "origin": (125.0, 198.0),
                                   "size": 9.6, "flags": 0, "font": "MTEX"}, _span("x", 131, 200)])
    row2 = SimpleNamespace(text="h = o", bbox=(100.0, 209.0, 130.0, 221.0), size=9.6, eq=True,
                           spans=[_span("h = o", 100, 218, width=30)])
    regions = mathtex.display_regions([row1, row2], [row1, row2], frozenset())
    assert [[ln.text for ln in r] for r in regions] == [["o = σ⇣x⌘"], ["h = o"]]


def test_amssymb_operators_relations_and_arrows_to_latex_commands() -> None:
    spans = [_span("a", 100, 200), _span("⊙b⩽c∖d↪e", 106, 200, font="STIXGeneral", italic=False, width=40)]
    assert mathtex.region_latex(spans, []) == r"a\odot b\leqslant c\setminus d\hookrightarrow e"
