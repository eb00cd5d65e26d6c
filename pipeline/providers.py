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
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# -- 1. models ---------------------------------------------------------------------------------

#: the request parameter that holds the output budget, by generation of the API
OUTPUT_PARAMS = ("max_tokens", "max_completion_tokens")
#: sampling parameters a reasoning model accepts only at their defaults
SAMPLING_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "logprobs")
#: parameters that may be dropped when a server refuses them; anything else is left alone
#: (``response_format`` has its own fallback; ``model`` and ``messages`` are the request)
DROPPABLE = frozenset(
    {*SAMPLING_PARAMS, "seed", "stop", "reasoning_effort", "top_k", "n", "user", "top_logprobs"}
)
#: output tokens a reasoning model may spend thinking before it writes the answer
REASONING_ALLOWANCE = 8_000


@dataclass(frozen=True)
class ModelTraits:
    """What a model is known to need before any answer says so."""

    output_param: str = "max_tokens"
    drops: frozenset[str] = frozenset()
    reasoning: bool = False
    takes_reasoning_effort: bool | None = None  # None: unknown, send it and learn


_REASONING = ModelTraits(
    output_param="max_completion_tokens",
    drops=frozenset(SAMPLING_PARAMS),
    reasoning=True,
    takes_reasoning_effort=True,
)
#: known model families, matched on the name without a provider prefix (``openai/o3``)
KNOWN_MODELS: tuple[tuple[re.Pattern[str], ModelTraits], ...] = (
    (re.compile(r"^(o1|o3|o4)(-|$)"), _REASONING),
    (re.compile(r"^gpt-5(?!.*-chat)"), _REASONING),  # gpt-5-chat-latest is not a reasoner
    (re.compile(r"^(gpt-4|gpt-3\.5|chatgpt-4o)"), ModelTraits(takes_reasoning_effort=False)),
)


def model_traits(model: str) -> ModelTraits:
    """The known traits of ``model`` (an unknown model gets the defaults)."""
    name = model.rsplit("/", 1)[-1].lower()
    for pattern, traits in KNOWN_MODELS:
        if pattern.search(name):
            return traits
    return ModelTraits()


# -- 2. learning from a 400 -------------------------------------------------------------------


@dataclass(frozen=True)
class Adaptation:
    """One change to the request: rename ``param`` (``to`` set), cap its value (``cap`` set),
    or drop it (neither). ``param`` :data:`SYSTEM_ROLE` means "fold the system message into
    the first user message" (a model that takes no system role)."""

    param: str
    to: str | None = None
    cap: int | None = None

    @property
    def note(self) -> str:
        if self.param == SYSTEM_ROLE:
            return (
                "the server takes no system message: sending the instructions in the user message"
            )
        if self.cap is not None:
            return f"the server takes {self.param} up to {self.cap}: capping it there"
        if self.to:
            return f"the server takes {self.to!r}, not {self.param!r}: sending {self.to}"
        return f"the server does not take {self.param!r}: not sending it"


#: the pseudo-parameter of a model that refuses the ``system`` role (OpenAI's o1-mini)
SYSTEM_ROLE = "system-role"
_QUOTED = r"['\"`]?([a-z_]+)['\"`]?"
_USE_INSTEAD = re.compile(r"use\s+" + _QUOTED + r"\s+instead", re.I)
_UNSUPPORTED = re.compile(
    r"(?:unsupported|unknown|unrecognized|unexpected|extra)\s+"
    r"(?:parameter|value|argument|field|request argument|keyword argument)s?"
    r"(?:\s+supplied)?\s*[:=]?\s*" + _QUOTED,
    re.I,
)
_NOT_SUPPORTED = re.compile(_QUOTED + r"\s+(?:is\s+)?not\s+(?:supported|permitted|allowed)", re.I)
_ONLY_DEFAULT = re.compile(r"only the default|does not support .* with this model", re.I)
#: the wording of a server that refuses a parameter outright (not one that objects to its value)
_REFUSES = re.compile(
    r"unsupported|not supported|unknown|unrecognized|unexpected|not permitted|not allowed|"
    r"extra inputs|extra_forbidden|does not support|only the default|no such parameter|"
    r"use\s+\S+\s+instead",
    re.I,
)
#: "Expected a value <= 16384", "supports at most 4096 completion tokens", "must be <= 8192"
_AT_MOST = re.compile(
    r"(?:<=\s*|at most\s+|maximum(?: value)?(?: is| of)?\s+|must be less than or equal to\s+)"
    r"(\d{2,7})",
    re.I,
)
_SYSTEM = re.compile(
    r"'?system'?\s.*(?:role|not supported|does not support)|"
    r"(?:role|messages\[\d+\]\.role).*'system'",
    re.I,
)


