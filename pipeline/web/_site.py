"""A local web site on 127.0.0.1 for the web tests and benchmarks: pages and feeds at paths,
redirects, any status and content type, gzip or brotli bodies, ETag / Last-Modified with
304 answers to conditional requests, a configurable latency, and counts of what it saw
(every request with its headers, and the most requests it had in flight at once).

``gate=N`` holds each request for a path under ``gate_prefix`` until N are in flight (or
``gate_timeout_s`` passes), so a test can check a client's concurrency by counting, never by
timing. With ``admin=True``, ``/_site/stats`` answers the counts as JSON and ``/_site/reset``
clears them (for a site run in another process, as the benchmarks do).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    """A client that closes its connection while the site reads or writes (a keep-alive
    connection dropped, a fetch given up) is no error of the site's: ``socketserver`` would
    print its traceback to ``sys.stderr``, which a test may be capturing as the command's."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    encoding: str | None = None  # "gzip" or "br": the body is sent compressed
    latency_s: float | None = None  # this route's own latency (else the site's)


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    status: int


class LocalSite:
    """``with LocalSite() as site: site.add("/a", html)``; ``site.url("/a")``."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        gate: int = 0,
        gate_prefix: str = "/",
        gate_timeout_s: float = 5.0,
        admin: bool = False,
        port: int = 0,
    ) -> None:
        self.admin = admin
        self.port = port
        self.latency_s = latency_s
        self.gate = gate
        self.gate_prefix = gate_prefix
        self.gate_timeout_s = gate_timeout_s
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.bytes_sent = 0  # body bytes sent (as sent: compressed when compressed)
        self._cond = threading.Condition()
        self._tickets = 0  # requests seen
        self._released = 0  # requests up to this ticket have passed the gate
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content ---------------------------------------------------------------------------------
    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        conditional: bool = False,
        **kw: Any,
    ) -> str:
        """Serve ``body`` at ``path`` (``conditional``: with an ETag and a Last-Modified
        derived from the body); returns the full URL."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        route = Route(body=raw, **kw)
        if conditional:
            route.etag = route.etag or '"' + hashlib.sha1(raw).hexdigest()[:16] + '"'
            route.last_modified = route.last_modified or formatdate(1_700_000_000, usegmt=True)
        self.routes[path] = route
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 301) -> str:
        self.routes[path] = Route(status=status, content_type=None, headers={"Location": location})
        return self.url(path)

    def url(self, path: str) -> str:
        assert self._server is not None, "start the site first (use it as a context manager)"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{path}"

    def requests_for(self, path: str) -> list[Hit]:
        with self._cond:
            return [h for h in self.hits if h.path == path]

    def reset_counts(self) -> None:
        with self._cond:
            self.hits.clear()
            self.max_in_flight = 0
            self.bytes_sent = 0

    # -- serving ---------------------------------------------------------------------------------
    def __enter__(self) -> LocalSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site._serve(self)

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def counts(self) -> dict[str, object]:
        with self._cond:
            statuses: dict[str, int] = {}
            for hit in self.hits:
                statuses[str(hit.status)] = statuses.get(str(hit.status), 0) + 1
            return {
                "requests": len(self.hits),
                "statuses": statuses,
                "conditional": sum(
                    1
                    for h in self.hits
                    if "if-none-match" in h.headers or "if-modified-since" in h.headers
                ),
                "bytes": self.bytes_sent,
                "max_in_flight": self.max_in_flight,
            }

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if self.admin and path in ("/_site/stats", "/_site/reset"):
            if path == "/_site/reset":
                self.reset_counts()
            body = json.dumps(self.counts()).encode()
            self._send(handler, 200, body, {"Content-Type": "application/json"})
            return
        route = self.routes.get(path) or self.routes.get(path.split("?", 1)[0])
        with self._cond:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._tickets += 1
            ticket = self._tickets
            if self.in_flight >= self.gate:  # everyone waiting now may go
                self._released = self._tickets
                self._cond.notify_all()
            if self.gate and path.startswith(self.gate_prefix):
                deadline = time.monotonic() + self.gate_timeout_s
                while ticket > self._released and time.monotonic() < deadline:
                    self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))
        latency = route.latency_s if route and route.latency_s is not None else self.latency_s
        if latency:
            time.sleep(latency)
        status, body, headers = self._answer(handler, route)
        # The hit is counted before its answer is written: a client that has read the answer
        # may look at the counts at once, and must find its request there.
        with self._cond:
            self.in_flight -= 1
            self.hits.append(
                Hit("GET", path, {k.lower(): v for k, v in handler.headers.items()}, status)
            )
        try:
            self._send(handler, status, body, headers)
        except (BrokenPipeError, ConnectionResetError):  # the client went away
            handler.close_connection = True

    def _answer(
        self, handler: BaseHTTPRequestHandler, route: Route | None
    ) -> tuple[int, bytes, dict[str, str]]:
        """What to answer: (status, body, headers)."""
        if route is None:
            return 404, b"not found", {"Content-Type": "text/plain"}
        headers = dict(route.headers)
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.status == 200 and (
            (route.etag and handler.headers.get("If-None-Match") == route.etag)
            or (
                route.last_modified
                and not handler.headers.get("If-None-Match")
                and handler.headers.get("If-Modified-Since") == route.last_modified
            )
        ):
            headers.pop("Content-Type", None)
            return 304, b"", headers
        body = route.body
        accepted = handler.headers.get("Accept-Encoding", "")
        if route.encoding == "gzip" and "gzip" in accepted:
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        elif route.encoding == "br" and "br" in accepted:
            import brotli

            body = brotli.compress(body)
            headers["Content-Encoding"] = "br"
        with self._cond:
            self.bytes_sent += len(body)
        return route.status, body, headers

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        if status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if status != 304 and body:
            handler.wfile.write(body)
