"""Cleaning: running headers/footers, page numbers, ligatures, hyphenation, parser artefacts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from sciforge.pipelines.pdf import text as T

_PAGE_NUMBER_RE = re.compile(
    r"^\s*(?:(?:page|p\.|seite|pág\.?)\s*)?[-–—(\[]?\s*(?:\d{1,5}|[ivxlcdm]{1,7})(?:[-–.]\d{1,4})?\s*[-–—)\]]?"
    r"(?:\s*(?:/|of|von|de)\s*\d{1,5})?\s*$",
    re.IGNORECASE,
)
_KEY_DROP_RE = re.compile(r"[^a-z#]+")


def margin_key(text: str) -> str:
    """A header/footer line's identity across pages: lowercase letters, digits masked as '#'."""
    return _KEY_DROP_RE.sub("", re.sub(r"\d+", "#", text.lower()))


# A running head of a journal page: a line of at most this many characters and 3+ words at the
# top or bottom, set smaller than the body text (a section heading "3 Methods" at the top of a
# page is not smaller), beginning or ending with the page number ("12  J. Chem.
# Phys. 45", "Optimized Table Tokenization for Table Structure Recognition 9"). Recognised on a
# single page, where the repetition test (running_keys) has no neighbours to count.
RUNNING_HEAD_MAX_CHARS = 120
_RUNNING_HEAD_RE = re.compile(r"^(?:\d{1,4}\s+\S.*\D|\D.*\S\s+\d{1,4})$")


def is_running_head(text: str, size: float, body_size: float) -> bool:
    """One margin line that looks like a journal's running head with its page number."""
    t = text.strip()
    return (0 < len(t) <= RUNNING_HEAD_MAX_CHARS and "\n" not in t and 0 < size <= body_size - 0.5
            and len(t.split()) >= 3 and bool(_RUNNING_HEAD_RE.match(t)))


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER_RE.match(text)) and len(text.strip()) <= 16


def in_margin(bbox: tuple[float, float, float, float], height: float, margin_share: float) -> bool:
    return bbox[3] <= height * margin_share or bbox[1] >= height * (1 - margin_share)


def margin_keys(blocks: Iterable[tuple[tuple[float, float, float, float], str]], height: float,
                margin_share: float) -> set[str]:
    """Keys of the (short) blocks lying in the top/bottom margins of one page."""
    out = set()
    for bbox, text in blocks:
        if in_margin(bbox, height, margin_share) and 0 < len(text) <= 300:
            k = margin_key(text)
            if len(k) >= 3:
                out.add(k)
    return out


def running_keys(page: int, keys_by_page: Mapping[int, set[str]], window: int, min_repeat: int) -> set[str]:
    """Margin keys of ``page`` that recur on >= min_repeat pages of [page-window, page+window].

    Depends only on the page's own neighbourhood, so the answer is the same however the
    document is split into page ranges across tasks."""
    own = keys_by_page.get(page, set())
    if not own:
        return set()
    counts: Counter[str] = Counter()
    seen = 0  # pages of the window the document has
    for q in range(page - window, page + window + 1):
        if q in keys_by_page:
            seen += 1
            counts.update(keys_by_page[q] & own)
    return {k for k in own if counts[k] >= repeat_needed(seen, min_repeat)}


