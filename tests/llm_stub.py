"""A small OpenAI-compatible chat server for tests: POST /v1/chat/completions over real HTTP.

No model weights can be downloaded here, so the stages' model routes (web rewrite, PDF VLM) are
tested against this server. It checks the request schema as vLLM's OpenAI front end would (a
model name, a list of messages with roles and text / ``image_url`` data-URI parts, numeric
decoding settings) and answers 400 when it is wrong; a test scripts failures (`fail` takes a
list of 429 / 500 / "hang") and reads what it saw (requests, in-flight peak, arrival times).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROLES = {"system", "user", "assistant"}
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def check_request(body: Any, model: str) -> str | None:
    """Why ``body`` is not a valid chat-completions request for ``model`` (None when it is)."""
    if not isinstance(body, dict):
        return "body is not an object"
    if body.get("model") != model:
        return f"model {body.get('model')!r} is not served (serving {model!r})"
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "messages must be a non-empty list"
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            return f"bad message {str(m)[:80]}"
        c = m.get("content")
        if isinstance(c, str):
            continue
        if not isinstance(c, list) or not c:
            return "content must be a string or a list of parts"
        for p in c:
            if p.get("type") == "text" and isinstance(p.get("text"), str):
                continue
            if p.get("type") != "image_url":
                return f"unknown part type {p.get('type')!r}"
            url = (p.get("image_url") or {}).get("url", "")
            if not url.startswith("data:") or ";base64," not in url:
                return "image_url must be a base64 data URI"
            mime, data = url[5:].split(";base64,", 1)
            try:
                raw = base64.b64decode(data, validate=True)
            except Exception:
                return "image data is not base64"
            if mime not in IMAGE_MAGIC or not raw.startswith(IMAGE_MAGIC[mime]):
                return f"image is not a {mime}"
    for k in ("temperature", "top_p"):
        if k in body and not isinstance(body[k], int | float):
            return f"{k} must be a number"
    for k in ("seed", "max_tokens"):
        if k in body and not isinstance(body[k], int):
            return f"{k} must be an integer"
    return None


def text_of(body: dict[str, Any]) -> str:
    """The text parts of the last user message."""
    c = body["messages"][-1]["content"]
    return c if isinstance(c, str) else "\n".join(p["text"] for p in c if p.get("type") == "text")


class StubServer:
    """``with StubServer(answer) as s: s.url`` -> ``http://127.0.0.1:<port>/v1``.

    ``answer(body) -> str`` makes the assistant's reply; ``delay_s`` holds every request that long
    (for the in-flight count)."""

    def __init__(self, answer: Callable[[dict[str, Any]], str], model: str = "stub-model",
                 delay_s: float = 0.0, hang_s: float = 5.0) -> None:
        self.answer, self.model, self.delay_s, self.hang_s = answer, model, delay_s, hang_s
        self.lock = threading.Lock()
        self.plan: list[int | str] = []
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.statuses: list[int | str] = []
        self.errors: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self.auth: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, obj: Any) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body_raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with server.lock:
                    server.arrivals.append(time.monotonic())
                    server.auth.append(self.headers.get("Authorization"))
                    action = server.plan.pop(0) if server.plan else 200
                    server.statuses.append(action)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if action == "hang":
                        time.sleep(server.hang_s)
                        return
                    if action != 200:
                        self._send(int(action), {"error": {"message": f"scripted {action}"}})
                        return
                    try:
                        body = json.loads(body_raw)
                    except ValueError:
                        body = None
                    why = check_request(body, server.model)
                    if why:
                        with server.lock:
                            server.errors.append(why)
                        self._send(400, {"error": {"message": why, "type": "BadRequestError"}})
                        return
                    with server.lock:
                        server.requests.append(body)
                    time.sleep(server.delay_s)
                    content = server.answer(body)
                    self._send(200, {
                        "id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion", "created": 0,
                        "model": server.model,
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
                finally:
                    with server.lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def fail(self, *actions: int | str) -> None:
        """The next requests get these answers in turn: an HTTP status (429, 500, 503) or "hang"."""
        with self.lock:
            self.plan.extend(actions)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
