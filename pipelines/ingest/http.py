"""HTTP message semantics for WARC response bodies: transfer and content codings, bounded.

A WARC ``response`` record stores the HTTP message as it came off the wire. Its body can still carry
the server's transfer coding (``Transfer-Encoding: chunked``: hex chunk sizes between the data) and
content codings (``Content-Encoding: gzip``, ``deflate``, ``br``, ``zstd``, possibly stacked). warcio's
``content_stream()`` and datatrove's WARC reader undo both; :func:`decode_body` does the same on the
bounded body bytes ingest has already read, with a cap on the decoded size (a 1 KiB gzip member can
inflate to gigabytes: a decompression bomb stops at the cap instead of filling memory).

Policy, per coding (RFC 9112 section 7, RFC 9110 section 8.4):

* chunked: decoded; chunk extensions and trailers are skipped. A body that does not start with a valid
  chunk-size line was stored already de-chunked by the crawler while the header stayed: it is kept as
  is (``chunked:not_applied``). A body cut inside the chunks keeps what was decoded (``chunked:truncated``).
* gzip / x-gzip / deflate (zlib or raw) / br / zstd: decoded, stacked codings in reverse order of
  application. A body that fails at its very first bytes was stored decoded (``gzip:not_applied``);
  one that fails after some output keeps that output (``gzip:truncated``: crawlers cut long downloads).
* identity: nothing to do. Any other coding (compress, sdch, ...): :class:`HttpDecodeError`
  ``unsupported_content_encoding``. A decoded body over the cap: ``decoded_too_large``.

What was applied is returned as a short label (``"chunked,gzip"``) that ingest records in the row.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

# Step of a bounded decompression: small enough that a bomb overshoots the cap by at most this much.
_STEP = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 section 3.1.1
# Chunk-size lines longer than this are not chunk sizes (16 hex digits = 2^64, plus extensions).
_MAX_CHUNK_LINE = 1024


class HttpDecodeError(ValueError):
    """The body cannot be decoded; ``reason`` is the quarantine reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class _TooLarge(Exception):
    pass


def header_tokens(headers: list[tuple[str, str]], name: str) -> list[str]:
    """The comma-separated, lower-cased tokens of every ``name`` header, in order."""
    out: list[str] = []
    for k, v in headers:
        if k.lower() == name:
            out += [t.strip().lower() for t in (v or "").split(",") if t.strip()]
    return out


# ------------------------------------------------------------------------------------------ chunked

