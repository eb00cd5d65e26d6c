"""Whether latencies can be compared: :class:`Timing` says where each record's latency was
measured, and :func:`latency_check` leaves out warm-up and finds differing conditions.

Latency measured by one process running one version after the other is a warm-up and load
artefact (the first version pays the warm-up; each meets a different load), so
``summarise compare`` runs the versions side by side and marks each version's first
``concurrency`` articles as warm-up. Results reused from the store keep the conditions of the
run that measured them; when those differ in concurrency, endpoint or day, latency gets no
verdict ("not comparable") rather than a flaky one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Where one record's latency was measured; None where it is not known."""

    concurrency: int | None = None
    endpoint: str | None = None
    day: str | None = None  # YYYY-MM-DD (UTC) of the model call
    warmup: bool = False  # among the first requests of its run: left out


def timing_of(record: Mapping[str, Any]) -> Timing:
    """What a record alone tells: the day of its model call (``created_at``)."""
    created = record.get("created_at")
    return Timing(day=str(created)[:10] if isinstance(created, str) and created else None)


def latency_check(
    timings: Mapping[str, Sequence[Timing]], has_latency: Mapping[str, Sequence[bool]]
) -> str | None:
    """Why the latencies (those present and not warm-up) cannot be compared, or None."""
    differing = []
    for field, what in (
        ("day", "on different days"),
        ("concurrency", "at different concurrency"),
        ("endpoint", "on different endpoints"),
    ):
        seen = sorted(
            {
                str(getattr(t, field))
                for label, ts in timings.items()
                for t, present in zip(ts, has_latency[label], strict=True)
                if present and not t.warmup and getattr(t, field) is not None
            }
        )
        if len(seen) > 1:
            differing.append(f"{what} ({', '.join(seen)})")
    if not differing:
        return None
    return "measured " + "; ".join(differing)
