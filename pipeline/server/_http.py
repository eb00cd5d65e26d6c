"""The HTTP/1.1 layer: the small subset clients use (Content-Length or chunked request
bodies, keep-alive, ``Expect: 100-continue``), served by one asyncio loop in a thread. Every
response is JSON with a Content-Length."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Literal

from pipeline.server._faults import _error_body

if TYPE_CHECKING:
    from pipeline.server._config import ServerConfig
    from pipeline.server._stats import ServerStats

_REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class _Reply:
    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["send", "drop", "hang", "drip"] = "send"
    hang_s: float = 0.0
    raw: bytes | None = None  # a body sent as is (a file's content) instead of ``payload``
    content_type: str = "application/json"
    truncate_at: int | None = None  # send only this many body bytes, then close


class _BadRequest(Exception):
    """A request the HTTP layer cannot frame: answered 400 (or 413), then the connection
    closes, since where the next request starts is unknown."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _parse_size(text: str, *, base: int, limit: int, what: str) -> int:
    """A Content-Length (base 10) or chunk size (base 16): digits only, at most ``limit``."""
    text = text.strip()
    digits = "0123456789" if base == 10 else "0123456789abcdefABCDEF"
    if not text or any(c not in digits for c in text):
        raise _BadRequest(f"Invalid {what}: {text[:40]!r}")
    if len(text) > 20 or int(text, base) > limit:
        raise _BadRequest("Request too large", 413)
    return int(text, base)


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    parts: list[bytes] = []
    size_total = 0
    while True:
        line = (await reader.readuntil(b"\r\n")).decode("latin-1")
        size = _parse_size(line.split(";")[0], base=16, limit=limit, what="chunk size")
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        size_total += size
        if size_total > limit:
            raise _BadRequest("Request too large", 413)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise _BadRequest("Invalid chunk: no CRLF after its data")


class _HTTPServer:
    """The HTTP/1.1 layer under :class:`~pipeline.server.FakeOpenAIServer`: the event loop in
    its thread, connections, request parsing and response writing. A subclass answers each
    request in ``_route``."""

    host: str
    port: int
    config: ServerConfig
    stats: ServerStats
    _date: tuple[str, int]
    _loop: asyncio.AbstractEventLoop | None
    _stop_evt: asyncio.Event | None
    _ready: threading.Event
    _error: BaseException | None
    _conns: set[asyncio.Task[Any]]

    async def _route(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        raise NotImplementedError

    def _body_limit(self, method: str, path: str) -> int:
        """The largest request body accepted for this request."""
        return self.config.max_body_bytes

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as e:  # a bind error: start() re-raises it
            self._error = e
        finally:
            self._ready.set()
            loop.close()

    async def _main(self) -> None:
        self._stop_evt = asyncio.Event()
        server = await asyncio.start_server(
            self._connection, self.host, self.port, backlog=self.config.backlog
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop_evt.wait()
        finally:
            server.close()
            for task in list(self._conns):
                task.cancel()
            await asyncio.gather(*self._conns, return_exceptions=True)
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        with self.stats._lock:
            self.stats.connections += 1
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; False when the connection should close."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        except asyncio.LimitOverrunError:
            self._write(writer, _Reply(431, _error_body("Request headers too large")), False)
            return False
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        conn = headers.get("connection", "").lower()
        keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        path, _, query = target.partition("?")
        if query:
            headers[":query"] = query  # not a header name a client can send
        limit = self._body_limit(method, path)
        try:
            if "chunked" in headers.get("transfer-encoding", "").lower():
                raw = await _read_chunked(reader, limit)
            else:
                given = headers.get("content-length", "0") or "0"
                length = _parse_size(given, base=10, limit=limit, what="Content-Length")
                raw = await reader.readexactly(length) if length else b""
        except (_BadRequest, asyncio.LimitOverrunError) as e:
            status = e.status if isinstance(e, _BadRequest) else 400
            message = str(e) if isinstance(e, _BadRequest) else "Invalid chunk size line"
            self._write(writer, _Reply(status, _error_body(message)), False)
            await writer.drain()
            return False
        reply = await self._route(method, path, headers, raw)
        if reply.action == "hang":
            await asyncio.sleep(reply.hang_s)
            return False
        if reply.action == "drop":
            return False
        if reply.action == "drip":  # the head at once, then the body a byte at a time
            data = self._write(writer, reply, False, body=False)
            for i in range(len(data)):
                await writer.drain()
                await asyncio.sleep(reply.hang_s)
                writer.write(data[i : i + 1])
            await writer.drain()
            return False
        self._write(writer, reply, keep_alive)
        await writer.drain()
        return keep_alive and reply.truncate_at is None

    def _write(
        self, writer: asyncio.StreamWriter, reply: _Reply, keep_alive: bool, *, body: bool = True
    ) -> bytes:
        """Write the response (its head only when ``body`` is False); returns the body."""
        data = reply.raw if reply.raw is not None else json.dumps(reply.payload).encode()
        now = int(time.time())
        if self._date[1] != now:
            self._date = (formatdate(now, usegmt=True), now)
        head = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}",
            f"content-type: {reply.content_type}",
            f"content-length: {len(data)}",
            f"date: {self._date[0]}",
            f"connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        head += [f"{k}: {v}" for k, v in {**self.config.canary_headers, **reply.headers}.items()]
        if reply.truncate_at is not None:  # a body cut short: the client sees the connection end
            data = data[: reply.truncate_at]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (data if body else b""))
        return data
