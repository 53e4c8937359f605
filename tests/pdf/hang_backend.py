"""A backend that never returns: stands in for a page that makes a parser hang."""

from __future__ import annotations

import time
from typing import Any


def hang_page(path: str, pno: int, opts: dict[str, Any]) -> str:
    while True:
        time.sleep(1)


def hang_on_second_page(pdf_file: str, start: int, end: int, cfg_json: str) -> dict[str, Any]:
    """The cheap pass, except that page index 1 never finishes (a pathological content stream)."""
    from sciforge.pipelines.pdf.parse import cheap_pass

    if start <= 1 < end:
        while True:
            time.sleep(1)
    return cheap_pass(pdf_file, start, end, cfg_json)


def crash_on_file_b(pdf_file: str, start: int, end: int, cfg_json: str) -> dict[str, Any]:
    """The cheap pass, except that it raises on any file named b.pdf (a parser bug on one file)."""
    from sciforge.pipelines.pdf.parse import cheap_pass

    if pdf_file.endswith("b.pdf"):
        raise ValueError("parser bug")
    return cheap_pass(pdf_file, start, end, cfg_json)
