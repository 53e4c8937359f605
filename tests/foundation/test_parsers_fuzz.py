"""Property-based tests (hypothesis) of every content parser on random bytes: none raises, every item is
accounted for (input = kept + dropped), and whatever is kept converts to Arrow. Examples are bounded so
that the default suite stays fast; ``HYPOTHESIS_EXAMPLES=5000`` runs many more."""

from __future__ import annotations

import gzip
import io
import json
import os

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.ingest.common import QUARANTINE_SCHEMA
from sciforge.pipelines.ingest.http import HttpDecodeError, dechunk, decode_body
from sciforge.pipelines.ingest.jsonl import SCHEMA as TEXT_SCHEMA
from sciforge.pipelines.ingest.jsonl import iter_jsonl, json_too_deep

# Examples per test: bounded for the default suite (the whole file runs in ~15 s on 2 cores);
# HYPOTHESIS_EXAMPLES=5000 fuzzes for real. The settings are per test: no global hypothesis profile.
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "60"))


def bounded(share: float = 1.0) -> settings:
    return settings(max_examples=max(1, int(EXAMPLES * share)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

CODINGS = st.sampled_from(["gzip", "x-gzip", "deflate", "br", "zstd", "identity", "chunked", "compress", "", "GZIP"])


def _balanced(c: StageCounters) -> None:
    assert c.input == c.kept + c.total_dropped, c.to_dict()


def _arrow(events, schema) -> None:
    kept = [r for k, r in events if k == "kept"]
    quar = [r for k, r in events if k == "quarantine"]
    pa.Table.from_pylist(kept, schema=schema)
    pa.Table.from_pylist(quar, schema=QUARANTINE_SCHEMA)
    assert all(r["reason"] for r in quar)


@bounded()
@given(st.binary(max_size=4096), st.lists(st.tuples(st.sampled_from(["Content-Encoding", "Transfer-Encoding"]),
                                                     CODINGS), max_size=3))
def test_decode_body_never_raises_anything_but_its_own_error(body, headers):
    try:
        out, label = decode_body(body, headers, 1 << 16)
    except HttpDecodeError as e:
        assert e.reason in ("decoded_too_large", "unsupported_content_encoding")
        return
    assert isinstance(out, bytes) and len(out) <= max(len(body), 1 << 16)
    assert isinstance(label, str)


@bounded()
@given(st.binary(max_size=4096))
def test_dechunk_random_bytes(data):
    out, status = dechunk(data, 1 << 20)
    assert status in ("", "truncated", "not_applied")
    assert out == data if status == "not_applied" else len(out) <= len(data)


@bounded()
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_iter_jsonl_on_random_lines(lines):
    c = StageCounters()
    events = list(iter_jsonl(io.BytesIO(b"\n".join(lines)), "f.jsonl", counters=c))
    _balanced(c)
    _arrow(events, TEXT_SCHEMA)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=30)


@bounded()
@given(st.dictionaries(st.text(max_size=10), _json_values, max_size=6), st.text())
def test_iter_jsonl_on_random_json_objects(obj, text):
    obj["text"] = text
    line = json.dumps(obj, ensure_ascii=bool(len(text) % 2)).encode("utf-8", "surrogatepass")
    c = StageCounters()
    events = list(iter_jsonl(io.BytesIO(line), "f.jsonl", counters=c))
    _balanced(c)
    _arrow(events, TEXT_SCHEMA)
    if text.strip() and c.kept:
        assert events[0][1]["text"] == text


@bounded()
@given(st.text(alphabet='[]{}"\\ a1,:', max_size=400))
def test_depth_scan_is_conservative(s):
    """When the scan says "not too deep", json.loads never recurses out (it parses or raises a
    JSONDecodeError)."""
    if not json_too_deep(s, 50):
        try:
            json.loads(s)
        except json.JSONDecodeError:
            pass


def _warc_prefix() -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    w.write_record(w.create_warc_record("https://a.org/x", "response", payload=io.BytesIO(b"<p>hi</p>"),
                                        http_headers=http))
    return buf.getvalue()


WARC = _warc_prefix()


@bounded(0.67)
@given(st.binary(max_size=2048), st.integers(0, len(WARC)), st.booleans())
def test_iter_warc_on_random_and_mutated_bytes(noise, cut, gz):
    from sciforge.pipelines.ingest.warc import SCHEMA, iter_warc

    data = WARC[:cut] + noise + WARC
    if gz:
        data = gzip.compress(data, mtime=0)
    c = StageCounters()
    events = list(iter_warc(io.BytesIO(data), "f.warc", max_record_bytes=1 << 20, counters=c))
    _balanced(c)
    _arrow(events, SCHEMA)


@bounded(0.42)
@given(st.binary(max_size=3000), st.sampled_from([b"", b"%PDF-1.4\n", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog"]))
def test_iter_pdf_on_random_bytes(noise, head):
    from sciforge.pipelines.ingest.pdf import SCHEMA, iter_pdf

    data = head + noise
    c = StageCounters()
    events = list(iter_pdf(io.BytesIO(data), "f.pdf", size=len(data), max_pdf_bytes=1 << 20, counters=c))
    _balanced(c)
    _arrow(events, SCHEMA)


@bounded(0.67)
@given(st.binary(max_size=3000), st.sampled_from([None, "text/html", "text/html; charset=utf-16",
                                                  "text/html; charset=utf-7", "text/html; charset=x-sjis",
                                                  "text/plain; charset=koi8-r"]),
       st.sampled_from([b"", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\xff\xfe\x00\x00", b"<html><body><p>"]))
def test_extract_html_on_random_bytes(noise, ctype, head):
    from sciforge.pipelines.web.config import WebConfig
    from sciforge.pipelines.web.extract import ExtractError, extract_html

    try:
        ex = extract_html(head + noise, ctype, WebConfig().extract, StageCounters())
    except ExtractError as e:
        assert e.reason
        return
    ex.text.encode("utf-8")  # never a lone surrogate
    ex.title.encode("utf-8")


@bounded(0.50)
@given(st.binary(max_size=2000), st.sampled_from(["200 OK", "404 Not Found", "xx"]))
def test_web_score_record_on_random_payloads(noise, status):
    from sciforge.pipelines.web.config import WebConfig
    from sciforge.pipelines.web.pages import QUARANTINE_SCHEMA as WQ
    from sciforge.pipelines.web.pages import SCORED_SCHEMA, score_record

    row = {"record_id": "r", "url": "https://a.org/x", "host": "a.org", "domain": "a.org", "warc_file": "f",
           "warc_offset": 0, "http_status": int(status[:3]) if status[0].isdigit() else 0, "content_type": "text/html",
           "html": b"<html><body><p>" + noise, "warc_date": ""}
    c = StageCounters()
    kind, out = score_record(row, WebConfig(), c)
    pa.Table.from_pylist([out], schema=SCORED_SCHEMA if kind == "kept" else WQ)
    assert c.kept + c.total_dropped == 1
