"""Rebuild ``text.txt.gz`` from the Python standard library's documentation (run once, by hand)."""

from __future__ import annotations

import gzip
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

OUT = Path(__file__).with_name("text.txt.gz")
SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3", "ensurepip"}
MIN_DOC_CHARS = 200  # shorter docstrings are mostly signatures


def build() -> str:
    docs: list[str] = []
    seen: set[str] = set()
    names = sorted(m.name for m in pkgutil.iter_modules()
                   if m.name in sys.stdlib_module_names and not m.name.startswith("_") and m.name not in SKIP)
    for name in names:
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        objs = [mod] + [v for k, v in sorted(vars(mod).items()) if not k.startswith("_")
                        and (inspect.isclass(v) or inspect.isfunction(v)) and getattr(v, "__module__", None) == name]
        for o in objs:
            d = inspect.getdoc(o)
            if d and len(d) >= MIN_DOC_CHARS and d not in seen:
                seen.add(d)
                docs.append(d)
    from pydoc_data.topics import topics

    docs.extend(topics[k] for k in sorted(topics))
    return "\n\n".join(docs) + "\n"


if __name__ == "__main__":
    text = build()
    OUT.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"{OUT}: {len(text)} characters")
