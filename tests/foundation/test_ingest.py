"""Ingest on the sample corpus and on generated bad inputs (in-process engine: no Spark)."""

import gzip
import io
import json
import random

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from sciforge.jobs.ingest import run_ingest
from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import read_table
from sciforge.pipelines.ingest.jsonl import iter_jsonl
from sciforge.pipelines.ingest.warc import iter_warc, registered_domain
from sciforge.pipelines.storage import open_storage


def _warc(records, gz=True):
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    for url, body in records:
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return buf.getvalue()


def test_registered_domain_is_public_suffix_aware():
    assert registered_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert registered_domain("a.b.example.com") == "example.com"
    assert registered_domain("127.0.0.1") == "127.0.0.1"


def test_truncated_warc_keeps_records_before_the_break():
    noisy = random.Random(0).randbytes(4000).hex().encode()  # incompressible: the cut lands inside it
    data = _warc([("https://a.org/1", b"<p>one</p>" * 50), ("https://a.org/2", noisy)])
    c = StageCounters()
    events = list(iter_warc(io.BytesIO(data[: len(data) - 300]), "t.warc.gz", max_record_bytes=10**6, counters=c))
    kinds = [k for k, _ in events]
    assert kinds[0] == "kept" and events[0][1]["url"] == "https://a.org/1"
    assert "quarantine" in kinds
    assert c.kept == 1 and c.total_dropped == 1


def _members(records):
    """One gzip member per record, with each member's start offset."""
    parts = [_warc([r]) for r in records]
    starts = [sum(len(p) for p in parts[:i]) for i in range(len(parts))]
    return parts, starts


def _run(data, **kw):
    c = StageCounters()
    events = list(iter_warc(io.BytesIO(data) if isinstance(data, bytes) else data, "t.warc.gz",
                            max_record_bytes=10**6, counters=c, **kw))
    return [(k, r.get("url"), r.get("reason")) for k, r in events], c


