"""Domain-centric decision: one keep / rewrite / drop per registered web domain.

Intern-S1 (tech. report, sec. 3.1.1) judged web DOMAINS, not only pages: up to a few hundred
pages are sampled per domain and labelled, then the whole domain is kept, rewritten with an LLM,
or dropped, because the pages of one site share their parse failures and their value. Here:

* :func:`sample_key` orders a domain's pages by a seeded hash; the first ``sample_size`` are the
  sample (a bottom-k sample: the same pages whatever the partitioning, so Spark and pandas agree);
* :func:`domain_stats` computes purity (share of sampled pages with P(science) >= threshold),
  quality (share of the domain's fetched pages that passed extraction, language and quality),
  the dominant field and the domain's boilerplate lines (lines repeated across its pages);
* :func:`decide` applies the thresholds of :class:`~sciforge.pipelines.web.config.DomainConfig`;
* :func:`apply_decisions` routes each page: keep, rewrite (pipelines/web/rewrite.py), rescue or drop.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.web.config import ClassifierConfig, DomainConfig

KEEP, REWRITE, DROP, PAGE_LEVEL = "keep", "rewrite", "drop", "page_level"

DOMAIN_SCHEMA = pa.schema([
    ("domain", pa.string()),
    ("decision", pa.string()),  # keep | rewrite | drop | page_level (too few pages to judge the domain)
    ("decision_reason", pa.string()),
    ("pages_fetched", pa.int64()),  # every response of the domain in the input
    ("pages_ok", pa.int64()),  # passed extraction, language and quality
    ("pages_sampled", pa.int64()),
    ("science_sampled", pa.int64()),
    ("purity", pa.float64()),
    ("quality", pa.float64()),
    ("mean_science_score", pa.float64()),
    ("top_field", pa.string()),
    ("field_counts", pa.string()),  # JSON {field: pages} over the sample
    ("boilerplate_lines", pa.string()),  # JSON list of the domain's repeated lines
])


def sample_key(doc_id: str, seed: int) -> int:
    """A seeded 63-bit hash of the page id: the bottom ``sample_size`` keys are the domain sample."""
    h = hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") >> 1


@dataclass(frozen=True)
class DomainStats:
    domain: str
    pages_fetched: int
    pages_ok: int
    pages_sampled: int
    science_sampled: int
    purity: float
    quality: float
    mean_science_score: float
    top_field: str
    field_counts: dict[str, int]
    boilerplate_lines: list[str]


# Repeated lines longer than this are content (a shared abstract, a quote), not site chrome.
MAX_BOILERPLATE_LINE_CHARS = 300


def boilerplate_lines(texts: Sequence[str], share: float) -> list[str]:
    """Lines present on at least ``share`` of the pages (and on at least two)."""
    if len(texts) < 2:
        return []
    df: Counter[str] = Counter()
    for t in texts:
        df.update({ln.strip() for ln in t.split("\n") if ln.strip() and len(ln.strip()) <= MAX_BOILERPLATE_LINE_CHARS})
    need = max(2, share * len(texts))
    return sorted(ln for ln, c in df.items() if c >= need)


def domain_stats(domain: str, pages_fetched: int, pages_ok: int, science_scores: Sequence[float],
                 fields: Sequence[str], texts: Sequence[str], dcfg: DomainConfig,
                 ccfg: ClassifierConfig) -> DomainStats:
    """Statistics of one domain from its sampled OK pages (already the bottom-k sample)."""
    n = len(science_scores)
    sci = [s >= ccfg.page_threshold for s in science_scores]
    fc = Counter(f for f, s in zip(fields, sci, strict=True) if s)
    top = max(sorted(fc), key=lambda f: fc[f]) if fc else "other"
    return DomainStats(
        domain=domain, pages_fetched=pages_fetched, pages_ok=pages_ok, pages_sampled=n,
        science_sampled=sum(sci), purity=round(sum(sci) / n, 6) if n else 0.0,
        quality=round(pages_ok / pages_fetched, 6) if pages_fetched else 0.0,
        mean_science_score=round(sum(science_scores) / n, 6) if n else 0.0, top_field=top,
        field_counts=dict(sorted(fc.items())), boilerplate_lines=boilerplate_lines(texts, dcfg.boilerplate_line_share),
    )


def decide(st: DomainStats, cfg: DomainConfig) -> tuple[str, str]:
    """(decision, why) for one domain."""
    if st.pages_sampled < cfg.min_pages:
        return PAGE_LEVEL, f"{st.pages_sampled} ok pages < min_pages={cfg.min_pages}"
    if st.purity >= cfg.keep_purity:
        if st.quality >= cfg.keep_quality:
            return KEEP, f"purity {st.purity:.2f} >= {cfg.keep_purity}, quality {st.quality:.2f}"
        return REWRITE, f"purity {st.purity:.2f} >= {cfg.keep_purity} but quality {st.quality:.2f} < {cfg.keep_quality}"
    if st.purity >= cfg.rewrite_purity:
        return REWRITE, f"purity {st.purity:.2f} in [{cfg.rewrite_purity}, {cfg.keep_purity})"
    return DROP, f"purity {st.purity:.2f} < {cfg.rewrite_purity}"


def stats_row(st: DomainStats, cfg: DomainConfig) -> dict[str, Any]:
    decision, why = decide(st, cfg)
    return {"domain": st.domain, "decision": decision, "decision_reason": why,
            "pages_fetched": st.pages_fetched, "pages_ok": st.pages_ok, "pages_sampled": st.pages_sampled,
            "science_sampled": st.science_sampled, "purity": st.purity, "quality": st.quality,
            "mean_science_score": st.mean_science_score, "top_field": st.top_field,
            "field_counts": json.dumps(st.field_counts, sort_keys=True),
            "boilerplate_lines": json.dumps(st.boilerplate_lines, ensure_ascii=False)}


@dataclass(frozen=True)
class PageRoute:
    action: str  # keep | rewrite | drop
    reason: str  # quarantine reason when dropped, else how it was kept
    rescued: bool = False


def route_page(decision: str, science_score: float, dcfg: DomainConfig, ccfg: ClassifierConfig) -> PageRoute:
    """What happens to one OK page given its domain's decision."""
    is_sci = science_score >= ccfg.page_threshold
    if decision == KEEP:
        return PageRoute(KEEP, "domain_keep")
    if decision == REWRITE:
        if is_sci:
            return PageRoute(REWRITE, "domain_rewrite")
        return PageRoute(DROP, "domain_rewrite_off_topic")
    if decision == PAGE_LEVEL:
        return PageRoute(KEEP, "page_level_science") if is_sci else PageRoute(DROP, "page_level_not_science")
    if science_score >= dcfg.rescue_score:
        return PageRoute(KEEP, "rescued", rescued=True)
    return PageRoute(DROP, "domain_drop")


