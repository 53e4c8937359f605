"""The PDF expensive route on a vision-language model (pipelines/pdf/vlm.py) against a real HTTP
server speaking the OpenAI chat API (tests/llm_stub.py): no model weights can be downloaded
here, so the server's answers are scripted and it checks each request's schema (model, a text
part with the cheap text as a hint, the page as a PNG data URI, temperature 0 and a seed)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from sciforge.pipelines.pdf.config import PdfConfig, VlmConfig
from sciforge.pipelines.pdf.parse import PageParser, Segment, SegmentResult
from sciforge.pipelines.pdf.vlm import is_loop, postprocess
from tests.llm_stub import StubServer, text_of
from tests.pdf import pdfgen

ANSWER = ("```markdown\n# Derivation of the main result\n\nWe have\n\\[ f(x) = \\sum_n a_n \\int g \\, dy \\]\n"
          "and \\(\\alpha \\le \\beta\\) for every \\(y\\).\n```")


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two text pages, then three pages dense in display math, then a scan."""
    doc = pymupdf.open()
    pdfgen.text_pages(doc, 2)
    for k in range(3):
        pdfgen.math_page(doc)
        doc[-1].insert_text((400, 60), f"Part {k + 1}", fontsize=10)  # three different pages
    pdfgen.scan_page(doc)
    p = tmp_path_factory.mktemp("vlm") / "vlm.pdf"
    p.write_bytes(pdfgen.to_bytes(doc))
    return str(p)


def _cfg(url: str, **vlm: Any) -> PdfConfig:
    v = {"endpoint": url, "model": "stub-vlm", "backoff_initial_s": 0.01, "max_retries": 1, **vlm}
    return PdfConfig(expensive_backend="vlm", ocr_backend="none", vlm=v)


def _parse(cfg: PdfConfig, pdf: str, root: Path | None) -> SegmentResult:
    with PageParser(cfg, data_root=str(root) if root else None) as pp:
        return pp.parse_segment(pdf, Segment("doc", "vlm.pdf", 0, 6, 6))


def _rows(res: SegmentResult) -> str:
    return json.dumps(sorted(res.kept + res.quarantined, key=lambda r: r["page"]), sort_keys=True)


def test_math_and_scan_pages_go_to_the_vlm_and_reruns_read_the_cache(pdf: str, tmp_path: Path) -> None:
    with StubServer(lambda body: ANSWER, model="stub-vlm") as s:
        cfg = _cfg(s.url, max_concurrency=2)
        res = _parse(cfg, pdf, tmp_path)
        assert s.errors == [] and len(s.requests) == 4  # 3 math pages + the scan; text pages never
        body = next(b for b in s.requests if "We have" in text_of(b))  # a math page's request
        assert body["model"] == "stub-vlm" and body["temperature"] == 0.0 and body["seed"] == 0
        assert body["max_tokens"] == 4096
        text, image = body["messages"][0]["content"]
        assert text["text"].startswith(cfg.vlm.prompt) and "\\sum a n" in text["text"]  # the hint
        png = base64.b64decode(image["image_url"]["url"].split(",", 1)[1])
        pix = pymupdf.Pixmap(png)
        assert abs(pix.width - pdfgen.W * 120 / 72) <= 1 and abs(pix.height - pdfgen.H * 120 / 72) <= 1  # vlm.dpi
        kept = {r["page"]: r for r in res.kept}
        assert [kept[p]["parser"] for p in (1, 2)] == ["pymupdf", "pymupdf"]
        for p in (3, 4, 5, 6):
            assert kept[p]["parser"] == "vlm", kept[p]
            assert "```" not in kept[p]["text"] and "$$\nf(x) = \\sum_n a_n \\int g \\, dy\n$$" in kept[p]["text"]
            assert "$\\alpha \\le \\beta$" in kept[p]["text"]
        assert kept[6]["route"] == "scan"
        assert res.counters.metrics["parser_vlm"] == 4 and res.counters.metrics["vlm_answered"] == 4
        again = _parse(cfg, pdf, tmp_path)  # a re-run of the interval: every answer from the cache
        assert len(s.requests) == 4 and again.counters.metrics["vlm_cached"] == 4
    assert _rows(again) == _rows(res)


def test_endpoint_failure_quarantines_the_page(pdf: str) -> None:
    with StubServer(lambda body: ANSWER, model="stub-vlm") as s:
        s.fail(500, 503)  # the first page asked exhausts 1 retry
        res = _parse(_cfg(s.url, max_concurrency=1, cache=False), pdf, None)
    (q,) = res.quarantined
    assert q["page"] == 3 and q["reason"] == "vlm_failed" and q["parser"] == "vlm"
    assert "http_503 after 2 attempt(s)" in q["detail"]
    assert {r["page"] for r in res.kept} == {1, 2, 4, 5, 6}
    assert res.counters.dropped["vlm_failed"] == 1


def test_rejected_answers_fall_back_to_the_local_parser_with_the_reason(pdf: str) -> None:
    answers = iter(["", "x = 1\n" * 40, "y" * 5 + "ab" * 30, "# ok"])
    with StubServer(lambda body: next(answers), model="stub-vlm") as s:
        res = _parse(_cfg(s.url, max_concurrency=1, cache=False, routes=["math"]), pdf, None)
    assert len(s.requests) == 3
    kept = {r["page"]: r for r in res.kept}
    for p, why in ((3, "vlm_empty"), (4, "vlm_loop"), (5, "vlm_loop")):
        assert kept[p]["parser"] == "pymupdf" and "vlm_rejected" in kept[p]["flags"]
        assert f"VLM answer rejected ({why})" in kept[p]["route_reason"]
        assert "We have\n\n$$f(x)=" in kept[p]["text"]  # the local (glyph) markdown
    assert res.counters.metrics["vlm_rejected_empty"] == 1 and res.counters.metrics["vlm_rejected_loop"] == 2
    assert 6 not in kept  # scans are not on this VLM's routes; OCR is off: quarantined as before


def test_concurrency_is_bounded(pdf: str) -> None:
    with StubServer(lambda body: ANSWER, model="stub-vlm", delay_s=0.2) as s:
        _parse(_cfg(s.url, max_concurrency=2, cache=False), pdf, None)
    assert s.max_in_flight == 2


def test_config_and_postprocessing_rules() -> None:
    with pytest.raises(ValueError, match="vlm.endpoint"):
        PdfConfig(expensive_backend="vlm")
    assert PdfConfig().expensive_backend == "local"  # off by default
    a = PdfConfig(expensive_backend="vlm", vlm={"endpoint": "http://a/v1", "model": "m", "timeout_s": 3})
    b = PdfConfig(expensive_backend="vlm", vlm={"endpoint": "http://b/v1", "model": "m", "max_retries": 0})
    assert a.hashed() == b.hashed()  # where the model is served does not change the dataset version
    c = VlmConfig()
    assert postprocess("```\n# T\n```", c) == ("# T", None)
    assert postprocess("a $$x^2$$ b", c) == ("a \n\n$$\nx^2\n$$\n\n b", None)
    assert postprocess("\n\n", c) == ("", "vlm_empty")
    assert is_loop("intro " + "0.000 " * 30, 10) and not is_loop("a b c d e f g", 10)
    table = "\n".join(["| a | b |", "|---|---|"] + [f"| {i} | {i * i} |" for i in range(20)])
    assert postprocess(table, c) == (table, None)
