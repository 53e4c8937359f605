"""A hostile landing folder: what a crawl or a PDF archive can contain, case by case, with the outcome
each case must have; and an engine-free run of the ingest and page stages over it.

``write_hostile_corpus(DIR)`` writes, deterministically, over a hundred cases in the landing layout
(``DIR/warc``, ``DIR/pdf``, ``DIR/jsonl``) and ``DIR/bad_cases.json`` (the :class:`~pipelines.bad_corpus.Case`
list, so that :func:`pipelines.bad_corpus.account_day` follows them through a whole corpus_refresh run):

* WARC: HTTP transfer and content codings (chunked with extensions, trailers, bare LF; gzip, x-gzip,
  multi-member gzip, zlib and raw deflate, br, zstd, stacked codings, a coding declared but not applied),
  decompression bombs of every coding, unsupported codings, byte order marks (UTF-8/16/32), UTF-16 declared
  only in the header, legacy code pages, charsets that are not web encodings (utf-7, unicode_escape, idna),
  surrogate character references, NUL bytes, markup traps (deep nesting, unclosed tags and comments, huge
  attributes), odd statuses, URLs and header values, every WARC record type before a good response,
  files that are empty, random, or not WARC.
* PDF: page trees that declare more or fewer pages than they have or loop, missing roots, broken or missing
  cross-reference tables, truncations, junk before the header, encryption with and without a user password,
  recursive forms, a deflate bomb, odd boxes, broken ToUnicode maps, an over-long document.
* JSONL: deep nesting (10,000 levels; brackets inside strings that must not count), integers over the
  digit limit, lone surrogates in text / metadata / id, bad UTF-8 (overlong, encoded surrogates), BOMs,
  UTF-16 files, NaN and duplicate keys, non-object lines, a line over the line cap, a gzip bomb, corrupt and
  non-gzip ``.gz`` files.

:func:`run_stages` runs ingest (:func:`pipelines.ingest.core.ingest_file_to_tables`) and the page stages'
record functions (web :func:`~pipelines.web.pages.score_record`, PDF :class:`~pipelines.pdf.parse.PageParser`,
:func:`~pipelines.text_pages.text_to_pages`) over the folder in this process, checks that every stage's
counters balance, and returns the rows :func:`pipelines.bad_corpus.account_rows` reads (dedup and the
corpus stage pass everything through here: their own decisions are covered by the DAG run).
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipelines.bad_corpus import CASES_FILE, FIXED_DATE, Case, _encrypted_pdf
from pipelines.demo_data import _paragraphs as demo_paragraphs
from pipelines.demo_data import raw_pdf

SEED = 20250816  # the project seed + 1: a corpus of its own, not a copy of bad_corpus's pages
GOOD_DOMAIN = "hostile-physics-notes.org"
# Decompressed size of every bomb: 4x the ingest caps (max_record_bytes = 16 MiB decoded per WARC
# body and per JSONL line), while its compressed form stays a few hundred KiB.
BOMB_BYTES = 64 << 20
DEEP_JSON = 10_000  # issue #22: "a JSONL line nesting JSON 10,000 deep"
BIG_INT_DIGITS = 5_000  # over CPython's default int_max_str_digits (4300)
LONG_LINE_BYTES = (16 << 20) + 1024  # over ingest.max_record_bytes (the JSONL line cap)
MANY_PAGES = 5_001  # over pdf.max_pages_per_doc = 5000


def _prose(rng: random.Random, field: str = "physics", n: int = 3) -> list[str]:
    return demo_paragraphs(rng, field, n, 4)


def _page(title: str, paragraphs: Iterable[str], head: str = "", lang: str = "en") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="{lang}"><head>{head}<title>{title}</title></head><body><main><article>'
            f"<h1>{title}</h1>\n{body}\n</article></main></body></html>")


# --------------------------------------------------------------------------------------------- WARC

def _chunked(body: bytes, size: int = 97, ext: bytes = b"", eol: bytes = b"\r\n", trailer: bytes = b"") -> bytes:
    out = bytearray()
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x" % len(part) + ext + eol + part + eol
    return bytes(out) + b"0" + eol + trailer + eol


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def _br(data: bytes) -> bytes:
    import brotli

    return bytes(brotli.compress(data, quality=5))


def _zstd(data: bytes) -> bytes:
    import zstandard

    return bytes(zstandard.ZstdCompressor(level=3).compress(data))


def _gz(data: bytes, level: int = 6) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


def _response(url: str, http_head: bytes, body: bytes, rid: str) -> bytes:
    """One WARC response record, written by hand (warcio refuses to write malformed HTTP messages)."""
    payload = http_head + b"\r\n\r\n" + body
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:" + rid.encode() + b">\r\n"
            b"WARC-Date: " + FIXED_DATE.encode() + b"\r\nWARC-Target-URI: " + url.encode("utf-8", "surrogatepass")
            + b"\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: %d\r\n\r\n" % len(payload)
            + payload + b"\r\n\r\n")


def _record(rtype: str, url: str, block: bytes, rid: str, ctype: str = "application/octet-stream") -> bytes:
    target = b"WARC-Target-URI: " + url.encode() + b"\r\n" if url else b""
    return (b"WARC/1.0\r\nWARC-Type: " + rtype.encode() + b"\r\nWARC-Record-ID: <urn:uuid:" + rid.encode()
            + b">\r\nWARC-Date: " + FIXED_DATE.encode() + b"\r\n" + target + b"Content-Type: " + ctype.encode()
            + b"\r\nContent-Length: %d\r\n\r\n" % len(block) + block + b"\r\n\r\n")


def _http(status: str = "200 OK", ctype: str | None = "text/html; charset=utf-8", *extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    lines += list(extra)
    return "\r\n".join(lines).encode("latin-1")


class _Warc:
    """Collects the records of one WARC file (one gzip member each) and their cases."""

    def __init__(self, out: Path, name: str, file_no: int) -> None:
        self.out, self.name, self.file_no = out, name, file_no
        self.members: list[bytes] = []
        self.cases: list[Case] = []

    def rid(self) -> str:
        return f"0badc0de-0000-4000-8000-{self.file_no:04d}{len(self.members) + 1:08d}"

    def add(self, case_id: str, url: str, head: bytes, body: bytes, what: str, expect: str = "kept",
            reasons: Iterable[str] = ()) -> None:
        self.members.append(_gz(_response(url, head, body, self.rid())))
        self.cases.append(Case(f"hostile-web/{case_id}", "warc", self.name, what, expect, list(reasons), url=url))

    def raw(self, record: bytes) -> None:
        self.members.append(_gz(record))

    def write(self) -> list[Case]:
        (self.out / self.name).write_bytes(b"".join(self.members))
        return self.cases


def _web(out: Path, rng: random.Random) -> list[Case]:
    site = f"https://{GOOD_DOMAIN}"
    n = [0]

    def page(title: str, head: str = "") -> str:
        n[0] += 1
        return _page(f"{title} (note {n[0]})", _prose(rng, "physics", 3), head)

    w = _Warc(out, "hostile-web-01.warc.gz", 1)
    add = w.add
    for i in range(4):
        add(f"good_{i}", f"{site}/good-{i}", _http(), page("Lecture on quantum optics").encode(), "a plain good page")
    # -- transfer coding
    add("chunked", f"{site}/chunked", _http("200 OK", "text/html; charset=utf-8", "Transfer-Encoding: chunked"),
        _chunked(page("Chunked transfer").encode()), "chunked transfer coding")
    add("chunked_ext_trailer", f"{site}/chunked-ext",
        _http("200 OK", "text/html; charset=utf-8", "Transfer-Encoding: chunked"),
        _chunked(page("Chunk extensions").encode(), 50, b";name=value", trailer=b"X-Trailer: yes\r\n"),
        "chunk extensions and a trailer")
    add("chunked_lf", f"{site}/chunked-lf", _http("200 OK", "text/html; charset=utf-8", "Transfer-Encoding: chunked"),
        _chunked(page("Bare LF chunks").encode(), 211, eol=b"\n"), "chunks delimited by bare LF")
    add("chunked_one_byte", f"{site}/chunked-1", _http("200 OK", "text/html; charset=utf-8",
                                                       "Transfer-Encoding: chunked"),
        _chunked(page("One byte chunks").encode(), 1), "one-byte chunks")
    add("chunked_not_applied", f"{site}/chunked-not", _http("200 OK", "text/html; charset=utf-8",
                                                            "Transfer-Encoding: chunked"),
        page("Dechunked by the crawler").encode(), "declared chunked, stored de-chunked")
    cut = _chunked(page("Cut inside a chunk").encode(), 400)
    add("chunked_truncated", f"{site}/chunked-cut", _http("200 OK", "text/html; charset=utf-8",
                                                          "Transfer-Encoding: chunked"),
        cut[: len(cut) * 2 // 3], "a chunked body cut inside a chunk (the record itself is whole): the chunks before the cut")
    add("chunked_bad_size", f"{site}/chunked-bad", _http("200 OK", "text/html; charset=utf-8",
                                                         "Transfer-Encoding: chunked"),
        b"zz\r\n" + page("Bad chunk size").encode(), "a first chunk size that is not hex: kept as stored")
    add("chunked_huge_size", f"{site}/chunked-huge", _http("200 OK", "text/html; charset=utf-8",
                                                           "Transfer-Encoding: chunked"),
        b"ffffffffffffffff\r\n" + page("Chunk size 2^64").encode(), "a chunk size of 2^64 - 1 (runs past the body)")
    # -- content codings
    ct = "text/html; charset=utf-8"
    for cid, coding, fn in (("gzip", "gzip", _gz), ("x_gzip", "x-gzip", _gz), ("deflate_zlib", "deflate", zlib.compress),
                            ("deflate_raw", "deflate", _raw_deflate), ("br", "br", _br), ("zstd", "zstd", _zstd)):
        add(cid, f"{site}/{cid}", _http("200 OK", ct, f"Content-Encoding: {coding}"),
            fn(page(f"Encoded {coding}").encode()), f"Content-Encoding: {coding}")
    add("gzip_chunked", f"{site}/gzip-chunked", _http("200 OK", ct, "Content-Encoding: gzip", "Transfer-Encoding: chunked"),
        _chunked(_gz(page("Gzip then chunked").encode()), 333), "gzip content coding inside chunked transfer")
    mm = page("Multi member").encode()
    add("gzip_multi_member", f"{site}/gzip-members", _http("200 OK", ct, "Content-Encoding: gzip"),
        _gz(mm[:200]) + _gz(mm[200:]), "a body of two gzip members (RFC 1952 section 2.2)")
    add("br_over_gzip", f"{site}/br-gzip", _http("200 OK", ct, "Content-Encoding: br, gzip"),
        _gz(_br(page("Stacked codings").encode())), "Content-Encoding: br, gzip (stacked)")
    add("gzip_twice_headers", f"{site}/gzip-twice", _http("200 OK", ct, "Content-Encoding: gzip", "Content-Encoding: gzip"),
        _gz(_gz(page("Two headers").encode())), "two Content-Encoding headers, gzip applied twice")
    add("gzip_transfer_coding", f"{site}/te-gzip", _http("200 OK", ct, "Transfer-Encoding: gzip, chunked"),
        _chunked(_gz(page("Gzip transfer coding").encode())), "Transfer-Encoding: gzip, chunked")
    add("gzip_not_applied", f"{site}/gzip-not", _http("200 OK", ct, "Content-Encoding: gzip"),
        page("Decoded by the crawler").encode(), "declared gzip, stored decoded")
    add("identity", f"{site}/identity", _http("200 OK", ct, "Content-Encoding: identity"),
        page("Identity coding").encode(), "Content-Encoding: identity")
    n[0] += 1
    g = _gz(_page(f"Truncated gzip (note {n[0]})", _prose(rng, "physics", 8)).encode())
    add("gzip_truncated", f"{site}/gzip-cut", _http("200 OK", ct, "Content-Encoding: gzip"), g[: len(g) * 2 // 3],
        "a gzip body cut at two thirds (crawler truncation): the text before the cut")
    add("gzip_garbage", f"{site}/gzip-garbage", _http("200 OK", ct, "Content-Encoding: gzip"),
        b"\x1f\x8b\x08\x00" + rng.randbytes(2000), "gzip magic then garbage", "quarantine", ["binary_payload"])
    bomb = b"\x00" * BOMB_BYTES
    for cid, coding, data in (("bomb_gzip", "gzip", _gz(bomb, 9)), ("bomb_deflate", "deflate", zlib.compress(bomb, 9)),
                              ("bomb_br", "br", _br(bomb)), ("bomb_zstd", "zstd", _zstd(bomb))):
        add(cid, f"{site}/{cid}", _http("200 OK", ct, f"Content-Encoding: {coding}"), data,
            f"a {coding} decompression bomb ({BOMB_BYTES >> 20} MiB of zeros)", "quarantine", ["decoded_too_large"])
    add("bomb_nested_gzip", f"{site}/bomb-nested", _http("200 OK", ct, "Content-Encoding: gzip, gzip"),
        _gz(_gz(bomb, 9), 9), "a gzip bomb inside gzip", "quarantine", ["decoded_too_large"])
    add("bomb_chunked_gzip", f"{site}/bomb-chunked", _http("200 OK", ct, "Content-Encoding: gzip",
                                                           "Transfer-Encoding: chunked"),
        _chunked(_gz(bomb, 9), 4096), "a gzip bomb inside chunked transfer", "quarantine", ["decoded_too_large"])
    add("coding_compress", f"{site}/compress", _http("200 OK", ct, "Content-Encoding: compress"), b"\x1f\x9d\x90<h",
        "Content-Encoding: compress (LZW, unsupported)", "quarantine", ["unsupported_content_encoding"])
    add("coding_unknown", f"{site}/x-coding", _http("200 OK", ct, "Content-Encoding: x-snappy-framed"), b"\xff\x06",
        "an unknown content coding", "quarantine", ["unsupported_content_encoding"])
    # -- charsets and byte order marks
    for cid, bom, enc in (("bom_utf8", codecs.BOM_UTF8, "utf-8"), ("bom_utf16le", codecs.BOM_UTF16_LE, "utf-16-le"),
                          ("bom_utf16be", codecs.BOM_UTF16_BE, "utf-16-be"),
                          ("bom_utf32le", codecs.BOM_UTF32_LE, "utf-32-le"),
                          ("bom_utf32be", codecs.BOM_UTF32_BE, "utf-32-be")):
        add(cid, f"{site}/{cid}", _http("200 OK", "text/html"), bom + page(f"Byte order mark {enc}").encode(enc),
            f"{enc} with its byte order mark")
    add("bom_vs_header", f"{site}/bom-header", _http("200 OK", "text/html; charset=iso-8859-1"),
        codecs.BOM_UTF16_LE + page("BOM beats header").encode("utf-16-le"),
        "UTF-16 BOM while the header says ISO-8859-1 (the BOM wins)")
    add("utf16_header_only", f"{site}/utf16-header", _http("200 OK", "text/html; charset=utf-16le"),
        page("UTF-16 by header").encode("utf-16-le"), "UTF-16LE declared in Content-Type, no BOM")
    add("utf16_bom_odd", f"{site}/utf16-odd", _http("200 OK", "text/html"),
        codecs.BOM_UTF16_LE + page("Odd length").encode("utf-16-le") + b"\x00\xd8\x41",
        "UTF-16 with a BOM, an unpaired surrogate and an odd byte count", "either")
    for cid, enc, label in (("cp1252", "cp1252", "windows-1252"), ("mac_roman", "mac_roman", "x-mac-roman"),
                            ("latin9", "iso8859_15", "iso-8859-15")):
        html = _page(f"Legacy \u201c{label}\u201d page \u2013 {n[0]}", _prose(rng, "physics", 3)).replace(
            "Legacy", "Legacy caf\u00e9")
        n[0] += 1
        add(f"legacy_{cid}", f"{site}/{cid}", _http("200 OK", f"text/html; charset={label}"),
            html.encode(enc, "replace"), f"an English page in {label}")
    ru = _page("Квантовая механика", ["Уравнение Шрёдингера описывает эволюцию квантового состояния системы во "
                                      "времени и является основным уравнением нерелятивистской квантовой механики."] * 5,
               lang="ru")
    for cid, enc in (("cp1251", "cp1251"), ("koi8_r", "koi8-r")):
        add(f"russian_{cid}", f"{site}/ru-{cid}", _http("200 OK", f"text/html; charset={enc}"), ru.encode(enc),
            f"a Russian page in {enc} (decoded, then not a kept language)", "quarantine",
            ["language_not_kept", "language_low_confidence"])
    ja = _page("量子力学", ["シュレーディンガー方程式は量子系の状態の時間発展を記述する基本方程式である。"] * 8, lang="ja")
    add("shift_jis", f"{site}/ja", _http("200 OK", "text/html; charset=x-sjis"), ja.encode("cp932"),
        "a Japanese page labelled x-sjis (a WHATWG label Python does not know)", "quarantine",
        ["language_not_kept", "language_low_confidence"])
    for cid, label in (("utf7", "utf-7"), ("unicode_escape", "unicode_escape"), ("idna", "idna"), ("rot13", "rot13")):
        body = page(f"Declares {label}", f'<meta charset="{label}">').replace("<p>", "<p>+2AA- \\ud800 ", 1)
        add(f"charset_{cid}", f"{site}/charset-{cid}", _http("200 OK", f"text/html; charset={label}"), body.encode(),
            f"charset={label}: a Python codec that is not a web encoding (refused; the page is detected as UTF-8)")
    add("charset_unknown", f"{site}/charset-x", _http("200 OK", "text/html; charset=x-klingon"),
        page("Unknown charset").encode(), "an unknown charset label")
    add("surrogate_refs", f"{site}/surrogate-refs", _http(),
        page("Surrogate references").replace("<p>", "<p>&#xD800; &#55296; &#x110000; ", 1).encode(),
        "character references to lone surrogates and past U+10FFFF")
    add("invalid_utf8_mix", f"{site}/mixed-bytes", _http(),
        page("Mixed bytes").replace("<p>", "<p>\u00e9", 1).encode().replace(b"\xc3\xa9", b"\xe9\xed\xa0\x80", 1),
        "Latin-1 bytes and an encoded surrogate in a UTF-8 page", "either")
    add("nul_bytes", f"{site}/nul", _http(), page("NUL bytes").replace("<p>", "<p>\x00\x00", 1).encode(),
        "NUL bytes inside a UTF-8 page", "quarantine", ["binary_payload"])
    add("bom_utf8_nul", f"{site}/bom-nul", _http(), codecs.BOM_UTF8 + page("BOM then NUL").replace(
        "<p>", "<p>\x00\x00\x00", 1).encode(), "a UTF-8 BOM does not excuse NUL bytes", "quarantine",
        ["binary_payload"])
    # -- markup traps
    deep = "<div>" * 40_000 + "".join(f"<p>{p}</p>" for p in _prose(rng)) + "</div>" * 40_000
    add("deep_nesting", f"{site}/deep", _http(), f"<html><body>{deep}</body></html>".encode(),
        "40,000 nested <div> (resiliparse is quadratic in depth)", "quarantine", ["html_too_deep"])
    deep = "<div>" * 1000 + "".join(f"<p>{p}</p>" for p in _prose(rng)) + "</div>" * 1000
    add("nesting_1000", f"{site}/deep-1000", _http(), f"<html><body>{deep}</body></html>".encode(),
        "1,000 nested <div> (deep, under the limit)")
    add("unclosed_tags", f"{site}/unclosed", _http(), ("<html><body>" + "<b><i><span>" * 30_000
                                                       + " ".join(_prose(rng))).encode(),
        "90,000 unclosed inline tags (they nest)", "quarantine", ["html_too_deep"])
    add("unclosed_comment", f"{site}/comment", _http(), ("<html><body><!-- " + " ".join(_prose(rng))).encode(),
        "a comment that never closes", "quarantine")
    add("huge_attribute", f"{site}/attr", _http(),
        page("Huge attribute").replace("<article>", '<article data-x="' + "a" * 500_000 + '">').encode(),
        "a 500 kB attribute value")
    add("script_only", f"{site}/script", _http(), b"<html><body><script>" + b"var a = 1;" * 20_000
        + b"</script></body></html>", "a page that is all script", "quarantine")
    add("long_line", f"{site}/long-line", _http("200 OK", "text/plain"), ("word " * 400_000).encode(),
        "a 2 MB single line of text/plain", "quarantine", ["html_too_large"])
    # -- statuses, types, headers, URLs
    add("status_206", f"{site}/partial", _http("206 Partial Content"), page("Partial").encode(),
        "206 Partial Content", "quarantine", ["http_status"])
    add("status_garbage", f"{site}/status-x", b"HTTP/1.1 abc Weird\r\nContent-Type: text/html", page("Weird").encode(),
        "a non-numeric status code", "quarantine", ["http_status"])
    add("http2_status", f"{site}/http2", b"HTTP/2 200\r\nContent-Type: text/html; charset=utf-8",
        page("HTTP/2 status line").encode(), "an HTTP/2 status line", "either")
    add("content_length_lies", f"{site}/cl-lies", _http("200 OK", ct, "Content-Length: 999999999"),
        page("Lying Content-Length").encode(), "an HTTP Content-Length far over the body")
    add("latin1_header", f"{site}/latin1-header", _http("200 OK", ct, "X-Caf\u00e9: cr\u00e8me br\u00fbl\u00e9e"),
        page("Latin-1 header value").encode(), "a header value in Latin-1")
    add("huge_header", f"{site}/cookie", _http("200 OK", ct, "Set-Cookie: a=" + "b" * 100_000),
        page("Huge header").encode(), "a 100 kB Set-Cookie header")
    add("pdf_content_type", f"{site}/paper.pdf", _http("200 OK", "application/pdf"), b"%PDF-1.4\n%%EOF\n",
        "a PDF response", "quarantine", ["not_html"])
    add("bad_ipv6_url", "http://[::1/broken", _http(), page("Broken IPv6 URL").encode(),
        "a target URI that urlsplit rejects", "quarantine", ["record_error"])
    add("idn_url", "https://xn--bcher-kva.example/b\u00fccher", _http(), page("IDN").encode(),
        "an IDN host and a non-ASCII path", "either")
    add("long_url", f"{site}/" + "a" * 60_000, _http(), page("Long URL").encode(), "a 60 kB URL", "either")
    w.raw(_record("response", "dns:hostile-physics-notes.org", b"20260101 hostile-physics-notes.org A 192.0.2.7\n",
                  w.rid(), "text/dns"))
    w.cases.append(Case("hostile-web/dns_response", "warc", w.name, "a DNS response record (not HTTP)",
                        "quarantine", ["not_http_response"], url="dns:hostile-physics-notes.org"))
    cases = w.write()

    # Every WARC record type (and an unknown one) before a good response: none may break the file.
    w2 = _Warc(out, "hostile-web-02-record-types.warc.gz", 2)
    for rtype in ("warcinfo", "request", "metadata", "revisit", "resource", "conversion", "continuation",
                  "x-bogus-type"):
        w2.raw(_record(rtype, f"{site}/{rtype}-target" if rtype != "warcinfo" else "", b"format: WARC\r\n" * 3,
                       w2.rid()))
        w2.add(f"after_{rtype.replace('-', '_')}", f"{site}/after-{rtype}", _http(),
               page(f"After a {rtype} record").encode(), f"a good response after a {rtype} record")
    cases += w2.write()

    # Uncompressed WARC, with a record whose Content-Length runs past the end of the file.
    plain = [_response(f"{site}/plain-{i}", _http(), page("Uncompressed WARC").encode(),
                       f"0badc0de-0000-4000-8000-0003{i:08d}") for i in range(2)]
    cut = _response(f"{site}/plain-cut", _http(), page("Cut record").encode(), "0badc0de-0000-4000-8000-000300000099")
    (out / "hostile-web-03-plain.warc").write_bytes(b"".join(plain) + cut[: len(cut) - 500])
    for i in range(2):
        cases.append(Case(f"hostile-web/plain_{i}", "warc", "hostile-web-03-plain.warc",
                          "a record of an uncompressed WARC", "kept", url=f"{site}/plain-{i}"))
    cases.append(Case("hostile-web/plain_cut", "warc", "hostile-web-03-plain.warc",
                      "a record whose Content-Length runs past the end of the file", "quarantine",
                      ["truncated_record", "corrupt_warc"], url=f"{site}/plain-cut"))
    # WARC Content-Length values that lie: past the end of the file (the records it swallowed are found
    # again), negative, not a number.
    name = "hostile-web-08-content-length.warc"
    recs = []
    for i, cl in enumerate((b"99999999999", b"-5", b"abc")):
        bad = _response(f"{site}/cl-{i}", _http(), page("Lying WARC length").encode(), f"0badc0de-0000-4000-8000-0008{i:08d}")
        at = bad.index(b"\r\n\r\nHTTP/")
        bad = bad[:bad.rindex(b"Content-Length: ", 0, at)] + b"Content-Length: " + cl + bad[at:]
        after = _response(f"{site}/after-cl-{i}", _http(), page("After a lying length").encode(),
                          f"0badc0de-0000-4000-8000-0008{i + 10:08d}")
        recs += [bad, after]
        cases.append(Case(f"hostile-web/warc_length_{i}", "warc", name, f"WARC Content-Length: {cl.decode()}",
                          "quarantine", ["truncated_record", "not_http_response", "corrupt_warc"], url=f"{site}/cl-{i}"))
        cases.append(Case(f"hostile-web/after_warc_length_{i}", "warc", name, "the record after it", "kept",
                          url=f"{site}/after-cl-{i}"))
    (out / name).write_bytes(b"".join(recs))
    # Files that hold no record, or nothing WARC at all.
    (out / "hostile-web-04-empty.warc.gz").write_bytes(b"")
    cases.append(Case("hostile-web/empty_file", "warc", "hostile-web-04-empty.warc.gz", "a zero-byte .warc.gz",
                      "absent"))
    (out / "hostile-web-05-gzip-text.warc.gz").write_bytes(_gz(b"this is a gzip file of plain text\n" * 50))
    cases.append(Case("hostile-web/gzip_not_warc", "warc", "hostile-web-05-gzip-text.warc.gz",
                      "a valid gzip file that holds no WARC", "quarantine", ["corrupt_warc"]))
    (out / "hostile-web-06-html.warc").write_bytes(b"<!DOCTYPE html><html><body>not a WARC</body></html>\n")
    cases.append(Case("hostile-web/html_not_warc", "warc", "hostile-web-06-html.warc", "HTML named .warc",
                      "quarantine", ["corrupt_warc"]))
    (out / "hostile-web-07-bad-version.warc").write_bytes(
        _response(f"{site}/v9", _http(), page("WARC/9").encode(), "0badc0de-0000-4000-8000-000700000001")
        .replace(b"WARC/1.0", b"WARC/9.9", 1))
    cases.append(Case("hostile-web/warc_version_9", "warc", "hostile-web-07-bad-version.warc",
                      "a record claiming WARC/9.9", "quarantine", ["corrupt_warc"]))
    return cases


# ---------------------------------------------------------------------------------------------- PDF

_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _stream(content: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def _text_stream(lines: list[str]) -> bytes:
    ops = [b"BT /F1 10 Tf 50 780 Td 12 TL"]
    for line in lines:
        esc = line.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        ops.append(b"(" + esc + b") '")
    ops.append(b"ET")
    return _stream(b"\n".join(ops))


def _lines(rng: random.Random, field: str = "chemistry") -> list[str]:
    words = " ".join(_prose(rng, field, 3)).split()
    out, cur = [], ""
    for w in words:
        if len(cur) + len(w) > 90:
            out.append(cur)
            cur = ""
        cur = f"{cur} {w}".strip()
    return out + [cur]


def _pdf_pages(kids: int, count: int | None, rng: random.Random, pages_extra: bytes = b"",
               catalog_extra: bytes = b"", trailer: bytes = b"") -> bytes:
    """A hand-written PDF whose page tree lists ``kids`` pages and declares ``count`` (default: kids)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
            b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(kids))
            + b"] /Count %d " % (kids if count is None else count) + pages_extra + b">>", _FONT]
    for i in range(kids):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                    b"/Contents %d 0 R >>" % (5 + 2 * i))
        objs.append(_text_stream(_lines(rng)))
    return raw_pdf(objs, trailer)