def adaptation_for(message: str, param: Any, request: Mapping[str, Any]) -> Adaptation | None:
    """The change to ``request`` that a 400 with this message and ``param`` asks for, or None.

    Only a parameter the request actually holds is changed, only when the server refuses the
    parameter itself (not just its value), and only one this project may do without
    (:data:`DROPPABLE` and the output budget's name); an output budget over the model's
    maximum is capped at the maximum the message names; a model that refuses the ``system``
    role gets the instructions in the user message. A 400 about the messages' content, the
    model or ``response_format`` is never "adapted" away.
    """
    low = message.lower()
    p = param.split(".")[0].split("[")[0] if isinstance(param, str) and param else ""
    has_system = any(
        isinstance(m, dict) and m.get("role") == "system" for m in request.get("messages") or []
    )
    if has_system and (p == "messages" or "role" in low) and _SYSTEM.search(message):
        return Adaptation(SYSTEM_ROLE)
    named: list[str] = [p] if p else []
    for rx in (_UNSUPPORTED, _NOT_SUPPORTED):
        named += [m.group(1) for m in rx.finditer(message)]
    instead = _USE_INSTEAD.search(message)
    refuses = bool(_REFUSES.search(message))
    for name in dict.fromkeys(named):
        if name not in request:
            continue
        if name in OUTPUT_PARAMS:
            cap = _AT_MOST.search(message)
            value = request.get(name)
            if cap and not instead and isinstance(value, int) and int(cap.group(1)) < value:
                return Adaptation(name, cap=int(cap.group(1)))
            other = OUTPUT_PARAMS[1 - OUTPUT_PARAMS.index(name)]
            if instead and instead.group(1) == other or (refuses and not instead):
                return Adaptation(name, other)
            continue
        if not refuses:
            continue  # an objection to the value ("must be between 0 and 2"), not the name
        if instead and instead.group(1) != name and instead.group(1) not in request:
            return Adaptation(name, instead.group(1))
        if name in DROPPABLE:
            return Adaptation(name)
    if _ONLY_DEFAULT.search(low):  # "temperature does not support 0 ..." with no param field
        for name in SAMPLING_PARAMS:
            if name in request and name in low:
                return Adaptation(name)
    return None


