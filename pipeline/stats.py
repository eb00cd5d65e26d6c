"""Small, deterministic statistics for comparing two prompt versions on the same articles.

Pure standard library; every function gives the same answer for the same input and seed.

Methods, stated once so the reports can point here:

Percentiles (:func:`percentile`)
    The **nearest-rank** method: the q-th percentile of n sorted values is the value at rank
    ``ceil(q / 100 * n)`` (1-based; rank 1 for q = 0). It is always one of the observed values,
    so "p95 latency 840 ms" means some request really took 840 ms. p50 of ``[1, 2, 3, 4]`` is 2.

Paired bootstrap (:func:`paired_bootstrap`)
    For paired values ``a[i]`` (baseline) and ``b[i]`` (candidate) on the same article, the
    differences ``d[i] = b[i] - a[i]`` are resampled with replacement, ``n`` at a time,
    ``resamples`` times (default 10,000), with ``random.Random(seed)``. The mean of each resample
    is kept; the 95% confidence interval is the **percentile interval** of those means: the
    2.5th and 97.5th nearest-rank percentiles. Resampling whole pairs keeps the per-article
    correlation between the two versions, which is what makes a paired comparison sharper than
    comparing two means. When every difference is the same value ``c`` the interval is exactly
    ``[c, c]`` (no floating-point noise).

Verdict (:func:`verdict`)
    A difference is *real* when the interval excludes 0 (``low > 0`` or ``high < 0``), and the
    data have at least ``min_pairs`` pairs (default :data:`MIN_PAIRS`): the percentile bootstrap
    undercovers badly on a handful of articles, so with fewer pairs the verdict is
    ``"too_few"`` whatever the interval says.

Win / tie / loss (:func:`win_tie_loss`)
    Per pair, ``b - a`` above ``+tolerance`` counts as *higher*, below ``-tolerance`` as
    *lower*, otherwise (including exactly at the tolerance, allowing for float rounding) a
    *tie*. Whether higher is a win depends on the metric; the caller maps it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

RESAMPLES = 10_000
LEVEL = 0.95
MIN_PAIRS = 5

Verdict = Literal["higher", "lower", "no_difference", "too_few"]


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean (``math.fsum`` for accuracy), or None for no values."""
    if not values:
        return None
    return math.fsum(values) / len(values)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by the nearest-rank method, or None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    if not values:
        return None
    ordered = sorted(values)
    return _nearest_rank(ordered, q)


def _nearest_rank(ordered: Sequence[float], q: float) -> float:
    n = len(ordered)
    # Round before ceil so that e.g. 0.95 * 20 = 19.000000000000004 gives rank 19, not 20.
    rank = max(1, math.ceil(round(q / 100 * n, 9)))
    return ordered[min(rank, n) - 1]


@dataclass(frozen=True)
class Distribution:
    """Count, mean, median and 95th percentile of one list of values."""

    n: int
    mean: float | None
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        ordered = sorted(values)
        if not ordered:
            return cls(0, None, None, None)
        return cls(
            n=len(ordered),
            mean=mean(ordered),
            p50=_nearest_rank(ordered, 50),
            p95=_nearest_rank(ordered, 95),
        )


@dataclass(frozen=True)
class BootstrapCI:
    """The mean paired difference (candidate minus baseline) with its bootstrap interval."""

    n: int
    mean_diff: float | None
    low: float | None
    high: float | None
    level: float = LEVEL
    resamples: int = RESAMPLES
    seed: int = 0

    def excludes_zero(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > 0 or self.high < 0


def bootstrap_mean_ci(
    diffs: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> BootstrapCI:
    """Percentile bootstrap interval of the mean of ``diffs`` (see the module docstring)."""
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    n = len(diffs)
    if n == 0:
        return BootstrapCI(0, None, None, None, level, resamples, seed)
    values = [float(d) for d in diffs]
    centre = mean(values)
    if min(values) == max(values):
        return BootstrapCI(n, values[0], values[0], values[0], level, resamples, seed)
    rng = random.Random(seed)
    means = sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2 * 100
    low = _nearest_rank(means, tail)
    high = _nearest_rank(means, 100 - tail)
    return BootstrapCI(n, centre, low, high, level, resamples, seed)


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> BootstrapCI:
    """Bootstrap interval of ``mean(b - a)`` over pairs ``(a[i], b[i])``."""
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} and {len(b)}")
    return bootstrap_mean_ci(
        [y - x for x, y in zip(a, b, strict=True)], resamples=resamples, seed=seed, level=level
    )


@dataclass(frozen=True)
class WinTieLoss:
    """How many pairs the candidate came out higher, equal (within tolerance) or lower."""

    higher: int
    tie: int
    lower: int

    @property
    def n(self) -> int:
        return self.higher + self.tie + self.lower


def win_tie_loss(a: Sequence[float], b: Sequence[float], *, tolerance: float = 0.0) -> WinTieLoss:
    """Count pairs where ``b - a`` is above ``+tolerance``, within it, or below ``-tolerance``."""
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} and {len(b)}")
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    # A hair of slack so that 0.49 - 0.5 (= -0.010000000000000009) ties at tolerance 0.01.
    edge = tolerance + 1e-9 * max(1.0, tolerance)
    higher = tie = lower = 0
    for x, y in zip(a, b, strict=True):
        d = y - x
        if d > edge:
            higher += 1
        elif d < -edge:
            lower += 1
        else:
            tie += 1
    return WinTieLoss(higher, tie, lower)


def verdict(ci: BootstrapCI, *, min_pairs: int = MIN_PAIRS) -> Verdict:
    """``"higher"``/``"lower"`` when the interval excludes 0, else ``"no_difference"``.

    ``"too_few"`` when there are fewer than ``min_pairs`` pairs (or none).
    """
    if ci.n == 0 or ci.n < min_pairs or ci.low is None or ci.high is None:
        return "too_few"
    if ci.low > 0:
        return "higher"
    if ci.high < 0:
        return "lower"
    return "no_difference"
