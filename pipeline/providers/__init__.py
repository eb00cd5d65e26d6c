"""What each provider does differently, in one place: the tables the engine, the retry layer
and the limiter consult, so that no ``if provider == ...`` is spread through them.

Every rule here is about a *shape* of request or answer, not about a host name: the same
rule holds whether the answer came from api.openai.com, an Azure resource, a gateway or a
local server, and a provider nobody listed that answers in a known shape is handled too.

1. **Models** (:func:`model_traits`): a short table of known model families (OpenAI's
   reasoning models: ``o1``/``o3``/``o4``, ``gpt-5``) that take ``max_completion_tokens``
   and only default sampling. It only saves the first 400: the same is learnt from the
   server's answer for a model nobody listed.
2. **Learning from a 400** (:func:`adaptation_for`, :class:`RequestShape`): a 400 that names
   a request parameter the server will not take (``param`` / "Unsupported parameter: 'x'",
   "Unsupported value: 'temperature' ... Only the default", "Use 'y' instead",
   "Unknown parameter: 'max_completion_tokens'") becomes an :class:`Adaptation`: rename or
   drop that parameter. The engine applies it to that request at once (not a failed attempt)
   and to every later request of the run for that model, and says so once.
3. **Errors in unusual places** (:func:`error_fields`, :func:`body_error`,
   :func:`classify_error`): error bodies in every shape seen (OpenAI's ``{"error": {...}}``,
   a bare string, vLLM's top-level ``{"object": "error"}``, FastAPI's ``detail``,
   OpenRouter's ``metadata.raw`` / ``provider_name``), a 200 whose body is an error and no
   choices, and the :data:`ERROR_RULES` table that maps a status, code and wording to the
   record's failure kind (too long, refused, invalid answer, billing, unknown model).
4. **Rate-limit headers** (:func:`read_rate_limits`): the header dialects (OpenAI/Azure's
   ``x-ratelimit-*-requests|tokens``, Mistral's ``-tokens-minute`` / ``-req-10-second`` /
   ``-tokens-month``, Together's bare per-second ``x-ratelimit-limit``), read for what they
   mean, in per-minute rates; a header that cannot be read is left out rather than guessed.
5. **Waits** (:func:`server_wait`, :data:`LONGEST_WAIT_S`): how long a server asks a client
   to wait (``retry-after-ms``, ``retry-after``, "try again in 9m38s", an exhausted window's
   reset) and the one cap: a longer wait stops the run instead of stalling it.
6. **Answers in unusual shapes** (:func:`message_text`): ``message.content`` as a list of
   content parts or as JSON the server already parsed (Cloudflare), read as the answer text.

Modules: ``_models`` (sections 1 and 2), ``_errors`` (3), ``_headers`` (4 and 5),
``_answers`` (6).
"""

from __future__ import annotations

from pipeline.providers._answers import message_text
from pipeline.providers._errors import (
    ERROR_RULES,
    ErrorFields,
    ErrorRule,
    body_error,
    classify_error,
    error_fields,
)
from pipeline.providers._headers import (
    LONGEST_PACED_WINDOW_S,
    LONGEST_WAIT_S,
    RateLimits,
    Window,
    describe_wait,
    message_wait,
    parse_duration,
    read_rate_limits,
    resets_at,
    server_wait,
)
from pipeline.providers._models import (
    DROPPABLE,
    KNOWN_MODELS,
    OUTPUT_PARAMS,
    REASONING_ALLOWANCE,
    SAMPLING_PARAMS,
    SYSTEM_ROLE,
    Adaptation,
    ModelTraits,
    RequestShape,
    adaptation_for,
    model_traits,
    output_budget,
)

__all__ = [
    "Adaptation",
    "DROPPABLE",
    "ERROR_RULES",
    "ErrorFields",
    "ErrorRule",
    "KNOWN_MODELS",
    "LONGEST_PACED_WINDOW_S",
    "LONGEST_WAIT_S",
    "ModelTraits",
    "OUTPUT_PARAMS",
    "REASONING_ALLOWANCE",
    "RateLimits",
    "RequestShape",
    "SAMPLING_PARAMS",
    "SYSTEM_ROLE",
    "Window",
    "adaptation_for",
    "body_error",
    "classify_error",
    "describe_wait",
    "error_fields",
    "message_text",
    "message_wait",
    "model_traits",
    "output_budget",
    "parse_duration",
    "read_rate_limits",
    "resets_at",
    "server_wait",
]
