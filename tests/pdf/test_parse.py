"""Parsing generated PDFs end to end (no Spark): routes, markdown, bad input, time limits."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from sciforge.pipelines.pdf import backends
from sciforge.pipelines.pdf.config import PdfConfig
from sciforge.pipelines.pdf.isolate import BackendError, IsolatedWorker, PageTimeout, WorkerCrashed
from sciforge.pipelines.pdf.parse import PageParser, Segment, SegmentResult, cheap_pass, to_tables
from tests.pdf import pdfgen

HAS_TESSERACT = shutil.which("tesseract") is not None
needs_tesseract = pytest.mark.skipif(not HAS_TESSERACT, reason="tesseract binary not installed "
                                     "(apt-get install tesseract-ocr tesseract-ocr-eng)")


def _write(tmp: Path, name: str, data: bytes) -> str:
    p = tmp / name
    p.write_bytes(data)
    return str(p)


_PARSERS: dict[str, PageParser] = {}  # one parser (and its worker processes) per config


def _parse(path: str, pages: int, cfg: PdfConfig, start: int = 0, end: int | None = None) -> SegmentResult:
    key = cfg.model_dump_json()
    pp = _PARSERS.get(key) or _PARSERS.setdefault(key, PageParser(cfg))
    return pp.parse_segment(path, Segment("doc", Path(path).name, start, end or pages, pages))


@pytest.fixture(scope="module", autouse=True)
def _close_parsers() -> Any:
    yield
    for pp in _PARSERS.values():
        pp.close()
    _PARSERS.clear()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _write(tmp_path_factory.mktemp("pdf"), "mixed.pdf", pdfgen.mixed_pdf())


def test_cheap_pass_routes_every_kind_of_page(mixed: str) -> None:
    out = cheap_pass(mixed, 0, 12, PdfConfig().model_dump_json())
    assert [p["route"] for p in out["pages"]] == pdfgen.EXPECTED_ROUTES
    hidden = out["pages"][9]
    assert "noisy" in hidden["reason"] or "hidden" in hidden["reason"]


def test_cheap_markdown_structure(mixed: str) -> None:
    pages = cheap_pass(mixed, 0, 12, PdfConfig().model_dump_json())["pages"]
    md = pages[0]["md"]
    assert md.startswith("# A Study of Things")
    assert "## 1 Section number 1" in md
    assert md.index("LEFTCOL0") < md.index("RIGHTCOL0") < md.index("- bullet item 0")  # columns, then list
    assert "- bullet item 2 of page 1" in md
    assert "The measurement was done." in md  # hyphenation across the line end undone
    for p in pages[:6]:
        assert "Journal of Reproducible Results" not in p["md"], "running header kept"
        assert not any(line.strip().isdigit() for line in p["md"].splitlines()), "page number kept"
    assert "αβγδ" in pages[7]["md"] and "abgd" not in pages[7]["md"]  # Symbol font repaired
    assert pages[7]["features"]["symbol_latin_chars"] == 4


@needs_tesseract
def test_scan_page_is_ocred(mixed: str) -> None:
    res = _parse(mixed, 12, PdfConfig(ocr_backend="tesseract", record_timings=False), start=8, end=9)
    (row,) = res.kept
    assert row["route"] == "scan" and row["parser"] == "tesseract" and row["page"] == 9
    assert "Scanned Report" in row["text"] and "calibration" in row["text"]
    assert res.counters.metrics["parser_tesseract"] == 1


@needs_tesseract
@pytest.mark.slow  # two OCR pages: ~10 s idle, minutes on a loaded machine
def test_full_parse_with_ocr_and_quarantine(mixed: str) -> None:
    cfg = PdfConfig(math_backend="cheap", ocr_backend="tesseract", record_timings=False)
    res = _parse(mixed, 12, cfg)
    kept = {r["page"]: r for r in res.kept}
    quar = {r["page"]: r for r in res.quarantined}
    assert sorted(kept) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert quar[11]["reason"] == "garbled_text" and quar[12]["reason"] == "empty_page"
    for pno in (9, 10):  # the scan and the scan with the noisy hidden layer are OCRed
        assert kept[pno]["parser"] == "tesseract" and kept[pno]["route"] == "scan"
        assert "Scanned Report" in kept[pno]["text"]
        assert "calibration" in kept[pno]["text"] and "tbe rn0del" not in kept[pno]["text"]
    assert kept[7]["route"] == "math" and "expensive_unavailable" in kept[7]["flags"]
    c = res.counters
    assert c.input == 12 and c.kept == 10 and c.total_dropped == 2
    assert c.metrics["pages_expensive"] == 3 and c.metrics["route_text"] == 7
    kt, qt = to_tables(res)
    assert kt.num_rows == 10 and qt.num_rows == 2
    assert set(kt.column("source").to_pylist()) == {"pdf"}


def test_math_page_goes_to_the_layout_parser(mixed: str) -> None:
    res = _parse(mixed, 12, PdfConfig(math_backend="pymupdf4llm", record_timings=True), start=6, end=7)
    (row,) = res.kept
    assert row["route"] == "math" and row["parser"] == "pymupdf4llm"
    assert "Derivation of the main result" in row["text"] and "∑" in row["text"]
    assert row["expensive_ms"] > 0


def test_hanging_expensive_parser_is_killed_and_page_falls_back(mixed: str, monkeypatch: Any) -> None:
    monkeypatch.setitem(backends.BACKENDS, "pymupdf4llm", "tests.pdf.hang_backend:hang_page")
    res = _parse(mixed, 12, PdfConfig(math_backend="pymupdf4llm", page_timeout_s=2), start=6, end=7)
    (row,) = res.kept
    assert row["parser"] == "pymupdf" and "expensive_timeout" in row["flags"]
    assert "fell back" in row["route_reason"] and "Derivation" in row["text"]
    assert res.counters.metrics["expensive_fallback"] == 1


def test_isolated_worker_limits() -> None:
    with IsolatedWorker(memory_mb=1024) as w:
        with pytest.raises(PageTimeout):
            w.call("time:sleep", (60,), timeout=1)
        assert w.call("math:sqrt", (16.0,), timeout=30) == 4.0  # restarted after the kill
        with pytest.raises(WorkerCrashed):
            w.call("os:_exit", (3,), timeout=30)
        with pytest.raises(BackendError, match="MemoryError"):
            w.call("builtins:bytearray", (4 * 1024**3,), timeout=30)  # 4 GiB > 1 GiB limit
        with pytest.raises(BackendError, match="ZeroDivisionError"):
            w.call("operator:truediv", (1, 0), timeout=30)
        assert w.starts == 3  # first start, after the timeout, after the crash


# ---- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, make, reason", [
    ("zero.pdf", lambda: b"", "pdf_open_failed"),
    ("encrypted.pdf", pdfgen.encrypted_pdf, "pdf_encrypted"),
    ("garbage.pdf", lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8, "pdf_open_failed"),
])
def test_unopenable_documents_are_quarantined(tmp_path: Path, name: str, make: Any, reason: str) -> None:
    path = _write(tmp_path, name, make())
    res = _parse(path, 2, PdfConfig(ocr_backend="none", math_backend="cheap"))
    assert res.kept == [] and res.counters.dropped[reason] == 2 and res.counters.input == 2
    (q,) = res.quarantined
    assert q["reason"] == reason and q["page"] == -1 and q["url"] == name


def test_truncated_javascript_and_broken_xref_pdfs_never_crash(tmp_path: Path) -> None:
    cfg = PdfConfig(ocr_backend="none", math_backend="cheap")
    js = _parse(_write(tmp_path, "js.pdf", pdfgen.javascript_pdf()), 1, cfg)
    assert len(js.kept) == 1 and "LEFTCOL0" in js.kept[0]["text"]  # text kept, script never run
    assert "pdf_javascript" in js.kept[0]["flags"]
    broken = _parse(_write(tmp_path, "xref.pdf", pdfgen.broken_xref_pdf()), 2, cfg)
    assert len(broken.kept) + len(broken.quarantined) >= 1
    assert broken.counters.input == 2 and broken.counters.kept + broken.counters.total_dropped == 2
    trunc = _parse(_write(tmp_path, "trunc.pdf", pdfgen.truncated_pdf()), 3, cfg)
    assert trunc.counters.input == 3 and trunc.counters.kept + trunc.counters.total_dropped == 3
    assert all(q["reason"] for q in trunc.quarantined)


def test_ten_thousand_page_pdf_is_quarantined_or_parsed_by_range(tmp_path: Path) -> None:
    path = _write(tmp_path, "huge.pdf", pdfgen.many_pages_pdf(10_000))
    over = _parse(path, 10_000, PdfConfig(ocr_backend="none", math_backend="cheap"), start=0, end=64)  # default cap 5000 pages
    assert over.kept == [] and over.quarantined[0]["reason"] == "pdf_too_many_pages"
    assert over.counters.dropped["pdf_too_many_pages"] == 64
    tail = _parse(path, 10_000, PdfConfig(ocr_backend="none", math_backend="cheap", max_pages_per_doc=10_000),
                  start=9_984, end=10_000)
    assert [r["page"] for r in tail.kept] == list(range(9_985, 10_001))
    assert "very long generated document" in tail.kept[-1]["text"]


@pytest.mark.slow  # three worker (re)starts: ~15 s idle, ~50 s on a loaded machine
def test_page_that_hangs_the_cheap_parser_is_isolated(tmp_path: Path) -> None:
    path = _write(tmp_path, "three.pdf", pdfgen.small_text_pdf(3))
    cfg = PdfConfig(cheap_page_timeout_s=2, ocr_backend="none", math_backend="cheap")
    with PageParser(cfg, cheap_ref="tests.pdf.hang_backend:hang_on_second_page") as pp:
        res = pp.parse_segment(path, Segment("d", "three.pdf", 0, 3, 3))
    assert [r["page"] for r in res.kept] == [1, 3]
    (q,) = res.quarantined
    assert q["page"] == 2 and q["reason"] == "page_timeout"
    assert res.counters.dropped["page_timeout"] == 1 and res.counters.kept == 2


def test_cli_parse_prints_routes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sciforge.cli.pdf import app

    path = _write(tmp_path, "two.pdf", pdfgen.small_text_pdf(2))
    out = tmp_path / "rows.jsonl"
    r = CliRunner().invoke(app, ["parse", path, "--set", "ocr_backend=none", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "--- page 1 [text] pymupdf" in r.output and "kept=2" in r.output
    assert len(out.read_text().splitlines()) == 2
    bad = CliRunner().invoke(app, ["parse", path, "--set", "no_such_option=1"])
    assert bad.exit_code != 0 and "no_such_option" in str(bad.exception)


def test_a_task_batch_that_fails_is_redone_segment_by_segment(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.pdf", pdfgen.small_text_pdf(2))
    b = _write(tmp_path, "b.pdf", pdfgen.small_text_pdf(1))
    cfg = PdfConfig(ocr_backend="none", math_backend="cheap")
    with PageParser(cfg, cheap_ref="tests.pdf.hang_backend:crash_on_file_b") as pp:
        ra, rb = pp.parse_segments([(a, Segment("a", "a.pdf", 0, 2, 2)), (b, Segment("b", "b.pdf", 0, 1, 1))])
    assert [r["page"] for r in ra.kept] == [1, 2] and not ra.quarantined  # a is unharmed
    assert not rb.kept and rb.quarantined[0]["reason"] == "page_crashed"
    assert rb.counters.dropped["page_crashed"] == 1
