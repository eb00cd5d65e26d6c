"""pipeline.stats against cases worked out by hand (or by exact enumeration)."""

from __future__ import annotations

import itertools
import math

import pytest

from pipeline import stats


def test_mean() -> None:
    assert stats.mean([1, 2, 3, 4]) == 2.5
    assert stats.mean([]) is None
    assert stats.mean([0.1] * 10) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("q", "expected"),
    # The textbook nearest-rank example: ranks ceil(q/100 * 5).
    [(0, 15), (5, 15), (30, 20), (40, 20), (50, 35), (95, 50), (100, 50)],
)
def test_percentile_nearest_rank(q: float, expected: float) -> None:
    assert stats.percentile([50, 15, 40, 35, 20], q) == expected


def test_percentile_edges() -> None:
    assert stats.percentile(list(range(1, 21)), 95) == 19  # rank 19 exactly, not 20
    assert stats.percentile(list(range(1, 101)), 95) == 95
    assert stats.percentile([1, 2, 3, 4], 50) == 2  # an observed value, not 2.5
    assert stats.percentile([7], 95) == 7
    assert stats.percentile([], 50) is None
    with pytest.raises(ValueError):
        stats.percentile([1], 101)


def test_distribution() -> None:
    d = stats.Distribution.of([300, 100, 200, 1000])
    assert (d.n, d.mean, d.p50, d.p95) == (4, 400, 200, 1000)
    assert stats.Distribution.of([]) == stats.Distribution(0, None, None, None)


def test_constant_differences_give_a_point_interval() -> None:
    ci = stats.paired_bootstrap([0.5, 0.6, 0.7, 0.2, 0.9], [0.6, 0.7, 0.8, 0.3, 1.0])
    # b - a is 0.1 (up to float rounding) everywhere; the helper short-circuits only exact
    # constants, so compare approximately.
    assert ci.mean_diff == pytest.approx(0.1)
    assert ci.low == pytest.approx(0.1)
    assert ci.high == pytest.approx(0.1)
    exact = stats.bootstrap_mean_ci([0.1] * 7)
    assert (exact.low, exact.mean_diff, exact.high) == (0.1, 0.1, 0.1)
    assert stats.verdict(exact) == "higher"
    zero = stats.bootstrap_mean_ci([0.0] * 7)
    assert (zero.low, zero.high) == (0.0, 0.0)
    assert stats.verdict(zero) == "no_difference"


def test_two_values_enumerated() -> None:
    # Resamples of [0, 1] (n=2): means 0, 0.5, 0.5, 1 with probability 1/4, 1/2, 1/4.
    # 2.5th percentile is 0 and 97.5th is 1 (each extreme holds 25% > 2.5%).
    ci = stats.bootstrap_mean_ci([0, 1])
    assert (ci.low, ci.mean_diff, ci.high) == (0, 0.5, 1)


def _exact_percentile_ci(diffs: list[float], level: float = 0.95) -> tuple[float, float]:
    n = len(diffs)
    means = sorted(sum(t) / n for t in itertools.product(diffs, repeat=n))
    tail = (1 - level) / 2
    return means[math.ceil(tail * len(means)) - 1], means[math.ceil((1 - tail) * len(means)) - 1]


@pytest.mark.parametrize("diffs", [[-1, 0, 2, 3], [1, 2, 3]])
def test_bootstrap_matches_exact_enumeration(diffs: list[float]) -> None:
    # [-1, 0, 2, 3]: all 4^4 = 256 resamples give P(mean <= -0.5) = 11/256 (the 2.5% point is
    # -0.5) and P(mean >= 2.5) = 11/256 (the 97.5% point is 2.5). [1, 2, 3]: each extreme mean
    # has probability 1/27 > 2.5%, so the interval is [1, 3].
    low, high = _exact_percentile_ci(diffs)
    ci = stats.bootstrap_mean_ci(diffs, seed=0)
    assert (ci.low, ci.high) == (low, high)
    assert ci.mean_diff == pytest.approx(sum(diffs) / len(diffs))


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    d = [0.3, -0.1, 0.05, 0.2, 0.0, 0.12, -0.04, 0.25]
    assert stats.bootstrap_mean_ci(d, seed=7) == stats.bootstrap_mean_ci(d, seed=7)
    ci = stats.bootstrap_mean_ci(d, seed=7)
    assert ci.low is not None and ci.high is not None and ci.mean_diff is not None
    assert ci.low <= ci.mean_diff <= ci.high
    assert min(d) <= ci.low and ci.high <= max(d)


def test_bootstrap_edge_cases() -> None:
    empty = stats.bootstrap_mean_ci([])
    assert (empty.n, empty.low, empty.high) == (0, None, None)
    assert stats.verdict(empty) == "too_few"
    with pytest.raises(ValueError):
        stats.paired_bootstrap([1, 2], [1])
    with pytest.raises(ValueError):
        stats.bootstrap_mean_ci([1, 2], resamples=0)


def test_verdict() -> None:
    def ci(n: int, low: float, high: float) -> stats.BootstrapCI:
        return stats.BootstrapCI(n, (low + high) / 2, low, high)

    assert stats.verdict(ci(10, 0.02, 0.1)) == "higher"
    assert stats.verdict(ci(10, -0.1, -0.02)) == "lower"
    assert stats.verdict(ci(10, -0.1, 0.02)) == "no_difference"
    assert stats.verdict(ci(10, 0.0, 0.2)) == "no_difference"  # touching 0 is not excluding it
    assert stats.verdict(ci(4, 0.02, 0.1)) == "too_few"  # below MIN_PAIRS = 5
    assert stats.verdict(ci(4, 0.02, 0.1), min_pairs=2) == "higher"


def test_win_tie_loss() -> None:
    a = [0.5, 0.5, 0.5, 0.5, 0.5]
    b = [0.6, 0.505, 0.4, 0.5, 0.49]
    assert stats.win_tie_loss(a, b, tolerance=0.01) == stats.WinTieLoss(1, 3, 1)
    assert stats.win_tie_loss(a, b) == stats.WinTieLoss(2, 1, 2)
    assert stats.win_tie_loss(a, b).n == 5
    with pytest.raises(ValueError):
        stats.win_tie_loss(a, b, tolerance=-1)