@dataclass
class RequestShape:
    """What one run has learnt about the request one model takes: renames, drops, caps, and
    whether it takes a system message."""

    renames: dict[str, str] = field(default_factory=dict)
    drops: set[str] = field(default_factory=set)
    caps: dict[str, int] = field(default_factory=dict)
    no_system: bool = False
    thinks: bool = False  # an answer reported reasoning tokens

    @classmethod
    def for_model(cls, model: str) -> RequestShape:
        traits = model_traits(model)
        shape = cls(drops=set(traits.drops))
        if traits.output_param != "max_tokens":
            shape.renames["max_tokens"] = traits.output_param
        if traits.takes_reasoning_effort is False:
            shape.drops.add("reasoning_effort")
        return shape

    def learn(self, change: Adaptation) -> bool:
        """Remember ``change``; False when it was already known (nothing new to say)."""
        if change.param == SYSTEM_ROLE:
            new = not self.no_system
            self.no_system = True
            return new
        if change.cap is not None:
            name = self.renames.get(change.param, change.param)
            if self.caps.get(name) is not None and self.caps[name] <= change.cap:
                return False
            self.caps[name] = change.cap
            return True
        if change.to is None:
            if change.param in self.drops:
                return False
            self.drops.add(change.param)
            return True
        # a rename of a name that is itself the result of a rename undoes it
        for src, dst in list(self.renames.items()):
            if dst == change.param:
                if change.to == src:
                    del self.renames[src]
                else:
                    self.renames[src] = change.to
                return True
        if self.renames.get(change.param) == change.to:
            return False
        self.renames[change.param] = change.to
        return True

    def apply(self, request: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in request.items():
            if key in self.drops:
                continue
            name = self.renames.get(key, key)
            cap = self.caps.get(name)
            if cap is not None and isinstance(value, int):
                value = min(value, cap)
            out[name] = value
        if self.no_system and isinstance(out.get("messages"), list):
            out["messages"] = _fold_system(out["messages"])
        return out

    def capped(self, name: str, value: int) -> int:
        cap = self.caps.get(name)
        return value if cap is None else min(value, cap)

    @property
    def reasoning(self) -> bool:
        """A model that reasons: it takes ``max_completion_tokens`` (known or learnt), or an
        answer reported reasoning tokens. Its output budget gets room to think."""
        return self.thinks or self.renames.get("max_tokens") == "max_completion_tokens"


def _fold_system(messages: list[Any]) -> list[Any]:
    """The system message(s) put at the head of the first user message."""
    system = [
        m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "system"
    ]
    rest = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
    if not system:
        return messages
    out = [dict(m) if isinstance(m, dict) else m for m in rest]
    for m in out:
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str):
            m["content"] = "\n\n".join([*system, m["content"]])
            break
    else:
        out.insert(0, {"role": "user", "content": "\n\n".join(system)})
    return out


def output_budget(requested: int, *, reasoning: bool) -> int:
    """The output budget to send: a reasoning model gets room to think before it answers."""
    return requested + REASONING_ALLOWANCE if reasoning else requested


# -- 3. errors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorFields:
    """An error body's parts, wherever the provider put them."""

    message: str = ""
    code: str = ""
    type: str = ""
    param: Any = None
    status: int | None = None  # a status the body itself names (OpenRouter's ``code: 429``)
    raw: str = ""  # an upstream provider's own reason (OpenRouter's ``metadata.raw``)
    provider: str = ""
    inner_code: str = ""  # Azure's ``innererror.code``
    failed_generation: str | None = None  # Groq's invalid JSON
    retry_delay: float | None = None  # Google's ``details[].retryDelay`` ("42s")

    @property
    def text(self) -> str:
        """The message with the upstream reason and provider kept."""
        out = self.message or self.code or "error"
        if self.raw and self.raw not in out:
            out = f"{out}: {self.raw}"
        if self.provider:
            out = f"{out} (upstream provider {self.provider})"
        return out

    def words(self) -> str:
        return " ".join((self.message, self.code, self.type, self.raw, self.inner_code)).lower()


def _str(v: Any) -> str:
    return "" if v is None else str(v)


