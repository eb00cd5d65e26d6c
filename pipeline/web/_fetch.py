"""Fetching: one address to its bytes, politely and within bounds.

:class:`Fetcher` sends GET requests with ``httpx2`` (async): a User-Agent naming the tool and
its version, ``Accept-Encoding: gzip, deflate, br`` (bodies are decoded, then counted), at
most ``per_host`` requests in flight per origin and ``max_connections`` in all, redirects
followed by hand (at most ``max_redirects``, each hop checked against its own host's
robots.txt and limit, only to http(s)), a body cap counted on the decoded bytes (a
compression bomb stops at the cap), a deadline per request, and conditional requests
(``If-None-Match`` / ``If-Modified-Since`` from what the store kept): a 304 is returned as
such, with no body. Transient failures (408, 425, 429, 5xx, timeouts, dropped connections)
are retried by tenacity (``attempts`` in all, exponential backoff, ``Retry-After`` honoured up
to a cap); everything else fails at once. Every failure is a :class:`FetchFailed` whose
message names the problem and what to do.

Web requests go through :class:`_DirectTransport`, the unpatched ``httpx2`` transport:
``--record`` / ``--replay`` cassettes hold model traffic only, never the pages a run reads.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx2
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from pipeline.web._urls import origin


def _unpatched() -> Callable[..., Any]:
    handle: Callable[..., Any] = httpx2.AsyncHTTPTransport.handle_async_request
    if getattr(handle, "__module__", "").startswith("vcr"):  # imported inside a cassette
        from vcr import patch

        handle = patch._Httpx2AsyncHttpTransport_handle_async_request
    return handle


_REAL_HANDLE = _unpatched()


class _DirectTransport(httpx2.AsyncHTTPTransport):
    """The network transport as ``httpx2`` ships it, whatever a cassette has patched."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response: httpx2.Response = await _REAL_HANDLE(self, request)
        return response


def _version() -> str:
    try:
        return metadata.version("summarise")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


