r"""The engine: every article through the prompt, the model, validation and the store.

For each input, in order, the engine yields exactly one :class:`~pipeline.records.Record`:

1. A :class:`~pipeline.articles.BadInput` becomes a failed record (``bad_input``).
2. A result already stored for the same article, prompt hash, schema hash, model and
   parameters is reused with no model call (``cached: true``) unless ``force``.
3. Otherwise :class:`Summariser` asks the model. Transport failures are retried by
   :mod:`pipeline.retry` (one layer, tenacity); an answer that is not JSON or breaks the
   schema is *re-asked* with the validation errors (a separate, bounded loop); a server
   that rejects ``json_schema`` output is asked again in ``json_object`` mode, then with the
   schema in the prompt alone, and the mode that works is remembered for the run (until a
   mode has had a 200 answer, one request at a time tries it); ``finish_reason: length``
   gets one retry with a doubled output budget. Every request counts against
   ``--max-attempts`` and leaves an attempt row with the mode it used.
4. Each result is committed to the store as soon as it finishes (crash-safe), then
   emitted in input order. An input whose article is already being asked waits for that
   answer and is served from the store: no article is asked twice in a run.

Pacing is :class:`~pipeline.ratelimit.Limiter`'s; ``--concurrency`` bounds the requests in
flight (a slot is held from pacing to the answer's last byte), and at most twice that many
articles are in progress at once, while the input is read lazily through a bounded window.

A failure that concerns every article (bad key, exhausted quota, unknown model, unreachable
endpoint) stops the run at once: requests in flight are cancelled, waits end, nothing more
is sent, and every remaining article is recorded as failed with that reason, so the same
command resumes the run later.

Every answer, whichever transport brought it (the live request loop, the journal of a run that
crashed, a line of the provider's Batch API output), is read by one function
(:func:`~pipeline.engine._answer.read_answer`) and turned into a record by one method
(:meth:`Summariser.summarise`, given an :class:`Answer` when the first request was answered
elsewhere). The engine never prints: waits, retries, adaptations and the stop reach the
caller as :class:`Event`\ s through ``on_event``.

Modules
-------
``_settings`` (:class:`RunSettings`, the structured-output :data:`MODES` and the output-budget
cap), ``_wire`` (the schema text for the prompt-only modes, request bodies as SDK arguments,
:func:`extract_json`), ``_answer`` (:class:`Answer`, :func:`read_answer`, usage, the bounded
re-ask), ``_events`` (:class:`Event`), ``_defaults`` (the default faithfulness scorer and
pricer, imported lazily), ``_transport`` (the live HTTP requests: pacing, slots, the retry
layer, the journal, the run stop), ``_summariser`` (:class:`Summariser`: one article to one
record, step 3) and ``_live`` (:func:`run_live`, :func:`cache_key`, :class:`RunSummary`,
``Item``: steps 1, 2 and 4, the window, the input order, leases).
"""

from __future__ import annotations

from pipeline.engine._answer import Answer, Reading, Usage, clip, read_answer, usage_of
from pipeline.engine._events import Event, EventSink
from pipeline.engine._live import Item, RunSummary, cache_key, iter_sync, run_live
from pipeline.engine._settings import MAX_OUTPUT_TOKENS_CAP, MODES, RunSettings
from pipeline.engine._summariser import Summariser
from pipeline.engine._wire import extract_json

__all__ = [
    "MAX_OUTPUT_TOKENS_CAP",
    "MODES",
    "Answer",
    "Event",
    "EventSink",
    "Item",
    "Reading",
    "Usage",
    "clip",
    "read_answer",
    "usage_of",
    "RunSettings",
    "RunSummary",
    "Summariser",
    "cache_key",
    "extract_json",
    "iter_sync",
    "run_live",
]