def error_fields(body: Any) -> ErrorFields:
    """Read an error body of any known shape (a dict, a JSON string, or nothing)."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return ErrorFields(message=_str(body if isinstance(body, str) else "")[:2000])
    if isinstance(body, list) and body:  # Google's OpenAI-compatible endpoint: [{"error": ...}]
        body = body[0]
    if not isinstance(body, dict):
        return ErrorFields()
    err: Any = body.get("error", body)
    if isinstance(err, str):  # LM Studio, some gateways: {"error": "text"}
        return ErrorFields(message=err)
    if not isinstance(err, dict):
        return ErrorFields(message=_str(body.get("detail") or body.get("message")))
    if "detail" in err and "message" not in err:  # FastAPI-style servers
        detail = err["detail"]
        return ErrorFields(message=detail if isinstance(detail, str) else json.dumps(detail))
    meta = err.get("metadata") if isinstance(err.get("metadata"), dict) else {}
    raw = meta.get("raw") if meta else None
    if raw is not None and not isinstance(raw, str):
        raw = json.dumps(raw)
    inner = err.get("innererror") or err.get("inner_error") or {}
    code = err.get("code")
    status: int | None = None
    if isinstance(code, int) and 100 <= code <= 599:
        status = code
    elif isinstance(code, str) and code.isdigit() and 100 <= int(code) <= 599:
        status = int(code)
    fg = err.get("failed_generation")
    delay = None
    details = err.get("details")
    if isinstance(details, list):
        for d in details:
            if isinstance(d, dict) and isinstance(d.get("retryDelay"), str):
                delay = parse_duration(d["retryDelay"])
    message = err.get("message")
    if isinstance(message, dict | list):  # Mistral's 422: {"detail": [...]}
        message = json.dumps(message)
    return ErrorFields(
        message=_str(message),
        code="" if status is not None and _str(code).isdigit() else _str(code),
        type=_str(err.get("type")),
        param=err.get("param"),
        status=status,
        raw=_str(raw),
        provider=_str(meta.get("provider_name")) if meta else "",
        inner_code=_str(inner.get("code")) if isinstance(inner, dict) else "",
        failed_generation=fg if isinstance(fg, str) else None,
        retry_delay=delay,
    )


def body_error(data: Mapping[str, Any]) -> ErrorFields | None:
    """The error a 200 answer carries instead of choices (OpenRouter, gateways), or None."""
    if data.get("error") and not data.get("choices"):
        return error_fields(dict(data))
    return None


@dataclass(frozen=True)
class ErrorRule:
    """One row of :data:`ERROR_RULES`: when it matches, and what the failure is."""

    name: str
    kind: str
    statuses: frozenset[int] = frozenset()  # empty: any status
    codes: frozenset[str] = frozenset()  # ``code``, ``type`` or Azure's inner code
    words: tuple[str, ...] = ()  # lower-case fragments of the message
    fix: str = ""
    retryable: bool = False
    stop_run: bool = False
    reask: bool = False  # an invalid answer: re-ask like schema_invalid

    def matches(self, status: int, f: ErrorFields) -> bool:
        if self.statuses and status not in self.statuses:
            return False
        if not self.codes and not self.words:
            return True
        if {f.code, f.type, f.inner_code} & self.codes:
            return True
        text = f.words()
        return any(w in text for w in self.words)


_CONTEXT_WORDS = (
    "maximum context length",
    "context length exceeded",
    "context_length_exceeded",
    "exceeds the available context size",
    "larger than the max context size",
    "greater than the context length",
    "exceeds the context window",
    "exceeds context length",
    "input length exceeds",
    "prompt is too long",
    "too many tokens in the prompt",
    "reduce the length of the messages",
    "max_tokens must be at least 1, got -",
    "please reduce your prompt",
    "max_new_tokens` must be <=",
    "`inputs` tokens",
    "exceeds the maximum number of tokens",
    "context the overflows",
    "context overflow",
    "input is too long",
    "too many input tokens",
    "exceeds the model's context",
    "exceeds maximum context",
)

#: first match wins; statuses not named here keep :func:`pipeline.retry.classify`'s defaults
ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(
        "billing",
        "rate_limited",
        frozenset({402, 403, 429, 400}),
        frozenset({"insufficient_quota", "billing_hard_limit_reached", "insufficient_balance"}),
        (
            "insufficient balance",
            "insufficient credit",
            "exceeded your current quota",
            "add credit",
            "add more credits",
            "out of credits",
            "payment required",
            "check your plan and billing",
            "balance is too low",
            "requires more credits",
        ),
        fix="add credit or raise the quota, then run the same command again to resume",
        stop_run=True,
    ),
    ErrorRule(
        "payment",
        "rate_limited",
        frozenset({402}),
        fix="add credit, then run the same command again to resume",
        stop_run=True,
    ),
    ErrorRule(
        "too_long",
        "too_long",
        frozenset({400, 413, 422, 500}),
        frozenset(
            {"context_length_exceeded", "exceed_context_size_error", "string_above_max_length"}
        ),
        _CONTEXT_WORDS,
        fix="shorten or split the article, or use a model with a larger context",
    ),
    ErrorRule(
        "content_filter",
        "refusal",
        frozenset({400, 403, 422}),
        frozenset({"content_filter", "ResponsibleAIPolicyViolation", "content_policy_violation"}),
        ("content management policy", "content policy", "flagged by the content filter"),
    ),
    ErrorRule(
        "invalid_answer",
        "schema_invalid",
        frozenset({400, 422}),
        frozenset({"json_validate_failed", "tool_use_failed"}),
        ("failed to generate json", "failed_generation"),
        reask=True,
    ),
    ErrorRule(
        "unknown_model",
        "http_error",
        frozenset({400, 404}),
        frozenset({"model_not_found", "DeploymentNotFound", "NotFound"}),
        (
            "model_not_found",
            "deployment for this resource does not exist",
            "the model `",
            "does not exist or you do not have access",
            "model not found",
            "unknown model",
            "no such model",
            "invalid model",
            "is not a valid model",
        ),
        fix="check --model (for Azure: the deployment name) and --base-url",
        stop_run=True,
    ),
)


def classify_error(status: int, f: ErrorFields) -> ErrorRule | None:
    """The first :data:`ERROR_RULES` row that matches this status and body, or None."""
    for rule in ERROR_RULES:
        if rule.matches(status, f):
            return rule
    return None


# -- 4. rate-limit headers --------------------------------------------------------------------

_WINDOW_S = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0, "month": 2_592_000.0}
_HEADER = re.compile(
    r"^x-ratelimit-(limit|remaining|reset)"
    r"(?:-(requests|request|req|tokens|token))?"
    r"(?:-(?:(\d+)-)?(second|minute|hour|day|month))?$"
)
#: windows longer than this are quotas, not paces: never used to space requests
LONGEST_PACED_WINDOW_S = 60.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(value: str | None) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"120ms"``, ``"2m59.56s"``, ``"7.66s"``, or plain seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        v = float(value)
        return v if v >= 0 else None
    except ValueError:
        pass
    total, end = 0.0, 0
    for m in _DURATION.finditer(value):
        if m.start() != end:
            return None
        end = m.end()
        total += float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
    return total if end == len(value) and end else None


@dataclass
class Window:
    """One announced limit, as a rate per minute, with what is left and when it refills."""

    per_minute: float | None = None
    remaining: float | None = None
    reset_s: float | None = None
    window_s: float = 60.0


@dataclass
class RateLimits:
    """What a response's headers say about the limits, per minute; None where unknown."""

    requests: Window = field(default_factory=Window)
    tokens: Window = field(default_factory=Window)
    #: the provider counts a request's whole output budget against the token limit up front
    charges_output: bool = False
    dialect: str = "none"

    @property
    def rpm(self) -> float | None:
        return self.requests.per_minute

    @property
    def tpm(self) -> float | None:
        return self.tokens.per_minute