def repeat_needed(window_pages: int, min_repeat: int) -> int:
    """Pages a margin line must recur on, in a window of ``window_pages`` pages: ``min_repeat``,
    but at most half of the window (a running head set on alternate pages, author names on even
    pages and the title on odd ones, recurs on every other page of a short document) and never
    fewer than 2 (a line on one page is not repeated)."""
    return max(2, min(min_repeat, window_pages // 2))


# A side stamp: a rotated line (arXiv's "arXiv:0807.3577v2 [astro-ph] 3 Oct 2008", a journal's
# "JCAP10(2008)003") printed along the left or right edge, within this share of the page width
# from it; a line counts as rotated when its box is at least ROTATED_MIN_ASPECT times taller than
# wide and it has at least SIDE_STAMP_MIN_CHARS characters (a horizontal line of that many
# characters is always wider than tall).
SIDE_STAMP_ZONE = 0.12
ROTATED_MIN_ASPECT = 2.0
SIDE_STAMP_MIN_CHARS = 6


def is_side_stamp(bbox: tuple[float, float, float, float], text: str, width: float) -> bool:
    """One line of rotated text in the left or right page margin."""
    x0, y0, x1, y1 = bbox
    return (len(text.strip()) >= SIDE_STAMP_MIN_CHARS and "\n" not in text.strip()
            and (y1 - y0) >= ROTATED_MIN_ASPECT * (x1 - x0)
            and (x1 <= width * SIDE_STAMP_ZONE or x0 >= width * (1 - SIDE_STAMP_ZONE)))


# A page's own furniture, recognised without neighbours (a one-page document): the page's topmost
# or bottommost block, in the margin zone, one short row set smaller than the body text and in
# another font family than the body ("Official - Subject to Final Review" in Times over a
# Courier transcript); a sentence (ending in a full stop) or a longer line is kept.
FURNITURE_MAX_CHARS = 60


def font_family(font: str) -> str:
    """A font name's family: subset prefix, style suffix and size digits removed
    ("ABCDEF+CMR10" and "CMR8" -> "cmr", "TimesNewRomanPS-BoldMT" -> "timesnewroman")."""
    name = font.split("+", 1)[-1].split("-", 1)[0].split(",", 1)[0].lower()
    for suffix in ("psmt", "mt", "ps"):
        if name.endswith(suffix) and len(name) > len(suffix) + 2:
            name = name[: -len(suffix)]
            break
    return name.rstrip("0123456789")


def is_lone_furniture(text: str, size: float, family: str, body_size: float, body_family: str) -> bool:
    t = text.strip()
    return (0 < len(t) <= FURNITURE_MAX_CHARS and "\n" not in t and not t.endswith(".")
            and 0 < size <= body_size - 0.5 and bool(family) and family != body_family)


# Artefacts some parsers leave in markdown: pymupdf4llm's omitted-picture notes, page-break
# markers, empty emphasis, runs of blank lines.
_ARTEFACT_RES = (
    re.compile(r"^\*\*==> picture \[[^\]]*\] intentionally omitted <==\*\*\s*$", re.MULTILINE),
    re.compile(r"^\*\*----- (Start|End) of picture text -----\*\*(<br>)?\s*$", re.MULTILINE),
    re.compile(r"^-{5,}\s*$", re.MULTILINE),
    re.compile(r"<!--.*?-->", re.DOTALL),
    # empty emphasis "** **" or "* *" (written to start with the literal '*' so that the regex
    # engine skips to the next '*' at C speed)
    re.compile(r"\*(?:\*\s*\*\*|(?<!\*\*)\s+\*(?!\*))"),
)
# Cheap substring tests that say an artefact pattern cannot match (most pages have none).
_ARTEFACT_HINTS = ("**", "**", "-----", "<!--", "*")
_BLANKS_RE = re.compile(r"\n{3,}")
_TRAILING_WS_RE = re.compile(r"[ \t]+\n")


def clean_markdown(md: str) -> str:
    """Parser-independent final clean-up of one page's markdown."""
    md = T.normalize_text(md)
    for rx, hint in zip(_ARTEFACT_RES, _ARTEFACT_HINTS, strict=True):
        if hint in md:
            md = rx.sub("", md)
    if "<br>" in md:
        md = md.replace("<br>", " ")
    if " \n" in md or "\t\n" in md:
        md = _TRAILING_WS_RE.sub("\n", md)
    if "\n\n\n" in md:
        md = _BLANKS_RE.sub("\n\n", md)
    return md.strip() + "\n" if md.strip() else ""


def strip_margin_lines(md: str, running: set[str], edge_lines: int = 3) -> str:
    """Drop running headers and page numbers among the first/last ``edge_lines`` non-blank
    lines of an expensive parser's markdown (its layout boxes are not available here)."""
    lines = md.split("\n")
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    edges = set(nonblank[:edge_lines] + nonblank[-edge_lines:])
    out = []
    for i, ln in enumerate(lines):
        bare = ln.strip().strip("#*_ ").strip()
        if i in edges and bare and (is_page_number(bare) or margin_key(bare) in running):
            continue
        out.append(ln)
    return "\n".join(out)