ROBOTS_AGENT = "summarise"
USER_AGENT = f"{ROBOTS_AGENT}/{_version()} (news summariser; honours robots.txt)"
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/rdf+xml;q=0.9,application/xml;q=0.9,text/xml;q=0.9,text/plain;q=0.8,*/*;q=0.5"
)
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class WebOptions:
    """How the web stage fetches (the CLI sets ``per_host`` and ``limit``)."""

    per_host: int = 4
    max_connections: int = 32
    timeout_s: float = 30.0
    max_bytes: int = 10 * 2**20
    max_redirects: int = 5
    attempts: int = 3
    backoff_s: float = 0.5
    max_retry_after_s: float = 30.0
    limit: int | None = None  # entries per feed, newest first
    window: int = 64  # addresses fetched ahead of the consumer
    user_agent: str = USER_AGENT


class FetchFailed(Exception):
    """An address could not be fetched; ``reason`` is the record's message (after the URL)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class _Retry(Exception):
    """A transient answer: try again (``wait`` seconds when the server said so)."""

    def __init__(self, reason: str, status: int | None, wait: float | None) -> None:
        super().__init__(reason)
        self.reason, self.status, self.wait = reason, status, wait


@dataclass
class Fetched:
    """A final answer: 200 with its body, or 304 (``body`` None) for a conditional request."""

    url: str  # the address that answered (after redirects)
    status: int
    content_type: str | None = None  # the media type, lower-cased, without parameters
    charset: str | None = None
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    hops: list[str] = field(default_factory=list)  # every address requested, in order


Validators = Callable[[str], tuple[str | None, str | None] | None]
Gate = Callable[[str], Awaitable[str | None]]  # None: allowed; else why not


def _media_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    kind, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'")
    return kind.strip().lower() or None, charset


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _network_reason(exc: BaseException, timeout_s: float) -> tuple[str, bool]:
    """(what went wrong, whether trying again may help)."""
    chain = _causes(exc)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, socket.gaierror) for e in chain) or (
        "name or service not known" in text or "nodename nor servname" in text
    ):
        return "cannot resolve the host name (check the address)", False
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return "connection refused (nothing answers at that address; check it)", False
    if any(isinstance(e, httpx2.TimeoutException | TimeoutError) for e in chain):
        return f"timed out after {timeout_s:g} s", True
    return f"network error ({str(exc) or type(exc).__name__})", True


class Fetcher:
    """One client for a run's web requests; use as ``async with Fetcher(options) as f``."""

    def __init__(
        self, options: WebOptions, *, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        self.options = options
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._all = asyncio.Semaphore(max(1, options.max_connections))
        self.requests = 0  # HTTP requests sent (robots.txt and retries included)
        self.not_modified = 0  # 304 answers

    async def __aenter__(self) -> Fetcher:
        limits = httpx2.Limits(
            max_connections=self.options.max_connections,
            max_keepalive_connections=self.options.max_connections,
        )
        self._client = httpx2.AsyncClient(
            transport=self._transport or _DirectTransport(limits=limits),
            headers={
                "User-Agent": self.options.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate, br",
            },
            timeout=httpx2.Timeout(
                self.options.timeout_s, connect=min(10.0, self.options.timeout_s)
            ),
            follow_redirects=False,
            limits=limits,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _host(self, url: str) -> asyncio.Semaphore:
        key = origin(url)
        if key not in self._hosts:
            self._hosts[key] = asyncio.Semaphore(max(1, self.options.per_host))
        return self._hosts[key]

    async def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        gate: Gate | None = None,
    ) -> Fetched:
        """GET ``url``, following redirects; raises :class:`FetchFailed`.

        ``validators(address)`` gives the stored (ETag, Last-Modified) to send for an address;
        ``gate(address)`` says why an address may not be fetched (robots.txt), or None.
        """
        hops: list[str] = []
        current = url
        while True:
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                where = "redirected to" if hops else "not"
                raise FetchFailed(f"{where} an http(s) address ({current[:200]})")
            if gate is not None:
                refused = await gate(current)
                if refused is not None:
                    raise FetchFailed(refused)
            hops.append(current)
            sent = validators(current) if validators is not None else None
            answer = await self._with_retries(current, sent)
            if isinstance(answer, str):  # a redirect
                if len(hops) > self.options.max_redirects:
                    raise FetchFailed(
                        f"more than {self.options.max_redirects} redirects (a redirect loop?)"
                    )
                current = urljoin(current, answer)
                continue
            answer.hops = hops
            return answer

    async def _with_retries(
        self, url: str, sent: tuple[str | None, str | None] | None
    ) -> Fetched | str:
        options = self.options

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            asked = exc.wait if isinstance(exc, _Retry) else None
            backoff = options.backoff_s * 2 ** (state.attempt_number - 1)
            if asked is not None:
                return float(min(options.max_retry_after_s, max(asked, backoff)))
            return float(backoff)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, options.attempts)),
            wait=wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retry)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(url, sent)
        except _Retry as exc:
            tries = f"{options.attempts} attempt{'s' if options.attempts != 1 else ''}"
            raise FetchFailed(
                f"{exc.reason} after {tries} (the site is down or slow; try later)",
                status=exc.status,
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, url: str, sent: tuple[str | None, str | None] | None) -> Fetched | str:
        assert self._client is not None, "use Fetcher as an async context manager"
        headers: dict[str, str] = {}
        if sent is not None:
            etag, modified = sent
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
        async with self._host(url), self._all:  # the host first: a busy host holds no slot
            self.requests += 1
            try:
                return await asyncio.wait_for(
                    self._exchange(url, headers), timeout=self.options.timeout_s * 2
                )
            except (_Retry, FetchFailed):
                raise
            except httpx2.DecodingError as exc:
                raise FetchFailed(f"the body could not be decoded ({exc})") from exc
            except (TimeoutError, httpx2.TransportError) as exc:
                reason, again = _network_reason(exc, self.options.timeout_s)
                if not again:
                    raise FetchFailed(reason) from exc
                raise _Retry(reason, None, None) from exc

    async def _exchange(self, url: str, headers: dict[str, str]) -> Fetched | str:
        assert self._client is not None
        cap = self.options.max_bytes
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchFailed(f"HTTP {status} redirect without a Location header")
                return location
            if status == 304:
                if not headers:
                    raise FetchFailed("HTTP 304 to an unconditional request")
                self.not_modified += 1
                return Fetched(url=url, status=304)
            if status in _RETRY_STATUS:
                raise _Retry(
                    f"HTTP {status} {response.reason_phrase}".rstrip(),
                    status,
                    _retry_after(response.headers.get("retry-after")),
                )
            if status != 200:
                raise FetchFailed(_status_reason(status, response.reason_phrase), status=status)
            declared = response.headers.get("content-length", "")
            if (
                declared.isdigit()
                and int(declared) > cap
                and not response.headers.get("content-encoding")
            ):
                raise FetchFailed(_too_large(cap, int(declared)))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise FetchFailed(_too_large(cap))
                chunks.append(chunk)
            kind, charset = _media_type(response.headers.get("content-type"))
            return Fetched(
                url=url,
                status=200,
                content_type=kind,
                charset=charset,
                body=b"".join(chunks),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )


def _status_reason(status: int, phrase: str) -> str:
    head = f"HTTP {status} {phrase}".rstrip()
    if status in (404, 410):
        return f"{head} (the page is gone or the address is wrong; check it)"
    if status in (401, 402, 403, 451):
        return f"{head} (the site refuses the request: a paywall, a login or a block)"
    return f"{head} (the site refused the request)"


def _too_large(cap: int, size: int | None = None) -> str:
    got = f" ({size:,} bytes)" if size is not None else ""
    return f"larger than the {cap // 2**20} MiB cap{got}; not an article page"
