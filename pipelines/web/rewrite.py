"""Rewrite step for pages of "rewrite" domains.

Every page of a rewrite domain is first cleaned deterministically: the domain's boilerplate lines
(lines repeated across its pages), C4's policy/javascript lines and common boilerplate patterns
are stripped (``rewrite_method="cleanup"``). With a model configured
(``stages.web.rewrite.endpoint`` and ``.model``, an OpenAI-compatible server such as vLLM or
SGLang), the cleaned page is then rewritten by it (Intern-S1 rewrote mid-value domains with an
LLM), marked ``rewrite_method="llm:<model>"``, through :mod:`sciforge.pipelines.llm` (retries, bounded
concurrency, the content-addressed cache under the data root). A page the model could not
rewrite (the endpoint failed after its retries, or answered nothing) is quarantined with
``stage="rewrite"`` and the reason (``rewrite_failed`` / ``rewrite_empty``): the dataset never
mixes model output with a silent fallback, and a re-run reads the cached answers back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.llm import LLMClient, open_client
from sciforge.pipelines.web.config import RewriteConfig
from sciforge.pipelines.web.quality import is_policy_line

# Short lines matching these are navigation/footer/share widgets (patterns after the boilerplate
# lists of jusText and trafilatura's htmlprocessing); longer lines are content.
BOILERPLATE_PATTERN = re.compile(
    r"^(?:[\W_]*)(?:©|\(c\)|copyright\b|all rights reserved|share (?:this|on)|tweet\b|follow us|"
    r"sign up|sign in|log ?in|subscribe|newsletter|read more|related (?:posts|articles)|"
    r"skip to (?:content|main)|back to top|previous (?:post|article)|next (?:post|article)|"
    r"home\s*[|>»/]|cookie|accept all|terms of (?:use|service)|privacy)", re.I)
BOILERPLATE_MAX_WORDS = 12  # a line longer than this is never removed by pattern
REWRITE_PROMPT = (
    "Rewrite the following web page as clean, self-contained scientific text in markdown. Keep every "
    "fact, formula, table and reference; remove navigation, advertising and other boilerplate; do not "
    "add information. Answer with the rewritten text only.\n\n")


def cleanup(text: str, domain_boilerplate: Iterable[str]) -> tuple[str, int]:
    """(cleaned text, number of lines removed)."""
    bp = set(domain_boilerplate)
    out, removed = [], 0
    for line in text.split("\n"):
        s = line.strip()
        if s and (s in bp or is_policy_line(s) or
                  (len(s.split()) <= BOILERPLATE_MAX_WORDS and BOILERPLATE_PATTERN.match(s))):
            removed += 1
            continue
        out.append(line)
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
    return cleaned, removed


@dataclass(frozen=True)
class Rewritten:
    """One page's rewrite: ``text`` and ``method``, or ``reason``/``detail`` when it is quarantined."""

    text: str
    method: str
    reason: str = ""
    detail: str = ""


def rewrite_client(cfg: RewriteConfig, data_root: str | None = None,
                   storage_options: dict[str, Any] | None = None) -> LLMClient | None:
    """The rewrite's model client (its cache under ``data_root``), or None without a model."""
    return open_client(cfg, data_root, storage_options) if cfg.endpoint else None


def rewrite_pages(pages: Sequence[tuple[str, Iterable[str]]], cfg: RewriteConfig, counters: StageCounters,
                  client: LLMClient | None = None) -> list[Rewritten]:
    """Rewrite (text, domain boilerplate) pages of rewrite domains, in order; the model calls run
    concurrently (``cfg.max_concurrency``). Without an endpoint: the cleanup alone."""
    cleaned = []
    for text, bp in pages:
        page, removed = cleanup(text, bp)
        counters.add("rewrite_lines_removed", removed)
        cleaned.append(page)
    if not cfg.endpoint:
        counters.add("rewrite_cleanup", len(cleaned))
        return [Rewritten(t, "cleanup") for t in cleaned]
    own = client is None
    client = client or rewrite_client(cfg)
    assert client is not None
    try:
        done = client.complete_many([[{"role": "user", "content": REWRITE_PROMPT + t[: cfg.max_chars]}]
                                     for t in cleaned])
    finally:
        if own:
            client.close()
    out: list[Rewritten] = []
    for comp in done:
        counters.add("rewrite_llm_cached" if comp.cached else "rewrite_llm_requests")
        if not comp.ok:
            counters.add("rewrite_llm_failed")
            out.append(Rewritten("", "", "rewrite_failed", f"{cfg.model} at {cfg.endpoint}: {comp.error}"))
        elif not (comp.text or "").strip():
            counters.add("rewrite_llm_empty")
            out.append(Rewritten("", "", "rewrite_empty", f"{cfg.model} answered nothing"))
        else:
            counters.add("rewrite_llm")
            out.append(Rewritten((comp.text or "").strip(), f"llm:{cfg.model}"))
    return out
