"""JSON Lines documents -> raw text rows. Bad lines are quarantined one by one.

Bounded, so that no line can take the task down: a line is read up to ``max_line_bytes`` (the rest of a
longer line is drained unread and the line quarantined as ``line_too_long``); nesting deeper than
:data:`MAX_JSON_DEPTH` is refused by a cheap scan before ``json.loads`` (whose recursive decoder
raises RecursionError on 10,000 levels); an integer over CPython's digit limit is ``json_number_too_large``;
text or metadata holding a lone surrogate (``"\\ud800"`` is valid JSON but not encodable UTF-8, so
Arrow refuses it) is ``invalid_unicode``. A UTF-8 byte order mark before a line is ignored; a file
that starts with a UTF-16 or UTF-32 BOM is decoded as such.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from itertools import accumulate
from typing import IO, Any

import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.ingest.common import Event, first_unencodable, quarantine_row

SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),  # the record's own `id`, else sha256(source, line)
        ("source", pa.string()),
        ("line", pa.int64()),
        ("text", pa.string()),
        ("meta", pa.string()),  # every other field, as JSON
    ]
)
TEXT_FIELDS = ("text", "content", "body")
# Deepest nesting accepted: far above real document records (Common Crawl / S2ORC / Dolma records nest
# under 10 levels) and far below the recursion limit (1000) that json's decoder and encoder run into.
MAX_JSON_DEPTH = 256
# Longest line read when the caller gives no limit: ingest.max_record_bytes' default (one JSONL line
# is one record, bounded like a WARC record).
MAX_LINE_BYTES = 16 << 20
_DRAIN_CHUNK = 1 << 20  # bytes read at a time while skipping the rest of an over-long line
_UTF8_BOM = codecs.BOM_UTF8
# File-level BOMs of the wider Unicode encodings (UTF-32 first: its LE BOM starts with UTF-16's).
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
              (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_too_deep(line: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does ``line`` nest arrays / objects deeper than ``limit``? Brackets inside strings do not count.
    Cheap: a line with at most ``limit`` opening brackets is never scanned."""
    if line.count("[") + line.count("{") <= limit:
        return False
    brackets = _BRACKETS.sub("", _JSON_STRING.sub("", line))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


def _wide_encoding(fileobj: IO[bytes]) -> tuple[str, int] | None:
    """(codec, BOM length) when the stream starts with a UTF-16 or UTF-32 byte order mark."""
    peek = getattr(fileobj, "peek", None)
    if peek is None:
        return None
    try:
        head = peek(4)[:4]
    except (OSError, ValueError, EOFError):
        return None  # a broken gzip stream: the line reader reports it
    return next(((enc, len(bom)) for bom, enc in _WIDE_BOMS if head.startswith(bom)), None)


def _wide_lines(fileobj: IO[bytes], enc: str, bom: int, limit: int) -> Iterator[tuple[bytes, bool]]:
    """Lines of a UTF-16/32 stream, re-encoded as UTF-8. Decoding is strict: at the first invalid
    sequence the complete lines before it are yielded, then UnicodeDecodeError is raised (the caller
    quarantines the rest of the file as one row)."""
    fileobj.read(bom)
    dec = codecs.getincrementaldecoder(enc)("strict")
    buf, skipping = "", False
    while True:
        raw = fileobj.read(_DRAIN_CHUNK)
        try:
            buf += dec.decode(raw, final=not raw)
            err = None
        except UnicodeDecodeError as e:
            buf += codecs.decode(e.object[:e.start], enc)  # the valid prefix
            err = e
        *complete, buf = buf.split("\n")
        for s in complete:
            if skipping or len(s.encode("utf-8", "surrogatepass")) > limit:
                skipping = False
                yield b"", True
            else:
                yield s.encode("utf-8", "surrogatepass") + b"\n", False
        if len(buf) > limit:  # an over-long line in progress: keep nothing of it
            buf, skipping = "", True
        if err is not None:
            raise err
        if not raw:
            if buf or skipping:
                yield (b"", True) if skipping else (buf.encode("utf-8", "surrogatepass"), False)
            return


