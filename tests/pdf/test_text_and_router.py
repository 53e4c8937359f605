"""Pure functions: text analysis, cleaning, router rules, task planning (no PDFs, no Spark)."""

from __future__ import annotations

from sciforge.jobs.pdf_parse import plan_tasks
from sciforge.pipelines.pdf import text as T
from sciforge.pipelines.pdf.clean import (
    clean_markdown,
    font_family,
    is_page_number,
    is_side_stamp,
    margin_key,
    repeat_needed,
    running_keys,
    strip_margin_lines,
)
from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.router import route_page
from tests.pdf import pdfgen

PROSE = ("The samples were annealed at 450 K for two hours and then cooled slowly to room temperature. "
         "X-ray diffraction confirmed a single phase, and the lattice constant agreed with the literature "
         "value within 0.1 percent. Magnetization curves were recorded between 2 and 300 K. ") * 3


def test_garble_score_separates_clean_from_broken_text() -> None:
    assert T.garble_score(PROSE) < 0.02
    moji = "TÃ©lÃ©chargÃ© Ã  partir de lâ€™archive rÃ©sumÃ© " * 10
    assert T.garble_score(moji) > 0.1
    unmapped = "The \ufffd\ufffd\ufffd of \ue001\ue002 was \ufffd\ufffd measured " * 10
    assert T.garble_score(unmapped) > 0.1
    noisy_ocr = "tbe rn0del l1l wlth tbc cxpcrimcnt vvas d0ne " * 10
    assert T.garble_score(noisy_ocr) > 0.05
    assert T.garble_score("") == 0.0


def test_symbol_font_latin_maps_to_greek() -> None:
    assert T.symbol_latin_to_greek("abgd") == "αβγδ"
    assert T.symbol_latin_to_greek("pqsW") == "πθσΩ"
    assert T.is_symbol_font("Symbol") and T.is_symbol_font("ABCDEF+SymbolMT")
    assert T.is_math_font("ABCDEF+CMMI10") and T.is_math_font("CambriaMath")
    assert not T.is_math_font("TimesNewRomanPSMT") and not T.is_math_font("DejaVuSerif")


def test_hyphenation_ligatures_and_math_chars() -> None:
    assert T.join_lines(["the measure-", "ment was done"]) == "the measurement was done"
    assert T.join_lines(["a well-", "Known case"]) == "a well- Known case"  # capital: a real hyphen
    assert T.fix_ligatures("e\ufb03cient \ufb01eld") == "efficient field"
    assert T.math_char_count("∑ α ≤ β + x") == 4


def test_page_numbers_and_margin_keys() -> None:
    for s in ["12", "Page 3 of 10", "- 7 -", "iv", "(12)"]:
        assert is_page_number(s), s
    for s in ["12 monkeys", "Introduction", "Table 3"]:
        assert not is_page_number(s), s
    assert margin_key("Journal of X, Vol. 12, p. 345") == margin_key("Journal of X, Vol. 12, p. 346")


def test_running_keys_do_not_depend_on_how_pages_are_split() -> None:
    keys = {p: {"journalofx", f"unique{p}"} for p in range(10)}
    keys[9] = {"other"}
    full = [running_keys(p, keys, 4, 3) for p in range(10)]
    assert full[0] == {"journalofx"} and full[9] == set()
    # A task that only knows pages 4..7 (+-window) sees the same neighbourhoods.
    part = {p: keys[p] for p in range(0, 10)}
    assert [running_keys(p, part, 4, 3) for p in range(4, 8)] == full[4:8]


def test_clean_markdown_removes_artefacts() -> None:
    md = "# T\n\n**==> picture [100 x 50] intentionally omitted <==**\n\n\n\nbody \ufb01ne  \n"
    assert clean_markdown(md) == "# T\n\nbody fine\n"
    assert strip_margin_lines("Journal of X 12\nbody text\nmore\n17", {"journalofx#"}) == "body text\nmore"


_f = pdfgen.page_features


def test_router_rules() -> None:
    cfg = PdfConfig()
    assert route_page(_f(), cfg).label == "text"
    assert route_page(_f(text_chars=0, image_coverage=1.0, image_count=1), cfg).label == "scan"
    assert route_page(_f(text_chars=0, drawing_paths=900), cfg).label == "scan"  # outlined text
    hidden = route_page(_f(image_coverage=0.99, image_count=1, visible_text_ratio=0.0), cfg)
    assert hidden.label == "scan" and "hidden OCR layer" in hidden.reason
    assert route_page(_f(image_coverage=0.99, image_count=1, garble_score=0.08), cfg).label == "scan"
    assert route_page(_f(text_chars=3), cfg).label == "empty"
    assert route_page(_f(garble_score=0.3, bad_chars=600), cfg).label == "garbled"
    m = route_page(_f(math_font_chars=300, math_font_share=0.15), cfg)
    assert m.label == "math" and m.expensive
    assert route_page(_f(math_chars=200, math_char_share=0.1), cfg).label == "math"
    # a prose page with a handful of symbols stays on the cheap path
    assert route_page(_f(math_chars=10, math_char_share=0.005), cfg).label == "text"
    # thresholds are configuration
    assert route_page(_f(math_chars=200, math_char_share=0.1), PdfConfig(math_char_share=0.5)).label == "text"


