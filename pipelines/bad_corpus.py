"""A bad-input corpus for the whole corpus_refresh DAG, and the accounting of every item in it.

``write_bad_corpus(DIR)`` writes, deterministically (byte-identical across runs), the hostile inputs
the stages' issues list (#3 web, #4 pdf, #5 dedup, #6 tokenizer) together, mixed with a few good
items, in the landing layout the DAG ingests (``DIR/warc``, ``DIR/pdf``, ``DIR/jsonl``), and
``DIR/bad_cases.json`` describing every item: where it is, whether it must be quarantined, and which
reasons are acceptable.

``account(storage, refs, cases)`` follows each item through the published datasets of one run
(raw -> clean page datasets -> clean/pages -> corpus snapshot, and the quarantine dataset next to
each) and says what became of it: ``kept`` (it reached the snapshot, possibly minus some pages that
are in quarantine with a reason), ``quarantined`` (with the reasons) or ``lost`` (neither: a bug).
It also lists every PAGE that entered a page stage and came out nowhere.

What is planted (see ``CASES`` for the exact list):

* WARC: non-200 responses (404, 500, 301 without body), a binary payload labelled text/html, an empty
  body, markup without text, malformed HTML, invalid UTF-8 declared as UTF-8, Latin-1 declared as
  UTF-8, no charset at all, an unknown charset, a huge page (2 MiB, over the extractor's 1 MiB cap),
  an oversized record (over ingest's 16 MiB cap), a non-HTTP response record, a record without a
  target URI, a file truncated mid-record, a file of random bytes, and a non-English page.
* PDF: zero bytes, truncated, encrypted (user password), JavaScript, broken cross-reference table,
  a blank page, zero pages, HTML bytes named .pdf, random bytes after a PDF header, 10,000 pages,
  mojibake text, a corrupt content stream.
* JSONL: invalid JSON, invalid UTF-8, a JSON array, no text field, empty and whitespace-only text,
  a non-string text, a one-word document, a huge document, NUL and control characters, an invalid
  SMILES in tags, a 100k-character single-line SMILES, unbalanced and nested tags, a repeated id,
  a gzip file cut in the middle.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.demo_data import _paragraphs as demo_paragraphs
from pipelines.demo_data import raw_pdf

SEED = 20250815  # the project seed (pipelines/config.py)
FIXED_DATE = "2026-01-01T00:00:00Z"  # WARC-Date of every record: byte-stable files
CASES_FILE = "bad_cases.json"
# Sizes chosen to cross the stages' caps (cited where the caps are defined):
HUGE_HTML_BYTES = 2 << 20  # > web.extract.max_html_bytes = 1 MiB (Common Crawl's truncation size)
OVERSIZED_RECORD_BYTES = (16 << 20) + 4096  # > ingest.max_record_bytes = 16 MiB
MANY_PAGES = 10_000  # issue #4: "a 10,000-page PDF" (> pdf.max_pages_per_doc = 5000)
HUGE_DOC_CHARS = 400_000  # issue #5: "huge documents" (small scale: 0.4 MB of text)
LONG_SMILES_CHARS = 100_000  # issue #6: "a 100k-character single-line SMILES"


@dataclass
class Case:
    """One planted input item."""

    id: str
    kind: str  # warc | pdf | jsonl (the landing folder)
    file: str  # path relative to the kind's folder (as the raw datasets record it)
    what: str
    expect: str = "quarantine"  # quarantine | kept | either | absent (the input holds no item at all)
    reasons: list[str] = field(default_factory=list)  # acceptable reasons ([] = any named reason)
    url: str | None = None  # WARC: the record's target URI (None: the case is the whole file)
    line: int | None = None  # JSONL: 1-based line number (None: the whole file)


# ------------------------------------------------------------------------------------------- helpers

def _prose(rng: random.Random, field_name: str, n: int) -> list[str]:
    """``n`` paragraphs of 4 distinct sentences (the demo corpus's generator: varied enough to pass
    the web quality filters and not to look like near-duplicates of each other)."""
    return demo_paragraphs(rng, field_name, n, 4)


def _html(title: str, paragraphs: Iterable[str], charset: str | None = "utf-8", lang: str = "en") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="{lang}"><head>{meta}<title>{title}</title></head><body>'
            f"<main><article><h1>{title}</h1>\n{body}\n</article></main></body></html>")


@dataclass
class _Rec:
    url: str
    body: bytes
    status: str = "200 OK"
    content_type: str | None = "text/html; charset=utf-8"
    http: bool = True  # False: a response record whose payload is not an HTTP message (dns:, ftp:)


def _warc_bytes(records: list[_Rec], file_no: int) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    w = WARCWriter(out, gzip=True)
    for n, r in enumerate(records, start=1):
        rid = f"<urn:uuid:bad00000-0000-4000-8000-{file_no:04d}{n:08d}>"
        warc_headers = {"WARC-Record-ID": rid, "WARC-Date": FIXED_DATE}
        if r.http:
            headers = [("Content-Length", str(len(r.body)))]
            if r.content_type is not None:
                headers.insert(0, ("Content-Type", r.content_type))
            http = StatusAndHeaders(r.status, headers, protocol="HTTP/1.1")
            rec = w.create_warc_record(r.url, "response", payload=io.BytesIO(r.body), http_headers=http,
                                       warc_headers_dict=warc_headers)
        else:
            rec = w.create_warc_record(r.url, "response", payload=io.BytesIO(r.body),
                                       warc_content_type="text/plain", warc_headers_dict=warc_headers)
        if not r.url:
            rec.rec_headers.remove_header("WARC-Target-URI")
        w.write_record(rec)
    return out.getvalue()


# --------------------------------------------------------------------------------------------- WARC

GOOD_WEB_DOMAIN = "quantum-lab-notes.org"


def _web(out: Path, rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    recs: list[_Rec] = []
    main = "bad-web-01.warc.gz"

    def add(case_id: str, rec: _Rec, what: str, expect: str = "quarantine", reasons: Iterable[str] = ()) -> None:
        recs.append(rec)
        cases.append(Case(f"web/{case_id}", "warc", main, what, expect, list(reasons), url=rec.url))

    # Good science pages from one domain (enough pages for a domain decision): they must survive.
    for i in range(4):
        html = _html(f"Lecture {i}: quantum mechanics", _prose(rng, "physics", 3))
        add(f"good_{i}", _Rec(f"https://{GOOD_WEB_DOMAIN}/lecture-{i}", html.encode()),
            "a good physics page", "kept")
    site = "https://broken-site.example.com"
    add("http_404", _Rec(f"{site}/missing", b"<html><body>Not found</body></html>", "404 Not Found"),
        "404 response", reasons=["http_status"])
    add("http_500", _Rec(f"{site}/error", b"<html><body>Internal error</body></html>", "500 Server Error"),
        "500 response", reasons=["http_status"])
    add("http_301", _Rec(f"{site}/moved", b"", "301 Moved Permanently"), "redirect without a body",
        reasons=["http_status"])
    png = b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(4000))
    add("binary_as_html", _Rec(f"{site}/image", png), "PNG bytes served as text/html",
        reasons=["binary_payload"])
    add("empty_body", _Rec(f"{site}/empty", b""), "200 with an empty body", reasons=["empty_payload"])
    add("markup_only", _Rec(f"{site}/markup", b"<html><head><title></title></head><body><div><span></span>"
                                              b"</div><script>var x = 1;</script></body></html>"),
        "markup without any text")
    add("malformed_html", _Rec(f"{site}/malformed", ("<html><body><div><p>Unclosed <b>tags <i>everywhere"
                                                     "<table><tr><td>cell<p>" * 40 + "</html>").encode()),
        "unclosed, mis-nested tags")
    bad_utf8 = _html("Broken encoding", _prose(rng, "chemistry", 4)).encode()
    bad_utf8 = bad_utf8.replace(b"<p>", b"<p>\xff\xfe\xc3\x28 ", 3)
    add("invalid_utf8", _Rec(f"{site}/bad-utf8", bad_utf8), "invalid UTF-8 bytes declared as UTF-8", "either")
    latin = _html("Caf\u00e9 r\u00e9sum\u00e9 na\u00efve", _prose(rng, "mathematics", 4)).encode("latin-1")
    add("latin1_as_utf8", _Rec(f"{site}/latin1", latin), "Latin-1 bytes declared as UTF-8 (wrong charset)",
        "either")
    nocharset = _html("No charset \u00e9t\u00e9", _prose(rng, "life_science", 4), charset=None).encode("cp1252")
    add("no_charset", _Rec(f"{site}/no-charset", nocharset, content_type="text/html"),
        "cp1252 page, no charset anywhere", "either")
    add("unknown_charset", _Rec(f"{site}/x-charset", _html("Unknown", _prose(rng, "physics", 3),
                                                           charset="x-no-such-charset").encode(),
                                content_type="text/html; charset=x-no-such-charset"),
        "an unknown charset name", "either")
    add("no_content_type", _Rec(f"{site}/no-ctype", b"%!PS-Adobe-3.0\n" + b"0 0 moveto\n" * 50,
                                content_type=None), "PostScript without a Content-Type")
    huge = _html("Huge page", (" ".join(_prose(rng, "physics", 1)) for _ in range(8000))).encode()
    huge = huge[:-len("</body></html>")] + b"<p>" + b"x" * max(0, HUGE_HTML_BYTES - len(huge)) + b"</p></body></html>"
    add("huge_page", _Rec(f"{site}/huge", huge), f"a {len(huge) >> 20} MiB page", reasons=["html_too_large"])
    oversized = b"<html><body>" + b"<p>filler</p>" * (OVERSIZED_RECORD_BYTES // 13) + b"</body></html>"
    add("oversized_record", _Rec(f"{site}/oversized", oversized), "a record over ingest's 16 MiB cap",
        reasons=["record_too_large"])
    add("not_http", _Rec("dns:broken-site.example.com", b"20260101000000\nbroken-site.example.com. 300 IN A "
                                                          b"192.0.2.1\n", http=False),
        "a DNS response record (payload is not HTTP)", reasons=["not_http_response"])
    german = _html("Quantenmechanik", ["Die Schr\u00f6dingergleichung beschreibt die zeitliche Entwicklung "
                                       "der Wellenfunktion eines Quantensystems und ist grundlegend."] * 6,
                   lang="de")
    add("german", _Rec(f"{site}/de", german.encode()), "a page in German (not a kept language)")
    # warcio refuses to WRITE an http(s) response whose payload has no status line: write it by hand.
    junk_url = f"{site}/no-status-line"
    payload = b"garbage instead of an HTTP status line\r\n\r\n<p>body</p>"
    junk = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:bad00000-0000-4000-8000-000199999999>"
            b"\r\nWARC-Date: " + FIXED_DATE.encode() + b"\r\nWARC-Target-URI: " + junk_url.encode()
            + b"\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: %d\r\n\r\n" % len(payload)
            + payload + b"\r\n\r\n")
    cases.append(Case("web/no_status_line", "warc", main, "an HTTP response without a status line", url=junk_url))
    (out / main).write_bytes(_warc_bytes(recs, 1) + gzip.compress(junk, mtime=0))

    # A file cut in the middle of its second record: the first record survives.
    cut_recs = [_Rec(f"https://truncated.example.org/page-{i}",
                     _html(f"Truncated {i}", _prose(rng, "earth_science", 5)).encode()) for i in range(2)]
    data = _warc_bytes(cut_recs, 2)
    first_len = len(_warc_bytes(cut_recs[:1], 2))
    (out / "bad-web-02-truncated.warc.gz").write_bytes(data[: first_len + (len(data) - first_len) // 2])
    cases.append(Case("web/truncated_file_first", "warc", "bad-web-02-truncated.warc.gz",
                      "the record before the cut", "either", url=cut_recs[0].url))
    cases.append(Case("web/truncated_file_cut", "warc", "bad-web-02-truncated.warc.gz",
                      "the record cut in the middle", "quarantine", ["truncated_record", "corrupt_warc"],
                      url=cut_recs[1].url))
    # A response record without WARC-Target-URI. warcio raises on it while PARSING; ingest quarantines
    # it as `missing_target_uri` and resumes at the next record, so the record after it is read.
    no_uri = "bad-web-04-no-target-uri.warc.gz"
    after = _Rec("https://after-the-break.example.org/page", _html("After", _prose(rng, "physics", 3)).encode())
    (out / no_uri).write_bytes(_warc_bytes([_Rec("", b"<html><body>nowhere</body></html>"), after], 4))
    cases.append(Case("web/no_target_uri", "warc", no_uri, "a record without WARC-Target-URI", "quarantine",
                      ["missing_target_uri", "corrupt_warc"], url=""))
    cases.append(Case("web/after_no_target_uri", "warc", no_uri, "the record after it in the same file",
                      "either", url=after.url))
    noise = random.Random(SEED + 1)
    (out / "bad-web-03-noise.warc.gz").write_bytes(bytes(noise.getrandbits(8) for _ in range(8192)))
    cases.append(Case("web/random_bytes_file", "warc", "bad-web-03-noise.warc.gz", "8 KiB of random bytes",
                      "quarantine", ["corrupt_warc"]))
    return cases


# ---------------------------------------------------------------------------------------------- PDF

def _pdf_text(pages: list[list[str]], *, title: str = "paper") -> bytes:
    import pymupdf

    doc = pymupdf.open()
    for paras in pages:
        page = doc.new_page(width=595, height=842)
        rc = page.insert_textbox(pymupdf.Rect(60, 60, 535, 800), "\n\n".join(paras), fontsize=10)
        if rc < 0:
            raise ValueError("text did not fit on the page")
    doc.set_metadata({"producer": "sciforge bad-corpus", "creationDate": "D:20260101000000Z",
                      "modDate": "D:20260101000000Z", "title": title})
    buf = io.BytesIO()
    doc.save(buf, garbage=3, deflate=True, no_new_id=True)
    return buf.getvalue()


def _encrypted_pdf() -> bytes:
    # Standard security handler, RC4 revision 2, non-empty user password: a reader must ask for it.
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 12 >>\nstream\n\x13\x37\xc0\xde\x42\x42\x99\x01\x7f\x10\x20\x30\nendstream",
        b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -60 /O <" + b"4f" * 32 + b"> /U <" + b"5a" * 32 + b"> >>",
    ], b"/Encrypt 5 0 R /ID [<" + b"cd" * 16 + b"><" + b"cd" * 16 + b">] ")


def _many_pages_pdf(n: int) -> bytes:
    content = b"BT /F1 9 Tf 20 100 Td (one page of a very long generated document) Tj ET"
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents 4 0 R >>")
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (5 + i) for i in range(n)) + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ] + [page] * n)


def _pdf(out: Path, rng: random.Random) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, data: bytes, what: str, expect: str = "quarantine", reasons: Iterable[str] = ()) -> None:
        (out / name).write_bytes(data)
        cases.append(Case(f"pdf/{name.removesuffix('.pdf')}", "pdf", name, what, expect, list(reasons)))

    good = _pdf_text([_prose(rng, "chemistry", 5), _prose(rng, "materials_science", 5)], title="good")
    add("good_paper.pdf", good, "a good two-page paper", "kept")
    add("zero_bytes.pdf", b"", "a zero-byte file", reasons=["pdf_empty_file"])
    add("truncated.pdf", _pdf_text([_prose(rng, "physics", 5) for _ in range(3)], title="t")[:-2000],
        "the last 2,000 bytes cut off", "either")
    add("encrypted.pdf", _encrypted_pdf(), "password-protected (RC4 user password)", reasons=["pdf_encrypted"])
    js = raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 6 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length 96 >>\nstream\nBT /F1 11 Tf 60 700 Td (The measured period of the pendulum agrees with "
        b"the model within error.) Tj ET\nendstream",
        b"<< /S /JavaScript /JS (app.alert\\('pwned'\\); this.print\\(\\);) >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])
    add("javascript.pdf", js, "an OpenAction JavaScript", "either")
    broken = bytearray(raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length 80 >>\nstream\nBT /F1 11 Tf 60 700 Td (Heat capacity of the lattice follows the Debye "
        b"law.) Tj ET\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]))
    x = bytes(broken).rfind(b"xref")
    broken[x:] = bytes(broken[x:]).replace(b"0000000", b"0009999")  # every offset now points nowhere
    add("broken_xref.pdf", bytes(broken), "a cross-reference table with wrong offsets", "either")
    add("blank_page.pdf", _pdf_text([[""]], title="blank"), "one blank page", reasons=["empty_page"])
    add("no_pages.pdf", raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]),
        "a page tree with zero pages", reasons=["pdf_no_pages", "pdf_corrupt"])
    add("html_named_pdf.pdf", b"<!DOCTYPE html><html><body>Not a PDF at all</body></html>",
        "HTML saved with a .pdf name (no %PDF- header: refused at ingest)", reasons=["not_a_pdf"])
    noise = random.Random(SEED + 2)
    add("header_then_noise.pdf", b"%PDF-1.7\n" + bytes(noise.getrandbits(8) for _ in range(6000)),
        "a PDF header followed by random bytes", reasons=["pdf_corrupt"])
    add("ten_thousand_pages.pdf", _many_pages_pdf(MANY_PAGES), f"{MANY_PAGES:,} pages",
        reasons=["pdf_too_many_pages"])
    moji = "T\u00c3\u00a9l\u00c3\u00a9charg\u00c3\u00a9 \u00c3\u00a0 partir de l\u00e2\u20ac\u2122archive " * 20
    add("mojibake.pdf", _pdf_text([[moji]], title="moji"), "mojibake text (UTF-8 read as cp1252)")
    bad_stream = raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 64 /Filter /FlateDecode >>\nstream\n" + bytes(noise.getrandbits(8) for _ in range(64))
        + b"\nendstream",
    ])
    add("corrupt_stream.pdf", bad_stream, "a content stream that does not inflate")
    return cases


# -------------------------------------------------------------------------------------------- JSONL

def _jsonl(out: Path, rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    lines: list[bytes] = []
    name = "bad-text.jsonl"

    def add(case_id: str, line: bytes, what: str, expect: str = "quarantine", reasons: Iterable[str] = ()) -> None:
        lines.append(line)
        cases.append(Case(f"jsonl/{case_id}", "jsonl", name, what, expect, list(reasons), line=len(lines)))

    def doc(text: Any, **kw: Any) -> bytes:
        return json.dumps({"text": text, **kw}, ensure_ascii=False).encode()

    for i, f in enumerate(("physics", "chemistry", "life_science")):
        add(f"good_{i}", doc(" ".join(_prose(rng, f, 3)), id=f"good-{i}", field=f), f"a good {f} note", "kept")
    add("invalid_json", b'{"text": "unterminated', "invalid JSON", reasons=["invalid_json"])
    add("invalid_utf8", b'{"text": "caf\xe9 au lait \xff\xfe"}', "Latin-1 bytes in a UTF-8 file",
        reasons=["invalid_utf8"])
    add("array", b'["text", "in", "an", "array"]', "a JSON array, not an object", reasons=["not_an_object"])
    add("no_text", json.dumps({"title": "no body"}).encode(), "no text field", reasons=["missing_text"])
    add("empty_text", doc(""), "empty text", reasons=["missing_text"])
    add("blank_text", doc(" \n\t "), "whitespace-only text", reasons=["missing_text"])
    add("number_text", doc(42), "a number where the text should be", reasons=["missing_text"])
    add("one_word", doc("Thermodynamics"), "a one-word document", "either")
    huge = " ".join(_prose(rng, "mathematics", 1)[0] for _ in range(HUGE_DOC_CHARS // 300))
    add("huge_doc", doc(huge, id="huge", field="mathematics"), f"a {len(huge) // 1000} kB document", "either")
    add("control_chars", doc("Tabs\tNUL\x00 bell\x07 escape\x1b and a form feed\x0c inside a chemistry note "
                             "about the enthalpy of formation of water vapour at standard conditions."),
        "NUL and control characters", "either")
    add("invalid_smiles", doc("The compound <SMILES>C1CC(=O</SMILES> could not be parsed, nor "
                              "<SMILES>c1ccccc</SMILES>; benzene c1ccccc1 is fine."), "invalid SMILES in tags",
        "either")
    long_smiles = "C" * LONG_SMILES_CHARS
    add("long_smiles", doc(f"A polymer: <SMILES>{long_smiles}</SMILES> ends here."),
        f"a {LONG_SMILES_CHARS // 1000}k-character single-line SMILES", "either")
    add("unbalanced_tags", doc("Opened <SMILES>CCO and <protein>MKT<SMILES>CC</protein> never </SMILES> "
                               "</SMILES> closed <dna>ACGT"), "unbalanced and nested tags", "either")
    add("duplicate_id_a", doc("Ocean currents redistribute heat from the equator toward the poles.", id="dup"),
        "first of two lines sharing an id", "either")
    add("duplicate_id_b", doc("Plate tectonics explains the distribution of earthquakes and volcanoes.", id="dup"),
        "second of two lines sharing an id", "quarantine", ["duplicate_id"])
    twin = " ".join(_prose(rng, "chemistry", 3))
    add("exact_duplicate_a", doc(twin, id="twin-a"), "a document", "either", ["exact_duplicate"])
    add("exact_duplicate_b", doc(twin, id="twin-b"), "its exact copy under another id", "either",
        ["exact_duplicate"])
    (out / name).write_bytes(b"\n".join(lines) + b"\n")

    # A gzip file cut in the middle: the lines before the cut survive, the break is quarantined.
    body = b"\n".join(doc(" ".join(_prose(rng, "earth_science", 2)), id=f"gz-{i}") for i in range(40)) + b"\n"
    gz = gzip.compress(body, mtime=0)
    (out / "bad-text-02-truncated.jsonl.gz").write_bytes(gz[: len(gz) // 2])
    cases.append(Case("jsonl/truncated_gzip", "jsonl", "bad-text-02-truncated.jsonl.gz",
                      "a gzip file cut in half (the lines before the cut are kept, the break quarantined)",
                      "either", ["corrupt_file"]))
    return cases


def write_bad_corpus(out_dir: str | Path, seed: int = SEED) -> list[Case]:
    """Write the bad-input corpus under ``out_dir`` (warc/, pdf/, jsonl/, bad_cases.json)."""
    out = Path(out_dir)
    rng = random.Random(seed)
    cases: list[Case] = []
    for kind, make in (("warc", _web), ("pdf", _pdf), ("jsonl", _jsonl)):
        (out / kind).mkdir(parents=True, exist_ok=True)
        cases += make(out / kind, rng)
    (out / CASES_FILE).write_text(json.dumps([asdict(c) for c in cases], indent=1) + "\n")
    return cases


def load_cases(path: str | Path) -> list[Case]:
    p = Path(path)
    return [Case(**c) for c in json.loads((p / CASES_FILE if p.is_dir() else p).read_text())]


# ------------------------------------------------------------------------------------------- account

def _rows(storage: Any, key: str | None, columns: list[str]) -> list[dict[str, Any]]:
    from pipelines.datasets import DatasetNotPublished, DatasetRef, read_table

    if not key:
        return []
    try:
        return read_table(storage, DatasetRef.parse(key), columns).to_pylist()
    except DatasetNotPublished:
        return []


def _q(ref: str | None) -> str | None:
    from pipelines.datasets import DatasetRef

    return DatasetRef.parse(ref).quarantine().key if ref else None


def account(storage: Any, refs: dict[str, str], cases: list[Case]) -> dict[str, Any]:
    """What became of every case. ``refs``: stage -> output dataset key, as the funnel report lists
    them (ingest_warc, ingest_pdf, ingest_jsonl, web_filter, pdf_parse, text_pages, dedup, corpus).

    Returns ``{"items": [{id, expect, fate, reasons, pages_kept}], "lost_pages": [...]}`` where fate is
    ``kept``, ``quarantined`` or ``lost`` (in no output and no quarantine dataset).
    """
    g = refs.get
    rows: dict[str, Any] = {
        "raw_web": _rows(storage, g("ingest_warc"), ["record_id", "url", "warc_file"]),
        "q_web": _rows(storage, _q(g("ingest_warc")), ["source", "url", "reason"]),
        "raw_pdf": _rows(storage, g("ingest_pdf"), ["doc_id", "path", "page_count"]),
        "q_pdf": _rows(storage, _q(g("ingest_pdf")), ["source", "reason"]),
        "raw_text": _rows(storage, g("ingest_jsonl"), ["doc_id", "source", "line"]),
        "q_text": _rows(storage, _q(g("ingest_jsonl")), ["source", "offset", "reason"]),
        "page_out": {}, "page_q": {},
        "snap_docs": {r["doc_id"] for r in _rows(storage, g("corpus"), ["doc_id"])},
        "snap_q": {(r["doc_id"], r["page"]): r["reason"]
                   for r in _rows(storage, _q(g("corpus")), ["doc_id", "page", "reason"])},
    }
    for stage in PAGE_STAGES:
        rows["page_out"][stage] = {(r["doc_id"], r["page"]) for r in _rows(storage, g(stage), ["doc_id", "page"])}
        cols = ["doc_id", "reason"] if stage == "web_filter" else ["doc_id", "page", "reason"]
        rows["page_q"][stage] = {(r["doc_id"], r.get("page", 0)): r["reason"]
                                 for r in _rows(storage, _q(g(stage)), cols)}
    return account_rows(rows, cases)


PAGE_STAGES = ("web_filter", "pdf_parse", "text_pages", "dedup")


def account_rows(rows: dict[str, Any], cases: list[Case]) -> dict[str, Any]:
    """:func:`account` on rows already read: ``raw_web`` / ``q_web`` / ``raw_pdf`` / ``q_pdf`` /
    ``raw_text`` / ``q_text`` (ingest rows and quarantine rows), ``page_out`` and ``page_q`` (per page
    stage: the (doc_id, page) pairs kept, and quarantined with their reason), ``snap_docs`` (doc ids in
    the snapshot) and ``snap_q`` (pages the corpus stage quarantined). An engine-free run can fill them
    from the stages' pure functions (pipelines/hostile_corpus.py)."""
    raw_web, q_web, raw_pdf, q_pdf = rows["raw_web"], rows["q_web"], rows["raw_pdf"], rows["q_pdf"]
    raw_text, q_text = rows["raw_text"], rows["q_text"]
    page_out: dict[str, set[tuple[str, int]]] = rows["page_out"]
    page_q: dict[str, dict[tuple[str, int], str]] = rows["page_q"]
    snap_docs: set[str] = rows["snap_docs"]
    snap_q: dict[tuple[str, int], str] = rows["snap_q"]

    def follow(stage: str, pages: set[tuple[str, int]], reasons: list[str], lost: list[str], cid: str) -> bool:
        """Pages entering ``stage`` then dedup then the snapshot; True if any reaches the snapshot."""
        kept_any = False
        for unit in sorted(pages):
            if unit in page_out[stage]:
                if unit in page_out["dedup"]:
                    if unit[0] in snap_docs:
                        kept_any = True
                    elif unit in snap_q:
                        reasons.append(f"corpus:{snap_q[unit]}")
                    else:
                        lost.append(f"{cid} {unit} after dedup")
                elif unit in page_q["dedup"]:
                    reasons.append(f"dedup:{page_q['dedup'][unit]}")
                else:
                    lost.append(f"{cid} {unit} after {stage}")
            elif unit in page_q[stage] or (unit[0], -1) in page_q[stage]:
                reasons.append(f"{stage}:{page_q[stage].get(unit) or page_q[stage][(unit[0], -1)]}")
            else:
                lost.append(f"{cid} {unit} in {stage}")
        return kept_any

    from pipelines.web.pages import doc_id_of

    items, lost_pages = [], []
    for c in cases:
        reasons: list[str] = []
        kept = False
        lost: list[str] = []
        if c.kind == "warc":
            hits = [r for r in raw_web if r["warc_file"] == c.file and (c.url is None or r["url"] == c.url)]
            own = [r for r in q_web if r["source"] == c.file and c.url and r["url"] == c.url]
            # A row without a URL is the file's break: it covers the records the file lost after it.
            if not hits and not own:
                own = [r for r in q_web if r["source"] == c.file and not r["url"]]
            reasons += [f"ingest_warc:{r['reason']}" for r in own]
            units = {(doc_id_of(r["record_id"], r["url"]), 0) for r in hits}
            kept = follow("web_filter", units, reasons, lost, c.id) if units else False
        elif c.kind == "pdf":
            hits = [r for r in raw_pdf if r["path"] == c.file]
            reasons += [f"ingest_pdf:{r['reason']}" for r in q_pdf if r["source"] == c.file]
            units = {(r["doc_id"], p) for r in hits for p in range(1, int(r["page_count"]) + 1)}
            kept = follow("pdf_parse", units, reasons, lost, c.id) if units else False
        else:
            hits = [r for r in raw_text if r["source"] == c.file and (c.line is None or r["line"] == c.line)]
            own = [r for r in q_text if r["source"] == c.file and (c.line is None or r["offset"] == c.line)]
            if c.line is None:  # a whole-file case: its break row (offset -1) and its bad lines
                own += [r for r in q_text if r["source"] == c.file and r["offset"] == -1 and r not in own]
            reasons += [f"ingest_jsonl:{r['reason']}" for r in own]
            units = {(f"text:{r['doc_id']}", 0) for r in hits}
            kept = follow("text_pages", units, reasons, lost, c.id) if units else False
        fate = "kept" if kept else ("quarantined" if reasons else "lost")
        lost_pages += lost
        items.append({"id": c.id, "expect": c.expect, "fate": fate, "reasons": sorted(set(reasons)),
                      "accepted": c.reasons, "what": c.what})
    return {"items": items, "lost_pages": lost_pages}


