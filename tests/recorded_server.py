"""A local server that answers with responses recorded from real providers.

``tests/data/providers/*.yaml`` are vcrpy-format cassettes (plus a ``meta`` block naming the
provider and the origin). :class:`RecordedServer` serves their responses on 127.0.0.1 to
whatever the client sends, keeping each response's status, headers and body; only two things
are changed, and only when asked:

- ``fit=True``: a 200 answer whose ``message.content`` is not this project's summary has that
  content (and nothing else) replaced by a valid answer to the request it is answering
  (the built-in model's answer, :func:`pipeline.builtin.chat_completion`); the
  envelope (ids, usage, finish_reason, extra fields) and the headers stay as recorded;
- a ``choose`` function picks which recorded response answers each request (by default they
  are served in order, and the last one again once they run out), so a test can act as a
  server that behaves as the provider does (reject ``max_tokens``, accept
  ``max_completion_tokens``).

Every request body is kept in :attr:`RecordedServer.requests`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent / "data" / "providers"
#: hop-by-hop and length headers: the server sets its own
_SKIP = {"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}


@dataclass(frozen=True)
class Recorded:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def load(name: str | Path) -> tuple[dict[str, Any], list[Recorded]]:
    """A provider cassette's ``meta`` and its responses."""
    path = Path(name)
    if not path.is_file():
        path = DATA / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for it in data["interactions"]:
        resp = it["response"]
        headers = [
            (k, str(v))
            for k, values in (resp.get("headers") or {}).items()
            for v in (values if isinstance(values, list) else [values])
            if k.lower() not in _SKIP
        ]
        body = resp.get("body", {})
        text = body.get("string", "") if isinstance(body, dict) else str(body)
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        out.append(Recorded(int(resp["status"]["code"]), headers, text))
    return data.get("meta", {}), out


def fitted(body: str, request: dict[str, Any]) -> str:
    """``body`` with ``choices[0].message.content`` answering ``request`` (see the module
    docstring); any other body unchanged."""
    from pipeline import builtin

    try:
        data = json.loads(body)
    except ValueError:
        return body
    choices = data.get("choices") if isinstance(data, dict) else None
    if not choices or not isinstance(choices[0], dict):
        return body
    message = choices[0].get("message")
    if not isinstance(message, dict) or choices[0].get("finish_reason") not in (
        "stop",
        "eos",
        None,
    ):
        return body
    try:
        answer = builtin.chat_completion(request)["choices"][0]["message"]["content"]
    except Exception:  # a request the built-in model cannot answer: leave the body alone
        return body
    message["content"] = answer
    return json.dumps(data, ensure_ascii=False)


Choose = Callable[[dict[str, Any], int], Recorded]


class RecordedServer:
    """Serve recorded responses on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        responses: list[Recorded],
        *,
        fit: bool = True,
        choose: Choose | None = None,
    ) -> None:
        self.responses = responses
        self.fit = fit
        self.choose = choose
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with server._lock:
                    n = len(server.requests)
                    server.requests.append(body)
                    server.paths.append(self.path)
                reply = server._pick(body, n)
                text = reply.body
                if server.fit and reply.status == 200:
                    text = fitted(text, body)
                data = text.encode("utf-8")
                self.send_response(reply.status)
                for k, v in reply.headers:
                    self.send_header(k, v)
                if not any(k.lower() == "content-type" for k, _ in reply.headers):
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _pick(self, body: dict[str, Any], n: int) -> Recorded:
        if self.choose is not None:
            return self.choose(body, n)
        return self.responses[min(n, len(self.responses) - 1)]

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> RecordedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
