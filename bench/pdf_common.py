"""Shared pieces of the PDF benchmarks: the data layout of ../shared/data/pdf, docling ground
truth per page and per document, markdown normalisation and edit similarity."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

_MD_NOISE = [
    (re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", re.M), " "),  # table rules
    (re.compile(r"<[^>]{1,40}>"), " "),  # html tags (<br>, <sub> ...)
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), " "),  # images
    (re.compile(r"^\s{0,3}#{1,6}\s+", re.M), ""),  # heading marks
    (re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+", re.M), ""),  # list markers
    (re.compile(r"```[a-z]*"), " "),
    (re.compile(r"[*_`|]+"), " "),  # emphasis, code ticks, table pipes
    (re.compile(r"\s+"), " "),
]


def normalize(md: str) -> str:
    """Markdown -> plain comparable text: markup removed, whitespace collapsed."""
    for rx, rep in _MD_NOISE:
        md = rx.sub(rep, md)
    return md.strip()


def similarity(a: str, b: str) -> float:
    """Normalised edit similarity (1 - Levenshtein / max length) of the normalised texts."""
    return float(Levenshtein.normalized_similarity(normalize(a), normalize(b)))


def born_digital(data: Path) -> list[Path]:
    return sorted((data / "pdf" / "docling" / "pdf" / "sources").glob("*.pdf")) + sorted(
        p for p in (data / "pdf" / "mineru_demo").glob("demo*.pdf"))


def scanned(data: Path) -> list[Path]:
    return sorted((data / "pdf" / "docling" / "ocr" / "sources").glob("*.pdf")) + [
        data / "pdf" / "mineru_demo" / "small_ocr.pdf"]


def gt_dir(data: Path) -> Path:
    return data / "pdf" / "docling" / "pdf" / "groundtruth"


def gt_markdown(data: Path, pdf: Path) -> str | None:
    p = gt_dir(data) / f"{pdf.stem}.md"
    return p.read_text() if p.exists() else None


def ocr_gt_markdown(data: Path, pdf: Path) -> str | None:
    root = data / "pdf" / "docling" / "ocr" / "groundtruth"
    for p in [root / "tesseract" / "full_page" / f"{pdf.stem}.tesseract.full_page.md",
              root / "nemotron_ocr" / "full_page" / f"{pdf.stem}.nemotron_ocr.full_page.md"]:
        if p.exists():
            return p.read_text()
    return None


def _walk(doc: dict[str, Any], node: dict[str, Any], out: list[dict[str, Any]]) -> None:
    for ch in node.get("children", []):
        _, kind, idx = ch["$ref"].split("/")
        item = doc[kind][int(idx)]
        if kind in ("texts", "tables", "pictures"):
            out.append({"kind": kind, **item})
        _walk(doc, item, out)


# A docling `formula` item counts as math only if its text holds something a formula is made of:
# a digit, a Latin or Greek letter, an operator/bracket or a math code point. docling labels the
# Arabic text boxes of a diagram in right_to_left_02.pdf as a formula; that page has no math.
_FORMULA_EVIDENCE = re.compile("[0-9A-Za-z=+\\-*/^_<>()\\[\\]{}|\u0391-\u03c9\u2100-\u22ff\u27c0-\u2aff]")


def gt_pages(data: Path, pdf: Path, audited: bool = True) -> dict[int, dict[str, Any]] | None:
    """Per page (1-based): {"text": body text in reading order, "label": text|math|scan|empty}.

    Labels (issue 4): a page with a `formula` item is math; a page without any body text item
    but with a picture is a scan; a page with nothing at all is empty (a blank page, which no
    parser can read, is not counted as a missed scan). ``audited``: formula items without any
    formula character (see _FORMULA_EVIDENCE) are docling mislabels and do not make a page math."""
    p = gt_dir(data) / f"{pdf.stem}.json"
    if not p.exists():
        return None
    doc = json.loads(p.read_text())
    items: list[dict[str, Any]] = []
    _walk(doc, doc["body"], items)
    texts: dict[int, list[str]] = defaultdict(list)
    formula, pics = set(), set()
    for it in items:
        if not it.get("prov") or it.get("content_layer", "body") != "body":
            continue
        pno = it["prov"][0]["page_no"]
        if it["kind"] == "texts":
            texts[pno].append(it.get("text", ""))
            if it.get("label") == "formula" and (
                    not audited or _FORMULA_EVIDENCE.search(it.get("orig") or it.get("text") or "")):
                formula.add(pno)
        elif it["kind"] == "tables":
            cells = sorted(it["data"]["table_cells"], key=lambda c: (c["start_row_offset_idx"],
                                                                      c["start_col_offset_idx"]))
            texts[pno].append(" ".join(c["text"] for c in cells))
        else:
            pics.add(pno)
    out = {}
    for key in doc["pages"]:
        pno = int(key)
        has_text = any(t.strip() for t in texts.get(pno, []))
        label = "math" if pno in formula else "text" if has_text else "scan" if pno in pics else "empty"
        out[pno] = {"text": "\n\n".join(texts.get(pno, [])), "label": label}
    return out


def load_avg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"