def dechunk(data: bytes, limit: int) -> tuple[bytes, str]:
    """Undo chunked transfer coding -> (body, status) with status ``""`` (complete), ``"truncated"``
    (cut or damaged after the first chunk: the chunks before it) or ``"not_applied"`` (the first line
    is not a chunk size: ``data`` returned unchanged)."""
    out = bytearray()
    pos, first = 0, True
    n = len(data)
    while True:
        eol = data.find(b"\n", pos, pos + _MAX_CHUNK_LINE)
        if eol < 0:
            break
        line = data[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(line, 16) if line and all(c in b"0123456789abcdefABCDEF" for c in line) else -1
        except ValueError:
            size = -1
        if size < 0:
            break
        if size == 0:  # last chunk; trailers (if any) follow and are not part of the body
            return bytes(out), ""
        start = eol + 1
        if start + size > n:
            out += data[start:n]
            if len(out) > limit:
                raise _TooLarge()
            return bytes(out), "truncated"
        out += data[start:start + size]
        if len(out) > limit:
            raise _TooLarge()
        first = False
        pos = start + size
        if data.startswith(b"\r\n", pos):
            pos += 2
        elif data.startswith(b"\n", pos):
            pos += 1
        elif pos < n:
            break  # data after a chunk that is not a line end: damaged
    if first:
        return data, "not_applied"
    return bytes(out), "truncated"


# ------------------------------------------------------------------------------------ content codings

def _zlib_bounded(data: bytes, wbits: int, limit: int, multi: bool) -> tuple[bytes, bool]:
    """Inflate with at most ``limit + 1`` bytes of output -> (output, complete). ``multi``: gzip
    members may follow each other (RFC 1952 section 2.2). zlib.error propagates when nothing
    decodes at all."""
    out = bytearray()
    rest = data
    while True:
        d = zlib.decompressobj(wbits)
        buf = rest
        try:
            while True:
                chunk = d.decompress(buf, _STEP)
                out += chunk
                if len(out) > limit:
                    raise _TooLarge()
                buf = d.unconsumed_tail
                if d.eof or (not buf and not chunk):
                    break
        except zlib.error:
            if not out:
                raise
            return bytes(out), False
        if not d.eof:
            return bytes(out), False
        rest = d.unused_data
        if not (multi and rest.startswith(_GZIP_MAGIC)):
            return bytes(out), True


def _gzip(data: bytes, limit: int) -> tuple[bytes, bool]:
    if not data.startswith(_GZIP_MAGIC):
        raise zlib.error("no gzip header")
    return _zlib_bounded(data, 16 + zlib.MAX_WBITS, limit, multi=True)


def _deflate(data: bytes, limit: int) -> tuple[bytes, bool]:
    # RFC 9110 says zlib format; many servers send raw deflate: try the former, then the latter.
    try:
        return _zlib_bounded(data, zlib.MAX_WBITS, limit, multi=False)
    except zlib.error:
        return _zlib_bounded(data, -zlib.MAX_WBITS, limit, multi=False)


def _brotli(data: bytes, limit: int) -> tuple[bytes, bool]:
    import brotli

    d = brotli.Decompressor()
    out = bytearray()
    try:
        out += d.process(data, output_buffer_limit=_STEP)
        while len(out) <= limit and not d.is_finished() and not d.can_accept_more_data():
            more = d.process(b"", output_buffer_limit=_STEP)
            if not more:
                break
            out += more
    except brotli.error as e:
        if not out:
            raise zlib.error(f"brotli: {e}") from None
        return bytes(out), False
    if len(out) > limit:
        raise _TooLarge()
    return bytes(out), bool(d.is_finished())


def _zstd(data: bytes, limit: int) -> tuple[bytes, bool]:
    import zstandard

    if not data.startswith(_ZSTD_MAGIC):
        raise zlib.error("no zstd frame header")
    out = bytearray()
    try:
        # read_across_frames: a body may hold several frames (RFC 8878 section 3.1)
        with zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True) as r:
            while True:
                chunk = r.read(_STEP)
                if not chunk:
                    break
                out += chunk
                if len(out) > limit:
                    raise _TooLarge()
    except zstandard.ZstdError as e:
        if not out:
            raise zlib.error(f"zstd: {e}") from None
        return bytes(out), False
    return bytes(out), True


CODINGS: dict[str, Callable[[bytes, int], tuple[bytes, bool]]] = {
    "gzip": _gzip, "x-gzip": _gzip, "deflate": _deflate, "br": _brotli, "zstd": _zstd,
}
IDENTITY = {"identity", "none", ""}


def decode_body(body: bytes, headers: list[tuple[str, str]], limit: int) -> tuple[bytes, str]:
    """Undo the transfer and content codings of an HTTP response body -> (body, label).

    ``label`` lists what was applied, in order (``"chunked,gzip"``; ``":truncated"`` / ``":not_applied"``
    suffixes as in the module docstring); ``""`` when the body had no coding. Raises
    :class:`HttpDecodeError` for an unsupported coding or a decoded body over ``limit`` bytes.
    """
    steps: list[str] = []
    te = [t for t in header_tokens(headers, "transfer-encoding") if t not in IDENTITY]
    ce = [t for t in header_tokens(headers, "content-encoding") if t not in IDENTITY]
    if te and te[-1] == "chunked":  # chunked is always the last transfer coding applied
        te = te[:-1]
        try:
            body, status = dechunk(body, limit)
        except _TooLarge:
            raise HttpDecodeError("decoded_too_large", f"chunked body over {limit} bytes") from None
        steps.append(f"chunked:{status}" if status else "chunked")
    # Other transfer codings (gzip as a transfer coding) are applied before chunked and after the content
    # codings, and decode the same way: undo them in reverse order of application.
    for coding in reversed(ce + te):
        fn = CODINGS.get(coding)
        if fn is None:
            raise HttpDecodeError("unsupported_content_encoding", f"coding {coding!r}")
        try:
            body, complete = fn(body, limit)
            steps.append(coding if complete else f"{coding}:truncated")
        except _TooLarge:
            raise HttpDecodeError("decoded_too_large", f"{coding} body inflates past {limit} bytes") from None
        except zlib.error:
            steps.append(f"{coding}:not_applied")  # stored decoded while the header stayed
    return body, ",".join(steps)
