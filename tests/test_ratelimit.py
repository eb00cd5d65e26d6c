"""The pacer, on a fake clock: even spacing, header feedback, 429 cuts and recovery, the probe."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.ratelimit import (
    CUT_COOLDOWN_S,
    DECREASE,
    HEADROOM,
    RECOVER_PER_S,
    Limiter,
    parse_duration,
)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def limiter(
    rpm: float | None = None, tpm: float | None = None, **kw: object
) -> tuple[Limiter, Clock]:
    clock = Clock()
    kw.setdefault("probe", False)
    return Limiter(rpm, tpm, clock=clock, sleep=clock.sleep, **kw), clock  # type: ignore[arg-type]


def send_times(lim: Limiter, n: int, tokens: int = 1) -> list[float]:
    async def go() -> list[float]:
        out = []
        for _ in range(n):
            out.append(await lim.acquire(tokens))
            lim.release()
        return out

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("120ms", 0.12),
        ("6m0s", 360.0),
        ("1m30.5s", 90.5),
        ("1h2m3s", 3723.0),
        ("17.28s", 17.28),
        ("2.5", 2.5),
        ("", None),
        (None, None),
        ("soon", None),
    ],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    got = parse_duration(text)
    assert got == pytest.approx(seconds) if seconds is not None else got is None


def test_no_limits_means_no_waiting() -> None:
    lim, clock = limiter()
    assert send_times(lim, 50) == [clock.t] * 50


def test_rpm_spaces_requests_evenly_from_the_first_one() -> None:
    lim, _ = limiter(rpm=600)
    t = send_times(lim, 20)
    gaps = {round(b - a, 6) for a, b in zip(t, t[1:], strict=False)}
    assert gaps == {round(60 / (600 * HEADROOM), 6)}  # no burst at t=0, ever


def test_tpm_charges_each_request_its_tokens() -> None:
    lim, _ = limiter(tpm=60_000)
    t = send_times(lim, 5, tokens=2_000)
    assert t[1] - t[0] == pytest.approx(2_000 * 60 / (60_000 * HEADROOM))


def test_the_tighter_of_rpm_and_tpm_wins() -> None:
    lim, _ = limiter(rpm=6_000, tpm=60_000)
    t = send_times(lim, 3, tokens=1_000)
    assert t[2] - t[1] == pytest.approx(1_000 * 60 / (60_000 * HEADROOM))


def test_an_idle_spell_earns_no_burst() -> None:
    lim, clock = limiter(rpm=60)
    send_times(lim, 2)
    clock.t += 100  # idle
    t = send_times(lim, 3)
    assert t[1] - t[0] == pytest.approx(60 / (60 * HEADROOM))


def test_estimate_is_calibrated_by_usage() -> None:
    lim, _ = limiter()
    before = lim.estimate(4_000, 500)
    assert before == 1_000 + 1 + 500
    for _ in range(30):
        lim.observe(None, estimated_prompt=1_000, actual_prompt=1_500)
    assert lim.estimate(4_000, 500) == pytest.approx(1_500 + 1 + 500, abs=5)


def test_server_limits_from_headers_pace_later_requests() -> None:
    lim, _ = limiter()
    lim.observe({"x-ratelimit-limit-requests": "120", "x-ratelimit-limit-tokens": "1000000"})
    assert lim.rpm() == pytest.approx(120 * HEADROOM)
    t = send_times(lim, 3)
    assert t[1] - t[0] == pytest.approx(60 / (120 * HEADROOM))


def test_user_limit_below_the_servers_wins() -> None:
    lim, _ = limiter(rpm=60)
    lim.observe({"x-ratelimit-limit-requests": "10000"})
    assert lim.rpm() == pytest.approx(60 * HEADROOM)


def test_a_nearly_empty_window_pauses_before_a_429() -> None:
    lim, clock = limiter()
    lim.in_flight = 3
    headers = {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "1",
        "x-ratelimit-reset-requests": "59s",
    }
    lim.observe_headers(headers)
    t = send_times(lim, 1)
    # 4 are needed (3 in flight + the next), 1 is left: wait for 3 to refill at 1/s
    assert t[0] == pytest.approx(1000.0 + 3.0)
    assert lim.stats.low_water_pauses == 1


def test_remaining_tokens_cover_what_is_in_flight() -> None:
    lim, _ = limiter()
    send_times(lim, 1, tokens=1_000)  # the last estimate: 1000 tokens
    lim.in_flight = 1
    lim.observe_headers(
        {
            "x-ratelimit-limit-tokens": "60000",
            "x-ratelimit-remaining-tokens": "500",
            "x-ratelimit-reset-tokens": "59s",
        }
    )
    start = 1000.0
    t = send_times(lim, 1, tokens=1_000)
    assert t[0] >= start + (2_000 - 500) / 1_000  # 1000 tokens/s refill


def test_enough_remaining_means_no_pause() -> None:
    lim, clock = limiter()
    lim.observe_headers(
        {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "50"}
    )
    assert send_times(lim, 1) == [clock.t]


def test_429_pauses_everyone_for_retry_after() -> None:
    lim, clock = limiter()
    lim.rate_limited(2.5)
    assert send_times(lim, 1) == [1002.5]


def test_429_cuts_once_per_congestion_event() -> None:
    lim, clock = limiter(rpm=600)
    sent = send_times(lim, 10)
    for s in sent:  # ten answers to requests that were all in flight: one overload
        lim.rate_limited(0.01, sent_at=s)
    assert lim.factor == pytest.approx(DECREASE)
    assert lim.stats.cuts == 1 and lim.stats.rate_limited == 10
    clock.t += CUT_COOLDOWN_S + 0.1
    (later,) = send_times(lim, 1)
    lim.rate_limited(0.01, sent_at=later)  # sent after the cut: a new event
    assert lim.factor == pytest.approx(DECREASE**2)


def test_recovery_is_gradual_and_paced_by_time() -> None:
    lim, clock = limiter(rpm=600)
    lim.rate_limited(0.0, sent_at=clock.t)
    assert lim.rpm() == pytest.approx(600 * HEADROOM * DECREASE)
    for _ in range(100):  # a burst of successes within one instant recovers nothing
        lim.observe(None)
    assert lim.factor == pytest.approx(DECREASE)
    steps = 0
    while lim.factor < 1.0:
        clock.t += 0.5
        lim.observe(None)
        steps += 1
    assert steps == pytest.approx((1 - DECREASE) / RECOVER_PER_S / 0.5, abs=1)


def test_unknown_ceiling_is_inferred_from_the_send_rate_at_the_first_429() -> None:
    lim, clock = limiter()
    for _ in range(20):  # 10 per second, no limit known
        send_times(lim, 1)
        clock.t += 0.1
    assert lim.rpm() is None
    lim.rate_limited(0.0, sent_at=clock.t)
    assert lim.rpm() == pytest.approx(600 * DECREASE, rel=0.1)


def test_an_inferred_ceiling_grows_back_once_recovered() -> None:
    lim, clock = limiter()
    for _ in range(10):
        send_times(lim, 1)
        clock.t += 0.1
    lim.rate_limited(0.0, sent_at=clock.t)
    ceiling = lim.adaptive_rpm
    assert ceiling is not None
    for _ in range(200):
        clock.t += 0.1
        lim.observe(None)
    assert lim.factor == 1.0 and lim.adaptive_rpm is not None and lim.adaptive_rpm > ceiling


def test_the_probe_goes_alone_until_its_answer() -> None:
    async def go() -> list[str]:
        lim = Limiter(probe=True)
        events: list[str] = []

        async def sender(name: str) -> None:
            await lim.acquire(1)
            events.append(name)

        first = asyncio.ensure_future(sender("probe"))
        await asyncio.sleep(0)
        others = [asyncio.ensure_future(sender(f"s{i}")) for i in range(3)]
        await asyncio.sleep(0.05)
        events.append("answer")
        lim.observe({"x-ratelimit-limit-requests": "100000"})
        await asyncio.gather(first, *others)
        return events

    assert asyncio.run(go()) == ["probe", "answer", "s0", "s1", "s2"]


def test_the_probe_gate_opens_on_a_failure() -> None:
    async def go() -> None:
        lim = Limiter(probe=True, probe_timeout_s=60)
        await lim.acquire(1)
        waiter = asyncio.ensure_future(lim.acquire(1))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        lim.failed()
        await asyncio.wait_for(waiter, 5)

    asyncio.run(go())


def test_the_probe_gate_opens_by_itself_if_the_probe_never_answers() -> None:
    async def go() -> None:
        lim = Limiter(probe=True, probe_timeout_s=0.2)
        await lim.acquire(1)
        waiter = asyncio.ensure_future(lim.acquire(1))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        await asyncio.wait_for(waiter, 5)

    asyncio.run(go())
