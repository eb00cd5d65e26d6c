"""The provider's Files and Batch APIs through the openai SDK (``client.files``,
``client.batches``): upload, create, retrieve, list, cancel, and a streamed download.

Transient failures (429, 5xx, timeouts, dropped connections) are retried here with the
project's one backoff (:class:`~pipeline.retry.wait_retry_after_or_backoff`: a server's
``retry-after`` honoured), except where a retry could do the work twice: a ``create`` that
got no answer may have created the batch, so the caller looks it up by its token instead
(:meth:`BatchAPI.find_batch`), and an upload likewise (:meth:`BatchAPI.find_file`).

Errors: :class:`NoBatchAPI` (a 404 on ``/files`` or ``/batches``: the endpoint has no Batch
API; exit 2), :class:`BatchStopped` (401/403, an exhausted quota or an endpoint that cannot
be reached: nothing more can be sent), :class:`UploadRefused` (a 400/413 on the upload: size
or format), :class:`BatchUnknown` (a 404 for one batch id), :class:`DownloadIncomplete` (a
download cut short) and :class:`BatchAPIError` for the rest.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx2
import openai
from openai import AsyncOpenAI
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from pipeline.batch._download import bounded_lines
from pipeline.cassettes import scrub_text
from pipeline.client import Endpoint
from pipeline.errors import ConfigError, SummariseError
from pipeline.retry import Failure, classify, wait_retry_after_or_backoff

T = TypeVar("T")

CHAT_URL: Literal["/v1/chat/completions"] = "/v1/chat/completions"
TERMINAL = ("completed", "failed", "expired", "cancelled")
TOKEN_KEY = "summarise_token"  # the metadata key that names our submission


class BatchAPIError(SummariseError):
    """A Files/Batch API call failed (after its retries)."""

    def __init__(self, message: str, failure: Failure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


class NoBatchAPI(ConfigError):
    """The endpoint answers 404 on ``/files`` or ``/batches``: it has no Batch API."""


class BatchStopped(BatchAPIError):
    """401/403, an exhausted quota or an unreachable endpoint: nothing more can be sent to
    this endpoint (exit 2, as a live run the account or endpoint stops)."""

    exit_code = 2


class UploadRefused(BatchAPIError):
    """The provider refused the input file (its size or its format)."""

    def __init__(self, message: str, failure: Failure | None, status: int | None) -> None:
        super().__init__(message, failure)
        self.status = status


class BatchUnknown(BatchAPIError):
    """The provider does not know this batch (404)."""


class DownloadIncomplete(BatchAPIError):
    """A file's download ended before its last byte."""


@dataclass(frozen=True)
class BatchInfo:
    """What the provider says about one batch (the fields batch mode reads)."""

    id: str
    status: str
    created_at: int = 0
    expires_at: int | None = None
    ended_at: int | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def parse(cls, obj: Any) -> BatchInfo:
        """From the SDK's ``Batch`` (or a plain dict of the same shape)."""
        d: dict[str, Any] = obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)
        counts = d.get("request_counts") or {}
        errs = d.get("errors") or {}
        data = errs.get("data") if isinstance(errs, dict) else None
        ended = next(
            (
                d.get(k)
                for k in ("completed_at", "failed_at", "expired_at", "cancelled_at")
                if d.get(k)
            ),
            None,
        )
        return cls(
            id=str(d["id"]),
            status=str(d.get("status")),
            created_at=int(d.get("created_at") or 0),
            expires_at=d.get("expires_at"),
            ended_at=ended,
            total=int(counts.get("total") or 0),
            completed=int(counts.get("completed") or 0),
            failed=int(counts.get("failed") or 0),
            output_file_id=d.get("output_file_id"),
            error_file_id=d.get("error_file_id"),
            errors=[dict(e) for e in data or [] if isinstance(e, dict)],
            metadata={str(k): str(v) for k, v in (d.get("metadata") or {}).items()},
        )