def _float(v: str | None) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f >= 0 and f == f and f != float("inf") else None


def read_rate_limits(headers: Mapping[str, str] | None) -> RateLimits:
    """Read every ``x-ratelimit-*`` dialect into per-minute limits.

    - OpenAI / Azure / Groq: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, the
      limits per minute (Groq's request limit is per day: read as per minute it is only a
      generous ceiling, never a slow one); resets as durations. Azure's unit-less resets and
      any reset longer than the window are not trusted.
    - Mistral: a window in the name (``-tokens-minute``, ``-req-10-second``,
      ``-tokens-month``); a window over a minute is a quota and is not paced.
    - Together: bare ``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` are requests per
      second and its ``x-ratelimit-limit-tokens`` tokens per second; a ``remaining`` above
      its limit is not trusted.

    OpenAI and Azure count a request's ``max_tokens`` against the token limit when it is
    sent (``charges_output``); the others count what was used.
    """
    out = RateLimits()
    if not headers:
        return out
    lower: dict[str, str] = {}
    try:
        for k, v in headers.items():
            if k.lower().startswith("x-ratelimit-"):
                lower[k.lower()] = v
    except (AttributeError, TypeError):
        return out
    if not lower:
        return out
    per_second = "x-ratelimit-limit" in lower or "x-ratelimit-remaining" in lower  # Together
    out.dialect = "per-second" if per_second else "per-minute"
    fields: dict[str, dict[str, Any]] = {"requests": {}, "tokens": {}}
    for name, value in lower.items():
        m = _HEADER.match(name)
        if not m:
            continue
        what, kind, n, unit = m.groups()
        kind = "tokens" if kind and kind.startswith("tok") else "requests"
        if unit:
            window = float(n or 1) * _WINDOW_S[unit]
            out.dialect = "windowed"
        elif per_second:
            window = 1.0
        else:
            window = 60.0
        if window > LONGEST_PACED_WINDOW_S:
            continue  # a daily or monthly quota: not a pace
        slot = fields[kind]
        if slot.get("window", window) != window:
            continue  # two windows for one kind: keep the first (the shorter ones come first)
        slot["window"] = window
        if what == "reset":
            reset = parse_duration(value)
            bare = value.strip().replace(".", "", 1).isdigit()
            if reset is not None and not (bare and not per_second and window == 60.0):
                slot["reset"] = reset
        else:
            slot[what] = _float(value)
    for kind, slot in fields.items():
        win = Window(window_s=slot.get("window", 60.0))
        limit = slot.get("limit")
        if limit:
            win.per_minute = limit * 60.0 / win.window_s
        remaining = slot.get("remaining")
        if remaining is not None and not (limit and remaining > limit):
            win.remaining = remaining
        reset = slot.get("reset")
        if reset is not None and reset <= win.window_s:
            win.reset_s = reset
        setattr(out, kind, win)
    openai_style = not per_second and out.dialect == "per-minute"
    out.charges_output = openai_style and (
        "x-ratelimit-limit-tokens" in lower or "x-ratelimit-remaining-tokens" in lower
    )
    return out


