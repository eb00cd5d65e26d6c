"""Batch mode: the provider's Batch API as a second transport beside the live one.

``summarise run PATH --batch`` sends every article that needs a model call through
``/v1/files`` + ``/v1/batches`` (OpenAI's Batch API and the servers that implement it): half
the price, a separate limit pool, answers within 24 hours. Each request line carries exactly
the body the live engine would send first; each answer comes back into the live engine's one
record path (:meth:`~pipeline.engine.Summariser.summarise` with an
:class:`~pipeline.engine.Answer`), so validation, re-asks, refusal and truncation handling,
faithfulness checks, usage and cost are the same as a live run's, at the batch price, with
``batch_id`` on the record.

Nothing is lost and nothing is paid twice: a batch's id is stored the moment it exists, with
the articles it covers; no article is in two open batches; a process killed at any stage
(uploading, after create, polling, downloading, storing) is resumed by the same command or by
``summarise batch collect``.

Modules, one job each: ``_api`` (the Files and Batch APIs over the openai SDK, retries,
errors), ``_tables`` (the store's batch tables and their queries), ``_limits`` (per-batch
limits, what a refusal reveals), ``_lines`` (request lines and job files), ``_context``
(settings, events, what the stages share), ``_submit`` (upload and create, with recovery),
``_collect`` (output and error files to records), ``_driver`` (plan, wait, reconcile) and
``_run`` (the library behind the commands).
"""

from __future__ import annotations

from pipeline.batch._api import (
    BatchAPI,
    BatchAPIError,
    BatchInfo,
    BatchStopped,
    DownloadIncomplete,
    NoBatchAPI,
    UploadRefused,
)
from pipeline.batch._context import BatchEvent, BatchSettings
from pipeline.batch._limits import Limits
from pipeline.batch._run import (
    BatchRunResult,
    cancel,
    collect,
    list_jobs,
    run,
    run_versions,
    status,
)
from pipeline.batch._tables import Job

__all__ = [
    "BatchAPI",
    "BatchAPIError",
    "BatchEvent",
    "BatchInfo",
    "BatchRunResult",
    "BatchSettings",
    "BatchStopped",
    "DownloadIncomplete",
    "Job",
    "Limits",
    "NoBatchAPI",
    "UploadRefused",
    "cancel",
    "collect",
    "list_jobs",
    "run",
    "run_versions",
    "status",
]