def _pymupdf_pdf(rng: random.Random, pages: int = 1, **save: Any) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    for _ in range(pages):
        p = doc.new_page(width=595, height=842)
        p.insert_textbox(pymupdf.Rect(60, 60, 535, 800), "\n\n".join(_prose(rng, "materials_science", 3)),
                         fontsize=10)
    doc.set_metadata({"producer": "sciforge hostile-corpus", "creationDate": "D:20260101000000Z",
                      "modDate": "D:20260101000000Z", "title": "hostile"})
    buf = io.BytesIO()
    doc.save(buf, garbage=3, deflate=True, no_new_id=True, **save)
    return buf.getvalue()


def _pdf(out: Path, rng: random.Random) -> list[Case]:

    cases: list[Case] = []

    def add(name: str, data: bytes, what: str, expect: str = "either", reasons: Iterable[str] = ()) -> None:
        (out / f"{name}.pdf").write_bytes(data)
        cases.append(Case(f"hostile-pdf/{name}", "pdf", f"{name}.pdf", what, expect, list(reasons)))

    add("good", _pdf_pages(2, None, rng), "a good two-page paper", "kept")
    add("good_pymupdf", _pymupdf_pdf(rng, 2), "a good paper written by MuPDF", "kept")
    add("count_over_huge", _pdf_pages(2, 1_000_000, rng), "a page tree declaring 1,000,000 pages, holding 2",
        "quarantine", ["pdf_corrupt"])
    add("count_over_small", _pdf_pages(2, 5, rng), "a page tree declaring 5 pages, holding 2", "kept")
    add("count_under", _pdf_pages(3, 1, rng), "a page tree declaring 1 page, holding 3", "kept")
    add("count_negative", _pdf_pages(2, -3, rng), "a page tree declaring -3 pages")
    add("kids_loop", raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                              b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                              b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"]),
        "a page tree whose Kids point back at themselves")
    add("kids_missing_object", _pdf_pages(1, 2, rng, pages_extra=b"").replace(b"/Kids [4 0 R]", b"/Kids [4 0 R 99 0 R]"),
        "a Kids entry pointing at an object that does not exist", "kept")
    add("kids_not_array", raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids 42 /Count 1 >>"]),
        "Kids is a number")
    add("no_root", raw_pdf([b"<< /Type /Pages /Kids [] /Count 0 >>"]).replace(b"/Root 1 0 R", b""),
        "a trailer without /Root", "quarantine", ["pdf_corrupt", "pdf_no_pages"])

    def fresh() -> tuple[bytes, int]:  # a paper of its own for each damaged copy (dedup must not merge them)
        data = _pdf_pages(2, None, rng)
        return data, data.rfind(b"xref")

    good, x = fresh()
    add("no_xref", good[:x] + b"%%EOF\n", "no cross-reference table and no trailer (MuPDF rebuilds)", "kept")
    good, x = fresh()
    add("startxref_past_eof", good.replace(b"startxref\n%d" % x, b"startxref\n99999999"),
        "startxref pointing past the end of the file", "kept")
    good, x = fresh()
    add("xref_garbage", good[:x] + b"xref\n0 7\n" + rng.randbytes(200) + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
        "an xref table of random bytes", "kept")
    good, x = fresh()
    add("truncated_half", good[: len(good) // 2], "the second half of the file missing")
    add("truncated_header_only", b"%PDF-1.7\n", "nothing but the header", "quarantine", ["pdf_corrupt", "pdf_no_pages"])
    good, x = fresh()
    add("junk_before_header", b"\x00JUNK" * 100 + good, "500 bytes of junk before %PDF- (inside the 1 KiB window)", "kept")
    add("header_too_late", b"X" * 2000 + good, "%PDF- after the first 1 KiB", "quarantine", ["not_a_pdf"])
    add("encrypted_owner_only", _rc4_owner_only_pdf(_lines(rng)),
        "RC4 (standard security handler R2) with an owner password only: opens without a password", "kept")
    add("encrypted_user_pw", _encrypted_pdf(), "RC4 with a user password", "quarantine", ["pdf_encrypted"])
    form = b"<< /Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /XObject << /X0 6 0 R >> >> /Length 8 >>\nstream\nq /X0 Do Q\nendstream"
    add("recursive_form", raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", _FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> "
        b"/XObject << /X0 6 0 R >> >> /Contents 5 0 R >>", _text_stream(_lines(rng) + ["/X0 Do"]), form]),
        "a form XObject that draws itself", "kept")
    bomb = zlib.compress(b"\x00" * (64 << 20), 9)
    draw = _text_stream(_lines(rng)).split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0]
    add("image_bomb", raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", _FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> "
        b"/XObject << /Im0 6 0 R >> >> /Contents 5 0 R >>",
        _stream(draw + b"\nq 100 0 0 100 0 0 cm /Im0 Do Q"),
        b"<< /Type /XObject /Subtype /Image /Width 8192 /Height 8192 /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Filter /FlateDecode /Length %d >>\nstream\n" % len(bomb) + bomb + b"\nendstream"]),
        "an image stream that inflates to 64 MiB", "kept")
    add("zero_mediabox", _pdf_pages(1, None, rng).replace(b"/MediaBox [0 0 595 842]", b"/MediaBox [0 0 0 0]"),
        "a zero-size MediaBox", "kept")
    add("inverted_mediabox", _pdf_pages(1, None, rng).replace(b"/MediaBox [0 0 595 842]", b"/MediaBox [595 842 0 0]"),
        "an inverted MediaBox", "kept")
    add("rotate_odd", _pdf_pages(1, None, rng).replace(b"/MediaBox", b"/Rotate 45 /MediaBox"), "/Rotate 45", "kept")
    add("deep_graphics_state", raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", _FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 5 0 R >>",
        _stream(b"q " * 200_000 + b"Q " * 200_000)]), "200,000 nested graphics-state saves")
    add("nan_operands", raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", _FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 5 0 R >>",
        _text_stream(_lines(rng)).replace(b"50 780 Td", b"1e308 -1e308 Td 99999999999999999999 0 0 1 0 0 Tm")]),
        "operands of 1e308 and 20 digits")
    cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def 1 begincodespacerange "
            b"<00> <FF> endcodespacerange 2 beginbfchar <61> <D800> <65> <DFFF> endbfchar endcmap "
            b"CMapName currentdict /CMap defineresource pop end end")
    add("tounicode_surrogates", raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 5 0 R >>", _text_stream(_lines(rng)),
        _stream(cmap)]),
        "a ToUnicode map sending letters to lone surrogates")
    add("control_chars_text", _pdf_pages(1, None, rng).replace(b"(", b"(\x00\x07\x1b", 3),
        "NUL and control bytes in text strings", "kept")
    good, x = fresh()
    add("incremental_broken", good + b"\n5 0 obj\n<< /Length 999 >>\nstream\nBT ET\nendstream\nendobj\nxref\n0 1\n"
        b"garbage\ntrailer\n<< /Size 7 /Root 1 0 R /Prev 999999 >>\nstartxref\n%d\n%%%%EOF\n" % (len(good) + 60),
        "an incremental update whose xref section is broken", "kept")
    add("many_pages", _many_pages(MANY_PAGES), f"{MANY_PAGES:,} pages (over max_pages_per_doc)", "quarantine",
        ["pdf_too_many_pages"])
    add("empty_page_tree", raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]),
        "zero pages", "quarantine", ["pdf_no_pages", "pdf_corrupt"])
    add("gzip_named_pdf", _gz(good), "a gzip file named .pdf", "quarantine", ["not_a_pdf"])
    return cases