def test_config_rejects_unknown_keys() -> None:
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError):
        PdfConfig(math_share=0.1)  # type: ignore[call-arg]


def test_plan_tasks_splits_long_documents_and_packs_short_ones() -> None:
    docs = [{"doc_id": "big", "path": "a/big.pdf", "page_count": 500},
            {"doc_id": "s1", "path": "b/s1.pdf", "page_count": 3},
            {"doc_id": "s2", "path": "b/s2.pdf", "page_count": 5}]
    tasks = plan_tasks(docs, 64)
    assert all(sum(s["end"] - s["start"] for s in t) <= 64 for t in tasks)
    big = [s for t in tasks for s in t if s["doc_id"] == "big"]
    assert len({id(t) for t in tasks if any(s["doc_id"] == "big" for s in t)}) == 8  # 500 pages -> 8 tasks
    assert [(s["start"], s["end"]) for s in big][0] == (0, 64) and big[-1]["end"] == 500
    covered = sorted(p for s in big for p in range(s["start"], s["end"]))
    assert covered == list(range(500))
    assert tasks[-1][-1]["doc_id"] == "s2"  # small docs share the last task
    assert plan_tasks(docs, 64) == tasks  # deterministic
    assert len(plan_tasks([{"doc_id": "x", "path": "x", "page_count": 10_000}], 64)) == 157


def test_table_markdown_keeps_merged_cells_empty() -> None:
    from sciforge.pipelines.pdf.markdown import table_markdown

    md = table_markdown([["Sample", "T (K)", None], ["A|1", "300", "ok"], [None, None, None], ["B", "4.2", None]])
    assert md.splitlines() == ["| Sample | T (K) |  |", "|---|---|---|", "| A\\|1 | 300 | ok |", "| B | 4.2 |  |"]
    assert table_markdown([["only one row"]]) == ""


def test_equation_lines_and_prose() -> None:
    from sciforge.pipelines.pdf.features import Line, is_equation_line

    def line(text: str, math_font: bool = True) -> Line:
        return Line(text, (0, 0, 100, 10), 10.0, math_font=math_font)

    assert is_equation_line(line("a2 + 8 = 12"))
    assert is_equation_line(line("Attn(H) = softmax(QK⊤"))  # operator names are not prose
    assert not is_equation_line(line("and vj in the sequence (vi, vj ∈S). The function φ"))
    assert not is_equation_line(line("x = 1", math_font=False))  # no math font, < 2 math code points
    assert is_equation_line(line("x ∈ A ⇒ f(x) ≤ 1", math_font=False))


def test_misencoded_math_glyphs() -> None:
    assert T.MISENCODED_MATH_RE.search("Q% Z fðPÞ CgðTÞ")  # Advent math fonts without ToUnicode
    for ok in ["20°", "x² ± 1", "a × b ÷ c", "µm"]:
        assert not T.MISENCODED_MATH_RE.search(ok), ok
    assert T.is_math_font("ABCDEF+AdvMathSymb") and T.is_math_font("MTMI")
    cfg = PdfConfig()
    page = _f(misencoded_math_lines=3)
    assert route_page(page, cfg).label == "text"  # pymupdf4llm would read the same broken text
    m = route_page(page, PdfConfig(math_misencoded_expensive=True))
    assert m.label == "math" and "without Unicode" in m.reason


def test_running_heads_on_alternate_pages_of_a_short_document() -> None:
    # 4 pages: the same head on pages 1 and 3 only (half of the window) is a running head.
    keys = {0: set(), 1: {"alametal"}, 2: {"titleofthepaper"}, 3: {"alametal"}}
    assert running_keys(1, keys, 4, 3) == {"alametal"} and running_keys(2, keys, 4, 3) == set()
    assert repeat_needed(9, 3) == 3 and repeat_needed(4, 3) == 2 and repeat_needed(1, 3) == 2
    # In a long document a line on 2 of 9 pages stays.
    long = {p: ({"alametal"} if p in (3, 5) else set()) for p in range(20)}
    assert running_keys(3, long, 4, 3) == set()


def test_font_family_and_side_stamps() -> None:
    assert font_family("ABCDEF+CMR10") == font_family("CMR8") == "cmr"
    assert font_family("TimesNewRomanPS-BoldMT") == font_family("TimesNewRomanPSMT") == "timesnewroman"
    assert font_family("CourierNewPSMT") != font_family("TimesNewRomanPSMT")
    assert is_side_stamp((20, 200, 40, 600), "arXiv:0807.3577v2 [astro-ph] 3 Oct 2008", 612)
    assert not is_side_stamp((300, 200, 320, 600), "Intensity (arb. units)", 612)  # inside the page
    assert not is_side_stamp((20, 200, 200, 212), "Footnote text here", 612)  # horizontal
