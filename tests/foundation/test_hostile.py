"""The hostile corpus (fixtures/hostile_corpus.py) through ingest and the page stages' record functions,
in this process (no Spark, no Airflow): zero exceptions, every stage's counters balance, every case
accounted for (kept, or quarantined with a reason, or absent when the input holds no item) and each
case's outcome is the one it declares. The whole corpus_refresh DAG on it is the slow test in
tests/orchestration/test_bad_corpus.py."""

from __future__ import annotations

import codecs
from collections import Counter

import pytest

from sciforge.fixtures.bad_corpus import account_rows, problems, summary
from sciforge.fixtures.hostile_corpus import run_stages, write_hostile_corpus


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from sciforge.pipelines.config import load_settings

    root = tmp_path_factory.mktemp("hostile")
    cases = write_hostile_corpus(root / "landing")
    settings = load_settings(storage={"data_root": str(root / "data")})
    totals: dict[str, object] = {}
    rows = run_stages(root / "landing", settings, on_counters=totals.__setitem__)
    return cases, rows, totals


def test_corpus_is_large_and_covers_every_format(hostile):
    cases, _, _ = hostile
    assert len(cases) >= 100 and len({c.id for c in cases}) == len(cases)
    kinds = Counter(c.kind for c in cases)
    assert kinds["warc"] >= 40 and kinds["pdf"] >= 25 and kinds["jsonl"] >= 40, kinds
    assert Counter(c.expect for c in cases)["quarantine"] >= 40
    assert {c.kind for c in cases if c.expect == "kept"} == {"warc", "pdf", "jsonl"}  # good items mixed in


def test_every_case_has_its_declared_outcome(hostile):
    cases, rows, totals = hostile
    result = account_rows(rows, cases)
    assert problems(result) == [], problems(result)
    fates = summary(result)
    # "lost" here is only the inputs that hold no item (expect=absent): checked by problems() above
    assert fates.get("lost", 0) == sum(c.expect == "absent" for c in cases)
    assert fates["kept"] >= 60 and fates["quarantined"] >= 50, fates
    # every stage balanced (run_stages asserts it per file and per stage); the totals are non-trivial
    assert set(totals) == {"ingest_warc", "ingest_pdf", "ingest_jsonl", "web_filter", "pdf_parse", "text_pages"}
    for stage, c in totals.items():
        assert c.input == c.kept + c.total_dropped and c.input > 0, (stage, c.to_dict())


def test_http_codings_and_boms_give_the_page_itself(hostile):
    """Each coded body comes out as the HTML document (no chunk sizes, no compressed bytes), and says
    what was undone; BOM and UTF-16 pages reach the page stage's output."""
    cases, rows, _ = hostile
    by_url = {r["url"]: r for r in rows["raw_web"]}
    coded = {"chunked": "chunked", "chunked-ext": "chunked", "chunked-lf": "chunked", "chunked-1": "chunked",
             "gzip": "gzip", "x_gzip": "x-gzip", "deflate_zlib": "deflate", "deflate_raw": "deflate", "br": "br",
             "zstd": "zstd", "gzip-chunked": "chunked,gzip", "gzip-members": "gzip", "br-gzip": "gzip,br",
             "gzip-twice": "gzip,gzip", "te-gzip": "chunked,gzip", "gzip-not": "gzip:not_applied",
             "chunked-not": "chunked:not_applied", "chunked-cut": "chunked:truncated", "gzip-cut": "gzip:truncated"}
    for path, label in coded.items():
        r = by_url[f"https://hostile-physics-notes.org/{path}"]
        assert r["http_decoding"] == label, (path, r["http_decoding"])
        assert r["html"].startswith(b"<!DOCTYPE html>"), (path, r["html"][:40])
        assert len(r["html"]) == r["html_bytes"]
        if not label.endswith("truncated"):
            assert r["html"].rstrip().endswith(b"</html>"), path
            assert b"\r\n0\r\n" not in r["html"]
    plain = by_url["https://hostile-physics-notes.org/good-0"]
    assert plain["http_decoding"] == "" and plain["html"].startswith(b"<!DOCTYPE html>")
    for bom in ("bom_utf16le", "bom_utf16be", "bom_utf32le", "bom_utf32be", "bom_utf8"):
        assert by_url[f"https://hostile-physics-notes.org/{bom}"]["html"][:4] in (
            codecs.BOM_UTF8 + b"<", codecs.BOM_UTF16_LE + b"<\x00", codecs.BOM_UTF16_BE + b"\x00<",
            codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def test_quarantine_rows_name_the_exception_or_limit(hostile):
    _, rows, _ = hostile
    q = {r["url"]: r for r in rows["q_web"] if r["url"]}
    assert "ValueError" in q["http://[::1/broken"]["detail"]
    assert "16777216" in q["https://hostile-physics-notes.org/bomb_gzip"]["detail"]
    jq = Counter(r["reason"] for r in rows["q_text"])
    assert jq["json_too_deep"] >= 3 and jq["invalid_unicode"] == 4 and jq["json_number_too_large"] == 1, jq
