"""The guarded transport: every HTTP request the client sends gets a whole-request deadline
and a response-size cap, enforced below the SDK, so the live engine and the Batch API client
(and anything else built by :func:`pipeline.client.make_client`) get both.

- **Deadline.** ``--timeout S`` is the time from sending a request to the last byte of its
  answer: connecting, waiting for the status line and reading every byte of the body count
  against one clock. httpx's own timeouts are per phase and per read, so a server that
  drips one byte a second keeps such a request alive forever; here it ends at S seconds as
  :class:`DeadlineExceeded`, which the SDK reports as ``APITimeoutError`` (kind ``timeout``).
- **Size.** A response body is counted while it is read and abandoned as soon as it passes
  ``max_body_bytes`` (default :data:`MAX_RESPONSE_BYTES`), or before a byte is read when
  its ``Content-Length`` already says so: :class:`ResponseTooLarge`, which the SDK reports as
  ``APIConnectionError`` (kind ``http_error``, not retried). A 200 MB answer costs the cap.
  A compressed body (``Content-Encoding``: gzip, deflate, br, zstd: whatever httpx2 decodes)
  is decoded here, a bounded piece at a time (httpx2's own decoders, at most 1 MiB per
  piece), and the cap counts the *decoded* bytes: a gzip or brotli bomb (a few KiB that
  decode to gigabytes) is abandoned at the cap like any other body. The response then goes
  up without ``Content-Encoding`` (and without the compressed ``Content-Length``), so
  nothing above decodes it again.

The deadline uses the event loop's clock (``loop.time()``), so a test running the client on
a loop with simulated time checks a 60 s deadline without waiting 60 s.

    GuardedTransport(inner, timeout=60.0, max_body_bytes=MAX_RESPONSE_BYTES)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
from httpx2._decoders import SUPPORTED_DECODERS, ContentDecoder, MultiDecoder

#: the largest response body read (8 MiB: a chat completion at any model's output limit is
#: well under 1 MiB). The Batch API client passes its own for result files.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


class DeadlineExceeded(httpx2.TimeoutException):
    """The whole request (connect to last byte) took longer than ``--timeout``."""


class ResponseTooLarge(httpx2.RequestError):
    """The response body is larger than the cap; what was read is dropped."""


def _seconds(value: float) -> str:
    return f"{value:g} s"


class GuardedTransport(httpx2.AsyncBaseTransport):
    """Wraps ``inner`` with a whole-request deadline and a response-body cap."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        *,
        timeout: float,
        max_body_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        self.inner = inner
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes

    def _late(self, request: httpx2.Request, what: str) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"no complete answer within {_seconds(self.timeout)} ({what}); "
            "raise --timeout if the server is slow but sound",
            request=request,
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            async with asyncio.timeout_at(deadline):
                response = await self.inner.handle_async_request(request)
        except TimeoutError:
            raise self._late(request, "waiting for the status line") from None
        length = response.headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > self.max_body_bytes:
            await response.aclose()
            raise self._too_large(request, f"Content-Length {int(length):,}")
        headers = response.headers
        decoder = _decoder(headers)
        if decoder is not None:  # decoded here, so that the cap counts what it decodes to
            headers = httpx2.Headers(
                [
                    (k, v)
                    for k, v in headers.multi_items()
                    if k.lower() not in ("content-encoding", "content-length")
                ]
            )
        return httpx2.Response(
            status_code=response.status_code,
            headers=headers,
            stream=_GuardedBody(self, response, request, deadline, decoder),
            extensions=response.extensions,
            request=request,
        )

    def _too_large(self, request: httpx2.Request, what: str) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"the response is over {self.max_body_bytes:,} bytes ({what}) and was not read",
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def _decoder(headers: httpx2.Headers) -> ContentDecoder | None:
    """The decoder for a response's ``Content-Encoding`` when httpx2 has one for every coding
    in it (None: not encoded, or a coding nobody here can decode, left as it came)."""
    codings = [
        c.strip().lower()
        for value in headers.get_list("content-encoding")
        for c in value.split(",")
        if c.strip() and c.strip().lower() != "identity"
    ]
    if not codings or any(c not in SUPPORTED_DECODERS for c in codings):
        return None
    if len(codings) == 1:
        return SUPPORTED_DECODERS[codings[0]]()
    return MultiDecoder(codings)


class _GuardedBody(httpx2.AsyncByteStream):
    def __init__(
        self,
        guard: GuardedTransport,
        response: httpx2.Response,
        request: httpx2.Request,
        deadline: float,
        decoder: ContentDecoder | None = None,
    ) -> None:
        self.guard = guard
        self.response = response
        self.request = request
        self.deadline = deadline
        self.decoder = decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0  # bytes read from the wire
        size = 0  # bytes handed up (decoded, when the body is compressed)
        cap = self.guard.max_body_bytes
        chunks = self.response.stream.__aiter__()  # type: ignore[union-attr]
        ended = False
        while not ended:
            try:
                async with asyncio.timeout_at(self.deadline):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                ended, chunk = True, b""
            except TimeoutError:
                raise self.guard._late(
                    self.request, f"{seen:,} bytes of the body had arrived"
                ) from None
            seen += len(chunk)
            if seen > cap:
                raise self.guard._too_large(self.request, f"{seen:,} bytes read")
            if self.decoder is None:
                if chunk:
                    yield chunk
                continue
            pieces = self.decoder.flush() if ended else self.decoder.decode(chunk)
            for piece in pieces:  # at most 1 MiB each, however small the chunk
                size += len(piece)
                if size > cap:
                    raise self.guard._too_large(
                        self.request, f"{size:,} bytes decoded from {seen:,} read"
                    )
                if piece:
                    yield piece

    async def aclose(self) -> None:
        await self.response.aclose()
