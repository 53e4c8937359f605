"""Rewrite step for pages of "rewrite" domains.

With an OpenAI-compatible chat endpoint configured (``stages.web.rewrite.endpoint``), each page
is rewritten by the model (Intern-S1 rewrote mid-value domains with an LLM); the rows are marked
``rewrite_method="llm:<model>"``. With none configured, a deterministic cleanup strips the
domain's boilerplate lines (lines repeated across its pages), C4's policy/javascript lines and
common boilerplate patterns, marked ``rewrite_method="cleanup"``. A failed LLM call falls back
to the cleanup and is counted, so an endpoint outage never loses pages.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Iterable
from typing import Any

from pipelines.counters import StageCounters
from pipelines.web.config import RewriteConfig
from pipelines.web.quality import is_policy_line

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


def chat_completion(endpoint: str, model: str, messages: list[dict[str, str]], *, api_key: str | None,
                    timeout_s: float, temperature: float = 0.0) -> str:
    """One call to ``<endpoint>/chat/completions`` (the OpenAI wire format), stdlib only."""
    body = json.dumps({"model": model, "messages": messages, "temperature": temperature}).encode()
    req = urllib.request.Request(f"{endpoint.rstrip('/')}/chat/completions", data=body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {api_key}"} if api_key else {})})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 (configured endpoint)
        data: dict[str, Any] = json.loads(resp.read())
    return str(data["choices"][0]["message"]["content"])


def rewrite_page(text: str, domain_boilerplate: Iterable[str], cfg: RewriteConfig,
                 counters: StageCounters) -> tuple[str, str]:
    """(new text, method) for one page of a rewrite domain."""
    cleaned, removed = cleanup(text, domain_boilerplate)
    counters.add("rewrite_lines_removed", removed)
    if cfg.endpoint:
        try:
            out = chat_completion(cfg.endpoint, cfg.model, [
                {"role": "user", "content": REWRITE_PROMPT + cleaned[: cfg.max_chars]}],
                api_key=os.environ.get(cfg.api_key_env), timeout_s=cfg.timeout_s, temperature=cfg.temperature)
            if out.strip():
                counters.add("rewrite_llm")
                return out.strip(), f"llm:{cfg.model}"
            counters.add("rewrite_llm_empty")
        except Exception:  # endpoint down / bad answer: fall back, counted
            counters.add("rewrite_llm_failed")
    counters.add("rewrite_cleanup")
    return cleaned, "cleanup"