_PDF_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    box = list(range(256))
    j = 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) % 256
        box[i], box[j] = box[j], box[i]
    out = bytearray()
    i = j = 0
    for b in data:
        i = (i + 1) % 256
        j = (j + box[i]) % 256
        box[i], box[j] = box[j], box[i]
        out.append(b ^ box[(box[i] + box[j]) % 256])
    return bytes(out)


def _rc4_owner_only_pdf(lines: list[str]) -> bytes:
    """A one-page PDF encrypted with the standard security handler, revision 2 (ISO 32000-1 section 7.6.3,
    algorithms 1-4), owner password "owner", empty user password: byte-stable, unlike MuPDF's writer,
    which draws a random file ID when it encrypts."""
    import hashlib

    file_id = b"\x5a" * 16
    perms = -64  # print / copy / modify all refused: only the owner may change the file
    owner = _rc4(hashlib.md5(b"owner" + _PDF_PAD[:-5]).digest()[:5], _PDF_PAD)
    key = hashlib.md5(_PDF_PAD + owner + perms.to_bytes(4, "little", signed=True) + file_id).digest()[:5]
    user = _rc4(key, _PDF_PAD)
    content = _text_stream(lines).split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0]
    obj_key = hashlib.md5(key + (5).to_bytes(3, "little") + (0).to_bytes(2, "little")).digest()[:10]
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", _FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 5 0 R >>", _stream(_rc4(obj_key, content)),
        b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P %d /O <%s> /U <%s> >>" % (perms, owner.hex().encode(),
                                                                                  user.hex().encode()),
    ], b"/Encrypt 6 0 R /ID [<" + file_id.hex().encode() + b"><" + file_id.hex().encode() + b">] ")


