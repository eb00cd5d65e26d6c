"""A fault-injecting, OpenAI-compatible Chat Completions server on 127.0.0.1.

Tests, benchmarks and cassette recording point the real ``openai`` SDK at it::

    with FakeOpenAIServer(ServerConfig(rpm=60), responder=my_responder) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="test-key", max_retries=0)
        srv.enqueue("rate_limit", "ok", "server_error")      # the next three requests
        srv.add_rule("FAIL-ME", "truncated")                  # user message containing a marker
        ...
        assert srv.stats.by_status[429] == 1

or from a shell: ``python -m pipeline.server --port 8765 --rpm 500 --fault-rate rate_limit=0.05``.

Endpoints: ``POST /v1/chat/completions`` (also ``/chat/completions``), ``GET /v1/models``
(and ``/v1/models/{id}``), the Files and Batch APIs (``/v1/files``, ``/v1/batches``: see
``_batches``; ``srv.batches`` scripts them); ``GET /_fake/stats``, ``POST /_fake/faults``
(``{"enqueue": [...]}``) and ``POST /_fake/reset`` let a benchmark drive a server running in
another process.

Why asyncio and not ``ThreadingHTTPServer``: one event-loop thread holds any number of
keep-alive connections, a latency sleep or a hang costs a timer rather than a thread, a hang
ends the moment the server stops (its task is cancelled), and on a 2-core machine shared with
the client under test there are no hundreds of threads fighting for the GIL. The HTTP/1.1 layer
is the small subset clients use: Content-Length or chunked request bodies, keep-alive,
``Expect: 100-continue``; every response carries a Content-Length.

Answers come from a *responder* (``body -> chat.completion dict``): by default the project's
built-in model (``pipeline.builtin.chat_completion``, imported lazily), else
:func:`stub_responder`, which fills the requested JSON schema from the user message.

Where each request goes, in order: API key check (401) -> a scripted fault (queue FIFO, then
rules, then the seeded random mix) -> the RPM/TPM token buckets (429) -> request checks
(``stream``, unsupported ``response_format``) -> the responder -> content faults.

Modules, one job each: ``_app`` (the server: faults, routing, the chat endpoint),
``_http`` (the HTTP/1.1 layer), ``_faults`` (fault kinds, error bodies, damage), ``_limits``
(token buckets, reset headers), ``_request`` (reading a request body), ``_responders``,
``_stats``, ``_config``, ``_cli`` (command line, :class:`ServerProcess`), and the Batch API:
``_files`` (``/v1/files``: multipart upload, list, content), ``_batches`` (``/v1/batches``:
create, retrieve, list, cancel; :class:`BatchConfig`, scripted batch and API faults) and
``_batch_life`` (a batch's statuses on the simulated clock, its rows and files).
"""

from __future__ import annotations

from pipeline.server._app import FakeOpenAIServer
from pipeline.server._batches import API_FAULTS, BatchConfig
from pipeline.server._cli import ServerProcess, main, serve
from pipeline.server._config import ServerConfig
from pipeline.server._faults import FAULT_KINDS, Fault, user_contains
from pipeline.server._limits import format_duration
from pipeline.server._responders import ResponderError, memoize, stub_responder
from pipeline.server._stats import RequestRecord, ServerStats

__all__ = [
    "API_FAULTS",
    "BatchConfig",
    "FAULT_KINDS",
    "FakeOpenAIServer",
    "Fault",
    "RequestRecord",
    "ResponderError",
    "ServerConfig",
    "ServerStats",
    "format_duration",
    "ServerProcess",
    "main",
    "memoize",
    "serve",
    "stub_responder",
    "user_contains",
]
