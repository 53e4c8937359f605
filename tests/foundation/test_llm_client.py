"""pipelines/llm.py against a real HTTP server speaking the OpenAI chat API (tests/llm_stub.py):
request schema, retries with backoff, timeouts, failure after the retries, the content-addressed
cache and the bound on requests in flight."""

from __future__ import annotations

import pytest

from sciforge.pipelines.llm import LLMCache, LLMClient, LLMConfig, cache_key, image_part
from sciforge.pipelines.storage import LocalStorage
from tests.llm_stub import StubServer, check_request, text_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _echo(body: dict) -> str:
    return "answer: " + text_of(body)[::-1]


def _cfg(url: str, **kw) -> LLMConfig:
    base = {"endpoint": url, "model": "stub-model", "backoff_initial_s": 0.05, "backoff_max_s": 0.4,
            "timeout_s": 5.0, "max_retries": 3}
    return LLMConfig(**{**base, **kw})


def test_request_schema_and_answer(monkeypatch):
    monkeypatch.setenv("SCIFORGE_TEST_LLM_KEY", "k-123")
    with StubServer(_echo) as s, LLMClient(_cfg(s.url, api_key_env="SCIFORGE_TEST_LLM_KEY")) as c:
        msgs = [{"role": "user", "content": [{"type": "text", "text": "abc"}, image_part(PNG)]}]
        out = c.complete(msgs)
    assert out.ok and out.text == "answer: cba" and not out.cached and out.attempts == 1
    body = s.requests[0]
    assert body["model"] == "stub-model" and body["temperature"] == 0.0 and body["seed"] == 0
    assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert s.auth == ["Bearer k-123"] and s.errors == []


def test_stub_rejects_bad_requests():
    assert check_request({"model": "m", "messages": []}, "m") == "messages must be a non-empty list"
    bad_img = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}
    assert "not a image/png" in check_request(bad_img, "m")
    assert "temperature" in check_request({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                           "temperature": "0"}, "m")


def test_retries_429_and_500_with_backoff():
    with StubServer(_echo) as s, LLMClient(_cfg(s.url)) as c:
        s.fail(429, 500, 503)
        out = c.complete([{"role": "user", "content": "hello"}])
    assert out.ok and out.text == "answer: olleh" and out.attempts == 4
    assert s.statuses == [429, 500, 503, 200]
    gaps = [b - a for a, b in zip(s.arrivals, s.arrivals[1:], strict=False)]
    # exponential: at least 0.05, 0.1, 0.2 s between attempts (jitter only adds)
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2


def test_failure_after_retries_is_an_error_and_never_cached(tmp_path):
    cache = LLMCache(LocalStorage(str(tmp_path)))
    msgs = [{"role": "user", "content": "hello"}]
    with StubServer(_echo) as s, LLMClient(_cfg(s.url, max_retries=2), cache=cache) as c:
        s.fail(500, 500, 500)
        out = c.complete(msgs)
        assert not out.ok and out.text is None
        assert out.error.startswith("http_500 after 3 attempt(s)")
        assert not list(tmp_path.rglob("*.txt"))  # a failure is not an answer
        again = c.complete(msgs)  # the server is back: a real answer, now cached
    assert again.ok and again.text == "answer: olleh" and len(list(tmp_path.rglob("*.txt"))) == 1


def test_client_errors_are_not_retried():
    with StubServer(_echo, model="other-model") as s, LLMClient(_cfg(s.url)) as c:
        out = c.complete([{"role": "user", "content": "x"}])
    assert not out.ok and out.error.startswith("http_400 after 1 attempt(s)") and len(s.statuses) == 1
    assert "not served" in s.errors[0]


def test_timeout_is_retried_then_fails():
    with StubServer(_echo, hang_s=2.0) as s, LLMClient(_cfg(s.url, timeout_s=0.3, max_retries=1)) as c:
        s.fail("hang")
        ok = c.complete([{"role": "user", "content": "ab"}])
        s.fail("hang", "hang")
        bad = c.complete([{"role": "user", "content": "ab"}])
    assert ok.ok and ok.attempts == 2 and ok.text == "answer: ba"
    assert not bad.ok and bad.error.startswith("timeout after 2 attempt(s)")


def test_cache_second_run_makes_no_request(tmp_path):
    reqs = [[{"role": "user", "content": [{"type": "text", "text": f"page {i}"},
                                          image_part(PNG + bytes([i]))]}] for i in range(6)]
    with StubServer(_echo) as s:
        with LLMClient(_cfg(s.url), cache=LLMCache(LocalStorage(str(tmp_path)))) as c:
            first = c.complete_many(reqs)
        n = len(s.requests)
        with LLMClient(_cfg(s.url), cache=LLMCache(LocalStorage(str(tmp_path)))) as c:  # a new run
            second = c.complete_many(reqs)
    assert n == 6 and len(s.requests) == 6  # zero requests on the second run
    assert [r.text for r in first] == [r.text for r in second]
    assert all(r.cached for r in second) and not any(r.cached for r in first)


def test_cache_key_hashes_image_bytes_and_settings():
    m1 = [{"role": "user", "content": [{"type": "text", "text": "t"}, image_part(PNG + b"1")]}]
    m2 = [{"role": "user", "content": [{"type": "text", "text": "t"}, image_part(PNG + b"2")]}]
    s = {"temperature": 0.0, "seed": 0, "max_tokens": None}
    assert cache_key("m", m1, s) == cache_key("m", [dict(x) for x in m1], s)
    assert cache_key("m", m1, s) != cache_key("m", m2, s)
    assert cache_key("m", m1, s) != cache_key("m2", m1, s)
    assert cache_key("m", m1, s) != cache_key("m", m1, {**s, "seed": 1})


@pytest.mark.parametrize("limit", [1, 3])
def test_bounded_concurrency(limit):
    reqs = [[{"role": "user", "content": f"r{i}"}] for i in range(8)]
    with StubServer(_echo, delay_s=0.15) as s, LLMClient(_cfg(s.url, max_concurrency=limit)) as c:
        out = c.complete_many(reqs)
    assert [o.text for o in out] == [f"answer: {i}r" for i in range(8)]  # in request order
    assert s.max_in_flight == limit


def test_connection_sections_are_found_in_the_stage_configs(monkeypatch):
    from sciforge.infra.airflow_env import DEFAULT_API_KEY_ENV, _llm_sections, llm_env_from_connections
    from sciforge.pipelines.config import Settings

    stages = {"web": {"rewrite": {"endpoint": "http://a/v1", "airflow_conn_id": "rw", "api_key_env": "K_RW"}},
              "pdf": {"expensive_backend": "vlm", "vlm": {"endpoint": "http://b/v1", "airflow_conn_id": "vlm"}}}
    s = Settings(stages=stages)
    assert sorted(sec["airflow_conn_id"] for sec in _llm_sections(dict(s.stages))) == ["rw", "vlm"]
    monkeypatch.setenv("K_RW", "set")
    monkeypatch.setenv("OPENAI_API_KEY", "set")
    assert llm_env_from_connections(s) == {}  # a key already in the environment wins, no lookup
    assert DEFAULT_API_KEY_ENV == LLMConfig().api_key_env
