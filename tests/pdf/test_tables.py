"""Ruled tables from the page's own rules and words (pipelines/pdf/tables.py)."""

from __future__ import annotations

from pathlib import Path

from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.parse import cheap_pass
from sciforge.pipelines.pdf.tables import ruled_tables
from tests.pdf import pdfgen


def _grid(xs: list[float], ys: list[float]) -> tuple[list[tuple[float, float, float]], list[tuple[float, float, float]]]:
    hs = [(xs[0], xs[-1], y) for y in ys]
    vs = [(ys[0], ys[-1], x) for x in xs]
    return hs, vs


def _word(x: float, y: float, text: str) -> tuple[float, float, float, float, str]:
    return (x, y, x + 6 * len(text), y + 10, text)


def test_cells_rows_and_wrapped_cells() -> None:
    hs, vs = _grid([0, 100, 200], [0, 20, 40, 70])
    words = [_word(5, 5, "Name"), _word(105, 5, "Value"), _word(5, 25, "alpha"), _word(105, 25, "1"),
             _word(5, 45, "beta"), _word(105, 45, "long"), _word(105, 57, "wrapped")]
    (t,) = ruled_tables(hs, vs, words)
    assert t.rows == [["Name", "Value"], ["alpha", "1"], ["beta", "long wrapped"]]
    assert t.bbox == (0, 0, 200, 70)


def test_body_rows_without_rules_are_split_by_text_line() -> None:
    # Rules only around the header and the whole table (booktabs-like with vertical rules).
    hs, vs = _grid([0, 100, 200], [0, 20, 80])
    words = [_word(5, 5, "k"), _word(105, 5, "v"), _word(5, 25, "a"), _word(105, 25, "1"),
             _word(5, 45, "b"), _word(105, 45, "2")]
    (t,) = ruled_tables(hs, vs, words)
    assert t.rows == [["k", "v"], ["a", "1"], ["b", "2"]]


def test_empty_grids_and_frames_are_not_tables() -> None:
    hs, vs = _grid([0, 50, 100, 150], [0, 50, 100])
    assert ruled_tables(hs, vs, [_word(60, 60, "x")]) == []  # a plot grid with one label inside
    frame_h, frame_v = _grid([0, 300], [0, 200])  # a box around a paragraph: one cell
    assert ruled_tables(frame_h, frame_v, [_word(10, 10, "text"), _word(10, 30, "more")]) == []


def test_table_page_markdown(tmp_path: Path) -> None:
    path = tmp_path / "table.pdf"
    path.write_bytes(pdfgen.table_pdf())
    (page,) = cheap_pass(str(path), 0, 1, PdfConfig().model_dump_json())["pages"]
    md = page["md"]
    rows = pdfgen.TABLE_ROWS
    assert "| " + " | ".join(rows[0]) + " |" in md
    assert "|---|---|---|" in md
    for row in rows[1:]:
        assert "| " + " | ".join(row) + " |" in md
    assert md.count("|---") == 3  # one table: the empty plot grid is not one
    assert md.index("Spectroscopic") < md.index("| Sample")  # reading order: paragraph, then table
    assert page["features"]["tables"] == 1
    none = cheap_pass(str(path), 0, 1, PdfConfig(table_extractor="none").model_dump_json())["pages"][0]
    assert "|" not in none["md"] and "Temperature (K)" in none["md"]


def test_equation_labels_inside_figures_do_not_make_a_math_page(tmp_path: Path) -> None:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=pdfgen.W, height=pdfgen.H)
    page.insert_font(fontname="dv", fontfile=pdfgen.DEJAVU)
    page.insert_font(fontname="cmmi", fontfile=pdfgen.CMMI)
    page.insert_textbox(pymupdf.Rect(50, 50, 545, 200), pdfgen.LOREM, fontname="dv", fontsize=10)
    page.draw_rect(pymupdf.Rect(300, 300, 500, 420), color=(0, 0, 0), fill=(0.9, 0.9, 0.9))  # a diagram
    page.insert_text((320, 360), "p = x", fontname="cmmi", fontsize=10)  # its label
    page.insert_text((80, 560), "q = y", fontname="cmmi", fontsize=10)  # a display equation
    path = tmp_path / "fig.pdf"
    path.write_bytes(pdfgen.to_bytes(doc))
    cfg = PdfConfig(math_min_display_equations=1).model_dump_json()  # any display equation is math
    (p,) = cheap_pass(str(path), 0, 1, cfg)["pages"]
    assert p["features"]["figure_equation_lines"] == 1 and p["features"]["equation_lines"] == 1
    assert p["features"]["display_equations"] == 1
    assert p["route"] == "math"
    # with the default density rule one display equation on a prose page stays cheap
    (p,) = cheap_pass(str(path), 0, 1, PdfConfig().model_dump_json())["pages"]
    assert p["route"] == "text"
