"""Generate the test PDFs (good and bad) with PyMuPDF and fonts that ship with matplotlib."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import pymupdf

from sciforge.fixtures.demo_data import raw_pdf
from sciforge.pipelines.pdf.features import PageFeatures

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
DEJAVU = str(FONTS / "DejaVuSerif.ttf")
DEJAVU_BOLD = str(FONTS / "DejaVuSerif-Bold.ttf")
CMMI = str(FONTS / "cmmi10.ttf")
STIX = str(FONTS / "STIXGeneral.ttf")
W, H = 595, 842

LOREM = (
    "Spectroscopic measurements of the sample were repeated at three temperatures and the "
    "results agree with the model within the stated uncertainty. The experimental procedure "
    "follows the protocol described in the previous section, with calibration performed "
    "before each run and the detector response corrected for dead time."
)


def _fonts(page: pymupdf.Page) -> None:
    page.insert_font(fontname="dv", fontfile=DEJAVU)
    page.insert_font(fontname="dvb", fontfile=DEJAVU_BOLD)


def _para(page: pymupdf.Page, rect: pymupdf.Rect, text: str, size: float = 10, font: str = "dv") -> None:
    rc = page.insert_textbox(rect, text, fontname=font, fontsize=size, align=0)
    assert rc >= 0, f"text did not fit: {rc}"


def text_pages(doc: pymupdf.Document, n: int = 6, *, title: str = "A Study of Things") -> None:
    """Two-column pages with a title, section headings, a bullet list, a running header and a
    page-number footer on every page."""
    for i in range(n):
        page = doc.new_page(width=W, height=H)
        _fonts(page)
        page.insert_text((50, 40), "Journal of Reproducible Results, Vol. 12", fontname="dv", fontsize=8)
        page.insert_text((W / 2 - 5, H - 30), str(i + 1), fontname="dv", fontsize=8)
        y = 100
        if i == 0:
            page.insert_text((50, 110), title, fontname="dvb", fontsize=20)
            y = 130
        page.insert_text((50, y + 10), f"{i + 1} Section number {i + 1}", fontname="dvb", fontsize=13)
        left = pymupdf.Rect(50, y + 25, W / 2 - 10, y + 300)
        right = pymupdf.Rect(W / 2 + 10, y + 25, W - 50, y + 300)
        _para(page, left, f"LEFTCOL{i} " + LOREM + " " + LOREM)
        _para(page, right, f"RIGHTCOL{i} " + LOREM + " " + LOREM)
        items = "\n".join(f"\u2022 bullet item {k} of page {i + 1}" for k in range(3))
        _para(page, pymupdf.Rect(50, y + 320, W - 50, y + 380), items)
        _para(page, pymupdf.Rect(50, y + 390, W - 50, y + 430), "The measure-\nment was done.")


def math_page(doc: pymupdf.Document) -> None:
    """A page dense in display math: CMMI10 italic letters and STIX operators, as TeX sets it."""
    page = doc.new_page(width=W, height=H)
    _fonts(page)
    page.insert_font(fontname="cmmi", fontfile=CMMI)
    page.insert_font(fontname="stix", fontfile=STIX)
    page.insert_text((50, 60), "Derivation of the main result", fontname="dvb", fontsize=13)
    y = 90
    for k in range(14):
        page.insert_text((50, y), "We have", fontname="dv", fontsize=10)
        x = 110
        for tok, font in [("f", "cmmi"), ("(", "dv"), ("x", "cmmi"), (")", "dv"), (" = ", "stix"),
                          ("\u2211", "stix"), ("a", "cmmi"), ("n", "cmmi"), ("\u222b", "stix"),
                          ("g", "cmmi"), ("\u2264", "stix"), ("\u03b1\u03b2", "stix"), ("y", "cmmi"),
                          ("\u2202", "stix"), ("z", "cmmi"), ("\u221e", "stix")]:
            page.insert_text((x, y), tok, fontname=font, fontsize=12)
            x += 14 * len(tok)
        page.insert_text((x + 10, y), f"({k + 1})", fontname="dv", fontsize=10)
        y += 40


def symbol_font_page(doc: pymupdf.Document) -> None:
    """Greek set in the base-14 Symbol font (no embedded Unicode map): extracted as Latin."""
    page = doc.new_page(width=W, height=H)
    _fonts(page)
    _para(page, pymupdf.Rect(50, 50, W - 50, 200), LOREM + " The coefficients are")
    page.insert_text((50, 220), "abgd", fontname="Symbol", fontsize=12)


def scan_page(doc: pymupdf.Document, *, hidden_layer: str | None = None) -> None:
    """A page that is only an image of text (rendered from a text page), optionally with an
    invisible text layer on top (render mode 3), as OCR tools write."""
    src = pymupdf.open()
    p = src.new_page(width=W, height=H)
    _fonts(p)
    p.insert_text((60, 80), "Scanned Report", fontname="dvb", fontsize=22)
    _para(p, pymupdf.Rect(60, 110, W - 60, 500), (LOREM + " ") * 3, size=13)
    pix = p.get_pixmap(dpi=150, colorspace="gray")
    page = doc.new_page(width=W, height=H)
    page.insert_image(page.rect, stream=pix.tobytes("png"))
    if hidden_layer is not None:
        _fonts(page)
        page.insert_textbox(pymupdf.Rect(60, 110, W - 60, 700), hidden_layer, fontname="dv",
                            fontsize=11, render_mode=3)


def garbled_page(doc: pymupdf.Document) -> None:
    page = doc.new_page(width=W, height=H)
    _fonts(page)
    moji = "TÃ©lÃ©chargÃ© Ã  partir de lâ€™archive â€” rÃ©sumÃ© Ã©tÃ© Ã¼ber "
    _para(page, pymupdf.Rect(50, 50, W - 50, 600), moji * 12)


def empty_page(doc: pymupdf.Document) -> None:
    doc.new_page(width=W, height=H)


def to_bytes(doc: pymupdf.Document, **save: object) -> bytes:
    buf = io.BytesIO()
    doc.save(buf, garbage=3, deflate=True, **save)
    return buf.getvalue()


def mixed_pdf() -> bytes:
    """6 text pages, 1 math, 1 Symbol-font, 1 scan, 1 scan with a noisy hidden OCR layer,
    1 garbled, 1 empty: 12 pages."""
    doc = pymupdf.open()
    text_pages(doc, 6)
    math_page(doc)
    symbol_font_page(doc)
    scan_page(doc)
    scan_page(doc, hidden_layer=("tbe rn0del l1l| wlth tbc cxpcrimcnt vvas d0ne " * 20))
    garbled_page(doc)
    empty_page(doc)
    return to_bytes(doc)


EXPECTED_ROUTES = ["text"] * 6 + ["math", "text", "scan", "scan", "garbled", "empty"]


# ---- bad files ----------------------------------------------------------------------------

def small_text_pdf(pages: int = 2) -> bytes:
    doc = pymupdf.open()
    text_pages(doc, pages)
    return to_bytes(doc)


def encrypted_pdf() -> bytes:
    doc = pymupdf.open()
    text_pages(doc, 1)
    return to_bytes(doc, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")


def javascript_pdf() -> bytes:
    doc = pymupdf.open()
    text_pages(doc, 1)
    js = doc.get_new_xref()
    doc.update_object(js, "<< /S /JavaScript /JS (app.alert\\('hello'\\); this.print\\(\\);) >>")
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"{js} 0 R")
    return to_bytes(doc)


def truncated_pdf() -> bytes:
    data = small_text_pdf(3)
    return data[: len(data) // 2]


def broken_xref_pdf() -> bytes:
    """Valid objects, but the cross-reference table points at wrong offsets."""
    doc = pymupdf.open()
    text_pages(doc, 2)
    buf = io.BytesIO()
    doc.save(buf)  # uncompressed xref table
    data = bytearray(buf.getvalue())
    start = data.rfind(b"xref")
    body = bytes(data[start:]).replace(b" 00000 n", b" 00000 f")
    return bytes(data[:start]) + body.replace(b"startxref\n", b"startxref\n9").replace(b"0000000", b"0000123")


def many_pages_pdf(n: int = 10_000) -> bytes:
    """An n-page PDF written directly (PyMuPDF takes ~1 min to build 10,000 pages): every page
    shares one small content stream and one base-14 font."""
    content = b"BT /F1 9 Tf 20 100 Td (one page of a very long generated document) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (5 + i) for i in range(n)) + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << /Font << /F1 3 0 R >> >> " \
           b"/Contents 4 0 R >>"
    objs += [page] * n
    return raw_pdf(objs, header=b"%PDF-1.7\n")


TABLE_ROWS = [["Sample", "Temperature (K)", "Yield (%)"], ["A1", "300", "41.5"], ["B2", "350", "57.0"],
              ["C3", "400", "63.2"]]


def table_pdf() -> bytes:
    """One page: a paragraph, a fully ruled 4x3 table, and an empty ruled plot grid (not a table)."""
    doc = pymupdf.open()
    page = doc.new_page(width=W, height=H)
    _fonts(page)
    _para(page, pymupdf.Rect(50, 50, W - 50, 120), LOREM)
    x_cols, y0, row_h = [60, 200, 360, 520], 150, 24
    for r, row in enumerate(TABLE_ROWS):
        for c, cell in enumerate(row):
            page.insert_text((x_cols[c] + 6, y0 + r * row_h + 16), cell, fontname="dv", fontsize=10)
    for r in range(len(TABLE_ROWS) + 1):
        page.draw_line((x_cols[0], y0 + r * row_h), (x_cols[-1], y0 + r * row_h), width=0.5)
    for x in x_cols:
        page.draw_line((x, y0), (x, y0 + len(TABLE_ROWS) * row_h), width=0.5)
    for k in range(6):  # a plot's grid lines: crossings without text in the cells
        page.draw_line((100, 400 + 40 * k), (500, 400 + 40 * k), width=0.3)
        page.draw_line((100 + 80 * k, 400), (100 + 80 * k, 600), width=0.3)
    return to_bytes(doc)


def page_features(**kw: object) -> PageFeatures:
    """PageFeatures of an A4 page with a 2,000-character text layer, overridden by ``kw`` (router tests)."""
    base = {"width": 595.0, "height": 842.0, "text_chars": 2000}
    base.update(kw)
    return PageFeatures(**base)  # type: ignore[arg-type]
