"""The VLM route of the expensive path: request building and post-processing.

A page routed expensive is rendered (``backends.render_page_png``, in the isolated worker) and
sent with the cheap pass's text as a hint to a vision-language model behind an OpenAI-compatible
API (:mod:`sciforge.pipelines.llm`: retries, bounded concurrency, the content-addressed cache). The answer
is cleaned by the rules below, the same kind MinerU's and olmOCR's VLM pipelines apply:

* a code fence around the whole answer (```` ```markdown ... ``` ````) is removed;
* ``\\[ ... \\]`` and ``\\( ... \\)`` become ``$$ ... $$`` and ``$ ... $``, and a ``$$`` block
  stands on its own lines;
* an empty answer is rejected (``vlm_empty``), and so is a decoding loop (``vlm_loop``: the tail
  repeats one unit of up to 64 characters ``loop_min_repeats`` times, or one line fills most of
  the answer); a rejected page falls back to the local parser with the reason recorded.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sciforge.pipelines.llm import image_part
from sciforge.pipelines.pdf.config import VlmConfig

_FENCE = re.compile(r"^\s*```[A-Za-z]*[ \t]*\n(?P<body>.*?)\n?```\s*$", re.S)
_DISPLAY = re.compile(r"\\\[(?P<m>.+?)\\\]", re.S)
_INLINE = re.compile(r"\\\((?P<m>.+?)\\\)", re.S)
_DOLLARS = re.compile(r"\$\$(?P<m>.+?)\$\$", re.S)
# A line that makes up more than this share of an answer's lines (and occurs this often) is a loop.
_LOOP_LINE_SHARE = 0.5
_LOOP_LINE_MIN = 8
_LOOP_UNIT_MAX = 64


def page_messages(png: bytes, hint: str, cfg: VlmConfig) -> list[dict[str, Any]]:
    """The chat request of one page: the instruction with the text-layer hint, then the image."""
    text = cfg.prompt + (hint[: cfg.hint_chars] if cfg.hint_chars else "")
    return [{"role": "user", "content": [{"type": "text", "text": text}, image_part(png, "image/png")]}]


def _display(m: re.Match[str]) -> str:
    return "\n\n$$\n" + m.group("m").strip() + "\n$$\n\n"


def is_loop(text: str, min_repeats: int) -> bool:
    """A degenerate answer: its tail is one short unit repeated, or one line dominates it."""
    tail = text[-(_LOOP_UNIT_MAX * min_repeats * 2):]
    if re.search(rf"(.{{1,{_LOOP_UNIT_MAX}}}?)\1{{{min_repeats - 1},}}\s*$", tail, re.S):
        return True
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) >= _LOOP_LINE_MIN:
        line, n = Counter(lines).most_common(1)[0]
        if n >= _LOOP_LINE_MIN and n / len(lines) > _LOOP_LINE_SHARE and not set(line) <= set("|-: $"):
            return True
    return False


def postprocess(text: str, cfg: VlmConfig) -> tuple[str, str | None]:
    """(markdown, None) or ("", reject reason) for one answer."""
    md = text.strip()
    m = _FENCE.match(md)
    if m:
        md = m.group("body").strip()
    if not md:
        return "", "vlm_empty"
    if is_loop(md, cfg.loop_min_repeats):
        return "", "vlm_loop"
    md = _DISPLAY.sub(_display, md)
    md = _INLINE.sub(lambda m: "$" + m.group("m").strip() + "$", md)
    md = _DOLLARS.sub(_display, md)
    md = re.sub(r"\n{3,}", "\n\n", md).strip()
    return md, None
