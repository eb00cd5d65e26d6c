"""What the stages of batch mode share: :class:`BatchSettings`, :class:`BatchEvent` (what
the caller is told: submissions, statuses, splits, notes) and :class:`Context` (the store's
tables, the provider's API, the summarisers, the limits and where job files go)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.articles import Article
from pipeline.batch._api import BatchAPI, BatchInfo
from pipeline.batch._limits import Limits
from pipeline.batch._lines import JobWriter
from pipeline.batch._tables import Job, Tables
from pipeline.engine import Summariser
from pipeline.providers import RequestShape
from pipeline.records import Record

#: how many batches one article may go through (expired, timed out, a 5xx row, no row)
MAX_SUBMISSIONS = 3


@dataclass(frozen=True)
class BatchSettings:
    """Batch mode's knobs. ``max_*`` None: the default or what the provider revealed."""

    max_requests: int | None = None
    max_bytes: int | None = None
    max_tokens: int | None = None
    #: first wait between status checks; it grows 1.5x (to ``poll_cap_s``) while nothing
    #: changes, and no two status requests are closer than this
    poll_interval_s: float = 5.0
    poll_cap_s: float = 60.0
    wait: bool = True
    max_submissions: int = MAX_SUBMISSIONS
    download_attempts: int = 3
    api_attempts: int = 6
    backoff_initial_s: float = 1.0
    folder: Path | None = None  # job files; default: beside the store, in batches/

    def given(self) -> dict[str, int | None]:
        return {
            "max_requests": self.max_requests,
            "max_bytes": self.max_bytes,
            "max_tokens": self.max_tokens,
        }


@dataclass(frozen=True)
class BatchEvent:
    """``kind``: ``planned``, ``submitted``, ``status``, ``collecting``, ``collected``,
    ``split``, ``deferred``, ``learnt``, ``resubmitted`` or ``note``."""

    kind: str
    message: str
    job: Job | None = None
    info: BatchInfo | None = None


@dataclass
class Context:
    tables: Tables
    api: BatchAPI
    settings: BatchSettings
    folder: Path
    endpoint: str  # the endpoint's safe label
    summarisers: dict[tuple[str, str], Summariser] = field(default_factory=dict)
    make_summariser: Callable[[str, str], Summariser] | None = None
    on_event: Callable[[BatchEvent], None] = lambda e: None
    #: cache key -> (article, prompt ref, model, run): articles a live run was asking for
    #: when a writer would have put them in a batch; they wait for that run's answer
    live_held: dict[str, tuple[Article, str, str, int | None]] = field(default_factory=dict)
    #: runs with near-duplicates to ask on their own (their first copy got no summary): the
    #: driver sends them at its next round, not when the run's other batches end
    alone: set[int] = field(default_factory=set)

    def summariser(self, prompt_ref: str, model: str) -> Summariser:
        """The summariser of one prompt version on one model, in the request shape and
        structured-output mode that refused batch rows taught for this endpoint and model."""
        key = (prompt_ref, model)
        if key not in self.summarisers:
            if self.make_summariser is None:
                raise KeyError(f"no summariser for {prompt_ref} on {model}")
            made = self.summarisers[key] = self.make_summariser(prompt_ref, model)
            learnt = self.tables.learnt_request(self.endpoint, model)
            if learnt is not None:
                made.mode, made.shape = learnt[0], RequestShape.from_json(learnt[1])
        return self.summarisers[key]

    def learnt(self, model: str, mode: str, shape: RequestShape) -> None:
        """What a refused row taught about ``model``: every summariser of it here takes it
        (so it is said once), and it is kept for later commands on this endpoint."""
        for (_, m), s in self.summarisers.items():
            if m == model:
                s.mode, s.shape = mode, RequestShape.from_json(shape.to_json())
        self.tables.learn_request(self.endpoint, model, mode, shape.to_json())

    def summariser_for(self, job: Job) -> Summariser:
        return self.summariser(job.prompt_ref, job.model)

    def limits(self, model: str) -> Limits:
        learnt = self.tables.learnt_limits(self.endpoint, model)
        return Limits().merged(learnt, self.settings.given())

    def writer(self, summariser: Summariser, run_id: int | None) -> JobWriter:
        ref, model = summariser.prompt.ref, summariser.endpoint.model

        def held(article: Article, key: str) -> None:
            self.live_held[key] = (article, ref, model, run_id)

        # the lines of one writer's jobs are written, and kept, in the shape known now
        mode, shape = summariser.mode, RequestShape.from_json(summariser.shape.to_json())
        return JobWriter(
            self.tables,
            self.folder,
            self.limits(summariser.endpoint.model),
            endpoint=self.endpoint,
            model=summariser.endpoint.model,
            prompt=summariser.prompt,
            run_id=run_id,
            first_request=functools.partial(summariser.first_request, mode=mode, shape=shape),
            on_live=held,
            request_mode=mode,
            request_shape=shape.to_json(),
        )

    def emit(self, kind: str, message: str, job: Job | None = None, **kw: Any) -> None:
        self.on_event(BatchEvent(kind, message, job, kw.get("info")))


def failed_record(
    summariser: Summariser, article: Article, kind: str, message: str, batch_id: str | None
) -> Record:
    """The record of an article that got no usable answer from its batch (same fields as
    the live engine's failed records)."""
    record = summariser._record(article, status="failed")  # the engine's own record builder
    record.error = {"kind": kind, "message": message, "last_output": None}
    record.batch_id = batch_id
    return record


def copy_record(record: Record, **changes: Any) -> Record:
    return dataclasses.replace(record, **changes)
