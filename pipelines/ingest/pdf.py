"""PDF files -> raw PDF rows (path, sha256, size, page count, metadata).

The bytes stay in the landing zone; the raw dataset points at them by URI and pins
them by sha256. Corrupt, encrypted, empty and oversized PDFs are quarantined.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.ingest.common import Event, quarantine_row

SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),  # sha256 of the bytes: the same PDF anywhere is one document
        ("path", pa.string()),
        ("sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("page_count", pa.int32()),
        ("pdf_format", pa.string()),
        ("title", pa.string()),
        ("metadata", pa.string()),  # JSON of the document info dictionary
        ("repaired", pa.bool_()),  # the xref was broken and rebuilt by MuPDF: parse with care
    ]
)
_CHUNK = 1 << 20
# PDF 1.7 (ISO 32000-1) Annex H.3 note 13: readers accept the `%PDF-` header anywhere in the first 1024
# bytes. Without it the file is not a PDF (MuPDF would otherwise "repair" HTML into one blank page).
HEADER = b"%PDF-"
HEADER_WINDOW = 1024


def iter_pdf(
    fileobj: IO[bytes], source: str, *, size: int, max_pdf_bytes: int, counters: StageCounters
) -> Iterator[Event]:
    counters.input += 1
    h = hashlib.sha256()
    data = bytearray()
    while True:  # hash everything; keep bytes only while under the limit
        buf = fileobj.read(_CHUNK)
        if not buf:
            break
        h.update(buf)
        if len(data) <= max_pdf_bytes:
            data.extend(buf)
    digest = h.hexdigest()
    if size == 0 or not data:
        counters.drop("pdf_empty_file")
        yield "quarantine", quarantine_row(source, "pdf_empty_file", "0 bytes", record_id=digest)
        return
    if size > max_pdf_bytes:
        counters.drop("pdf_too_large")
        yield "quarantine", quarantine_row(
            source, "pdf_too_large", f"{size} bytes > max_pdf_bytes={max_pdf_bytes}", record_id=digest
        )
        return
    if HEADER not in bytes(data[:HEADER_WINDOW]):
        counters.drop("not_a_pdf")
        head = bytes(data[:16]).decode("latin-1").encode("unicode_escape").decode("ascii")
        yield "quarantine", quarantine_row(
            source, "not_a_pdf", f"no %PDF- header in the first {HEADER_WINDOW} bytes (starts {head!r})",
            record_id=digest)
        return
    import pymupdf

    try:
        doc = pymupdf.open(stream=bytes(data), filetype="pdf")
    except Exception as e:  # pymupdf raises FileDataError / RuntimeError subclasses
        counters.drop("pdf_corrupt")
        yield "quarantine", quarantine_row(source, "pdf_corrupt", f"{type(e).__name__}: {e}", record_id=digest)
        return
    with doc:
        try:
            yield _document_row(doc, source, digest, size, counters)
        except Exception as e:  # MuPDF raises on a page tree that declares more pages than it has, ...
            counters.drop("pdf_corrupt")
            yield "quarantine", quarantine_row(
                source, "pdf_corrupt", f"{type(e).__name__}: {e}", record_id=digest)


def _document_row(doc: Any, source: str, digest: str, size: int, counters: StageCounters) -> Event:
    """The raw row of an opened PDF, or its quarantine row. Counters change only once nothing can raise."""
    if doc.needs_pass:
        counters.drop("pdf_encrypted")
        return "quarantine", quarantine_row(source, "pdf_encrypted", "password required to open", record_id=digest)
    page_count = int(doc.page_count)
    if page_count == 0:
        counters.drop("pdf_no_pages")
        return "quarantine", quarantine_row(source, "pdf_no_pages", "0 pages", record_id=digest)
    meta = {k: v for k, v in (doc.metadata or {}).items() if v}
    repaired = bool(getattr(doc, "is_repaired", False))
    row = {
        "doc_id": digest,
        "path": source,
        "sha256": digest,
        "size_bytes": size,
        "page_count": page_count,
        "pdf_format": meta.get("format", ""),
        "title": meta.get("title", ""),
        "metadata": json.dumps(meta, sort_keys=True, ensure_ascii=False),
        "repaired": repaired,
    }
    if repaired:
        counters.add("pdf_repaired")
    counters.kept += 1
    counters.add("pdf_pages", page_count)
    counters.add("pdf_bytes", size)
    return "kept", row
