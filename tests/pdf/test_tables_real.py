"""Table shapes of real pages (pipelines/pdf/tables.py): tables ruled only between groups of
rows or columns, without outer vertical rules, with shaded header cells, wrapped cells, rows of
short data lines between group rules, words that run across a rule, and whitespace tables in
one column of a two-column page."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.parse import cheap_pass
from sciforge.pipelines.pdf.tables import aligned_tables, ruled_tables

Word = tuple[float, float, float, float, str]


def _word(x: float, y: float, text: str, cw: float = 5.0) -> Word:
    return (x, y, x + cw * len(text), y + 9, text)


def _cells(x_of: list[float], y: float, texts: list[str]) -> list[Word]:
    return [_word(x, y, t) for x, t in zip(x_of, texts, strict=False) if t]


def test_group_rules_make_two_line_cells_and_open_sides_add_columns() -> None:
    # Rules between groups of two text lines; vertical rules only inside the table (none at its
    # left and right edges) and drawn one text line at a time.
    xs_in = [100.0, 160.0]
    ys = [0.0, 30.0, 60.0, 90.0]
    hs = [(20.0, 240.0, y) for y in ys]
    vs = [(y, y + 15.0, x) for x in xs_in for y in range(0, 90, 15)]
    words: list[Word] = []
    for k, (label, a, b) in enumerate([("Group", "OTSL", "HTML"), ("6", "0.965", "0.969"), ("4", "0.938", "0.952")]):
        y = ys[k] + 4
        if k == 0:
            words += _cells([30, 110, 170], y, ["Layers", "Lang", "TEDs"])
            words += _cells([30], y + 13, ["count"])
            continue
        words += _cells([30, 110, 170], y, [label, "OTSL", a])
        words += _cells([110, 170], y + 13, ["HTML", b])
    (t,) = ruled_tables(hs, vs, words)
    assert t.rows == [["Layers count", "Lang", "TEDs"], ["6", "OTSL HTML", "0.965 0.969"],
                      ["4", "OTSL HTML", "0.938 0.952"]]
    assert t.bbox == (20.0, 0.0, 240.0, 90.0)


def test_short_data_lines_between_group_rules_are_rows_and_wrapped_prose_is_one() -> None:
    ys = [0.0, 20.0, 80.0, 140.0]
    hs = [(0.0, 300.0, y) for y in ys]
    vs = [(0.0, 140.0, x) for x in (0.0, 100.0, 200.0, 300.0)]
    words = _cells([5, 105, 205], 5, ["Case", "h", "PPL"])
    for i, (h, ppl) in enumerate([("1", "5.29"), ("4", "5.00"), ("16", "4.91")]):  # data lines
        words += _cells([105, 205], 25 + 15 * i, [h, ppl])
    words += _cells([5], 40, ["(A)"])
    for i, (a, b) in enumerate([("a wrapped description", "another long wrapped"),
                                ("of one cell here ok", "cell text in column"), ("ends", "three")]):
        words += [_word(105, 85 + 15 * i, a, 4.0), _word(205, 85 + 15 * i, b, 4.0)]
    words += _cells([5], 100, ["(B)"])
    (t,) = ruled_tables(hs, vs, words)
    assert t.rows[1:4] == [["", "1", "5.29"], ["(A)", "4", "5.00"], ["", "16", "4.91"]]
    assert t.rows[4] == ["(B)", "a wrapped description of one cell here ok ends",
                         "another long wrapped cell text in column three"]


def test_shaded_header_cells_split_the_header_from_the_first_row() -> None:
    hs = [(0.0, 200.0, y) for y in (50.0, 70.0, 90.0)]
    vs = [(20.0, 90.0, x) for x in (0.0, 100.0, 200.0)]
    fills = [(0.0, 20.0, 100.0, 34.0), (100.0, 20.0, 200.0, 34.0)]  # header cells, no rule under them
    words = _cells([5, 105], 23, ["Item", "Before"]) + _cells([5, 105], 37, ["Class", "Group 1"])
    words += _cells([5, 105], 54, ["Code", "none"]) + _cells([5, 105], 74, ["Rule", "yes"])
    (t,) = ruled_tables(hs, vs, words, fills=fills)
    assert t.rows == [["Item", "Before"], ["Class", "Group 1"], ["Code", "none"], ["Rule", "yes"]]
    (merged,) = ruled_tables(hs, vs, words)  # without the shading: one band, one row
    assert merged.rows[0] == ["Item Class", "Before Group 1"]


def test_words_across_a_rule_are_cut_and_spanning_text_is_not() -> None:
    hs = [(0.0, 200.0, y) for y in (0.0, 20.0, 40.0, 60.0)]
    vs = [(0.0, 60.0, 0.0), (0.0, 60.0, 200.0), (20.0, 60.0, 100.0)]  # first row spans both columns
    words = [(60.0, 5.0, 140.0, 14.0, "Spectral"), (80.0, 25.0, 120.0, 34.0, "ABCD◦EFG"),
             (80.0, 45.0, 120.0, 54.0, "12345678"), _word(5, 45, "Na")]
    (t,) = ruled_tables(hs, vs, words)
    assert t.owner is not None
    assert "Spectral" in t.rows[0] and t.rows[1] == ["ABCD", "◦EFG"]
    assert t.rows[2] == ["Na", "12345678"]  # digits (Latin letters) are never cut apart


def test_numbers_in_a_frame_ruled_per_row_are_cut_into_columns() -> None:
    # Rules: the frame's left and right edges and one horizontal rule per row (a budget table).
    ys = [0.0, 15.0, 30.0, 45.0, 60.0]
    hs = [(0.0, 400.0, y) for y in ys]
    vs = [(0.0, 60.0, 0.0), (0.0, 60.0, 400.0)]
    data = [("Assam", "14,874,821", "2,554,197", "0"), ("Bihar", "21,016,708", "4,332,141", "5,000"),
            ("Delhi", "28,084,780", "411,700", "0"), ("Goa", "4,055,567", "110,000", "12,560")]
    words: list[Word] = []
    for r, row in enumerate(data):
        y = ys[r] + 3
        words.append(_word(5, y, row[0]))
        for right, text in zip((180.0, 280.0, 380.0), row[1:], strict=True):  # right-aligned
            words.append((right - 5 * len(text), y, right, y + 9, text))
    (t,) = ruled_tables(hs, vs, words)
    assert [r[:4] for r in t.rows] == [list(row) for row in data]


def test_aligned_table_in_one_column_with_formula_cell_spanning_row_and_units() -> None:
    rows = [("Filter", "Number of papers"), ("No title", "20k"), ("No authors", "0.3M"),
            ("< 100 chars", "80.0M"), ("Not English", "15.2M")]
    pieces: list[tuple[float, float, float, float, str]] = []
    formulas: list[bool] = []
    for r, (a, b) in enumerate(rows):
        y = 100 + 13 * r
        pieces += [(330, y, 330 + 5 * len(a), y + 9, a), (450, y, 450 + 5 * len(b), y + 9, b)]
        formulas += [a.startswith("<"), False]
    (t,) = aligned_tables(pieces, formulas)
    assert t.rows == [list(r) for r in rows]
    # display equations with their numbers line up too, but are not a table
    eqs = [(200, 100 + 20 * k, 300, 109 + 20 * k, f"x = {k}a + b") for k in range(4)]
    nums = [(480, 100 + 20 * k, 495, 109 + 20 * k, f"({k})") for k in range(4)]
    assert aligned_tables(eqs + nums, [True] * 8) == []


def test_key_description_table_needs_its_caption() -> None:
    keys = ["class", "dat", "kin", "spec", "res"]
    texts = ["represents", "single dataset and an associated model", "kinetic model specification",
             "spectral model specification", "results of fitting many datasets"]
    pieces = [p for r, (k, v) in enumerate(zip(keys, texts, strict=True))
              for p in ((87, 125 + 14 * r, 87 + 5 * len(k), 134 + 14 * r, k),
                        (156, 125 + 14 * r, 156 + 5 * len(v), 134 + 14 * r, v))]
    assert aligned_tables(pieces) == []
    caption = (81, 205, 500, 214, "Table 1: Classes currently used in the package.")
    (t,) = aligned_tables([*pieces, caption])
    assert t.rows[2] == ["kin", "kinetic model specification"]


def test_page_with_group_ruled_table_and_two_column_aligned_table(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    # A results table in the style of a LaTeX paper: no outer vertical rules, group rules, two
    # text lines (OTSL / HTML) per group, vertical rules drawn line by line.
    top, dy = 100.0, 13.0
    ys = [top, top + 2 * dy] + [top + 2 * dy + 2 * dy * g for g in range(1, 4)]
    for y in ys:
        page.draw_line((140, y), (470, y), width=0.4)
    for x in (190, 240, 300, 360, 420):
        y = top
        while y < ys[-1] - 1:
            page.draw_line((x, y), (x, y + dy), width=0.4)
            y += dy
    head = ["enc", "dec", "Language", "simple", "complex", "time"]
    cols = [150, 200, 250, 310, 370, 430]
    for c, text in enumerate(head):
        page.insert_text((cols[c], top + 10), text, fontname="tiro", fontsize=9)
    data = [("6", "6", ("0.965", "0.969"), ("0.934", "0.927"), ("2.73", "5.39")),
            ("4", "4", ("0.938", "0.952"), ("0.904", "0.909"), ("1.97", "3.77")),
            ("2", "4", ("0.923", "0.945"), ("0.897", "0.901"), ("1.91", "3.81"))]
    for g, (enc, dec, simple, complex_, time_) in enumerate(data):
        y = ys[g + 1] + 10
        page.insert_text((cols[0], y), enc, fontname="tiro", fontsize=9)
        page.insert_text((cols[1], y), dec, fontname="tiro", fontsize=9)
        for k, lang in enumerate(("OTSL", "HTML")):
            yy = y + k * dy
            page.insert_text((cols[2], yy), lang, fontname="tiro", fontsize=9)
            for c, pair in ((3, simple), (4, complex_), (5, time_)):
                page.insert_text((cols[c], yy), pair[k], fontname="tiro", fontsize=9)
    # Two-column text below with a small whitespace table in the right column.
    prose = ("The samples were measured at room temperature and the spectra were recorded "
             "with a resolution of two wavenumbers over the full range of the detector. ") * 4
    page.insert_textbox(pymupdf.Rect(60, 300, 290, 520), prose, fontname="tiro", fontsize=10)
    table = [("Filter", "Papers"), ("No title", "20k"), ("No authors", "0.3M"), ("Not English", "15.2M")]
    for r, (a, b) in enumerate(table):
        page.insert_text((330, 312 + 13 * r), a, fontname="tiro", fontsize=10)
        page.insert_text((460, 312 + 13 * r), b, fontname="tiro", fontsize=10)
    page.insert_text((330, 375), "Table 2: Post-processing filters.", fontname="tiro", fontsize=9)
    path = tmp_path / "real_shapes.pdf"
    doc.save(str(path))
    (p,) = cheap_pass(str(path), 0, 1, PdfConfig().model_dump_json())["pages"]
    md = p["md"]
    assert "| enc | dec | Language | simple | complex | time |" in md
    assert "| 6 | 6 | OTSL HTML | 0.965 0.969 | 0.934 0.927 | 2.73 5.39 |" in md
    assert "| 2 | 4 | OTSL HTML | 0.923 0.945 | 0.897 0.901 | 1.91 3.81 |" in md
    assert "| Filter | Papers |\n|---|---|\n| No title | 20k |" in md and "| Not English | 15.2M |" in md
    assert md.count("0.965") == 1 and md.count("No authors") == 1  # table text is not repeated
    assert "*Table 2: Post-processing filters.*" in md  # the caption stays text
    assert p["features"]["tables"] == 2


def test_table_on_a_page_turned_by_rotate(tmp_path: Path) -> None:
    # A landscape table page stored portrait with /Rotate 90: the text layer runs vertically.
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.set_rotation(90)
    rows = [("Brand", "(1)", "(2)", "(3)"), ("Bud Light", "-4.389", "0.160", "0.019"),
            ("Budweiser", "0.323", "-4.272", "0.019"), ("Coors", "0.316", "0.154", "-4.371")]
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            # displayed position (x, y) on the 792 x 612 landscape page, written in page space
            pt = pymupdf.Point(150 + 110 * c, 200 + 16 * r) * page.derotation_matrix
            page.insert_text(pt, text, fontname="tiro", fontsize=10, rotate=90)
    path = tmp_path / "rotated.pdf"
    doc.save(str(path))
    md = cheap_pass(str(path), 0, 1, PdfConfig().model_dump_json())["pages"][0]["md"]
    assert "| Brand | (1) | (2) | (3) |" in md and "| Budweiser | 0.323 | -4.272 | 0.019 |" in md


def test_zebra_table_without_rules_has_wrapped_cells_in_shaded_rows(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((190, 110), "Phase", fontname="tiro", fontsize=9)  # header, not shaded
    page.insert_text((240, 110), "Purpose", fontname="tiro", fontsize=9)
    page.insert_text((400, 110), "Formats", fontname="tiro", fontsize=9)
    rows = [("1", ["Data preparation"], ["FASTA"]), ("2", ["Homology searching"], ["BLAST tabular,", "HMMER standard"]),
            ("3", ["Alignment assessment and", "phylogeny reconstruction"], ["FASTA, NEXUS"])]
    y = 114.0
    for k, (num, purpose, formats) in enumerate(rows):
        h = 12.0 * max(len(purpose), len(formats)) + 4
        page.draw_rect(pymupdf.Rect(184, y, 578, y + h), color=None, fill=(0.77, 0.91, 0.98) if k % 2 == 0 else (0.88, 0.95, 0.98))
        page.insert_text((190, y + 11), num, fontname="tiro", fontsize=9)
        for i, line in enumerate(purpose):
            page.insert_text((240, y + 11 + 12 * i), line, fontname="tiro", fontsize=9)
        for i, line in enumerate(formats):
            page.insert_text((400, y + 11 + 12 * i), line, fontname="tiro", fontsize=9)
        y += h
    path = tmp_path / "zebra.pdf"
    doc.save(str(path))
    md = cheap_pass(str(path), 0, 1, PdfConfig().model_dump_json())["pages"][0]["md"]
    assert "| Phase | Purpose | Formats |" in md
    assert "| 2 | Homology searching | BLAST tabular, HMMER standard |" in md
    assert "| 3 | Alignment assessment and phylogeny reconstruction | FASTA, NEXUS |" in md


def test_aligned_table_with_wrapped_cells() -> None:
    rows = [("Model", "Notes", "BLEU"), ("ByteNet", "dilated convolutions", "23.75"),
            ("GNMT", "recurrent encoder with", "24.6"), (None, "attention", None),
            ("ConvS2S", "gated convolutions", "25.16")]
    ys = [100.0, 113.0, 126.0, 137.0, 150.0]  # the wrapped line sits closer than a row
    pieces = [(x, y, x + 5 * len(text), y + 9, text) for y, row in zip(ys, rows, strict=True)
              for x, text in zip((100.0, 200.0, 360.0), row, strict=True) if text]
    (t,) = aligned_tables(pieces)
    assert t.rows == [["Model", "Notes", "BLEU"], ["ByteNet", "dilated convolutions", "23.75"],
                      ["GNMT", "recurrent encoder with attention", "24.6"], ["ConvS2S", "gated convolutions", "25.16"]]
