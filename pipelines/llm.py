"""The one client for the stages that call a language or vision-language model over the OpenAI
chat-completions API (vLLM, SGLang, LMDeploy and OpenAI itself all serve it): the web stage's
rewrite, the silver labels of the web classifier and the PDF stage's VLM route.

The client is the ``openai`` SDK with its own retries switched off; :class:`LLMClient` adds

* retries with exponential backoff (tenacity) on 429, 5xx, timeouts and dropped connections;
  any other error (400, 401, 404: a wrong model name, a wrong key) fails at once;
* a per-request timeout and a bound on the requests in flight (``max_concurrency``);
* deterministic decoding: temperature 0 and a fixed ``seed`` by default;
* a content-addressed cache (:class:`LLMCache`) under the data root, through
  :mod:`sciforge.pipelines.storage` (local disk or S3): the key is the sha256 of the model, the messages
  (an image stands as the sha256 of its bytes) and the decoding settings, the value the
  response text. Re-running an interval reads the answers back, so it writes the same bytes.

A request that still fails after its retries comes back as a :class:`Completion` with
``error`` set and is never cached: the stage quarantines the record with that reason, it never
substitutes some other output.

Credentials: the API key is read from the environment variable ``api_key_env``. Under Airflow,
``airflow_conn_id`` names a connection whose password is the key; the orchestration layer
(``sciforge.infra.airflow_env.llm_env_from_connections``) resolves it into that variable, as it does for
the S3 credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sciforge.pipelines.storage import Storage

CACHE_PREFIX = "cache/llm"
# The key vLLM and SGLang accept when they run without authentication (`--api-key` unset).
NO_KEY = "EMPTY"


class LLMConfig(BaseModel):
    """Endpoint, model and request policy of one model-calling step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (vLLM / SGLang). None: no model.
    endpoint: str | None = None
    model: str = ""
    # Environment variable holding the API key (unset: the servers' no-auth placeholder).
    api_key_env: str = "OPENAI_API_KEY"
    # Airflow connection whose password is the API key (resolved by the orchestration layer).
    airflow_conn_id: str | None = None
    # Seconds one request may take. A page of text or a page image at 1-2k output tokens takes
    # 5-30 s on one vLLM GPU server under load; 60 s leaves room without sticking a task.
    timeout_s: float = Field(60.0, gt=0)
    # Retries after the first attempt, with exponential backoff from backoff_initial_s doubling up
    # to backoff_max_s (plus up to backoff_initial_s of jitter): 1+2+4+8 s rides out a server
    # restart or a burst of 429s; the SDK's own default is 2 retries from 0.5 s.
    max_retries: int = Field(4, ge=0)
    backoff_initial_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    # Requests in flight per client (per Spark task). vLLM batches concurrent requests; 4 per task
    # keeps a task's share of one server's batch small when many tasks run.
    max_concurrency: int = Field(4, ge=1)
    # Greedy decoding and a fixed seed: the same request gives the same answer on one server build.
    temperature: float = Field(0.0, ge=0)
    seed: int | None = 0
    max_tokens: int | None = Field(None, ge=1)
    # Answers are cached under <data root>/cache/llm (content-addressed; see the module doc).
    cache: bool = True

    def decoding(self) -> dict[str, Any]:
        """The request settings that shape the answer (part of the cache key)."""
        return {"temperature": self.temperature, "seed": self.seed, "max_tokens": self.max_tokens}

    def hashed(self) -> dict[str, Any]:
        """The options that determine the output (for dataset versions): not where the server
        runs, its credentials or the retry policy."""
        return {"endpoint_set": bool(self.endpoint), "model": self.model, **self.decoding()}


@dataclass(frozen=True)
class Completion:
    """One request's outcome: ``text`` or ``error`` (the reason, after the retries)."""

    text: str | None
    error: str | None = None
    cached: bool = False
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class LLMError(RuntimeError):
    pass


def image_part(data: bytes, mime: str = "image/png") -> dict[str, Any]:
    """A user-message content part carrying an image as a data URI (the OpenAI vision format)."""
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{base64.b64encode(data).decode()}"}}


def _keyed(messages: Sequence[dict[str, Any]]) -> list[Any]:
    """The messages with every data-URI image replaced by the sha256 of its bytes."""
    out: list[Any] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            parts = []
            for p in content:
                url = (p.get("image_url") or {}).get("url", "") if p.get("type") == "image_url" else ""
                if url.startswith("data:"):
                    raw = base64.b64decode(url.split(",", 1)[1])
                    parts.append({"type": "image", "sha256": hashlib.sha256(raw).hexdigest(),
                                  "mime": url[5:].split(";", 1)[0]})
                else:
                    parts.append(p)
            content = parts
        out.append({**m, "content": content})
    return out