class BatchAPI:
    """The Files and Batch APIs of one endpoint."""

    def __init__(
        self,
        client: AsyncOpenAI,
        endpoint: Endpoint,
        *,
        attempts: int = 6,
        backoff_initial_s: float = 1.0,
        backoff_cap_s: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        files: AsyncOpenAI | None = None,
    ) -> None:
        self.client = client
        # uploads and downloads: a file's own size and time bounds (pipeline.batch._download)
        self.files = files or client
        self.endpoint = endpoint
        self.attempts = max(1, attempts)
        self.sleep = sleep
        self._wait = wait_retry_after_or_backoff(initial=backoff_initial_s, cap=backoff_cap_s)

    # -- the calls --------------------------------------------------------------------------------

    async def upload(self, path: Path, filename: str, boundary: str) -> str:
        """Upload ``path`` (streamed from disk) with ``purpose=batch``; returns the file id.

        ``boundary`` fixes the multipart boundary, so that the same file makes the same
        request body (cassettes match on it)."""

        async def call() -> Any:
            with path.open("rb") as f:
                return await self.files.files.create(
                    file=(filename, f, "application/jsonl"),
                    purpose="batch",
                    extra_headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                )

        try:
            obj = await self._call(call, what="/files", retry=False)
        except BatchAPIError as e:
            f = e.failure
            if f is not None and f.status_code in (400, 413, 415, 422):
                raise UploadRefused(e.message, f, f.status_code) from e
            raise
        return str(obj.id)

    async def find_file(self, filename: str, size: int, *, pages: int = 3) -> str | None:
        """The id of an uploaded batch file named ``filename`` of ``size`` bytes, if any
        (newest first; at most ``pages`` pages are read)."""
        after: str | None = None
        for _ in range(pages):
            kwargs: dict[str, Any] = {"purpose": "batch", "limit": 1000}
            if after:
                kwargs["after"] = after
            page = await self._call(_bind(self.client.files.list, kwargs), what="/files")
            data = list(page.data)
            for f in data:
                if f.filename == filename and int(f.bytes) == size:
                    return str(f.id)
            if not data or not getattr(page, "has_more", False):
                return None
            after = str(data[-1].id)
        return None

    async def create(self, file_id: str, token: str) -> BatchInfo:
        """Create the batch. Not retried: a create that got no answer may have worked, so
        the caller looks for it with :meth:`find_batch` before trying again."""
        obj = await self._call(
            lambda: self.client.batches.create(
                input_file_id=file_id,
                endpoint=CHAT_URL,
                completion_window="24h",
                metadata={TOKEN_KEY: token},
            ),
            what="/batches",
            retry=False,
        )
        return BatchInfo.parse(obj)

    async def retrieve(self, batch_id: str) -> BatchInfo:
        try:
            obj = await self._call(
                lambda: self.client.batches.retrieve(batch_id), what=f"/batches/{batch_id}"
            )
        except BatchAPIError as e:
            if e.failure is not None and e.failure.status_code == 404:
                raise BatchUnknown(f"the provider does not know batch {batch_id}", e.failure) from e
            raise
        return BatchInfo.parse(obj)

    async def cancel(self, batch_id: str) -> BatchInfo:
        obj = await self._call(
            lambda: self.client.batches.cancel(batch_id), what=f"/batches/{batch_id}/cancel"
        )
        return BatchInfo.parse(obj)

    async def list(self, *, pages: int = 5, limit: int = 100) -> AsyncIterator[BatchInfo]:
        """The provider's batches, newest first, at most ``pages`` pages of ``limit``."""
        after: str | None = None
        for _ in range(pages):
            kwargs: dict[str, Any] = {"limit": limit}
            if after:
                kwargs["after"] = after
            page = await self._call(_bind(self.client.batches.list, kwargs), what="/batches")
            data = list(page.data)
            for b in data:
                yield BatchInfo.parse(b)
            if not data or not getattr(page, "has_more", False):
                return
            after = str(data[-1].id)

    async def find_batch(self, token: str, *, since: int) -> BatchInfo | None:
        """Our batch with ``token`` in its metadata, created at or after ``since`` (unix
        seconds), if the provider has one (the newest pages only)."""
        async for b in self.list():
            if b.metadata.get(TOKEN_KEY) == token:
                return b
            if b.created_at and b.created_at < since:
                return None
        return None

    async def lines(self, file_id: str) -> AsyncIterator[str]:
        """The lines of a file, streamed (never held whole in memory), each held to one
        answer's size (:func:`~pipeline.batch._download.bounded_lines`)."""
        try:
            async with self.files.files.with_streaming_response.content(file_id) as resp:
                async for line in bounded_lines(resp.iter_bytes()):
                    yield line
        except httpx2.RequestError as e:  # cut short, undecodable, over MAX_FILE_BYTES
            raise DownloadIncomplete(
                f"the download of {file_id} ended early ({type(e).__name__}: {e})"
            ) from e
        except openai.APIError as e:
            raise self._error(e, f"/files/{file_id}/content") from e

    # -- retries and errors -------------------------------------------------------------------

    async def _call(self, fn: Callable[[], Awaitable[T]], *, what: str, retry: bool = True) -> T:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts if retry else 1),
            wait=self._wait,
            retry=retry_if_exception(
                lambda e: isinstance(e, openai.APIError) and classify(e).retryable
            ),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await fn()
        except openai.APIError as e:
            raise self._error(e, what) from e
        raise AssertionError("unreachable")

    def _error(self, exc: openai.APIError, what: str) -> SummariseError:
        failure = classify(exc, url=self.endpoint.label)
        # the provider's message reaches records, the store and the terminal: no key in it
        failure = dataclasses.replace(failure, message=scrub_text(failure.message))
        if isinstance(exc, openai.NotFoundError) and (what in ("/files", "/batches")):
            return NoBatchAPI(
                f"{self.endpoint.label} has no Batch API (HTTP 404 on {what}): run without "
                "--batch, or point --base-url at an endpoint that offers /v1/batches"
            )
        # an endpoint that cannot be reached once the call's tries are spent stops the run,
        # as it stops a live one: every input gets its failed record, exit 2
        stops = failure.stop_run or failure.stop_when_exhausted
        if stops and failure.status_code != 404:
            return BatchStopped(f"{what}: {failure.message}", failure)
        return BatchAPIError(f"{what}: {failure.message}", failure)


def _bind(fn: Callable[..., Awaitable[T]], kwargs: dict[str, Any]) -> Callable[[], Awaitable[T]]:
    async def call() -> T:
        return await fn(**kwargs)

    return call