def _lines(fileobj: IO[bytes], limit: int) -> Iterator[tuple[bytes, bool]]:
    """(line, too_long) for each line; a line over ``limit`` bytes comes back empty with too_long."""
    wide = _wide_encoding(fileobj)
    if wide is not None:
        yield from _wide_lines(fileobj, wide[0], wide[1], limit)
        return
    while True:
        raw = fileobj.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # drain the rest of the line without keeping it
                raw = fileobj.readline(_DRAIN_CHUNK)
            yield b"", True
            continue
        yield raw, False


def iter_jsonl(fileobj: IO[bytes], source: str, *, counters: StageCounters,
               max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Event]:
    seen: dict[str, int] = {}  # doc_id -> first line: a repeated id would merge two documents downstream
    for lineno, (raw, too_long) in enumerate(_lines(fileobj, max_line_bytes), start=1):
        if too_long:
            counters.input += 1
            counters.drop("line_too_long")
            yield "quarantine", quarantine_row(source, "line_too_long", f"over max_line_bytes={max_line_bytes}",
                                               offset=lineno)
            continue
        if raw.startswith(_UTF8_BOM):  # a BOM before the record (file start, or concatenated files)
            raw = raw[len(_UTF8_BOM):]
        if not raw.strip():
            continue
        counters.input += 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            counters.drop("invalid_utf8")
            yield "quarantine", quarantine_row(source, "invalid_utf8", str(e), offset=lineno)
            continue
        reason, detail, obj = _decode(line)
        if reason:
            counters.drop(reason)
            yield "quarantine", quarantine_row(source, reason, detail, offset=lineno)
            continue
        if not isinstance(obj, dict):
            counters.drop("not_an_object")
            yield "quarantine", quarantine_row(source, "not_an_object", type(obj).__name__, offset=lineno)
            continue
        key = next((k for k in TEXT_FIELDS if isinstance(obj.get(k), str)), None)
        if key is None or not obj[key].strip():
            counters.drop("missing_text")
            yield "quarantine", quarantine_row(
                source, "missing_text", f"none of {TEXT_FIELDS} is a non-empty string", offset=lineno
            )
            continue
        text = obj.pop(key)
        doc_id = str(obj.pop("id", "") or hashlib.sha256(f"{source}\n{lineno}".encode()).hexdigest()[:32])
        if doc_id in seen:
            counters.drop("duplicate_id")
            yield "quarantine", quarantine_row(
                source, "duplicate_id", f"id {doc_id!r} already used on line {seen[doc_id]}", offset=lineno)
            continue
        row = {
            "doc_id": doc_id,
            "source": source,
            "line": lineno,
            "text": text,
            "meta": json.dumps(obj, sort_keys=True, ensure_ascii=False),
        }
        bad = first_unencodable(row)
        if bad:
            counters.drop("invalid_unicode")
            yield "quarantine", quarantine_row(source, "invalid_unicode", bad, offset=lineno)
            continue
        seen[doc_id] = lineno
        counters.kept += 1
        yield "kept", row


def _decode(line: str) -> tuple[str, str, Any]:
    """(reason, detail, None) for a line that is not acceptable JSON, else ("", "", value)."""
    if json_too_deep(line):
        return "json_too_deep", f"nesting deeper than MAX_JSON_DEPTH={MAX_JSON_DEPTH}", None
    try:
        return "", "", json.loads(line)
    except json.JSONDecodeError as e:
        return "invalid_json", str(e), None
    except RecursionError:  # not reached after the depth scan; kept as the decoder's own guard
        return "json_too_deep", "RecursionError in the JSON decoder", None
    except ValueError as e:  # int('9' * 5000): "Exceeds the limit (4300 digits) for integer string conversion"
        if "digits" in str(e):
            return "json_number_too_large", f"{e} (sys.get_int_max_str_digits()={sys.get_int_max_str_digits()})", None
        return "invalid_json", f"{type(e).__name__}: {e}", None
