"""Display formulas rebuilt in two dimensions (mathtex.region_latex / display_regions): fractions
from drawn bars, roots, limits of big operators, accents, TeX extension-font codes, primes,
equation numbers; end to end on small generated pages."""

from __future__ import annotations

from pathlib import Path

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