# -- 5. waits ---------------------------------------------------------------------------------

#: the one cap on a server's wait: a longer one (a daily quota) stops the run
LONGEST_WAIT_S = 180.0
_TRY_AGAIN = re.compile(r"try again in\s+((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)", re.I)


def _seconds(v: str | None) -> float | None:
    """A number of seconds from a header; a negative one means "now"."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return max(0.0, f) if f == f and f != float("inf") else None


def server_wait(
    headers: Mapping[str, str] | None, message: str = "", *, now: float | None = None
) -> float | None:
    """How long the server asks to wait, in seconds, or None when it does not say.

    ``retry-after-ms`` first, then ``retry-after`` (seconds or an HTTP date), then the
    message's "Please try again in 9m38.016s", then the reset of a window the headers show
    empty (``x-ratelimit-remaining-*: 0``).
    """
    if headers is not None:
        try:
            ms = _seconds(headers.get("retry-after-ms"))
            if ms is not None:
                return ms / 1000.0
            ra = headers.get("retry-after")
            if ra is not None:
                secs = _seconds(ra)
                if secs is not None:
                    return secs
                try:
                    when = email.utils.parsedate_to_datetime(ra)
                    return max(0.0, when.timestamp() - (time.time() if now is None else now))
                except (TypeError, ValueError, OverflowError):
                    pass
        except (AttributeError, TypeError):
            headers = None
    m = _TRY_AGAIN.search(message or "")
    if m:
        wait = parse_duration(m.group(1))
        if wait is not None:
            return wait
    if headers is not None:
        try:
            for kind in ("requests", "tokens"):
                if _float(headers.get(f"x-ratelimit-remaining-{kind}")) == 0:
                    reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
                    if reset is not None:
                        return reset
        except (AttributeError, TypeError):
            return None
    return None


def describe_wait(seconds: float) -> str:
    """``26 s``, ``9 min 38 s``, ``21 h 9 min``: a wait as a person reads it."""
    s = int(round(seconds))
    if s < 60:
        return f"{max(s, 1)} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {(s % 3600) // 60} min"


def resets_at(seconds: float, *, now: float | None = None) -> str:
    """When a wait of ``seconds`` ends, as UTC clock time."""
    t = (time.time() if now is None else now) + seconds
    return time.strftime("%H:%M UTC", time.gmtime(t))
