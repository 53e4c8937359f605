"""Glyph-level rules of the display-formula builder (mathtex) and of the equation-line test
(features): combining accents, TeX font codes, ellipses, operator names with limits, raised
spans after a synthetic space, overbars, indices in a math font; on small generated pages
(PyMuPDF) and on span dicts shaped as PyMuPDF returns them."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from sciforge.pipelines.pdf import mathtex
from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.features import Line, extract_blocks, is_equation_line, prose_text
from sciforge.pipelines.pdf.parse import cheap_pass
from tests.pdf import pdfgen


def _span(text: str, x: float, base: float, size: float = 10.0, font: str = "CMMI10", italic: bool = True,
          width: float | None = None, flags: int | None = None) -> dict:
    w = width if width is not None else 0.55 * size * len(text)
    return {"text": text, "bbox": (x, base - 0.75 * size, x + w, base + 0.25 * size), "origin": (x, base),
            "size": size, "flags": flags if flags is not None else (2 if italic else 0), "font": font}


def _md(doc: pymupdf.Document, tmp_path: Path) -> str:
    path = str(tmp_path / "page.pdf")
    doc.save(path)
    return str(cheap_pass(path, 0, 1, PdfConfig().model_dump_json())["pages"][0]["md"])


def test_a_zero_width_combining_accent_goes_on_the_glyph_after_it(tmp_path: Path) -> None:
    # TeX's \vec from cmmi: a zero-width arrow at the pen position before its letter, in a span of
    # its own ("∇·", "⃗", "E") or closing the span before the letter ("∂⃗", "B")
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="stix", fontfile=pdfgen.STIX)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_text((40, 60), "The divergence and the curl of the field are as follows.", fontname="dv", fontsize=10)
    page.insert_text((150, 110), "∇·", fontname="dv", fontsize=10)
    page.insert_text((160.5, 110), "\u20d7", fontname="stix", fontsize=10)
    page.insert_text((163, 110), "E", fontname="cmmi", fontsize=10)
    page.insert_text((172, 110), "= −", fontname="dv", fontsize=10)
    page.insert_text((190, 110), "∂\u20d7", fontname="stix", fontsize=10)
    page.insert_text((195.5, 110), "B", fontname="cmmi", fontsize=10)
    page.insert_text((40, 150), "where the field is taken at one instant of time in the frame.", fontname="dv",
                     fontsize=10)
    md = _md(doc, tmp_path)
    assert r"$$\nabla\cdot\vec{E}=-\partial\vec{B}$$" in md, md


def test_a_drawn_bar_over_one_letter_is_an_overline_and_math_font_indices_are_not_prose(tmp_path: Path) -> None:
    # s_jrt = x_j + p_jrt + q_jrt + w_jrt (5), letters in cmmi, indices at 8 pt: four runs of 3+
    # letters, which in a text font would be prose words; a rule drawn right over the "s"
    doc = pymupdf.open()
    page = doc.new_page(width=500, height=300)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_text((40, 60), "The shares of the products in each market are given by the model.", fontname="dv",
                     fontsize=10)
    x = 120.0
    for i, (var, idx) in enumerate((("s", "jrt"), ("x", "j"), ("p", "jrt"), ("q", "jrt"), ("w", "jrt"))):
        page.insert_text((x, 110), var, fontname="cmmi", fontsize=12)
        if i == 0:
            page.draw_line((x + 0.3, 103.5), (x + 5.3, 103.5), width=0.4)
        x += 6.5
        page.insert_text((x, 113), idx, fontname="cmmi", fontsize=8)
        x += 4.5 * len(idx) + 3
        if i < 4:
            page.insert_text((x, 110), "=" if i == 0 else "+", fontname="dv", fontsize=12)
            x += 13
    page.insert_text((440, 110), "(5)", fontname="dv", fontsize=12)
    page.insert_text((40, 150), "where the indices run over products, regions and periods.", fontname="dv", fontsize=10)
    blocks, _ = extract_blocks(page)
    line = next(ln for b in blocks for ln in b.lines if ln.text.startswith("sjrt"))
    assert line.math_font and is_equation_line(line)
    assert "jrt" not in prose_text(line) and "=" in prose_text(line)
    md = _md(doc, tmp_path)
    assert r"$$\bar{s}_{jrt}=x_{j}+p_{jrt}+q_{jrt}+w_{jrt} \tag{5}$$" in md, md
    assert "The shares of the products" in md and "where the indices run" in md


def test_prose_in_a_text_font_beside_math_font_variables_stays_prose(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=500, height=200)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_text((40, 60), "where the mean valuation of product", fontname="dv", fontsize=10)
    page.insert_text((225, 60), "pjrt", fontname="cmmi", fontsize=10)
    page.insert_text((248, 60), "= 0 holds in every region and period", fontname="dv", fontsize=10)
    blocks, _ = extract_blocks(page)
    line = blocks[0].lines[0]
    assert line.math_font and not is_equation_line(line)


def test_an_overbar_needs_nothing_above_it_and_a_close_fit() -> None:
    s = _span("s", 100, 200, size=12, width=5.5)
    # a bar right over the letter: \bar
    assert mathtex.region_latex([s], [(100.0, 105.5, 193.0)]) == r"\bar{s}"
    # a bar much wider than the letter is not its overline (and with nothing above, no fraction)
    assert r"\bar" not in mathtex.region_latex([s], [(96.0, 120.0, 193.0)])
    # a bar with a numerator above it stays a fraction bar
    num = _span("a", 100, 186, width=5.5)
    den = _span("s", 100, 206, width=5.5)
    assert mathtex.region_latex([num, den], [(99.0, 106.0, 197.0)]) == r"\frac{a}{s}"


def test_a_raised_span_opened_by_a_synthetic_space_is_a_superscript() -> None:
    # MuPDF puts the space it inserts before "D" into D's span, with the space's (main) baseline
    # as origin and a box reaching from D's top to the space's bottom: D is tau's superscript
    tau = _span("τ", 100, 200, size=12, width=7)
    d = {"text": " D", "bbox": (107, 186.5, 115, 201.6), "origin": (107, 200), "size": 8.0, "flags": 7,
         "font": "CMMI8"}
    t = _span("t", 107, 203, size=8, width=3)
    assert mathtex.region_latex([tau, d, t], []) == r"\tau_{t}^{D}"


def test_tex_codes_ellipsis_and_operator_names_with_limits() -> None:
    # cmmi code 0x60 is the script ell ("`" without ToUnicode); "..." in a limit is \ldots;
    # argmax is an operator name with its limit, as amsmath writes it
    spans = [_span("`", 100, 200, font="RMTMI", width=4), _span("t", 104.5, 202, size=6, width=2),
             _span("=", 110, 200, font="MTSYN", italic=False, width=7),
             _span("argmax", 120, 200, size=8.3, font="Gulliver", italic=False, width=29),
             _span("k", 121, 208, size=6, width=3), _span("=1", 124, 208, size=6, font="Gulliver", italic=False,
                                                          width=7),
             _span(",...,", 131, 208, size=6, font="RMTMI", width=10), _span("K", 141, 208, size=6, width=4),
             _span("p", 152, 200, size=8.3, width=4.5), _span("(", 157, 200, size=9.6, font="RMTMI", width=3.5),
             _span("y", 160.5, 200, size=8.3, width=4.4), _span("|", 166, 200, size=9.6, font="MTSYN", width=2.8),
             _span("x", 169, 200, size=8.3, width=4), _span(")", 173, 200, size=9.6, font="RMTMI", width=3.6)]
    assert mathtex.region_latex(spans, []) == r"\ell_{t}=\operatorname{argmax}_{k=1,\ldots,K}p(y|x)"


def test_a_prime_smaller_than_the_subscript_before_it_is_the_subscripts() -> None:
    # e_{r'}: "e", subscript "r" at 7 pt, a prime at 5 pt right after it, a little higher
    spans = [_span("e", 100, 200, width=5), _span("r", 105, 201.5, size=7, width=3.5),
             _span("′", 108.7, 199.5, size=5, font="CMSY5", italic=False, width=2)]
    assert mathtex.region_latex(spans, []) == r"e_{r'}"
    # a prime at the size of the base letter after a subscript stays the base's (x_i')
    big = [_span("x", 100, 200, width=5), _span("i", 105, 201.5, size=7, width=2.5),
           _span("′", 107.7, 199.5, size=10, font="CMSY10", italic=False, width=2.5)]
    assert mathtex.region_latex(big, []) == r"x_{i}'"


def test_a_limit_under_a_display_operator_joins_its_formula_further_down(tmp_path: Path) -> None:
    # R = A ∑_n cos(x): the limit "n" lies 0.6 font sizes under the formula's row, further than a
    # numerator or denominator would, right under the sum sign
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="stix", fontfile=pdfgen.STIX)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_text((40, 60), "The amplitude at a point on the screen is the sum below.", fontname="dv", fontsize=10)
    page.insert_text((150, 110), "R", fontname="cmmi", fontsize=10)
    page.insert_text((158, 110), "=", fontname="dv", fontsize=10)
    page.insert_text((170, 110), "A", fontname="cmmi", fontsize=10)
    page.insert_text((182, 110), "∑", fontname="stix", fontsize=10)
    page.insert_text((184, 125), "n", fontname="cmmi", fontsize=7)
    page.insert_text((192, 110), "cos(x)", fontname="dv", fontsize=10)
    page.insert_text((40, 160), "where the sum runs over all the sources in the array.", fontname="dv", fontsize=10)
    md = _md(doc, tmp_path)
    assert r"$$R=A\sum_{n}\cos(x)$$" in md, md


def test_a_left_hand_side_alone_on_its_line_is_an_equation_line(tmp_path: Path) -> None:
    # "Θ =" in a text font, MuPDF's line apart from the fraction beside it: a display formula
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_text((40, 60), "The scalar of the expansion is equal to the ratio below.", fontname="dv", fontsize=10)
    page.insert_text((130, 110), "Θ =", fontname="dv", fontsize=10)
    page.draw_line((155, 107), (165, 107), width=0.4)
    page.insert_text((157, 102), "a", fontname="dv", fontsize=10)
    page.insert_text((157, 119), "b", fontname="dv", fontsize=10)
    page.insert_text((340, 110), "(9)", fontname="dv", fontsize=10)
    page.insert_text((40, 150), "where the two rates are taken at the same time.", fontname="dv", fontsize=10)
    blocks, _ = extract_blocks(page)
    assert is_equation_line(next(ln for b in blocks for ln in b.lines if ln.text.strip() == "Θ ="))
    md = _md(doc, tmp_path)
    assert r"$$\Theta=\frac{a}{b} \tag{9}$$" in md, md
    # prose that ends a line before its formula is not one ("we have x =" is more than a side)
    page2 = pymupdf.open().new_page()
    page2.insert_text((40, 60), "which gives =", fontsize=10)
    assert not any(ln.eq for b in extract_blocks(page2)[0] for ln in b.lines)


def _renamed(doc: pymupdf.Document, old: str, new: str) -> pymupdf.Document:
    """The document with the fonts whose name holds ``old`` renamed ``new`` (BaseFont, FontName)."""
    out = pymupdf.open("pdf", doc.tobytes())
    for x in range(1, out.xref_length()):
        for key in ("BaseFont", "FontName"):
            kind, value = out.xref_get_key(x, key)
            if kind == "name" and old in value:
                out.xref_set_key(x, key, "/" + new)
    return out


def test_aries_cmsy_codes_are_read_back_and_make_an_equation_line(tmp_path: Path) -> None:
    # PLOS ONE's "TeX_CM_Maths_Symbols": "ð" "Þ" are parentheses, "¼" is "=", "j" is "|" (OMS);
    # a font name with "Symbols" is not Adobe Symbol (its "j" is not phi)
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="stix", fontfile=pdfgen.STIX)
    page.insert_text((40, 60), "For any frequency bin of the signal the part is activated as:", fontname="dv",
                     fontsize=10)
    for x, text, font in ((150, "A", "dv"), (157, "ð", "stix"), (161, "k", "dv"), (167, "Þ ¼ j", "stix"),
                          (187, "X", "dv"), (195, "j", "stix")):
        page.insert_text((x, 110), text, fontname=font, fontsize=10)
    page.insert_text((40, 150), "where the magnitude is taken at one time frame of the signal.", fontname="dv",
                     fontsize=10)
    doc = _renamed(doc, "STIX", "TeX_CM_Maths_Symbols")
    blocks, _ = extract_blocks(doc[0])
    line = next(ln for b in blocks for ln in b.lines if ln.text.startswith("A"))
    assert line.text.replace(" ", "") == "A(k)=|X|" and line.eq
    assert r"$$A(k)=|X|$$" in _md(doc, tmp_path)


def test_delimiter_pieces_of_an_extension_font_are_not_relation_lines() -> None:
    # cmex codes "<" ">" are pieces of a tall brace, not relation signs alone on their line
    spans = [{"text": ">", "font": "TeX_CM_Maths_Extension", "size": 10.0, "flags": 0,
              "bbox": (100, 90, 108, 99), "origin": (100, 97)}]
    assert not is_equation_line(Line(">", (100, 90, 108, 99), 10.0, spans=spans))
    assert is_equation_line(Line(">", (100, 90, 108, 99), 10.0, spans=[{**spans[0], "font": "CMR10"}]))


def test_scripts_set_interleaved_on_a_display_line_are_joined() -> None:
    # A^( _M ^t) as MuPDF orders them (by x) is A_{M}^{(t)}
    spans = [_span("A", 100, 200), _span("(", 106, 196, size=6, font="CMR6", italic=False, width=2),
             _span("M", 106, 202, size=6, width=4), _span("t", 108, 196, size=6, width=2),
             _span(")", 110, 196, size=6, font="CMR6", italic=False, width=2),
             _span("= 1", 114, 200, font="CMR10", italic=False, width=12)]
    assert mathtex.display_latex(spans) == r"A_{M}^{(t)}=1"


def test_a_sentence_with_a_relation_is_not_an_equation_line(tmp_path: Path) -> None:
    # three prose words and three two-letter function words: a sentence, kept as text
    doc = pymupdf.open()
    page = doc.new_page(width=500, height=200)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    for x, text, font in ((40, "3. F(y) is a nondecreasing function of", "dv"), (228, "y", "cmmi"),
                          (236, ". If", "dv"), (256, "y < z", "cmmi"), (284, ", then F(y) ≤ F(z).", "dv")):
        page.insert_text((x, 60), text, fontname=font, fontsize=10)
    page.insert_text((40, 100), "x = 0 if y < 0", fontname="cmmi", fontsize=10)  # a condition stays an equation
    blocks, _ = extract_blocks(page)
    lines = {ln.text.split()[0]: ln for b in blocks for ln in b.lines}
    assert not lines["3."].eq and lines["x"].eq
    assert "is a nondecreasing function of" in _md(doc, tmp_path)


def test_letterlike_math_letters_are_plain_letters() -> None:
    # U+210E (the planck constant, an italic h) in "k^{th}"
    spans = [_span("k", 100, 200, width=5), _span("tℎ", 105, 196, size=7, width=6)]
    assert mathtex.region_latex(spans, []) == r"k^{th}"


def _pua_symbol_font(doc: pymupdf.Document, codes: dict[str, int]) -> pymupdf.Document:
    """The document with its STIX font renamed SymbolMT and its ToUnicode map giving ``codes``
    (character drawn -> code point reported), as Word writes a Symbol font: U+F000 + code."""
    font = pymupdf.Font(fontfile=pdfgen.STIX)
    pairs = " ".join(f"<{font.has_glyph(ord(c)):04x}> <{u:04x}>" for c, u in codes.items())
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /W def /CMapType 2 def "
            f"1 begincodespacerange <0000> <FFFF> endcodespacerange {len(codes)} beginbfchar {pairs} endbfchar "
            "endcmap CMapName currentdict /CMap defineresource pop end end")
    out = _renamed(doc, "STIX", "SymbolMT")
    for x in range(1, out.xref_length()):
        kind, value = out.xref_get_key(x, "ToUnicode")
        if kind == "xref" and "SymbolMT" in out.xref_get_key(x, "BaseFont")[1]:
            out.update_stream(int(value.split()[0]), cmap.encode())
    return out


def test_word_symbol_font_private_use_codes_are_read_through_the_symbol_encoding(tmp_path: Path) -> None:
    # Word's SymbolMT with a ToUnicode map to U+F000 + code: "=" is U+F03D, alpha U+F061, the sum
    # U+F0E5; read back, the line is an equation line and its formula LaTeX
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="sy", fontfile=pdfgen.STIX)
    page.insert_text((40, 60), "The total weight of the sample follows from the sum below.", fontname="dv", fontsize=10)
    page.insert_text((150, 110), "W", fontname="dv", fontsize=10)
    page.insert_text((162, 110), "= α ∑", fontname="sy", fontsize=10)
    page.insert_text((195, 110), "w", fontname="dv", fontsize=10)
    page.insert_text((40, 150), "where the weights are taken from the calibration table.", fontname="dv", fontsize=10)
    doc = _pua_symbol_font(doc, {" ": 0x20, "=": 0xF03D, "α": 0xF061, "∑": 0xF0E5})
    spans = [s for b in doc[0].get_text("dict")["blocks"] for ln in b["lines"] for s in ln["spans"]]
    assert any("\uf03d" in s["text"] and s["font"] == "SymbolMT" for s in spans)  # the fixture is what Word writes
    blocks, feats = extract_blocks(doc[0])
    line = next(ln for b in blocks for ln in b.lines if ln.text.startswith("W"))
    assert line.text.replace(" ", "") == "W=α∑w" and line.eq and feats.symbol_latin_chars == 3
    assert r"$$W=\alpha\sum w$$" in _md(doc, tmp_path)


def test_a_wrapped_data_line_with_relations_only_inside_parentheses_is_not_an_equation_line() -> None:
    # NMR data wrapped across lines: "J=11.5" sits inside a parenthesis the line closes without
    # opening; a formula's relation sits at its top level ("f(x) = (a + b" cut at a fraction is one)
    spans = [{"text": "H", "font": "TimesNewRomanPS-ItalicMT", "size": 10.0, "flags": 2,
              "bbox": (100, 90, 106, 100), "origin": (100, 98)},
             {"text": "2", "font": "TimesNewRomanPSMT", "size": 7.0, "flags": 0,
              "bbox": (106, 94, 110, 101), "origin": (106, 100)}]
    data = "H2-29), 3.20 (1H, dd, J=11.5, 5.03 Hz, Hα-3), 2.36"
    assert not is_equation_line(Line(data, (100, 90, 300, 101), 10.0, script=True, italic=True, spans=spans))
    for formula in ("f(x) = (a + bα", "+ cα) = 0", "F(y) = P(Y ≤ y) α"):
        assert is_equation_line(Line(formula, (100, 90, 300, 101), 10.0, script=True, italic=True, spans=spans))


def test_a_script_of_primes_is_written_as_primes_on_display_and_prose_lines() -> None:
    # sigma' set as a raised prime glyph: sigma', not sigma^{'} (which TeX reads as a second prime)
    sigma = _span("σ", 100, 200, width=6)
    prime = _span("′", 106, 196, size=6, font="CMSY6", italic=False, width=2)
    assert mathtex.display_latex([sigma, prime, _span(" ≡ 0", 109, 200, font="CMR10", italic=False)]) == \
        r"\sigma'\equiv 0"
    assert mathtex.inline_markdown([_span("where ", 60, 200, font="CMR10", italic=False), sigma, prime,
                                    _span(" holds", 109, 200, font="CMR10", italic=False)]) == r"where $\sigma'$ holds"


def test_math_italic_fonts_of_txfonts_pxfonts_and_mathtime_are_math_fonts(tmp_path: Path) -> None:
    from sciforge.pipelines.pdf import text as T

    assert all(T.is_math_font(n) for n in ("ABCDEF+rtxmi", "rpxmi", "RMTMI", "RMTMIB", "TeX_CM_Maths_Italic",
                                           "esint10", "TeXGyrePagellaMath-Regular", "STIXTwoMath-Regular"))
    assert not any(T.is_math_font(n) for n in ("rtxr", "TeXGyreHeros-Bold", "MinionPro-It", "CMR10"))
    # "a = b + c" set in cmmi renamed rtxmi (txfonts' math italic): an equation line by its font
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=200)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_text((150, 60), "a", fontname="cmmi", fontsize=10)
    page.insert_text((160, 60), "=", fontname="dv", fontsize=10)
    page.insert_text((172, 60), "b", fontname="cmmi", fontsize=10)
    page.insert_text((182, 60), "+", fontname="dv", fontsize=10)
    page.insert_text((194, 60), "c", fontname="cmmi", fontsize=10)
    line = extract_blocks(_renamed(doc, "Cmmi10", "ABCDEF+rtxmi")[0])[0][0].lines[0]
    assert line.math_font and line.eq
    plain = extract_blocks(_renamed(doc, "Cmmi10", "ABCDEF+rtxr")[0])[0][0].lines[0]
    assert not plain.math_font and not plain.eq


def test_spacing_accents_go_on_the_letter_under_them_on_region_and_line_paths() -> None:
    # the macron at the end of the span before its letter (" = (¯" then "x, y"): \bar{x}
    spans = [_span("p", 100, 200, width=5), _span(" = (¯", 105, 200, font="CMR10", italic=False, width=21),
             _span("x, y", 122, 200, width=14), _span(")", 136, 200, font="CMR10", italic=False, width=3)]
    assert mathtex.region_latex(spans, []) == r"p=(\bar{x},y)"
    # a line-by-line display line whose spans MuPDF has out of x order: the accent (x0 165.3) sits
    # over the p (x0 164.5), not over the sign after it
    line = [_span("¯", 165.3, 200, size=7, font="CMR7", italic=False, width=3.9),
            _span("p", 164.5, 200, size=7, width=4.2), _span("∈", 168.7, 200, size=7, font="CMSY7", italic=False,
                                                           width=5.3),
            _span("S", 174.0, 200, size=7, width=4.9)]
    assert mathtex.display_latex(line) == r"\bar{p}\in S"


def test_ohm_sign_top_and_centred_dots() -> None:
    spans = [_span("Ω", 100, 200, font="CMR10", italic=False, width=7), _span("=", 110, 200, font="CMR10",
                                                                               italic=False, width=7),
             _span("K", 120, 200, width=7), _span("⊤", 127, 196, size=7, font="CMSY7", italic=False, width=5),
             _span("w · · · w", 135, 200, width=30)]
    assert mathtex.region_latex(spans, []) == r"\Omega=K^{\top}w\cdots w"


def test_word_invisible_operators_vanish_and_big_cup_takes_limits() -> None:
    # Word's equations carry U+2061 (function application) between "sin" and its argument; a big
    # union with a limit under it is an operator like a sum
    spans = [_span("y", 100, 200, width=5), _span("=", 108, 200, font="CambriaMath", italic=False, width=7),
             _span("sin\u2061", 118, 200, font="CambriaMath", italic=False, width=14), _span("x", 133, 200, width=5)]
    assert mathtex.region_latex(spans, []) == r"y=\sin x"
    cup = [_span("⋃", 100, 205, size=14, font="CambriaMath", italic=False, width=10),
           _span("i", 103, 218, size=7, width=3), _span("A", 112, 200, width=7), _span("i", 119, 202, size=7, width=2)]
    assert mathtex.region_latex(cup, []) == r"\bigcup_{i}A_{i}"


def test_a_numbered_formula_in_an_italic_text_font_is_an_equation_line(tmp_path: Path) -> None:
    # Word/MathType: "y = a + bx" in Times-Italic and Times-Roman, no math font, no Greek, no
    # script; its equation number on its row makes it a display formula, its absence does not
    def page_with(number: bool) -> pymupdf.Document:
        doc = pymupdf.open()
        page = doc.new_page(width=612, height=300)
        page.insert_textbox(pymupdf.Rect(72, 60, 540, 120), "The regression line fitted to the measured points is "
                            "the one given below, with its two coefficients.", fontname="tiro", fontsize=11)
        for x, text, font in ((260, "y", "tiit"), (268, "=", "tiro"), (280, "a", "tiit"), (289, "+", "tiro"),
                              (299, "bx", "tiit")):
            page.insert_text((x, 140), text, fontname=font, fontsize=12)
        if number:
            page.insert_text((520, 140), "(3)", fontname="tiro", fontsize=12)
        page.insert_textbox(pymupdf.Rect(72, 160, 540, 220), "where the coefficients are estimated by least squares.",
                            fontname="tiro", fontsize=11)
        return doc

    assert r"$$y=a+bx \tag{3}$$" in _md(page_with(True), tmp_path)
    blocks, _ = extract_blocks(page_with(False)[0])
    assert not any(ln.eq for b in blocks for ln in b.lines)
