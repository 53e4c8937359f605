"""The web rewrite through pipelines/llm.py against a real HTTP server speaking the OpenAI chat
API (tests/llm_stub.py; no model weights can be downloaded here): a rewritten page carries the
model's text, a page the endpoint failed on is quarantined with a reason (never a silent
fallback), and a re-run reads the cache (zero requests, byte-identical frames)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.web.config import WebConfig
from sciforge.pipelines.web.pages import PAGES_SCHEMA, QUARANTINE_SCHEMA, SCORED_SCHEMA, finalize_pages
from sciforge.pipelines.web.rewrite import REWRITE_PROMPT, cleanup, rewrite_client
from tests.llm_stub import StubServer, text_of

BOILER = "Subscribe to our newsletter"


def _pages() -> pd.DataFrame:
    rows = []
    for i, (dom, score) in enumerate([("mid.example", 0.9), ("mid.example", 0.8), ("good.example", 0.9),
                                      ("mid.example", 0.1), ("mid.example", 0.95)]):
        rows.append({f.name: None for f in SCORED_SCHEMA} | {
            "doc_id": f"d{i}", "page": 0, "source": "web", "url": f"https://{dom}/{i}", "domain": dom,
            "field": "", "text": f"Enzyme kinetics, part {i}.\n{BOILER}\nMichaelis-Menten rate law {i}.",
            "science_score": score, "record_id": f"r{i}", "warc_file": "w.warc.gz", "warc_offset": i})
    return pd.DataFrame(rows, columns=[f.name for f in SCORED_SCHEMA])


DECISIONS = {"mid.example": ("rewrite", [BOILER]), "good.example": ("keep", [])}


def _answer(body: dict) -> str:
    page = text_of(body).removeprefix(REWRITE_PROMPT)
    return f"# Rewritten\n\n{page.splitlines()[0]}"


def _run(cfg: WebConfig, client=None) -> tuple[pd.DataFrame, pd.DataFrame, StageCounters]:
    c = StageCounters()
    kept, quar = finalize_pages(_pages(), DECISIONS, cfg, c, client)
    return kept, quar, c


def _bytes(kept: pd.DataFrame, quar: pd.DataFrame) -> tuple[bytes, bytes]:
    import io

    import pyarrow.parquet as pq

    out = []
    for df, schema in ((kept, PAGES_SCHEMA), (quar, QUARANTINE_SCHEMA)):
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(df, schema=schema, preserve_index=False), buf)
        out.append(buf.getvalue())
    return out[0], out[1]


def test_no_endpoint_is_the_deterministic_cleanup():
    kept, quar, _ = _run(WebConfig())
    rw = kept[kept["rewritten"]]
    assert list(rw["rewrite_method"]) == ["cleanup"] * 3
    assert list(rw["text"]) == [cleanup(t, [BOILER])[0] for t in _pages().set_index("doc_id").loc[
        list(rw["doc_id"]), "text"]]
    assert list(quar["reason"]) == ["domain_rewrite_off_topic"]


def test_llm_rewrite_and_cache(tmp_path):
    with StubServer(_answer) as s:
        cfg = WebConfig(rewrite={"endpoint": s.url, "model": "stub-model", "max_concurrency": 2})
        client = rewrite_client(cfg.rewrite, str(tmp_path))
        kept, quar, c = _run(cfg, client)
        client.close()
        assert len(s.requests) == 3 and s.errors == []
        assert s.requests[0]["temperature"] == 0.0 and s.requests[0]["seed"] == 0
        rw = kept[kept["rewritten"]].set_index("doc_id")
        assert set(rw["rewrite_method"]) == {"llm:stub-model"}
        assert rw.loc["d0", "text"] == "# Rewritten\n\nEnzyme kinetics, part 0."
        assert BOILER not in text_of(s.requests[0])  # the model sees the cleaned page
        assert kept.set_index("doc_id").loc["d2", "rewrite_method"] == ""  # keep domain: untouched
        assert c.metrics["rewrite_llm"] == 3
        client = rewrite_client(cfg.rewrite, str(tmp_path))  # a re-run of the interval
        kept2, quar2, c2 = _run(cfg, client)
        client.close()
    assert len(s.requests) == 3 and c2.metrics["rewrite_llm_cached"] == 3  # zero new requests
    assert _bytes(kept, quar) == _bytes(kept2, quar2)


def test_endpoint_failure_quarantines_with_reason(tmp_path):
    with StubServer(_answer) as s:
        cfg = WebConfig(rewrite={"endpoint": s.url, "model": "stub-model", "max_retries": 1,
                                 "backoff_initial_s": 0.01, "max_concurrency": 1})
        s.fail(500, 500)  # the first page exhausts its retries; the others go through
        client = rewrite_client(cfg.rewrite, str(tmp_path))
        kept, quar, c = _run(cfg, client)
        client.close()
    q = quar.set_index("doc_id")
    assert q.loc["d0", "stage"] == "rewrite" and q.loc["d0", "reason"] == "rewrite_failed"
    assert "http_500 after 2 attempt(s)" in q.loc["d0", "detail"]
    assert "d0" not in set(kept["doc_id"])  # never kept with the cleanup's text instead
    assert set(kept[kept["rewritten"]]["rewrite_method"]) == {"llm:stub-model"}
    assert c.metrics["rewrite_llm_failed"] == 1 and c.metrics["rewrite_llm"] == 2


def test_empty_answer_quarantines(tmp_path):
    with StubServer(lambda body: "  ") as s:
        cfg = WebConfig(rewrite={"endpoint": s.url, "model": "stub-model", "cache": False})
        kept, quar, _ = _run(cfg)
    assert set(quar[quar["stage"] == "rewrite"]["reason"]) == {"rewrite_empty"}
    assert not kept["rewritten"].any()


def test_version_ignores_where_the_server_runs():
    a = WebConfig(rewrite={"endpoint": "http://a:8000/v1", "model": "m", "timeout_s": 5})
    b = WebConfig(rewrite={"endpoint": "http://b:9000/v1", "model": "m", "max_retries": 9})
    assert a.hashed() == b.hashed()
    assert a.hashed() != WebConfig(rewrite={"endpoint": "http://a:8000/v1", "model": "m2"}).hashed()
