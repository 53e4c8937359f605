"""A backend that never returns: stands in for a page that makes a parser hang."""

from __future__ import annotations

import time
from typing import Any


def hang_page(path: str, pno: int, opts: dict[str, Any]) -> str:
    while True:
        time.sleep(1)