def account_day(storage: Any, day: str, landing_day: str | Path,
                report_prefix: str = "reports/corpus_refresh") -> dict[str, Any]:
    """``account`` for the corpus_refresh run of ``day``: the stages' datasets are read from that run's
    funnel report (``<report_prefix>/<day>/funnel.json``), the cases from ``landing_day``."""
    funnel = json.loads(storage.read_bytes(f"{report_prefix}/{day}/funnel.json"))
    return account(storage, {r["stage"]: r["dataset"] for r in funnel}, load_cases(landing_day))


def problems(result: dict[str, Any]) -> list[str]:
    """Items whose fate contradicts their case (or that were lost), and pages lost on the way."""
    out = list(result["lost_pages"])
    for it in result["items"]:
        if it["expect"] == "absent":  # an input that holds no item (an empty file): nothing may come of it
            if it["fate"] != "lost":
                out.append(f"{it['id']}: expected no item, got {it['fate']} {it['reasons']}")
            continue
        if it["fate"] == "lost":
            out.append(f"{it['id']}: lost (in no output and no quarantine dataset)")
        elif it["expect"] != "either" and it["fate"] != {"quarantine": "quarantined"}.get(it["expect"], it["expect"]):
            out.append(f"{it['id']}: expected {it['expect']}, got {it['fate']} {it['reasons']}")
        elif it["fate"] == "quarantined" and it["accepted"]:
            named = {r.split(":", 1)[1] for r in it["reasons"]}
            if not named & set(it["accepted"]):
                out.append(f"{it['id']}: quarantined for {sorted(named)}, expected one of {it['accepted']}")
    return out


def digest(out_dir: str | Path) -> str:
    """sha256 over every file written (names and bytes): the generator is deterministic."""
    h = hashlib.sha256()
    for p in sorted(Path(out_dir).rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(out_dir)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def summary(result: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for it in result["items"]:
        counts[it["fate"]] += 1
    return dict(counts)