def _many_pages(n: int) -> bytes:
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 3 0 R >>"
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + i) for i in range(n)) + b"] /Count %d >>" % n,
                    b"<< /Length 0 >>\nstream\n\nendstream"] + [page] * n)


# -------------------------------------------------------------------------------------------- JSONL

def _jsonl(out: Path, rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    lines: list[bytes] = []
    name = "hostile-text.jsonl"

    def add(case_id: str, line: bytes, what: str, expect: str = "kept", reasons: Iterable[str] = ()) -> None:
        lines.append(line)
        cases.append(Case(f"hostile-jsonl/{case_id}", "jsonl", name, what, expect, list(reasons), line=len(lines)))

    k = [0]

    def text() -> str:
        k[0] += 1
        return " ".join(_prose(rng, ("physics", "chemistry", "earth_science", "life_science")[k[0] % 4], 2))

    def doc(**kw: Any) -> bytes:
        return json.dumps({"text": text(), **kw}, ensure_ascii=False).encode()

    for i in range(3):
        add(f"good_{i}", doc(id=f"hostile-good-{i}"), "a good document")
    t = json.dumps(text())
    add("deep_10000", b'{"text": ' + t.encode() + b', "x": ' + b"[" * DEEP_JSON + b"]" * DEEP_JSON + b"}",
        "metadata nesting 10,000 arrays deep", "quarantine", ["json_too_deep"])
    add("deep_10000_objects", b'{"text": ' + json.dumps(text()).encode() + b', "x": ' + b'{"a":' * DEEP_JSON + b"1"
        + b"}" * DEEP_JSON + b"}", "metadata nesting 10,000 objects deep", "quarantine", ["json_too_deep"])
    add("deep_unclosed", b"[" * 50_000, "50,000 opening brackets and nothing else", "quarantine",
        ["json_too_deep", "invalid_json"])
    add("deep_300", b'{"text": ' + json.dumps(text()).encode() + b', "x": ' + b"[" * 300 + b"]" * 300 + b"}",
        "nesting 300 deep (over the 256 limit)", "quarantine", ["json_too_deep"])
    add("deep_200", b'{"text": ' + json.dumps(text()).encode() + b', "x": ' + b"[" * 200 + b"]" * 200 + b"}",
        "nesting 200 deep (legitimate)")
    add("brackets_in_string", json.dumps({"text": text() + " " + "[{" * 20_000}).encode(),
        "40,000 brackets inside a string (not nesting)")
    add("big_int", b'{"text": ' + json.dumps(text()).encode() + b', "n": ' + b"9" * BIG_INT_DIGITS + b"}",
        f"an integer of {BIG_INT_DIGITS:,} digits", "quarantine", ["json_number_too_large"])
    add("int_4300", b'{"text": ' + json.dumps(text()).encode() + b', "n": ' + b"7" * 4300 + b"}",
        "an integer of exactly 4,300 digits (at the limit)")
    add("float_overflow", b'{"text": ' + json.dumps(text()).encode() + b', "x": 1e999, "y": -1e999}',
        "floats that overflow to infinity")
    add("nan_literals", b'{"text": ' + json.dumps(text()).encode() + b', "x": NaN, "y": Infinity}',
        "NaN and Infinity literals (not JSON; Python accepts them)", "either")
    add("surrogate_text", b'{"text": "' + text().encode() + b' \\ud800 end"}', "a lone high surrogate in the text",
        "quarantine", ["invalid_unicode"])
    add("surrogate_low", b'{"text": "\\udc00' + text().encode() + b'"}', "a lone low surrogate in the text",
        "quarantine", ["invalid_unicode"])
    add("surrogate_meta", b'{"text": ' + json.dumps(text()).encode() + b', "author": "A\\udfffB"}',
        "a lone surrogate in a metadata field", "quarantine", ["invalid_unicode"])
    add("surrogate_id", b'{"text": ' + json.dumps(text()).encode() + b', "id": "doc-\\ud834"}',
        "a lone surrogate in the id", "quarantine", ["invalid_unicode"])
    add("surrogate_pair", b'{"text": "' + text().encode() + b' \\ud83d\\ude00"}', "a valid escaped surrogate pair")
    add("overlong_utf8", b'{"text": "' + text().encode() + b' \xc0\xaf"}', "an overlong UTF-8 sequence",
        "quarantine", ["invalid_utf8"])
    add("encoded_surrogate", b'{"text": "' + text().encode() + b' \xed\xa0\x80"}', "a UTF-8-encoded surrogate",
        "quarantine", ["invalid_utf8"])
    add("duplicate_keys", b'{"text": "short", "text": ' + json.dumps(text()).encode() + b"}", "a key given twice")
    add("crlf", doc() + b"\r", "a CRLF line ending")
    add("escaped_nul", b'{"text": "' + text().encode() + b' \\u0000 \\u001b"}', "escaped NUL and ESC in the text")
    add("zero_width_only", json.dumps({"text": "\u200b\u200c\u200d\ufeff"}).encode(),
        "text of zero-width characters only", "either")
    add("empty_object", b"{}", "an empty object", "quarantine", ["missing_text"])
    for cid, v in (("null", b"null"), ("true", b"true"), ("number", b"123"), ("string", b'"just a string"')):
        add(f"scalar_{cid}", v, f"a bare JSON {cid}", "quarantine", ["not_an_object"])
    add("text_list", json.dumps({"text": [text()]}).encode(), "text as a list", "quarantine", ["missing_text"])
    add("id_null", doc(id=None), "id null (a generated id is used)")
    add("id_object", doc(id={"a": 1}), "id is an object")
    add("concatenated_objects", doc() + doc(), "two objects on one line", "quarantine", ["invalid_json"])
    add("trailing_comma", b'{"text": "a b c",}', "a trailing comma", "quarantine", ["invalid_json"])
    add("single_quotes", b"{'text': 'single quotes'}", "single-quoted strings", "quarantine", ["invalid_json"])
    add("raw_nul", b'{"text": "a"}\x00', "a NUL byte after the object", "quarantine", ["invalid_json"])
    add("raw_control_in_string", b'{"text": "tab\there ' + text().encode() + b'"}', "a raw tab inside a string",
        "quarantine", ["invalid_json"])
    add("huge_key", json.dumps({"text": text(), "k" * 1_000_000: 1}).encode(), "a 1 MB key")
    add("huge_text", json.dumps({"text": " ".join(text() for _ in range(40))}).encode(), "a 40-paragraph text")
    (out / name).write_bytes(b"\n".join(lines) + b"\n")

    def file_case(fname: str, data: bytes, case_id: str, what: str, expect: str, reasons: Iterable[str] = (),
                  line: int | None = None) -> None:
        if not (out / fname).exists():
            (out / fname).write_bytes(data)
        cases.append(Case(f"hostile-jsonl/{case_id}", "jsonl", fname, what, expect, list(reasons), line=line))

    bom = codecs.BOM_UTF8 + doc(id="bom-1") + b"\n" + doc(id="bom-2") + b"\n"
    file_case("bom-utf8.jsonl", bom, "utf8_bom_line1", "a UTF-8 BOM before valid JSON", "kept", line=1)
    file_case("bom-utf8.jsonl", bom, "utf8_bom_line2", "the line after it", "kept", line=2)
    u16 = (doc(id="u16-1").decode() + "\n" + doc(id="u16-2").decode() + "\n").encode("utf-16")
    file_case("utf16.jsonl", u16, "utf16_line1", "a UTF-16 file with BOM, line 1", "kept", line=1)
    file_case("utf16.jsonl", u16, "utf16_line2", "line 2", "kept", line=2)
    u16bad = (doc(id="u16b-1").decode() + "\n").encode("utf-16") + b"\x00\xd8\x7b\x00" + b"\x0a\x00"
    file_case("utf16-broken.jsonl", u16bad, "utf16_broken_line1", "a UTF-16 file: line 1 fine", "kept", line=1)
    file_case("utf16-broken.jsonl", u16bad, "utf16_broken_rest", "then an unpaired surrogate: the rest is one row",
              "quarantine", ["invalid_encoding"], line=-1)
    long_line = b'{"text": "' + b"a" * LONG_LINE_BYTES + b'"}'
    after = doc(id="after-long")
    file_case("long-line.jsonl.gz", _gz(long_line + b"\n" + after + b"\n", 9), "line_too_long",
              f"a {LONG_LINE_BYTES >> 20} MiB line", "quarantine", ["line_too_long"], line=1)
    file_case("long-line.jsonl.gz", b"", "after_long_line", "the line after it (the long one was drained)", "kept",
              line=2)
    file_case("bomb.jsonl.gz", _gz(b"x" * BOMB_BYTES, 9), "gzip_bomb", f"a gzip of {BOMB_BYTES >> 20} MiB without a "
              "newline", "quarantine", ["line_too_long"], line=1)
    gz = _gz(b"\n".join(doc(id=f"zc-{i}") for i in range(30)) + b"\n", 9)
    mid = len(gz) // 2
    file_case("corrupt-middle.jsonl.gz", gz[:mid] + bytes(b ^ 0xFF for b in gz[mid:mid + 64]) + gz[mid + 64:],
              "corrupt_gzip_middle", "a gzip file with its deflate stream smashed in the middle", "either",
              ["corrupt_file"])
    file_case("not-gzip.jsonl.gz", doc() + b"\n", "not_gzip", "plain JSONL named .jsonl.gz", "quarantine",
              ["corrupt_file"])
    file_case("empty.jsonl", b"", "empty_file", "a zero-byte file", "absent")
    file_case("blank-lines.jsonl", b"\n\n  \n\t\n\r\n", "blank_lines", "nothing but blank lines", "absent")
    return cases


def write_hostile_corpus(out_dir: str | Path, seed: int = SEED) -> list[Case]:
    """Write the hostile corpus under ``out_dir`` (warc/, pdf/, jsonl/, bad_cases.json)."""
    out = Path(out_dir)
    rng = random.Random(seed)
    cases: list[Case] = []
    for kind, make in (("warc", _web), ("pdf", _pdf), ("jsonl", _jsonl)):
        (out / kind).mkdir(parents=True, exist_ok=True)
        cases += make(out / kind, rng)
    (out / CASES_FILE).write_text(json.dumps([asdict(c) for c in cases], indent=1) + "\n")
    return cases


# ------------------------------------------------------------------------------ engine-free stage run

def run_stages(landing: str | Path, settings: Any, *, isolate_pdf: bool = True,
               on_counters: Callable[[str, Any], None] | None = None) -> dict[str, Any]:
    """Ingest + page stages over ``landing`` in this process -> the rows of
    :func:`pipelines.bad_corpus.account_rows` (dedup and corpus pass every page through).

    Raises AssertionError when a stage's counters do not balance (input = kept + dropped) or its
    quarantine rows do not match its drops; ``on_counters(stage, counters)`` sees each stage's totals.
    """
    import pyarrow as pa

    from pipelines.counters import StageCounters
    from pipelines.ingest.core import IngestParams, ingest_file_to_tables, list_inputs
    from pipelines.pdf.config import PdfConfig
    from pipelines.pdf.parse import PageParser, Segment
    from pipelines.storage import open_storage
    from pipelines.text_pages import text_to_pages
    from pipelines.web.classifier import LexiconTeacher
    from pipelines.web.config import WebConfig
    from pipelines.web.pages import doc_id_of, score_record

    root = Path(landing)
    ing = settings.ingest
    raw: dict[str, list[dict[str, Any]]] = {}
    quar: dict[str, list[dict[str, Any]]] = {}
    for kind in ("warc", "pdf", "jsonl"):
        params = IngestParams(kind, ing.max_record_bytes, ing.max_pdf_bytes, ing.records_per_part)
        src = str(root / kind)
        total = StageCounters()
        raw[kind], quar[kind] = [], []
        for key in list_inputs(open_storage(src), kind):
            for what, table, c in ingest_file_to_tables(src, {}, key, params):
                if what == "done":
                    assert c.input == c.kept + c.total_dropped, (kind, key, c.to_dict())
                    total.merge(c)
                elif table is not None:
                    (raw if what == "kept" else quar)[kind].extend(table.to_pylist())
        assert total.kept == len(raw[kind]) and total.total_dropped == len(quar[kind]), (kind, total.to_dict())
        if on_counters:
            on_counters(f"ingest_{kind}", total)

    page_out: dict[str, set[tuple[str, int]]] = {}
    page_q: dict[str, dict[tuple[str, int], str]] = {}
    # web: the page step of the web filter (the domain step needs every page of a domain: DAG test)
    web_cfg = WebConfig(**settings.stage("web"))
    c = StageCounters()
    teacher = LexiconTeacher()
    kept_rows: list[dict[str, Any]] = []
    q_rows: list[dict[str, Any]] = []
    for row in raw["warc"]:
        c.input += 1
        kind, r = score_record(row, web_cfg, c, teacher)
        (kept_rows if kind == "kept" else q_rows).append(r)
    from pipelines.web.pages import QUARANTINE_SCHEMA as WEB_Q
    from pipelines.web.pages import SCORED_SCHEMA

    pa.Table.from_pylist(kept_rows, schema=SCORED_SCHEMA)  # what the job writes must convert
    pa.Table.from_pylist(q_rows, schema=WEB_Q)
    assert c.input == c.kept + c.total_dropped == len(kept_rows) + len(q_rows), c.to_dict()
    page_out["web_filter"] = {(r["doc_id"], 0) for r in kept_rows}
    page_q["web_filter"] = {(r["doc_id"], 0): r["reason"] for r in q_rows}
    assert all(doc_id_of(r["record_id"], r["url"]) for r in raw["warc"])
    if on_counters:
        on_counters("web_filter", c)
    # pdf: every raw document as one segment, in one parser (isolated workers, as in the job)
    pdf_cfg = PdfConfig(**settings.stage("pdf"))
    c = StageCounters()
    pk: list[dict[str, Any]] = []
    pq: list[dict[str, Any]] = []
    from pipelines.pdf.parse import to_tables

    with PageParser(pdf_cfg, isolate_cheap=isolate_pdf) as parser:
        for row in sorted(raw["pdf"], key=lambda r: r["path"]):
            seg = Segment(row["doc_id"], row["path"], 0, int(row["page_count"]), int(row["page_count"]))
            res = parser.parse_segment(str(root / "pdf" / row["path"]), seg)
            to_tables(res)  # what the job writes must convert
            assert res.counters.input == res.counters.kept + res.counters.total_dropped, (row["path"], res.counters)
            c.merge(res.counters)
            pk += res.kept
            pq += res.quarantined
    page_out["pdf_parse"] = {(r["doc_id"], r["page"]) for r in pk}
    page_q["pdf_parse"] = {(r["doc_id"], r["page"]): r["reason"] for r in pq}
    if on_counters:
        on_counters("pdf_parse", c)
    # text
    from pipelines.ingest.jsonl import SCHEMA as TEXT_SCHEMA

    res_t = text_to_pages(pa.Table.from_pylist(raw["jsonl"], schema=TEXT_SCHEMA))
    assert res_t.counters.input == res_t.counters.kept + res_t.counters.total_dropped
    page_out["text_pages"] = {(r["doc_id"], r["page"]) for r in res_t.kept.to_pylist()}
    tq = res_t.quarantined.to_pylist() if res_t.quarantined is not None else []
    page_q["text_pages"] = {(r["doc_id"], r["page"]): r["reason"] for r in tq}
    if on_counters:
        on_counters("text_pages", res_t.counters)
    # dedup and corpus: pass-through here
    page_out["dedup"] = page_out["web_filter"] | page_out["pdf_parse"] | page_out["text_pages"]
    page_q["dedup"] = {}
    return {
        "raw_web": raw["warc"], "q_web": quar["warc"], "raw_pdf": raw["pdf"], "q_pdf": quar["pdf"],
        "raw_text": raw["jsonl"], "q_text": quar["jsonl"], "page_out": page_out, "page_q": page_q,
        "snap_docs": {d for d, _ in page_out["dedup"]}, "snap_q": {},
    }
