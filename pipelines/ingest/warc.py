"""WARC response records -> raw web rows, streamed record by record.

A multi-GB WARC is never held in memory: records are read one at a time and each
payload is bounded by ``max_record_bytes``. A truncated or corrupt file yields the
records before the damage and one quarantine row describing where it broke.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import urlsplit

import pyarrow as pa
from warcio.archiveiterator import ArchiveIterator

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.ingest.common import Event, quarantine_row
from sciforge.pipelines.ingest.http import HttpDecodeError, decode_body
from sciforge.pipelines.storage import StorageError

SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),  # WARC-Record-ID
        ("url", pa.string()),  # WARC-Target-URI
        ("host", pa.string()),
        ("domain", pa.string()),  # registered domain (public suffix + 1): the unit of web decisions
        ("warc_date", pa.string()),
        ("warc_file", pa.string()),
        ("warc_offset", pa.int64()),
        ("http_status", pa.int32()),
        ("http_headers", pa.string()),  # JSON list of [name, value]
        ("content_type", pa.string()),
        ("payload_digest", pa.string()),
        ("html", pa.binary()),  # the HTTP entity body: transfer and content codings undone (pipelines/ingest/http.py)
        ("html_bytes", pa.int64()),  # len(html)
        ("http_decoding", pa.string()),  # what was undone, e.g. "chunked,gzip"; "" for a plain body
    ]
)

_READ_CHUNK = 1 << 16
# WARC 1.1 section 6 record types; any other WARC-Type value is counted as "other" (a hostile file
# must not mint arbitrary metric names).
WARC_TYPES = frozenset({"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion",
                        "continuation"})


class _Psl:
    _inst: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls._inst is None:
            from publicsuffixlist import PublicSuffixList  # bundled list: works offline

            cls._inst = PublicSuffixList()
        return cls._inst


def registered_domain(host: str) -> str:
    """``news.bbc.co.uk`` -> ``bbc.co.uk``; IPs and bare suffixes map to themselves."""
    host = (host or "").strip(".").lower()
    if not host:
        return ""
    if host.replace(".", "").isdigit() or ":" in host:
        return host
    return _Psl.get().privatesuffix(host) or host


def _read_bounded(stream: IO[bytes], limit: int) -> tuple[bytes, int]:
    """Read at most ``limit`` bytes; drain (and count) the rest without keeping it."""
    chunks, kept, total = [], 0, 0
    while True:
        buf = stream.read(_READ_CHUNK)
        if not buf:
            break
        total += len(buf)
        if kept < limit:
            take = buf[: limit - kept]
            chunks.append(take)
            kept += len(take)
    return b"".join(chunks), total


_GZIP_MAGIC = b"\x1f\x8b\x08"  # RFC 1952 member header: ID1 ID2 CM=deflate
_WARC_MAGIC = b"WARC/1."
_SCAN_CHUNK = 1 << 20  # bytes read at a time while looking for the next record after a break


class _Swallowed(Exception):
    """Marks a segment that ended on a record claiming more bytes than the file has."""


def _is_record_start(f: IO[bytes], pos: int, gz: bool) -> bool:
    """Does a WARC record (a gzip member whose text starts with ``WARC/1.`` when ``gz``) start at ``pos``?"""
    import zlib

    f.seek(pos)
    head = f.read(512)
    if not gz:
        return head.startswith(_WARC_MAGIC)
    if not head.startswith(_GZIP_MAGIC):
        return False
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, len(_WARC_MAGIC)).startswith(_WARC_MAGIC)
    except zlib.error:
        return False


def _next_record_start(f: IO[bytes], pos: int, gz: bool) -> int | None:
    """The first offset >= ``pos`` where a record starts (a verified gzip member / ``WARC/1.`` line)."""
    magic = _GZIP_MAGIC if gz else _WARC_MAGIC
    while True:
        f.seek(pos)
        buf = f.read(_SCAN_CHUNK + len(magic))
        if not buf:
            return None
        i = buf.find(magic)
        while i != -1:
            if _is_record_start(f, pos + i, gz):
                return pos + i
            i = buf.find(magic, i + 1)
        if len(buf) <= _SCAN_CHUNK:
            return None
        pos += _SCAN_CHUNK


def iter_warc(
    fileobj: IO[bytes],
    source: str,
    *,
    max_record_bytes: int,
    counters: StageCounters,
) -> Iterator[Event]:
    """Yield ("kept", row) per HTTP response record and ("quarantine", row) per bad record.

    A record warcio cannot parse (a response without WARC-Target-URI, a corrupt gzip member, a cut) is
    quarantined on its own, then reading resumes at the next record of the file (the next gzip member
    that decompresses to ``WARC/1.``, or the next ``WARC/1.`` line in an uncompressed file), so one bad
    record does not take the rest of the file down with it. A non-seekable stream cannot resume: the
    rest of it is one ``corrupt_warc`` row, as before.
    """
    try:
        seekable = bool(fileobj.seekable()) if hasattr(fileobj, "seekable") else False
        base = fileobj.tell() if seekable else 0
    except (OSError, ValueError):
        seekable, base = False, 0
    gz = False
    if seekable:
        gz = fileobj.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC
        fileobj.seek(base)
    pos = base
    while True:
        # An uncompressed record whose Content-Length runs past the end of the file may have swallowed the
        # records after it: resume at the next ``WARC/1.`` line inside it. (A gzip member ends where it
        # ends: warcio goes on with the next member by itself.)
        seg: dict[str, Any] = {"records": 0, "end": pos, "error": None, "resync_swallowed": seekable and not gz}
        yield from _iter_segment(fileobj, source, pos, seg, max_record_bytes=max_record_bytes,
                                 counters=counters)
        err = seg["error"]
        if err is None:
            return
        if isinstance(err, _Swallowed):  # already quarantined: look for records inside its claimed length
            nxt = _next_record_start(fileobj, seg["end"], gz)
            if nxt is None:
                return
            counters.add("warc_resyncs")
            fileobj.seek(nxt)
            pos = nxt
            continue
        if counters.input > counters.kept + counters.total_dropped:
            counters.input -= 1  # the record in flight is accounted for by the break row below (or on retry)
        if seg["records"] and seekable:
            # The break is in the record after the last good one: resume there, and that record fails
            # again at once, which is where its quarantine row is written (exactly one row per break).
            # warcio's offsets run backwards on a stream it misparses (plain text read as ARC): then the
            # position cannot be trusted and nothing after it is resumed (no record is read twice).
            nxt = _next_record_start(fileobj, seg["end"], gz) if seg["end"] > pos else None
            if nxt is None:  # the break leaves no readable record start: the tail is one break row
                counters.input += 1
                counters.drop("corrupt_warc")
                yield "quarantine", quarantine_row(
                    source, "corrupt_warc", f"{type(err).__name__}: {err}; records before the break were kept",
                    max(seg["end"], pos) - base,
                )
                return
        else:
            reason = "corrupt_warc"
            if isinstance(err, AttributeError) and "startswith" in str(err):
                reason = "missing_target_uri"  # warcio 1.7: load_http_headers() on uri=None
            counters.input += 1
            counters.drop(reason)
            detail = f"{type(err).__name__}: {err}"
            detail += "; reading resumed at the next record" if seekable else "; the rest of the stream is lost"
            yield "quarantine", quarantine_row(source, reason, detail, pos - base)
            nxt = _next_record_start(fileobj, pos + 1, gz) if seekable else None
        if nxt is None:
            return
        counters.add("warc_resyncs")
        fileobj.seek(nxt)
        pos = nxt


def _iter_segment(
    fileobj: IO[bytes],
    source: str,
    start: int,
    seg: dict[str, Any],
    *,
    max_record_bytes: int,
    counters: StageCounters,
) -> Iterator[Event]:
    """Records from ``start`` until the end of the file or the first record warcio cannot read.

    ``seg`` receives how many records were read, where the last one ended and the error, if any.
    """
    it = ArchiveIterator(fileobj, check_digests=False)
    # warcio counts offsets from the stream's tell() when the stream has one (absolute), else from 0:
    # ``shift`` maps its offsets to positions in the file either way.
    shift = start - int(getattr(it, "offset", 0) or 0)
    offset = start
    try:
        for record in it:
            # NB: warcio's get_record_offset() reads the record to its end, so it is only
            # called after the payload has been consumed (or when the record is skipped).
            # Offsets are mapped to positions in the file with ``shift``.
            rtype = record.rec_type
            counters.add(f"warc_records_{rtype if rtype in WARC_TYPES else 'other'}")
            if rtype != "response":
                offset = shift + it.get_record_offset()
                seg["records"] += 1
                seg["end"] = offset + it.get_record_length()
                continue  # requests, metadata, warcinfo: nothing to register
            counters.input += 1
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            rid = record.rec_headers.get_header("WARC-Record-ID") or ""
            if not url:
                offset = shift + it.get_record_offset()
                seg["records"] += 1
                seg["end"] = offset + it.get_record_length()
                counters.drop("missing_target_uri")
                yield "quarantine", quarantine_row(source, "missing_target_uri", offset=offset, record_id=rid)
                continue
            hh = record.http_headers
            if hh is None or not hh.statusline:
                offset = shift + it.get_record_offset()
                seg["records"] += 1
                seg["end"] = offset + it.get_record_length()
                counters.drop("not_http_response")
                yield "quarantine", quarantine_row(
                    source, "not_http_response", "response record without HTTP headers", offset, url=url,
                    record_id=rid,
                )
                continue
            body, body_len = _read_bounded(record.raw_stream, max_record_bytes)
            offset = shift + it.get_record_offset()
            seg["records"] += 1
            seg["end"] = offset + it.get_record_length()
            expected = (record.length or 0) - (hh.total_len or 0)
            if record.length is not None and body_len < expected:
                counters.drop("truncated_record")
                yield "quarantine", quarantine_row(
                    source, "truncated_record", f"payload has {body_len} of {expected} bytes", offset,
                    url=url, record_id=rid,
                )
                if seg["resync_swallowed"]:
                    seg["error"], seg["end"] = _Swallowed(), offset + 1
                    return
                continue
            if body_len > max_record_bytes:
                counters.drop("record_too_large")
                yield "quarantine", quarantine_row(
                    source, "record_too_large", f"{body_len} bytes > max_record_bytes={max_record_bytes}",
                    offset, url=url, record_id=rid,
                )
                continue
            try:
                kind, row = _response_row(record, hh, body, body_len, url, rid, source, offset,
                                          max_record_bytes, counters)
            except Exception as e:  # one hostile record costs itself only (its bytes are consumed)
                counters.drop("record_error")
                kind, row = "quarantine", quarantine_row(source, "record_error", f"{type(e).__name__}: {e}",
                                                         offset, url=url, record_id=rid)
            yield kind, row
    except StorageError:
        raise  # the storage failed, not the content: the task fails and is retried
    except Exception as e:
        # zlib / gzip / header-parse errors (ArchiveLoadFailed, EOFError, OSError, ValueError,
        # UnicodeDecodeError, and whatever else a parser raises on hostile bytes) all mean the same thing
        # here: the file breaks after the last record read. (warcio raises AttributeError on a response
        # record without WARC-Target-URI.)
        seg["error"] = e


def _response_row(record: Any, hh: Any, body: bytes, body_len: int, url: str, rid: str, source: str,
                  offset: int, max_record_bytes: int, counters: StageCounters) -> Event:
    """The raw row of one fully read response record, or its quarantine row."""
    try:
        status = int(hh.get_statuscode() or 0)
    except ValueError:
        status = 0
    try:
        html, decoding = decode_body(body, hh.headers, max_record_bytes)
    except HttpDecodeError as e:
        counters.drop(e.reason)
        return "quarantine", quarantine_row(source, e.reason, e.detail, offset, url=url, record_id=rid)
    host = (urlsplit(url).hostname or "").lower()
    row = {
        "record_id": rid,
        "url": url,
        "host": host,
        "domain": registered_domain(host),
        "warc_date": record.rec_headers.get_header("WARC-Date"),
        "warc_file": source,
        "warc_offset": offset,
        "http_status": status,
        "http_headers": json.dumps(hh.headers, ensure_ascii=False),
        "content_type": hh.get_header("Content-Type"),
        "payload_digest": record.rec_headers.get_header("WARC-Payload-Digest"),
        "html": html,
        "html_bytes": len(html),
        "http_decoding": decoding,
    }
    if decoding:
        counters.add("http_decoded")
        for step in decoding.split(","):
            counters.add(f"http_decoded_{step.replace(':', '_')}")
    counters.kept += 1
    counters.add("html_bytes", len(html))
    return "kept", row