def test_corrupt_member_in_the_middle_loses_only_that_record():
    recs = [(f"https://a.org/{i}", random.Random(i).randbytes(800).hex().encode()) for i in range(4)]
    parts, _ = _members(recs)
    bad = bytearray(parts[1])
    bad[len(bad) // 2: len(bad) // 2 + 64] = b"\x00" * 64  # smash the deflate stream of record 1
    events, c = _run(b"".join([parts[0], bytes(bad), parts[2], parts[3]]))
    assert [u for k, u, _ in events if k == "kept"] == ["https://a.org/0", "https://a.org/2", "https://a.org/3"]
    assert [r for k, _, r in events if k == "quarantine"] in (["corrupt_warc"], ["truncated_record"])
    assert c.input == 4 and c.kept == 3 and c.total_dropped == 1
    assert c.metrics["warc_resyncs"] >= 1


def _no_uri_warc(gz):
    """A response without WARC-Target-URI between two good ones (warcio raises while parsing it)."""
    good = _warc([("https://a.org/before", b"<p>before</p>")], gz)
    after = _warc([("https://a.org/after", b"<p>after</p>")], gz)
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    rec = w.create_warc_record("https://placeholder.org/", "response", payload=io.BytesIO(b"<p>x</p>"),
                               http_headers=http)
    rec.rec_headers.remove_header("WARC-Target-URI")
    w.write_record(rec)
    return good + buf.getvalue() + after


@pytest.mark.parametrize("gz", [True, False])
def test_record_without_target_uri_does_not_take_the_rest_of_the_file(gz):
    events, c = _run(_no_uri_warc(gz))
    assert events == [("kept", "https://a.org/before", None), ("quarantine", None, "missing_target_uri"),
                      ("kept", "https://a.org/after", None)]
    assert (c.input, c.kept, c.total_dropped) == (3, 2, 1)


def test_non_seekable_stream_quarantines_the_rest_as_one_row():
    class Pipe(io.RawIOBase):  # a stream that cannot seek (a pipe, a socket)
        def __init__(self, data):
            self._b = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            n = self._b.readinto(b)
            return n

    events, c = _run(io.BufferedReader(Pipe(_no_uri_warc(True))))
    assert events[0] == ("kept", "https://a.org/before", None)
    assert [r for k, _, r in events[1:]] == ["missing_target_uri"]
    assert (c.input, c.kept, c.total_dropped) == (2, 1, 1)


def test_oversized_record_is_quarantined_not_loaded():
    data = _warc([("https://a.org/big", b"x" * 5000), ("https://a.org/ok", b"y" * 10)])
    c = StageCounters()
    events = list(iter_warc(io.BytesIO(data), "t.warc.gz", max_record_bytes=1000, counters=c))
    assert [(k, r.get("reason")) for k, r in events] == [("quarantine", "record_too_large"), ("kept", None)]


def test_jsonl_bad_lines_are_quarantined_one_by_one():
    lines = b'{"text": "ok"}\n{"text": \n\xff\xfe\n[1, 2]\n{"title": "x"}\n{"id": "a", "text": "fine"}\n'
    c = StageCounters()
    events = list(iter_jsonl(io.BytesIO(lines), "x.jsonl", counters=c))
    assert [r["reason"] for k, r in events if k == "quarantine"] == [
        "invalid_json", "invalid_utf8", "not_an_object", "missing_text"]
    assert c.kept == 2 and [r["doc_id"] for k, r in events if k == "kept"][1] == "a"


def test_ingest_sample_corpus(settings, demo_corpus):
    planted = json.loads((demo_corpus / "planted.json").read_text())
    ref, km, qm = run_ingest(settings, str(demo_corpus / "warc"), "warc", "2026-01-01", engine="local")
    web = read_table(open_storage(settings.data_root), ref).to_pandas()
    assert set(planted_urls := {p["url"] for p in planted["web"]}) <= set(web["url"])
    assert len(web) == len(planted_urls) + 1  # + the intact record of the truncated file
    assert km["counters"]["dropped"] == {"truncated_record": 1}
    assert set(web["domain"]) >= {"general-news-portal.co.uk", "quantum-lecture-notes.org"}
    assert (web.loc[web.url.str.endswith("/missing"), "http_status"] == 404).all()
    q = read_table(open_storage(settings.data_root), ref.quarantine()).to_pandas()
    assert q["reason"].tolist() == ["truncated_record"] and q["source"].iloc[0].endswith("truncated.warc.gz")

    ref, km, qm = run_ingest(settings, str(demo_corpus / "pdf"), "pdf", "2026-01-01", engine="local")
    pdf = read_table(open_storage(settings.data_root), ref).to_pandas()
    reasons = read_table(open_storage(settings.data_root), ref.quarantine()).to_pandas()
    assert sorted(reasons["reason"]) == ["pdf_corrupt", "pdf_empty_file", "pdf_encrypted"]
    assert set(pdf["path"]) == {"paper_catalysis.pdf", "paper_quantum.pdf", "report_proteomics.pdf",
                                "scanned_notebook.pdf", "truncated_paper.pdf"}
    assert pdf.set_index("path").loc["paper_quantum.pdf", "page_count"] == 4
    assert pdf.set_index("path").loc["truncated_paper.pdf", "repaired"]
    assert km["inputs"]["source"].endswith("pdf")

    ref, km, qm = run_ingest(settings, str(demo_corpus / "jsonl"), "jsonl", "2026-01-01", engine="local")
    assert km["rows"] == 8 and qm["rows"] == 3


def test_missing_source_gives_an_empty_dataset(settings, tmp_path):
    ref, km, qm = run_ingest(settings, str(tmp_path / "nothing-here"), "warc", "2026-01-01", engine="local")
    assert km["rows"] == 0 and km["inputs"]["files"] == 0


def test_gzip_jsonl_truncated(settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    blob = gzip.compress(b"".join(b'{"text": "doc %d"}\n' % i for i in range(200)))
    (src / "a.jsonl.gz").write_bytes(blob[: len(blob) // 2])
    ref, km, qm = run_ingest(settings, str(src), "jsonl", "2026-01-01", engine="local")
    assert km["counters"]["dropped"] == {"corrupt_file": 1}


@pytest.mark.parametrize("kind", ["warc", "pdf", "jsonl"])
def test_rerun_is_byte_identical(settings, demo_corpus, kind):
    st = open_storage(settings.data_root)
    ref, _, _ = run_ingest(settings, str(demo_corpus / kind), kind, "2026-01-01", engine="local")
    first = {k: st.read_bytes(k) for k in st.list(ref.key)}
    ref2, _, _ = run_ingest(settings, str(demo_corpus / kind), kind, "2026-01-01", engine="local")
    assert ref2 == ref and {k: st.read_bytes(k) for k in st.list(ref.key)} == first


def test_html_named_pdf_is_not_a_pdf():
    from sciforge.pipelines.ingest.pdf import iter_pdf

    c = StageCounters()
    html = b"<!DOCTYPE html><html><body>Not a PDF</body></html>"
    events = list(iter_pdf(io.BytesIO(html), "page.pdf", size=len(html), max_pdf_bytes=1 << 20, counters=c))
    assert [(k, r["reason"]) for k, r in events] == [("quarantine", "not_a_pdf")]
    assert c.input == 1 and c.dropped == {"not_a_pdf": 1}
    late = b"\x00" * 500 + b"%PDF-1.4 junk"  # a header inside the first 1024 bytes is a PDF's (then corrupt)
    events = list(iter_pdf(io.BytesIO(late), "late.pdf", size=len(late), max_pdf_bytes=1 << 20, counters=c))
    assert events[0][1]["reason"] == "pdf_corrupt"


def test_jsonl_repeated_id_is_quarantined_not_merged():
    lines = b'{"id": "d", "text": "first"}\n{"id": "d", "text": "second"}\n{"id": "e", "text": "third"}\n'
    c = StageCounters()
    events = list(iter_jsonl(io.BytesIO(lines), "x.jsonl", counters=c))
    assert [(k, r.get("doc_id") or r["reason"]) for k, r in events] == [
        ("kept", "d"), ("quarantine", "duplicate_id"), ("kept", "e")]
    assert c.input == 3 and c.kept == 2 and c.dropped == {"duplicate_id": 1}
