"""Rate-limit header dialects and server waits: what each header means in per-minute rates,
how long a server asks a client to wait, and the one cap (sections 4 and 5 of
:mod:`pipeline.providers`)."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


def _number(v: str | None) -> float | None:
    """A header's value as a finite number (None: absent, not a number, NaN or infinite)."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _float(v: str | None) -> float | None:
    f = _number(v)
    return f if f is not None and f >= 0 else None


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
#: a wait in words: Azure's "Please retry after 86400 seconds", "retry after 2 minutes",
#: "try again in 30 seconds"
_WAIT_IN_WORDS = re.compile(
    r"(?:retry|try again)\s+(?:after|in)\s+(\d+(?:\.\d+)?)\s*"
    r"(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|days?)\b",
    re.I,
)


def message_wait(message: str) -> float | None:
    """The wait a server's message asks for: "Please try again in 9m38.016s" (Go's duration
    format, OpenAI and Groq) or in words, "Please retry after 86400 seconds" (Azure),
    "retry after 2 minutes"; None when the message names none."""
    m = _TRY_AGAIN.search(message or "")
    if m:
        wait = parse_duration(m.group(1))
        if wait is not None:
            return wait
    m = _WAIT_IN_WORDS.search(message or "")
    if m:
        unit = m.group(2).lower()
        if unit == "ms" or unit.startswith("milli"):
            scale = 0.001
        else:
            scale = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}[unit[0]]
        return float(m.group(1)) * scale
    return None


def _seconds(v: str | None) -> float | None:
    """A number of seconds from a header; a negative one means "now"."""
    f = _number(v)
    return None if f is None else max(0.0, f)


def server_wait(
    headers: Mapping[str, str] | None, message: str = "", *, now: float | None = None
) -> float | None:
    """How long the server asks to wait, in seconds, or None when it does not say.

    ``retry-after-ms`` first, then ``retry-after`` (seconds or an HTTP date), then the
    message's "Please try again in 9m38.016s" or "Please retry after 86400 seconds"
    (:func:`message_wait`), then the reset of a window the headers show empty
    (``x-ratelimit-remaining-*: 0``).
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
    wait = message_wait(message)
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
