"""Collecting a finished batch: its output and error files, streamed line by line, each
line matched to its request by ``custom_id`` and turned into records.

- A 200 answer goes to :meth:`~pipeline.engine.Summariser.summarise` as the article's first
  answer (:class:`~pipeline.engine.Answer`, ``origin="batch"``): validated, re-asked online
  within ``--max-attempts`` when it breaks the schema, checked for refusal, truncation and
  faithfulness, priced at the batch rate, exactly as a live answer.
- A row refused for the shape of its request (its ``response_format``, or one parameter: a
  reasoning model's ``max_completion_tokens``) is read by the live engine's rules
  (:func:`~pipeline.retry.classify_response`) and learnt as a live run learns it (json_schema
  -> json_object -> prompt; the parameter renamed, dropped or capped), said once, kept for the
  endpoint and model (``batch_learnt``), and the article goes into a new batch in the learnt
  shape, not counted against its submissions. Each job keeps the mode and shape its lines were
  written in; its answers are read in that mode.
- A row that failed for a passing reason (``batch_expired``, ``request_timeout``, HTTP 408,
  409, 429 or 5xx) is resubmitted in a new batch, at most ``max_submissions`` batches an
  article; any other failed row (a 400, a cancelled batch's ``batch_cancelled``) fails its
  article with the provider's reason.
- A request with no line in either file (a cut or short download, a provider that lost it)
  is resubmitted likewise; an expired batch's answered rows are kept.
- A line that is not JSON, names an unknown ``custom_id`` or repeats one already read is
  counted and skipped (reported as a note), never matched to the wrong article.
- A batch that ``failed`` validation: for its size, the limit it reveals is learnt and its
  requests are split into smaller batches; for named lines, those articles fail with the
  provider's message and the others go into a new batch; for anything else every article
  fails with the provider's errors.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from pipeline.batch._api import BatchInfo
from pipeline.batch._context import Context, failed_record
from pipeline.batch._limits import limit_name, revealed_limit, size_code
from pipeline.batch._submit import QUEUE_TRIES, Submitter, queue_note, queue_tries, resolve
from pipeline.batch._tables import Job, Request, article_from
from pipeline.cassettes import scrub_text
from pipeline.engine import MODES, Answer
from pipeline.providers import RequestShape
from pipeline.records import utc_now
from pipeline.retry import classify_response

#: why a row goes into a new batch after its refusal taught the request's shape
ADAPTED = "adapted"
#: how an adaptation learnt from batch rows is told (once per adaptation)
LEARNT = "learnt from batch rows"
#: row error codes and HTTP statuses worth another batch
PASSING_CODES = ("batch_expired", "request_timeout", "server_error", "internal_error")
PASSING_STATUSES = (408, 409, 429, 500, 502, 503, 504)


@dataclass
class RowCounts:
    answered: int = 0
    failed: int = 0
    resubmitted: int = 0
    malformed: int = 0
    unknown: int = 0
    repeated: int = 0

    def problems(self) -> str:
        bits = []
        if self.malformed:
            bits.append(f"{self.malformed} line(s) that are not JSON")
        if self.unknown:
            bits.append(f"{self.unknown} line(s) with an unknown custom_id")
        if self.repeated:
            bits.append(f"{self.repeated} line(s) repeating a custom_id already read")
        return ", ".join(bits)


class Collector:
    def __init__(self, ctx: Context, submitter: Submitter, *, concurrency: int = 8) -> None:
        self.ctx = ctx
        self.submitter = submitter
        self.concurrency = max(1, concurrency)

    async def collect(self, job: Job, info: BatchInfo) -> RowCounts:
        """Turn a terminal batch into records; the job is ``done`` afterwards. Raises
        :class:`~pipeline.batch._api.DownloadIncomplete` (the job stays as it was, what was
        read is kept) when a file's download breaks off."""
        counts = RowCounts()
        self.ctx.emit("collecting", f"collecting batch {info.id} ({info.status})", job, info=info)
        if info.status == "failed":
            self._failed(job, info)
            return counts
        resubmit: list[tuple[Request, str]] = []
        for file_id in (info.output_file_id, info.error_file_id):
            if file_id:
                await self._read(job, info, file_id, counts, resubmit)
        reason = {
            "expired": "the batch expired before this request ran",
            "cancelled": "",
        }.get(info.status, "this request had no line in the batch's output or error file")
        queued = {r.custom_id for r, _ in resubmit}
        for req in self.ctx.tables.requests(job.id, state="open"):
            if req.custom_id in queued:
                continue
            if info.status == "cancelled":
                self._fail(
                    job,
                    info,
                    req,
                    "http_error",
                    f"batch {info.id} was cancelled before this request ran; run the same "
                    "command again to submit it",
                    counts,
                )
            else:
                resubmit.append((req, reason))
        self._resubmit(job, resubmit, counts)
        note = counts.problems()
        if note:
            self.ctx.emit("note", f"batch {info.id}: skipped {note}", job)
        self.ctx.tables.update_job(
            job.id,
            state="done",
            status=info.status,
            finished_at=utc_now(),
            note=note or None,
        )
        self.ctx.emit(
            "collected",
            f"collected batch {info.id} ({info.status}): {counts.answered:,} answered, "
            f"{counts.failed:,} failed, {counts.resubmitted:,} resubmitted",
            self.ctx.tables.job(job.id),
            info=info,
        )
        return counts

    # -- rows ------------------------------------------------------------------------------------

    async def _read(
        self,
        job: Job,
        info: BatchInfo,
        file_id: str,
        counts: RowCounts,
        resubmit: list[tuple[Request, str]],
    ) -> None:
        tables = self.ctx.tables
        seen: set[str] = set()
        pending: set[asyncio.Task[None]] = set()
        latency = max(0, ((info.ended_at or info.created_at) - info.created_at) * 1000)
        try:
            async for line in self.ctx.api.lines(file_id):
                try:
                    row = json.loads(line)
                    cid = str(row["custom_id"])
                except (ValueError, KeyError, TypeError):
                    counts.malformed += 1
                    continue
                req = tables.request(job.id, cid)
                if req is None:
                    counts.unknown += 1
                    continue
                if cid in seen:
                    counts.repeated += 1
                    continue
                if req.state != "open":  # recorded by an earlier collect (a resumed one)
                    continue
                seen.add(cid)
                response = row.get("response") if isinstance(row, dict) else None
                error = row.get("error") if isinstance(row, dict) else None
                if isinstance(response, dict) and response.get("status_code") == 200:
                    body = response.get("body")
                    if not isinstance(body, dict):
                        counts.malformed += 1
                        seen.discard(cid)
                        continue
                    while len(pending) >= 2 * self.concurrency:
                        done, pending = await asyncio.wait(
                            pending, return_when=asyncio.FIRST_COMPLETED
                        )
                        for t in done:
                            t.result()
                    pending.add(asyncio.ensure_future(self._answer(job, info, req, body, latency)))
                    counts.answered += 1
                elif isinstance(response, dict):
                    self._http_row(job, info, req, response, counts, resubmit)
                elif isinstance(error, dict):
                    code = str(error.get("code") or "")
                    message = str(error.get("message") or code)
                    if code in PASSING_CODES:
                        resubmit.append((req, f"{code}: {message}"))
                    elif code == "batch_cancelled":
                        self._fail(job, info, req, "http_error", _cancelled(info), counts)
                    else:
                        self._fail(job, info, req, "http_error", f"{code}: {message}", counts)
                else:
                    counts.malformed += 1
                    seen.discard(cid)
        finally:
            if pending:
                await asyncio.gather(*pending)

    async def _answer(
        self, job: Job, info: BatchInfo, req: Request, body: dict[str, Any], latency: int
    ) -> None:
        summariser = self.ctx.summariser_for(job)
        answer = Answer(
            body,
            status_code=200,
            latency_ms=latency,
            origin="batch",
            batch_id=info.id,
            mode=job.request_mode,  # read in the mode its request was sent in
        )
        record, attempts = await summariser.summarise(
            article_from(req.article), answer=answer, key=req.cache_key
        )
        record.batch_id = info.id
        resolve(self.ctx, job.id, req.custom_id, req.cache_key, record, attempts, state="answered")

    def _http_row(
        self,
        job: Job,
        info: BatchInfo,
        req: Request,
        response: dict[str, Any],
        counts: RowCounts,
        resubmit: list[tuple[Request, str]],
    ) -> None:
        status = response.get("status_code")
        body = response.get("body")
        if isinstance(status, int) and self._adapted(job, req, status, body):
            resubmit.append((req, ADAPTED))  # in the learnt shape; not counted as a try
            return
        err = body.get("error") if isinstance(body, dict) else None
        err = err if isinstance(err, dict) else {}
        message = str(err.get("message") or body or "")[:500]
        code = str(err.get("code") or err.get("type") or "")
        quota = "insufficient_quota" in (code, str(err.get("type")))
        if isinstance(status, int) and status in PASSING_STATUSES and not quota:
            resubmit.append((req, f"HTTP {status}: {message}"))
            return
        kind = "auth" if status in (401, 403) else "rate_limited" if quota else "http_error"
        if code == "context_length_exceeded":
            kind = "too_long"
        self._fail(job, info, req, kind, f"HTTP {status}: {message}", counts)

    def _adapted(self, job: Job, req: Request, status: int, body: Any) -> bool:
        """A row refused for the shape of its request (its ``response_format``, or one
        parameter), read by the live engine's rules: learn it as a live run does (json_schema
        -> json_object -> prompt; a parameter renamed, dropped or capped), say so once, and
        True when the article's request changes with it (it goes into a new batch)."""
        summariser = self.ctx.summariser_for(job)
        article = article_from(req.article)
        sent_mode = job.request_mode or MODES[0]
        sent_shape = RequestShape.from_json(job.request_shape) if job.request_shape else None
        sent = summariser.first_request(article, mode=sent_mode, shape=sent_shape)
        failure = classify_response(status, body, request=sent)
        if not (failure.fallback or failure.adapt is not None):
            return False
        model, where = job.model, self.ctx.endpoint
        mode, shape = summariser.mode, RequestShape.from_json(summariser.shape.to_json())
        note = None
        if failure.fallback:
            nxt = MODES.index(sent_mode) + 1
            if nxt < len(MODES) and MODES.index(mode) < nxt:
                note = f"the server rejects {sent_mode} structured output: using {MODES[nxt]}"
                mode = MODES[nxt]
        elif failure.adapt is not None and shape.learn(failure.adapt):
            note = failure.adapt.note
        if note is not None:
            self.ctx.learnt(model, mode, shape)
            self.ctx.emit(
                "learnt",
                f"{model} on {where}: {note} ({LEARNT}; the refused requests go into a new batch)",
                job,
            )
        return summariser.first_request(article) != sent

    def _fail(
        self,
        job: Job,
        info: BatchInfo | None,
        req: Request,
        kind: str,
        message: str,
        counts: RowCounts,
    ) -> None:
        summariser = self.ctx.summariser_for(job)
        batch_id = info.id if info is not None else job.batch_id
        message = scrub_text(message)  # a provider may echo a key back in its message
        record = failed_record(summariser, article_from(req.article), kind, message, batch_id)
        resolve(self.ctx, job.id, req.custom_id, req.cache_key, record, [], state="failed")
        counts.failed += 1

    def _resubmit(self, job: Job, rows: list[tuple[Request, str]], counts: RowCounts) -> None:
        """Put passing failures into a new batch (within the article's submissions)."""
        if not rows:
            return
        ctx = self.ctx
        summariser = ctx.summariser_for(job)
        writer = ctx.writer(summariser, job.run_id)
        for req, why in rows:
            if why == ADAPTED:  # learning what the server takes is not a failed try
                ctx.tables.set_request_state(job.id, req.custom_id, "resubmitted")
                writer.add(article_from(req.article), req.cache_key, submissions=req.submissions)
                counts.resubmitted += 1
                continue
            if req.submissions >= ctx.settings.max_submissions:
                kind = (
                    "timeout"
                    if "expired" in why or "timeout" in why
                    else ("rate_limited" if "429" in why else "http_error")
                )
                message = f"{why} (gave up after {req.submissions} batches)"
                self._fail(job, None, req, kind, message, counts)
                continue
            ctx.tables.set_request_state(job.id, req.custom_id, "resubmitted")
            writer.add(article_from(req.article), req.cache_key, submissions=req.submissions + 1)
            counts.resubmitted += 1
        new = writer.close()
        for article, key, why in writer.too_big:
            record = failed_record(summariser, article, "too_long", why, job.batch_id)
            resolve(ctx, None, None, key, record, [], state=None)
        if counts.resubmitted:
            ctx.emit(
                "resubmitted",
                f"{counts.resubmitted:,} request(s) of batch {job.batch_id} go into "
                f"{len(new)} new batch{'es' if len(new) != 1 else ''}",
                job,
            )

    # -- a batch that failed validation ----------------------------------------------------------

    def _failed(self, job: Job, info: BatchInfo) -> None:
        ctx, tables = self.ctx, self.ctx.tables
        errors = [{**e, "message": scrub_text(str(e.get("message") or ""))} for e in info.errors]
        tables.update_job(job.id, status="failed", errors=errors)
        code = size_code(errors)
        text = (
            "; ".join(
                f"{e.get('code')}: {e.get('message')}"
                + (f" (line {e['line']})" if e.get("line") else "")
                for e in errors[:5]
            )
            or "no reason given"
        )
        if code is not None:
            name = limit_name(code)
            message = next(
                (str(e.get("message") or "") for e in errors if e.get("code") == code), text
            )
            current = {
                "max_requests": job.n_requests,
                "max_bytes": job.n_bytes,
                "max_tokens": job.n_tokens,
            }[name]
            value = revealed_limit(code, message, current=current)
            model = job.model if name == "max_tokens" else "*"
            tables.learn_limit(ctx.endpoint, model, name, value, message[:300])
            ctx.emit(
                "learnt",
                f"batch {info.id} failed: {code} ({message}); {name.replace('_', ' ')} is "
                f"{value:,} on {ctx.endpoint} from now on",
                job,
                info=info,
            )
            # the batch fits the limit: the queue is full of other batches, not this one too big
            queue_full = code == "token_limit_exceeded" and job.n_tokens <= value
            tries = queue_tries(job.note) + 1 if queue_full else 0
            if tries > QUEUE_TRIES:
                counts = RowCounts()
                for req in tables.requests(job.id, state="open"):
                    self._fail(
                        job,
                        info,
                        req,
                        "rate_limited",
                        f"the provider's enqueued-token queue stayed full ({message}); run "
                        "the same command later",
                        counts,
                    )
                tables.update_job(job.id, state="done", finished_at=utc_now(), note=text[:300])
                return
            new = self.submitter.requeue(
                job,
                reason=f"batch {info.id} failed with {code}"
                + (": waiting for room in the queue" if queue_full else ": split"),
                count=False,
            )
            if queue_full:
                delay = min(3600.0, ctx.settings.poll_interval_s * 4 * 2**tries)
                for job_id in new:
                    tables.update_job(job_id, note=queue_note(tries, time.time() + delay))
            return
        lines = {int(e["line"]): e for e in errors if isinstance(e.get("line"), int)}
        if errors and len(lines) == len(errors):
            retry: list[Request] = []
            for req in tables.requests(job.id, state="open"):
                e = lines.get(req.line)
                if e is not None:
                    counts = RowCounts()
                    self._fail(
                        job,
                        info,
                        req,
                        "http_error",
                        f"batch {info.id} refused this request: {e.get('code')}: "
                        f"{e.get('message')}",
                        counts,
                    )
                else:
                    retry.append(req)
            ctx.emit(
                "note",
                f"batch {info.id} failed validation on {len(lines)} line(s): {text}; "
                f"{len(retry):,} other request(s) go into a new batch",
                job,
                info=info,
            )
            self._resubmit(
                job, [(r, f"batch {info.id} failed on other lines") for r in retry], RowCounts()
            )
        else:
            counts = RowCounts()
            for req in tables.requests(job.id, state="open"):
                self._fail(job, info, req, "http_error", f"batch {info.id} failed: {text}", counts)
            ctx.emit("note", f"batch {info.id} failed: {text}", job, info=info)
        tables.update_job(job.id, state="done", finished_at=utc_now(), note=text[:300])


def _cancelled(info: BatchInfo) -> str:
    return (
        f"batch {info.id} was cancelled before this request ran; run the same command again "
        "to submit it"
    )


def _describe(error: dict[str, Any]) -> str:
    where = f" (line {error['line']})" if error.get("line") else ""
    return f"{error.get('code')}: {error.get('message')}{where}"
