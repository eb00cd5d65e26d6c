"""Rate limits: the RPM/TPM token buckets and the durations in their reset and retry-after
headers."""

from __future__ import annotations

import math
import time


def format_duration(seconds: float) -> str:
    """OpenAI's reset-header format: "120ms", "1s", "17.28s", "6m0s", "1m30.5s", "1h2m3s"."""
    ms = max(0, math.ceil(seconds * 1000 - 1e-6))
    if ms < 1000:
        return f"{ms}ms" if ms else "0s"
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if h:
        return f"{h}h{m}m{s}"
    return f"{m}m{s}" if m else s


class _Bucket:
    """A token bucket refilling continuously at ``per_min / 60`` per second."""

    def __init__(self, per_min: int, burst_window_s: float) -> None:
        self.limit = per_min
        self.rate = per_min / 60.0
        self.capacity = max(1.0, self.rate * burst_window_s)
        self.level = self.capacity
        self.t = time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
        self.t = now

    def wait(self, n: float) -> float:
        """Seconds until ``n`` fit (inf if they never will)."""
        if n > self.capacity:
            return math.inf
        return max(0.0, (n - self.level) / self.rate)

    def reset_s(self) -> float:
        return (self.capacity - self.level) / self.rate


def _retry_headers(seconds: float) -> dict[str, str]:
    return {
        "retry-after": str(max(1, math.ceil(seconds))),
        "retry-after-ms": str(max(1, math.ceil(seconds * 1000))),
    }
