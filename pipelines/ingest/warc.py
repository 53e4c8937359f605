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
from warcio.exceptions import ArchiveLoadFailed

from pipelines.counters import StageCounters
from pipelines.ingest.common import Event, quarantine_row

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
        ("html", pa.binary()),  # raw HTTP body bytes, undecoded
        ("html_bytes", pa.int64()),
    ]
)

_READ_CHUNK = 1 << 16


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


def iter_warc(
    fileobj: IO[bytes],
    source: str,
    *,
    max_record_bytes: int,
    counters: StageCounters,
) -> Iterator[Event]:
    """Yield ("kept", row) per HTTP response record and ("quarantine", row) per bad record."""
    it = ArchiveIterator(fileobj, check_digests=False)
    offset = 0
    try:
        for record in it:
            # NB: warcio's get_record_offset() reads the record to its end, so it is only
            # called after the payload has been consumed (or when the record is skipped).
            rtype = record.rec_type
            counters.add(f"warc_records_{rtype}")
            if rtype != "response":
                offset = it.get_record_offset()
                continue  # requests, metadata, warcinfo: nothing to register
            counters.input += 1
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            rid = record.rec_headers.get_header("WARC-Record-ID") or ""
            if not url:
                offset = it.get_record_offset()
                counters.drop("missing_target_uri")
                yield "quarantine", quarantine_row(source, "missing_target_uri", offset=offset, record_id=rid)
                continue
            hh = record.http_headers
            if hh is None or not hh.statusline:
                offset = it.get_record_offset()
                counters.drop("not_http_response")
                yield "quarantine", quarantine_row(
                    source, "not_http_response", "response record without HTTP headers", offset, url=url,
                    record_id=rid,
                )
                continue
            body, body_len = _read_bounded(record.raw_stream, max_record_bytes)
            offset = it.get_record_offset()
            expected = (record.length or 0) - (hh.total_len or 0)
            if record.length is not None and body_len < expected:
                counters.drop("truncated_record")
                yield "quarantine", quarantine_row(
                    source, "truncated_record", f"payload has {body_len} of {expected} bytes", offset,
                    url=url, record_id=rid,
                )
                continue
            if body_len > max_record_bytes:
                counters.drop("record_too_large")
                yield "quarantine", quarantine_row(
                    source, "record_too_large", f"{body_len} bytes > max_record_bytes={max_record_bytes}",
                    offset, url=url, record_id=rid,
                )
                continue
            try:
                status = int(hh.get_statuscode() or 0)
            except ValueError:
                status = 0
            host = (urlsplit(url).hostname or "").lower()
            counters.kept += 1
            counters.add("html_bytes", body_len)
            yield "kept", {
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
                "html": body,
                "html_bytes": body_len,
            }
    except (ArchiveLoadFailed, EOFError, OSError, ValueError, UnicodeDecodeError, AttributeError) as e:
        # zlib / gzip / header-parse errors all mean the same thing here: the file breaks at `offset`.
        # (warcio raises AttributeError on a response record without WARC-Target-URI.) The break is an
        # input item of its own unless it happened inside a record already counted.
        counters.input += counters.input == counters.kept + counters.total_dropped
        counters.drop("corrupt_warc")
        yield "quarantine", quarantine_row(
            source, "corrupt_warc", f"{type(e).__name__}: {e}; records before the break were kept",
            offset,
        )
