"""Pacing requests under requests-per-minute and tokens-per-minute ceilings.

Requests are spaced evenly (a GCRA-style schedule with no burst allowance), so a run never
sends a minute's worth of requests at t=0. The rate is the smallest of:

- the user's ``--rpm`` / ``--tpm`` (none unless given),
- the limits the server announces in ``x-ratelimit-limit-*`` headers,
- an adaptive rate after 429s: the rate drops multiplicatively (x0.7) on each rate-limit
  answer, all senders pause for the server's ``retry-after``, and the rate recovers
  additively (+2% of the ceiling per success), like TCP's AIMD.

Each request is charged its estimated tokens: the prompt's length estimate, calibrated by the
``usage.prompt_tokens`` that comes back, plus its whole output budget (OpenAI counts
``max_tokens`` against the TPM limit). When ``x-ratelimit-remaining-*`` says a window is
spent, senders wait for its ``x-ratelimit-reset-*``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

HEADROOM = 0.98  # pace at 98% of a known ceiling
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(value: str | None) -> float | None:
    """OpenAI's reset durations: ``"1s"``, ``"6m0s"``, ``"120ms"``, ``"1m30.5s"``, or seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    total, matched = 0.0, False
    for num, unit in _DURATION.findall(value):
        matched = True
        total += float(num) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
    return total if matched else None


def _int(headers: Mapping[str, str], name: str) -> int | None:
    try:
        v = headers.get(name)
        return int(float(v)) if v is not None else None
    except (TypeError, ValueError):
        return None


@dataclass
class LimiterStats:
    requests: int = 0
    waited_s: float = 0.0
    rate_limited: int = 0


class Limiter:
    """An asyncio pacer for requests and tokens per minute."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        self.user_rpm = rpm
        self.user_tpm = tpm
        self.server_rpm: float | None = None
        self.server_tpm: float | None = None
        self.adaptive_rpm: float | None = None  # set after a 429 when no ceiling is known
        self.factor = 1.0
        self.token_ratio = 1.0  # actual prompt tokens / estimated, learnt from usage
        self._clock = clock
        self._sleep = sleep
        self._next_req = 0.0
        self._next_tok = 0.0
        self._paused_until = 0.0
        self._sent: deque[float] = deque(maxlen=512)
        self.stats = LimiterStats()

    # -- the rates in force ---------------------------------------------------------------
    def rpm(self) -> float | None:
        caps = [r for r in (self.user_rpm, self.server_rpm) if r]
        base = min(caps) * HEADROOM if caps else self.adaptive_rpm
        return base * self.factor if base else None

    def tpm(self) -> float | None:
        caps = [t for t in (self.user_tpm, self.server_tpm) if t]
        return min(caps) * HEADROOM * self.factor if caps else None

    def estimate(self, prompt_chars: int, max_output_tokens: int) -> int:
        return int((prompt_chars / 4.0) * self.token_ratio) + 1 + max_output_tokens

    # -- the schedule ----------------------------------------------------------------------
    async def acquire(self, tokens: int) -> float:
        """Wait for this request's slot; returns the seconds waited."""
        now = self._clock()
        slot = max(now, self._paused_until)
        rpm, tpm = self.rpm(), self.tpm()
        if rpm:
            slot = max(slot, self._next_req)
        if tpm:
            slot = max(slot, self._next_tok)
        if rpm:
            self._next_req = slot + 60.0 / rpm
        if tpm:
            self._next_tok = slot + tokens * 60.0 / tpm
        wait = slot - now
        if wait > 0:
            self.stats.waited_s += wait
            await self._sleep(wait)  # type: ignore[misc]
        self.stats.requests += 1
        self._sent.append(self._clock())
        return max(0.0, wait)

    # -- feedback ---------------------------------------------------------------------------
    def observe(
        self,
        headers: Mapping[str, str] | None,
        *,
        estimated_prompt: int = 0,
        actual_prompt: int | None = None,
    ) -> None:
        """Learn from a successful response: limits, remaining budget, token calibration."""
        if actual_prompt and estimated_prompt:
            ratio = actual_prompt / estimated_prompt
            self.token_ratio = 0.8 * self.token_ratio + 0.2 * min(4.0, max(0.25, ratio))
        self.factor = min(1.0, self.factor + 0.02)
        if self.adaptive_rpm is not None and self.factor >= 1.0:
            self.adaptive_rpm *= 1.02
        if not headers:
            return
        lim_r = _int(headers, "x-ratelimit-limit-requests")
        lim_t = _int(headers, "x-ratelimit-limit-tokens")
        if lim_r:
            self.server_rpm = float(lim_r)
        if lim_t:
            self.server_tpm = float(lim_t)
        now = self._clock()
        for kind in ("requests", "tokens"):
            remaining = _int(headers, f"x-ratelimit-remaining-{kind}")
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
            if remaining is not None and remaining <= 0 and reset:
                self._paused_until = max(self._paused_until, now + reset)

    def rate_limited(self, retry_after: float | None) -> None:
        """A 429: slow every sender down and pause them all for the server's wait."""
        self.stats.rate_limited += 1
        now = self._clock()
        if self.rpm() is None:
            recent = [t for t in self._sent if t >= now - 10.0]
            observed = len(recent) / 10.0 * 60.0 if recent else 60.0
            self.adaptive_rpm = max(6.0, observed)
        self.factor = max(0.1, self.factor * 0.7)
        self._paused_until = max(self._paused_until, now + (retry_after if retry_after else 1.0))