def count_route(counters: StageCounters, route: PageRoute) -> None:
    if route.action == DROP:
        counters.drop(route.reason)
    else:
        counters.kept += 1
        counters.add(f"route_{route.reason}")


# ------------------------------------------------------------------ batch helpers (both engines)
DECISION_FIELDS = [
    ("domain_decision", pa.string()),
    ("route", pa.string()),  # domain_keep | domain_rewrite | page_level_science | rescued
    ("rewritten", pa.bool_()),
    ("rewrite_method", pa.string()),  # "" | cleanup | llm:<model>
]


def stats_from_sample(pdf: Any, dcfg: DomainConfig, ccfg: ClassifierConfig) -> dict[str, Any]:
    """One domain's row from its sampled pages: a pandas frame with ``domain, pages_fetched,
    pages_ok, science_score, field, text`` (one row per sampled page; the counts repeated)."""
    st = domain_stats(str(pdf["domain"].iloc[0]), int(pdf["pages_fetched"].iloc[0]), int(pdf["pages_ok"].iloc[0]),
                      [float(x) for x in pdf["science_score"]], list(pdf["field"]), list(pdf["text"]), dcfg, ccfg)
    return stats_row(st, dcfg)


def domain_table_local(pages: Any, quarantined: Any, seed: int, dcfg: DomainConfig,
                       ccfg: ClassifierConfig) -> pa.Table:
    """In-process version of the Spark aggregation: pandas frames of OK and quarantined pages."""
    import pandas as pd

    fetched = pd.concat([pages["domain"], quarantined["domain"]]).value_counts()
    ok = pages["domain"].value_counts()
    rows = []
    if len(pages):
        p = pages[["doc_id", "domain", "science_score", "field", "text"]].copy()
        p["_k"] = [sample_key(d, seed) for d in p["doc_id"]]
        p = p.sort_values(["domain", "_k"], kind="mergesort")
        for dom, g in p.groupby("domain", sort=True):
            g = g.head(dcfg.sample_size).assign(pages_fetched=int(fetched[dom]), pages_ok=int(ok[dom]))
            rows.append(stats_from_sample(g, dcfg, ccfg))
    for dom in sorted(set(fetched.index) - set(ok.index)):  # domains with no OK page at all
        st = domain_stats(str(dom), int(fetched[dom]), 0, [], [], [], dcfg, ccfg)
        rows.append(stats_row(st, dcfg))
    rows.sort(key=lambda r: r["domain"])
    return pa.Table.from_pylist(rows, schema=DOMAIN_SCHEMA)
