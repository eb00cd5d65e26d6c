"""Pacing requests under requests-per-minute and tokens-per-minute ceilings.

Requests are spaced evenly (a GCRA-style schedule whose only burst allowance is
``TOLERANCE_S``, 5 ms), so a run never sends a minute's worth of requests at t=0. The ceiling
in force is the smallest of:

- the user's ``--rpm`` / ``--tpm`` (none unless given),
- the limits the server announces in ``x-ratelimit-limit-*`` headers,
- after a 429 from a server that announces no limit, the send rate observed when it came.

Before anything is known about a server that may limit the rate, one request goes alone (the
*probe*): its answer brings the limit headers, so the requests after it are already paced.
The gate opens on any answer or failure of the probe, or after ``probe_timeout_s``. The probe
costs one model latency, so it is sent only where a limit is plausible
(:func:`probe_needed`): not for the built-in model or a replay, not when ``--rpm`` / ``--tpm``
already pace the run from its first request, and not for a server on this machine or a
private network (Ollama, vLLM, llama.cpp, LM Studio do not limit the rate).

Feedback, in three layers:

1. ``x-ratelimit-remaining-*`` / ``x-ratelimit-reset-*``: when what is left of a window will
   not cover the requests already in flight plus the next one, every sender waits for that
   much to refill (at the announced rate), *before* the server answers 429.
2. A 429: all senders pause for the server's ``retry-after``, and the rate is cut
   multiplicatively (x0.75), once per congestion event: a 429 for a request sent before the
   last cut, or within ``CUT_COOLDOWN_S`` of it, is an echo of the same overload. With no
   ceiling known, the first 429 sets one: the send rate of the last two seconds.
3. Recovery is additive and paced by time, not by request count (like TCP's AIMD): while
   answers succeed the rate regains 5% of the ceiling per second; once whole, an inferred
   ceiling keeps growing 5% per second, probing for more.

Each request is charged its estimated tokens: the prompt's length estimate (characters / 4),
calibrated by the ``usage.prompt_tokens`` that comes back, plus its whole output budget where
the provider counts ``max_tokens`` against the limit when the request arrives (OpenAI,
Azure); elsewhere (Mistral, Together, servers with no headers) the output is charged at
what answers have used so far. The header dialects are read by
:func:`pipeline.providers.read_rate_limits`: per-second and per-ten-seconds limits become
per-minute rates, daily and monthly quotas are not paced, and a header that cannot be read
is ignored rather than guessed.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from pipeline.providers import parse_duration, read_rate_limits

__all__ = ["Limiter", "LimiterStats", "parse_duration"]

HEADROOM = 0.98  # pace at 98% of a known ceiling
#: how far the schedule may run ahead of the clock before a sender sleeps: waits shorter than
#: this are not slept (the schedule still advances, so the rate holds), so a generous ceiling
#: (e.g. the 1,000,000 RPM a server without limits announces) costs no sub-millisecond sleeps
TOLERANCE_S = 0.005
DECREASE = 0.75  # multiplicative cut on a 429
CUT_COOLDOWN_S = 1.0  # at most one cut per this long (or per retry-after, if longer)
RECOVER_PER_S = 0.05  # additive recovery of the factor per second of successes
MIN_FACTOR = 0.05


def probe_needed(
    base_url: str | None, *, rpm: float | None = None, tpm: float | None = None
) -> bool:
    """Whether the first request should go alone to learn the server's limits.

    ``base_url`` None means OpenAI's API (a hosted API: limits are plausible). The caller
    passes no ``base_url`` check for the built-in model or a replay: there is no server.
    """
    if rpm or tpm:
        return False  # the user's ceiling paces the run from its first request
    if base_url is None:
        return True
    from pipeline.client import is_local

    return not is_local(base_url)


@dataclass
class LimiterStats:
    requests: int = 0
    waited_s: float = 0.0
    rate_limited: int = 0
    cuts: int = 0  # multiplicative decreases (one per congestion event)
    low_water_pauses: int = 0  # pauses taken because remaining-* ran low


class Limiter:
    """An asyncio pacer for requests and tokens per minute.

    Use ``await acquire(tokens)`` before a request and ``release()`` after it (whatever its
    outcome), then report what happened: ``observe`` (a success), ``observe_headers`` (any
    answer that carried headers), ``rate_limited`` (a 429) or ``failed`` (anything else).
    """

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        probe: bool = True,
        probe_timeout_s: float = 5.0,
        default_pause_s: float = 1.0,
        on_pause: Callable[[float, str], None] | None = None,
    ) -> None:
        self.user_rpm = rpm
        self.user_tpm = tpm
        self.server_rpm: float | None = None
        self.server_tpm: float | None = None
        self.adaptive_rpm: float | None = None  # set after a 429 when no ceiling is known
        self.factor = 1.0
        self.token_ratio = 1.0  # actual prompt tokens / estimated, learnt from usage
        self.charges_output = True  # until headers say otherwise: the cautious reading
        self.typical_output = 0  # output tokens of recent answers (moving average)
        self.in_flight = 0
        self._clock = clock
        self._sleep = sleep
        self._next_req = 0.0
        self._next_tok = 0.0
        self._paused_until = 0.0
        self._last_cut = -1e18
        self._last_ok: float | None = None
        self._last_tokens = 0
        self._sent: deque[float] = deque(maxlen=512)
        self._probe = probe
        self._probe_timeout_s = probe_timeout_s
        self._default_pause_s = default_pause_s
        self._on_pause = on_pause  # told (seconds, why) when every sender starts a pause
        self._gate: asyncio.Event | None = None
        self._gate_open = not probe
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
        """Tokens a request will be charged: the calibrated prompt estimate plus the whole
        output budget where the provider counts it up front, else the output seen so far."""
        output = max_output_tokens if self.charges_output else self.typical_output
        return int((prompt_chars / 4.0) * self.token_ratio) + 1 + min(output, max_output_tokens)

    # -- the schedule ----------------------------------------------------------------------
    async def _pass_gate(self) -> None:
        if self._gate_open:
            return
        if self._gate is None:  # this request is the probe; the others wait for its answer
            self._gate = asyncio.Event()
            return
        try:
            await asyncio.wait_for(self._gate.wait(), self._probe_timeout_s)
        except TimeoutError:
            self.open_gate()

    def open_gate(self) -> None:
        self._gate_open = True
        if self._gate is not None:
            self._gate.set()

    async def acquire(self, tokens: int) -> float:
        """Wait for this request's slot; returns the time it may be sent (the clock's)."""
        await self._pass_gate()
        now = self._clock()
        slot = max(now, self._paused_until)
        rpm, tpm = self.rpm(), self.tpm()
        if rpm:
            slot = max(slot, self._next_req)
            self._next_req = slot + 60.0 / rpm
        if tpm:
            slot = max(slot, self._next_tok)
            self._next_tok = slot + tokens * 60.0 / tpm
        wait = slot - now
        if wait > TOLERANCE_S:
            self.stats.waited_s += wait
            await self._sleep(wait)
        self.stats.requests += 1
        self.in_flight += 1
        self._last_tokens = tokens
        sent = self._clock()
        self._sent.append(sent)
        return sent

    def release(self) -> None:
        """The request that ``acquire`` admitted has ended (answered, failed or cancelled)."""
        self.in_flight = max(0, self.in_flight - 1)

    # -- feedback ---------------------------------------------------------------------------
    def observe(
        self,
        headers: Mapping[str, str] | None,
        *,
        estimated_prompt: int = 0,
        actual_prompt: int | None = None,
        actual_output: int | None = None,
    ) -> None:
        """Learn from a successful response: limits, remaining budget, token calibration."""
        if actual_output is not None:
            self.typical_output = (
                actual_output
                if not self.typical_output
                else int(0.8 * self.typical_output + 0.2 * actual_output)
            )
        if actual_prompt and estimated_prompt:
            ratio = actual_prompt / estimated_prompt
            self.token_ratio = 0.8 * self.token_ratio + 0.2 * min(4.0, max(0.25, ratio))
        now = self._clock()
        dt = min(1.0, now - self._last_ok) if self._last_ok is not None else 0.0
        self._last_ok = now
        if self.factor < 1.0:
            self.factor = min(1.0, self.factor + RECOVER_PER_S * dt)
        elif self.adaptive_rpm is not None:
            self.adaptive_rpm *= 1.0 + RECOVER_PER_S * dt
        self.observe_headers(headers)

    def observe_headers(self, headers: Mapping[str, str] | None) -> None:
        """Read the rate-limit headers of any answer (every dialect, see
        :func:`~pipeline.providers.read_rate_limits`); slow down before a window runs dry."""
        self.open_gate()
        limits = read_rate_limits(headers)
        if limits.dialect == "none":
            return
        self.charges_output = limits.charges_output
        now = self._clock()
        for kind, win in (("requests", limits.requests), ("tokens", limits.tokens)):
            limit = win.per_minute
            if limit and limit > 0:
                if kind == "requests":
                    self.server_rpm = limit
                else:
                    self.server_tpm = limit
            if win.remaining is None:
                continue
            unit = 1 if kind == "requests" else max(1, self._last_tokens)
            need = unit * (self.in_flight + 1)  # what the requests in flight and the next take
            if win.remaining >= need:
                continue
            refill = limit / 60.0 if limit else None  # per second
            if refill:
                pause = (need - max(0.0, win.remaining)) / refill
            elif win.reset_s is not None:
                pause = win.reset_s
            else:
                continue
            self.stats.low_water_pauses += 1
            self._pause_until(now, now + min(pause, win.window_s), "rate limit")

    def rate_limited(self, retry_after: float | None, *, sent_at: float | None = None) -> None:
        """A 429: pause every sender for the server's wait and cut the rate once per event."""
        self.open_gate()
        self.stats.rate_limited += 1
        now = self._clock()
        self._pause_until(
            now,
            now + (retry_after if retry_after is not None else self._default_pause_s),
            "rate limit",
        )
        if sent_at is not None and sent_at <= self._last_cut:
            return  # an echo of the congestion already acted on
        if now - self._last_cut < max(CUT_COOLDOWN_S, retry_after or 0.0):
            return
        self._last_cut = now
        self._last_ok = now
        self.stats.cuts += 1
        if not (self.user_rpm or self.server_rpm) and self.adaptive_rpm is None:
            recent = [t for t in self._sent if t >= now - 2.0]
            age = now - recent[0] if recent else 2.0
            self.adaptive_rpm = max(6.0, len(recent) / max(0.05, age) * 60.0)
        self.factor = max(MIN_FACTOR, self.factor * DECREASE)

    def _pause_until(self, now: float, until: float, why: str) -> None:
        """Every sender waits until ``until``; a new pause of a second or more is announced."""
        if until > self._paused_until:
            if self._on_pause is not None and until - max(now, self._paused_until) >= 1.0:
                self._on_pause(until - now, why)
            self._paused_until = until

    def failed(self) -> None:
        """Any other failure: nothing to learn, but the probe is over."""
        self.open_gate()
