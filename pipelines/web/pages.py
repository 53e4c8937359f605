"""Page step of the web filter: raw WARC response rows -> scored pages (or quarantine rows).

``score_batch`` runs, per record: HTTP status check, HTML decode + main-text extraction,
language identification, quality rules and the science classifier. It is the map function of
the first pass of ``jobs/web_filter.py`` (picklable via ``functools.partial``); the domain
decision needs every page of a domain, so it happens in a second pass (pipelines/web/domains.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.pages import page_schema
from sciforge.pipelines.stage import BatchResult
from sciforge.pipelines.web.classifier import LexiconTeacher, load_classifier
from sciforge.pipelines.web.config import WebConfig
from sciforge.pipelines.web.extract import ExtractError, extract_html
from sciforge.pipelines.web.langid import check_language
from sciforge.pipelines.web.quality import check_quality

if TYPE_CHECKING:
    from sciforge.pipelines.llm import LLMClient

# The page contract's columns first (pipelines/pages.py), then this stage's scores.
SCORE_FIELDS = [
    ("host", pa.string()),
    ("title", pa.string()),
    ("lang", pa.string()),
    ("lang_score", pa.float32()),
    ("declared_lang", pa.string()),
    ("encoding", pa.string()),
    ("quality_score", pa.float32()),
    ("science_score", pa.float32()),  # level 1: P(science)
    ("field_score", pa.float32()),  # level 2: P(field) of the best field
    ("subfield", pa.string()),  # level 3, from the lexicon
    ("record_id", pa.string()),
    ("warc_file", pa.string()),
    ("warc_offset", pa.int64()),
    ("warc_date", pa.string()),
]
SCORED_SCHEMA = page_schema(SCORE_FIELDS)
# Every page rejected anywhere in the web filter: where it came from and why.
QUARANTINE_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("url", pa.string()),
    ("domain", pa.string()),
    ("record_id", pa.string()),
    ("warc_file", pa.string()),
    ("warc_offset", pa.int64()),
    ("http_status", pa.int32()),
    ("stage", pa.string()),  # page | domain | rewrite
    ("reason", pa.string()),
    ("detail", pa.string()),
    ("science_score", pa.float32()),
    ("text", pa.string()),  # the extracted text when there is one (for audits), else ""
])
_DETAIL_CHARS = 2000


def doc_id_of(record_id: str | None, url: str) -> str:
    """Stable page id: sha256 of the WARC record id (or the URL when a record has none)."""
    return hashlib.sha256((record_id or url).encode()).hexdigest()


def _quarantine(row: dict[str, Any], doc_id: str, reason: str, detail: str = "", text: str = "",
                science: float = float("nan")) -> dict[str, Any]:
    return {"doc_id": doc_id, "url": row.get("url") or "", "domain": row.get("domain") or "",
            "record_id": row.get("record_id") or "", "warc_file": row.get("warc_file") or "",
            "warc_offset": row.get("warc_offset"), "http_status": row.get("http_status"), "stage": "page",
            "reason": reason, "detail": detail[:_DETAIL_CHARS], "science_score": science, "text": text}


def score_record(row: dict[str, Any], cfg: WebConfig, counters: StageCounters,
                 teacher: LexiconTeacher | None = None) -> tuple[str, dict[str, Any]]:
    """("kept", scored row) or ("quarantine", quarantine row) for one raw web row."""
    doc_id = doc_id_of(row.get("record_id"), row.get("url") or "")
    status = int(row.get("http_status") or 0)
    if status not in cfg.ok_statuses:
        counters.drop("http_status")
        return "quarantine", _quarantine(row, doc_id, "http_status", f"HTTP {status}")
    try:
        ex = extract_html(row.get("html") or b"", row.get("content_type"), cfg.extract, counters)
    except ExtractError as e:
        counters.drop(e.reason)
        return "quarantine", _quarantine(row, doc_id, e.reason, e.detail)
    lang = check_language(ex.text, cfg.langid, counters)
    if not lang.keep:
        counters.drop(lang.reason)
        return "quarantine", _quarantine(row, doc_id, lang.reason, f"{lang.lang} {lang.score:.3f}", ex.text)
    q = check_quality(ex.text, cfg.quality, counters)
    model = load_classifier(cfg.classifier.model_path)
    pred = model.predict(f"{ex.title}\n{ex.text}")
    if not q.keep:
        counters.drop(q.reason)
        return "quarantine", _quarantine(row, doc_id, q.reason, ",".join(q.failed), ex.text,
                                         pred.science_score)
    is_sci = pred.science_score >= cfg.classifier.page_threshold
    field = pred.field if is_sci else "other"
    teacher = teacher or LexiconTeacher()
    counters.kept += 1
    counters.add("science_pages" if is_sci else "other_pages")
    return "kept", {
        "doc_id": doc_id, "page": 0, "source": "web", "url": row.get("url") or "", "domain": row.get("domain") or "",
        "field": field, "text": ex.text, "host": row.get("host") or "", "title": ex.title,
        "lang": lang.lang, "lang_score": lang.score, "declared_lang": ex.declared_lang, "encoding": ex.encoding,
        "quality_score": q.score, "science_score": pred.science_score, "field_score": pred.probs[pred.field],
        "subfield": teacher.subfield(ex.text, field), "record_id": row.get("record_id") or "",
        "warc_file": row.get("warc_file") or "", "warc_offset": row.get("warc_offset"),
        "warc_date": row.get("warc_date") or "",
    }


def score_batch(batch: pa.Table, cfg_json: str) -> BatchResult:
    """MapStage function: ``cfg_json`` is ``WebConfig.model_dump_json()`` (picklable, hashable)."""
    cfg = WebConfig.model_validate(json.loads(cfg_json))
    counters = StageCounters()
    teacher = LexiconTeacher()
    kept: list[dict[str, Any]] = []
    quar: list[dict[str, Any]] = []
    for row in batch.to_pylist():
        counters.input += 1
        try:
            kind, out = score_record(row, cfg, counters, teacher)
        except Exception as e:  # a bug on one hostile page must not lose the batch: count it
            counters.drop("page_error")
            kind, out = "quarantine", _quarantine(row, doc_id_of(row.get("record_id"), row.get("url") or ""),
                                                  "page_error", f"{type(e).__name__}: {e}")
        (kept if kind == "kept" else quar).append(out)
    return BatchResult(pa.Table.from_pylist(kept, schema=SCORED_SCHEMA),
                       pa.Table.from_pylist(quar, schema=QUARANTINE_SCHEMA), counters)


def finalize_pages(pages: Any, decisions: dict[str, tuple[str, list[str]]], cfg: WebConfig,
                   counters: StageCounters, client: LLMClient | None = None) -> tuple[Any, Any]:
    """Route scored pages (pandas) by their domain's decision -> (kept frame, quarantine frame).

    ``decisions`` maps domain -> (decision, boilerplate lines). Kept pages of rewrite domains are
    rewritten (pipelines/web/rewrite.py, through ``client`` when a model is configured); the rest go
    to quarantine with ``stage="domain"``, and pages the model failed on with ``stage="rewrite"``.
    """
    import pandas as pd

    from sciforge.pipelines.web.domains import DROP, PAGE_LEVEL, REWRITE, count_route, route_page
    from sciforge.pipelines.web.rewrite import rewrite_pages

    audit = ("doc_id", "url", "domain", "record_id", "warc_file", "warc_offset", "science_score", "text")
    routed: list[tuple[dict[str, Any], str, Any]] = []
    quar: list[dict[str, Any]] = []
    for row in pages.to_dict("records"):
        decision, bp = decisions.get(row["domain"], (PAGE_LEVEL, []))
        counters.input += 1
        route = route_page(decision, float(row["science_score"]), cfg.domain, cfg.classifier)
        count_route(counters, route)
        if route.action == DROP:
            quar.append({**{k: row.get(k) for k in audit}, "http_status": 200, "stage": "domain",
                         "reason": route.reason, "detail": f"domain decision {decision}"})
            continue
        routed.append((row, decision, route))
    todo = [(row["text"], decisions.get(row["domain"], (PAGE_LEVEL, []))[1])
            for row, _, route in routed if route.action == REWRITE]
    rewritten = iter(rewrite_pages(todo, cfg.rewrite, counters, client))
    kept = []
    for row, decision, route in routed:
        text, method = row["text"], ""
        if route.action == REWRITE:
            r = next(rewritten)
            if r.reason:
                quar.append({**{k: row.get(k) for k in audit}, "http_status": 200, "stage": "rewrite",
                             "reason": r.reason, "detail": r.detail[:_DETAIL_CHARS]})
                continue
            text, method = r.text, r.method
        kept.append({**row, "text": text, "domain_decision": decision, "route": route.reason,
                     "rewritten": route.action == REWRITE, "rewrite_method": method})
    kcols = [f.name for f in PAGES_SCHEMA]
    qcols = [f.name for f in QUARANTINE_SCHEMA]
    return pd.DataFrame(kept, columns=kcols), pd.DataFrame(quar, columns=qcols)


def _pages_schema() -> pa.Schema:
    from sciforge.pipelines.web.domains import DECISION_FIELDS

    return page_schema(SCORE_FIELDS + DECISION_FIELDS)


PAGES_SCHEMA = _pages_schema()