def cache_key(model: str, messages: Sequence[dict[str, Any]], settings: dict[str, Any]) -> str:
    blob = json.dumps({"model": model, "messages": _keyed(messages), "settings": settings},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class LLMCache:
    """Response texts by content key, under ``<prefix>/<key[:2]>/<key>.txt`` of a storage."""

    def __init__(self, storage: Storage, prefix: str = CACHE_PREFIX) -> None:
        self.storage, self.prefix = storage, prefix.strip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key[:2]}/{key}.txt"

    def get(self, key: str) -> str | None:
        k = self._key(key)
        return self.storage.read_bytes(k).decode("utf-8") if self.storage.exists(k) else None

    def put(self, key: str, text: str) -> None:
        self.storage.write_bytes(self._key(key), text.encode("utf-8"))


def _retryable(e: BaseException) -> bool:
    import openai

    if isinstance(e, openai.APIConnectionError):  # timeouts included (APITimeoutError)
        return True
    return isinstance(e, openai.APIStatusError) and (e.status_code == 429 or e.status_code >= 500)


def _reason(e: BaseException) -> str:
    import openai

    if isinstance(e, openai.APITimeoutError):
        return "timeout"
    if isinstance(e, openai.APIStatusError):
        return f"http_{e.status_code}"
    if isinstance(e, openai.APIConnectionError):
        return "connection_error"
    return type(e).__name__


class LLMClient:
    """Chat completions with retries, bounded concurrency and the content-addressed cache."""

    def __init__(self, cfg: LLMConfig, *, cache: LLMCache | None = None, api_key: str | None = None) -> None:
        if not cfg.endpoint or not cfg.model:
            raise ValueError("LLMConfig needs an endpoint and a model")
        import openai

        self.cfg = cfg
        self.cache = cache if cfg.cache else None
        key = api_key or os.environ.get(cfg.api_key_env) or NO_KEY
        self._client = openai.OpenAI(base_url=cfg.endpoint, api_key=key, timeout=cfg.timeout_s, max_retries=0)
        self._slots = threading.BoundedSemaphore(cfg.max_concurrency)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def key(self, messages: Sequence[dict[str, Any]]) -> str:
        return cache_key(self.cfg.model, messages, self.cfg.decoding())

    def _request(self, messages: Sequence[dict[str, Any]]) -> str:
        extra: dict[str, Any] = {}
        if self.cfg.seed is not None:
            extra["seed"] = self.cfg.seed
        if self.cfg.max_tokens is not None:
            extra["max_tokens"] = self.cfg.max_tokens
        with self._slots:
            resp = self._client.chat.completions.create(
                model=self.cfg.model, messages=list(messages),  # type: ignore[arg-type]
                temperature=self.cfg.temperature, **extra)
        if not resp.choices:
            raise LLMError("response has no choices")
        return resp.choices[0].message.content or ""

    def complete(self, messages: Sequence[dict[str, Any]]) -> Completion:
        """One request: from the cache, else from the server (retried); never raises for the
        server's failures, which come back as ``Completion(error=...)``."""
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

        key = self.key(messages) if self.cache is not None else ""
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return Completion(hit, cached=True)
        cfg = self.cfg
        retrying = Retrying(retry=retry_if_exception(_retryable), stop=stop_after_attempt(cfg.max_retries + 1),
                            wait=wait_exponential_jitter(initial=cfg.backoff_initial_s, max=cfg.backoff_max_s,
                                                         jitter=cfg.backoff_initial_s), reraise=True)
        try:
            text = retrying(self._request, messages)
        except Exception as e:
            attempts = retrying.statistics.get("attempt_number", 1)
            return Completion(None, f"{_reason(e)} after {attempts} attempt(s): {str(e)[:300]}", attempts=attempts)
        attempts = retrying.statistics.get("attempt_number", 1)
        if self.cache is not None:
            self.cache.put(key, text)
        return Completion(text, attempts=attempts)

    def complete_many(self, requests: Sequence[Sequence[dict[str, Any]]]) -> list[Completion]:
        """Completions of many requests in their order, at most ``max_concurrency`` in flight."""
        if len(requests) <= 1 or self.cfg.max_concurrency == 1:
            return [self.complete(m) for m in requests]
        with ThreadPoolExecutor(max_workers=min(self.cfg.max_concurrency, len(requests))) as pool:
            return list(pool.map(self.complete, requests))


def open_client(cfg: LLMConfig, data_root: str | None = None, storage_options: dict[str, Any] | None = None,
                api_key: str | None = None) -> LLMClient:
    """A client whose cache lives under ``data_root`` (None: no cache)."""
    cache = None
    if cfg.cache and data_root:
        from sciforge.pipelines.storage import open_storage

        cache = LLMCache(open_storage(data_root, storage_options))
    return LLMClient(cfg, cache=cache, api_key=api_key)
