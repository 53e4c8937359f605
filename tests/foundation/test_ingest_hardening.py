"""Per-record isolation in ingest (issue #22): the four crashers, bounded parsers, HTTP codings, the
infrastructure / content distinction, and the per-row Arrow fallback."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from pathlib import Path

import pyarrow as pa
import pytest

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.ingest.core import IngestParams, ingest_file, to_table
from sciforge.pipelines.ingest.http import HttpDecodeError, dechunk, decode_body
from sciforge.pipelines.ingest.jsonl import MAX_JSON_DEPTH, iter_jsonl, json_too_deep
from sciforge.pipelines.storage import LocalStorage, StorageError, guarded_stream

PARAMS = {kind: IngestParams(kind, 16 << 20, 1 << 28, 2000) for kind in ("warc", "pdf", "jsonl")}


def _jsonl(lines: list[bytes], **kw):
    c = StageCounters()
    events = list(iter_jsonl(io.BytesIO(b"\n".join(lines) + b"\n"), "t.jsonl", counters=c, **kw))
    assert c.input == c.kept + c.total_dropped
    return [(k, r.get("reason") or r.get("text")) for k, r in events], c


GOOD = json.dumps({"text": "Entropy of an ideal gas increases on free expansion.", "id": "g"}).encode()


@pytest.mark.parametrize("line, reason", [
    (b'{"text": "t", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "json_too_deep"),
    (b'{"text": "t", "n": ' + b"9" * 5_000 + b"}", "json_number_too_large"),
    (b'{"text": "a \\ud800 b"}', "invalid_unicode"),
    (b'{"text": "t", "meta": "\\udc00"}', "invalid_unicode"),
])
def test_the_four_jsonl_crashers_are_quarantined_and_the_good_line_kept(line, reason):
    events, c = _jsonl([GOOD, line, GOOD.replace(b'"g"', b'"h"')])
    assert events == [("kept", "Entropy of an ideal gas increases on free expansion."), ("quarantine", reason),
                      ("kept", "Entropy of an ideal gas increases on free expansion.")]
    assert c.dropped == {reason: 1}


def test_json_depth_scan_agrees_with_the_decoder():
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert not json_too_deep(ok) and json.loads(ok)
    assert json_too_deep("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert not json_too_deep(json.dumps({"text": "[" * 5000}))  # brackets inside a string are text
    assert not json_too_deep(json.dumps({"text": '\\"[' * 5000}))  # escaped quotes do not end the string


def test_utf8_bom_before_json_is_valid_and_utf16_files_decode():
    events, _ = _jsonl([b"\xef\xbb\xbf" + GOOD])
    assert events[0][0] == "kept"
    data = (GOOD.decode() + "\n" + GOOD.decode().replace('"g"', '"h"') + "\n").encode("utf-16")
    c = StageCounters()
    rows = list(iter_jsonl(io.BufferedReader(io.BytesIO(data)), "u.jsonl", counters=c))
    assert [k for k, _ in rows] == ["kept", "kept"] and rows[1][1]["doc_id"] == "h"


def test_a_line_over_the_cap_is_drained_not_held():
    events, c = _jsonl([b'{"text": "' + b"a" * 5000 + b'"}', GOOD], max_line_bytes=1000)
    assert events[0] == ("quarantine", "line_too_long") and events[1][0] == "kept"


def test_arrow_fallback_costs_only_the_bad_row():
    from sciforge.pipelines.ingest.jsonl import SCHEMA

    good = {"doc_id": "a", "source": "s", "line": 1, "text": "fine", "meta": "{}"}
    bad = {**good, "doc_id": "b", "text": "lone \ud800"}
    c = StageCounters(input=2, kept=2)
    quarantined: list[dict] = []
    t = to_table([good, bad], SCHEMA, "s", c, quarantined)
    assert t.column("doc_id").to_pylist() == ["a"]
    assert [q["reason"] for q in quarantined] == ["arrow_conversion_failed"]
    assert c.kept == 1 and c.dropped == {"arrow_conversion_failed": 1}
    from sciforge.pipelines.ingest.common import QUARANTINE_SCHEMA, quarantine_row

    q = to_table([quarantine_row("s\ud800", "x", "detail \udfff")], QUARANTINE_SCHEMA, "s", c)
    assert q.num_rows == 1 and "\\ud800" in q.column("source")[0].as_py()


def test_pdf_page_tree_declaring_more_pages_than_it_has(tmp_path: Path):
    from sciforge.fixtures.demo_data import raw_pdf

    data = raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"])
    (tmp_path / "a.pdf").write_bytes(data)
    c = StageCounters()
    events = list(ingest_file(LocalStorage(str(tmp_path)), "a.pdf", PARAMS["pdf"], c))
    assert [(k, r["reason"]) for k, r in events] == [("quarantine", "pdf_corrupt")]
    assert "Invalid number of pages" in events[0][1]["detail"] or "pages" in events[0][1]["detail"]
    assert c.input == 1 and c.dropped == {"pdf_corrupt": 1}


def test_corrupt_deflate_inside_jsonl_gz_keeps_the_lines_before(tmp_path: Path):
    body = b"\n".join(json.dumps({"text": f"line {i} of a note on heat flow", "id": str(i)}).encode()
                      for i in range(2000)) + b"\n"
    gz = bytearray(gzip.compress(body, mtime=0))
    mid = len(gz) // 2
    gz[mid:mid + 32] = bytes(b ^ 0xFF for b in gz[mid:mid + 32])  # zlib.error, not OSError, from gzip
    (tmp_path / "a.jsonl.gz").write_bytes(bytes(gz))
    c = StageCounters()
    events = list(ingest_file(LocalStorage(str(tmp_path)), "a.jsonl.gz", PARAMS["jsonl"], c))
    assert events[0][0] == "kept" and events[-1][0] == "quarantine"
    assert events[-1][1]["reason"] == "corrupt_file"
    assert c.input == c.kept + c.total_dropped


class _Flaky(io.RawIOBase):
    """A backend file whose connection drops after ``ok`` bytes."""

    def __init__(self, data: bytes, ok: int) -> None:
        self.data, self.ok, self.pos = data, ok, 0

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self.ok:
            raise ConnectionResetError("connection reset by peer")
        chunk = self.data[self.pos:min(self.pos + (n if n >= 0 else len(self.data)), self.ok)]
        self.pos += len(chunk)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else len(self.data) + offset if whence == 2 else self.pos + offset
        return self.pos

    def tell(self) -> int:
        return self.pos


class _FlakyStorage(LocalStorage):
    def open_input(self, key: str):  # type: ignore[override]
        data = Path(self.root, key).read_bytes()
        return guarded_stream(_Flaky(data, len(data) // 2), key)


def _warc_bytes(n: int) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True)
    for i in range(n):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        body = zlib.compress(bytes(range(256)) * 40).hex().encode()  # incompressible-ish
        w.write_record(w.create_warc_record(f"https://a.org/{i}", "response", payload=io.BytesIO(body),
                                            http_headers=http))
    return buf.getvalue()


@pytest.mark.parametrize("kind, name", [("warc", "a.warc.gz"), ("jsonl", "a.jsonl.gz"), ("jsonl", "a.jsonl"),
                                        ("pdf", "a.pdf")])
def test_a_storage_failure_mid_file_fails_the_task_instead_of_quarantining(tmp_path: Path, kind, name):
    lines = b"\n".join(json.dumps({"text": f"note {i} " * 30, "id": str(i)}).encode() for i in range(3000))
    data = {"warc": _warc_bytes(20), "jsonl": gzip.compress(lines, mtime=0) if name.endswith(".gz") else lines,
            "pdf": b"%PDF-1.4\n" + bytes(200_000)}[kind]
    (tmp_path / name).write_bytes(data)
    with pytest.raises(StorageError, match="connection reset"):
        list(ingest_file(_FlakyStorage(str(tmp_path)), name, PARAMS[kind], StageCounters()))


def test_http_decoding_is_bounded_and_labelled():
    page = b"<html><body>" + b"<p>The Carnot efficiency bounds every heat engine.</p>" * 50 + b"</body></html>"
    chunked = b"".join(b"%x\r\n" % len(page[i:i + 64]) + page[i:i + 64] + b"\r\n" for i in range(0, len(page), 64))
    chunked += b"0\r\n\r\n"
    assert dechunk(chunked, 1 << 20) == (page, "")
    assert decode_body(chunked, [("Transfer-Encoding", "chunked")], 1 << 20) == (page, "chunked")
    assert decode_body(gzip.compress(page), [("content-encoding", "GZIP")], 1 << 20) == (page, "gzip")
    with pytest.raises(HttpDecodeError) as e:
        decode_body(gzip.compress(bytes(8 << 20)), [("Content-Encoding", "gzip")], 1 << 20)
    assert e.value.reason == "decoded_too_large"
    with pytest.raises(HttpDecodeError) as e:
        decode_body(page, [("Content-Encoding", "compress")], 1 << 20)
    assert e.value.reason == "unsupported_content_encoding"
    assert decode_body(page, [("Content-Encoding", "gzip")], 1 << 20) == (page, "gzip:not_applied")


def test_utf16_html_with_bom_is_a_page_not_binary():
    from sciforge.pipelines.web.config import WebConfig
    from sciforge.pipelines.web.extract import ExtractError, decode_html, extract_html

    html = ("<html><head><title>Caf\u00e9 physics</title></head><body><main><article><h1>Waves</h1>"
            + "<p>A standing wave forms when two waves of equal frequency travel in opposite directions.</p>" * 6
            + "</article></main></body></html>")
    cfg = WebConfig().extract
    for data in (b"\xff\xfe" + html.encode("utf-16-le"), b"\xfe\xff" + html.encode("utf-16-be")):
        ex = extract_html(data, "text/html", cfg, StageCounters())
        assert ex.title == "Caf\u00e9 physics" and "standing wave" in ex.text
    c = StageCounters()
    assert decode_html(b"\xef\xbb\xbf" + html.encode(), "text/html; charset=iso-8859-1", c)[0] == html
    assert c.metrics["charset_bom"] == 1
    # a charset that is a Python codec but not a web encoding is refused, not used
    text, enc = decode_html(b"<p>+2AA- x</p>", "text/html; charset=utf-7", StageCounters())
    assert "\ud800" not in text and enc != "utf-7"
    with pytest.raises(ExtractError) as e:  # NUL bytes without a BOM stay binary
        extract_html(html.encode("utf-16-le"), "text/html", cfg, StageCounters())
    assert e.value.reason == "binary_payload"


def test_arrow_accepts_every_kept_row_of_the_hostile_jsonl(tmp_path: Path):
    """Whatever iter_jsonl keeps converts to Arrow (the crash of issue #22 was here)."""
    lines = [b'{"text": "ok \\ud83d\\ude00"}', b'{"text": "\\ud800"}', b'{"text": "x", "id": "\\udfff"}',
             b'{"text": "y", "k\\ud800": 1}']
    c = StageCounters()
    rows = [r for k, r in iter_jsonl(io.BytesIO(b"\n".join(lines)), "t", counters=c) if k == "kept"]
    from sciforge.pipelines.ingest.jsonl import SCHEMA

    assert pa.Table.from_pylist(rows, schema=SCHEMA).num_rows == 1
    assert c.dropped == {"invalid_unicode": 3}


@pytest.mark.parametrize("length", [b"99999999999", b"-5", b"abc"])
def test_a_lying_warc_length_loses_only_its_record_and_offsets_stay_true(length):
    """An uncompressed record whose WARC Content-Length runs past the end of the file (or is not a
    number) is quarantined; the records after it are found again, at their true byte offsets."""
    from sciforge.fixtures.hostile_corpus import _http, _response
    from sciforge.pipelines.ingest.warc import iter_warc

    page = b"<html><body><p>Phonons carry heat in insulators.</p></body></html>"
    recs = [_response(f"https://a.org/{i}", _http(), page, f"0badc0de-0000-4000-8000-0000000000{i:02d}")
            for i in range(4)]
    at = recs[1].index(b"\r\n\r\nHTTP/")
    recs[1] = recs[1][:recs[1].rindex(b"Content-Length: ", 0, at)] + b"Content-Length: " + length + recs[1][at:]
    data = b"".join(recs)
    c = StageCounters()
    events = list(iter_warc(io.BytesIO(data), "f.warc", max_record_bytes=1 << 20, counters=c))
    kept = {r["url"]: r["warc_offset"] for k, r in events if k == "kept"}
    assert kept == {f"https://a.org/{i}": data.index(recs[i]) for i in (0, 2, 3)}
    assert [r["url"] for k, r in events if k == "quarantine"] == ["https://a.org/1"]
    assert c.input == 4 and c.kept == 3
