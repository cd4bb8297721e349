"""The shared rate limiter, on fakeredis and on a real redis-server (the ``backend`` fixture)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from etl_core import keys
from etl_core.errors import RateLimited
from etl_core.ratelimit import MINUTE_MS, RateLimiter
from tests.support.polling import await_until

US_PER_DAY = 86_400_000_000


async def zscores(client: Any, key: str) -> list[int]:
    return [int(score) for _, score in await client.zrange(key, 0, -1, withscores=True)]


async def age_oldest(client: Any, key: str, by_us: int) -> None:
    """Make the oldest admission in a window ``by_us`` older: time passing, without waiting."""
    [(member, score)] = await client.zrange(key, 0, 0, withscores=True)
    await client.zadd(key, {member: int(score) - by_us})


def next_midnight_us(server_time_us: int) -> int:
    return (server_time_us // US_PER_DAY + 1) * US_PER_DAY


async def test_admits_exactly_the_limit_then_says_how_long_to_wait(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "api", windows=[(60_000, 5)])
    admitted = [await limiter.try_acquire() for _ in range(5)]
    assert all(a.admitted and a.wait_s == 0.0 for a in admitted)
    refused = await limiter.try_acquire()
    assert not refused.admitted
    assert 0 < refused.wait_s <= 60
    again = await limiter.try_acquire()
    assert not again.admitted and again.wait_s > 0
    usage = await limiter.usage()
    assert usage.windows[0].used == 5


async def test_per_minute_wait_is_until_the_oldest_admission_ages_out(aredis: Any) -> None:
    """The real 60 s configuration, exact on the server clock, without waiting a minute."""
    limiter = RateLimiter(aredis, "owm", per_minute=4)
    key = keys.rate_limit_window("owm", MINUTE_MS)
    times = [(await limiter.try_acquire()).server_time_us for _ in range(4)]
    refused = await limiter.try_acquire()
    assert not refused.admitted
    expected_wait_us = times[0] + 60_000_000 - refused.server_time_us
    assert round(refused.wait_s * 1_000_000) == expected_wait_us
    assert 0 < expected_wait_us <= 60_000_000

    # 10 s less than the wait passes: the oldest is still inside the window.
    await age_oldest(aredis, key, expected_wait_us - 10_000_000)
    still = await limiter.try_acquire()
    assert not still.admitted
    oldest = (await zscores(aredis, key))[0]
    assert round(still.wait_s * 1_000_000) == oldest + 60_000_000 - still.server_time_us

    # The rest of the wait passes: exactly the oldest ages out, so exactly one more fits.
    await age_oldest(aredis, key, 10_000_000)
    assert (await limiter.try_acquire()).admitted
    assert not (await limiter.try_acquire()).admitted
    assert (await limiter.usage()).used_this_minute == 4


async def test_after_the_returned_wait_the_next_one_passes(aredis: Any) -> None:
    window_ms = 1_000
    limiter = RateLimiter(aredis, "short", windows=[(window_ms, 3)])
    first = await limiter.try_acquire()
    for _ in range(2):
        assert (await limiter.try_acquire()).admitted
    refused = await limiter.try_acquire()
    assert not refused.admitted
    assert round(refused.wait_s * 1_000_000) == (
        first.server_time_us + window_ms * 1000 - refused.server_time_us
    )
    await asyncio.sleep(refused.wait_s)
    passed = await limiter.try_acquire()
    assert passed.admitted
    assert passed.server_time_us >= first.server_time_us + window_ms * 1000


async def test_acquire_waits_until_admitted(aredis: Any) -> None:
    window_ms = 500
    limiter = RateLimiter(aredis, "blocking", windows=[(window_ms, 2)])
    first = await limiter.acquire(timeout_s=5)
    await limiter.acquire(timeout_s=5)
    third = await limiter.acquire(timeout_s=5)
    assert third.admitted
    assert third.server_time_us >= first.server_time_us + window_ms * 1000


async def test_acquire_raises_rate_limited_when_the_wait_passes_the_deadline(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "deadline", per_minute=1)
    await limiter.acquire(timeout_s=0)
    with pytest.raises(RateLimited) as raised:
        await limiter.acquire(timeout_s=1.0)
    assert raised.value.retry_after_s is not None
    assert 1.0 < raised.value.retry_after_s <= 60
    with pytest.raises(RateLimited):
        await limiter.acquire(timeout_s=0)


async def test_on_wait_hears_of_each_acquire_that_slept_and_for_how_long(aredis: Any) -> None:
    window_ms = 300
    waits: list[tuple[str, float]] = []
    limiter = RateLimiter(
        aredis, "told", windows=[(window_ms, 1)], on_wait=lambda *a: waits.append(a)
    )
    await limiter.acquire(timeout_s=5)
    assert waits == []  # admitted at once: no wait to report
    await limiter.acquire(timeout_s=5)
    [(name, waited_s)] = waits
    assert name == "told"
    assert 0 < waited_s <= window_ms / 1000 + 0.1


async def test_a_failing_on_wait_hook_does_not_fail_acquire(aredis: Any) -> None:
    def broken(_name: str, _waited_s: float) -> None:
        raise RuntimeError("metrics are down")

    limiter = RateLimiter(aredis, "broken-hook", windows=[(200, 1)], on_wait=broken)
    await limiter.acquire(timeout_s=5)
    assert (await limiter.acquire(timeout_s=5)).admitted


async def test_full_day_consumes_nothing_from_the_windows(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "daily", per_minute=10, windows=[(1_000, 10)], per_day=2)
    for _ in range(2):
        assert (await limiter.try_acquire()).admitted
    refused = await limiter.try_acquire()
    assert not refused.admitted
    assert round(refused.wait_s * 1_000_000) == (
        next_midnight_us(refused.server_time_us) - refused.server_time_us
    )
    usage = await limiter.usage()
    assert usage.used_today == 2
    assert usage.used_this_minute == 2
    assert len(await aredis.zrange(keys.rate_limit_window("daily", MINUTE_MS), 0, -1)) == 2


async def test_full_window_consumes_nothing_from_the_day_or_other_windows(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "minute", per_minute=2, windows=[(3_600_000, 100)], per_day=100)
    for _ in range(2):
        assert (await limiter.try_acquire()).admitted
    for _ in range(3):
        assert not (await limiter.try_acquire()).admitted
    usage = await limiter.usage()
    assert usage.used_today == 2
    hour = usage.window(3_600_000)
    assert hour is not None and hour.used == 2
    assert await aredis.hget(keys.rate_limit_day("minute"), "count") in (b"2", "2")


async def test_n_permits_are_reserved_together_or_not_at_all(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "batch", per_minute=10, per_day=100)
    assert (await limiter.try_acquire(7)).admitted
    assert not (await limiter.try_acquire(4)).admitted
    assert (await limiter.try_acquire(3)).admitted
    usage = await limiter.usage()
    assert (usage.used_this_minute, usage.used_today) == (10, 10)


async def test_the_wait_is_the_longest_among_the_full_limits(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "two", windows=[(1_000, 1), (60_000, 1)])
    first = await limiter.try_acquire()
    refused = await limiter.try_acquire()
    assert round(refused.wait_s * 1_000_000) == (
        first.server_time_us + 60_000_000 - refused.server_time_us
    )


async def test_day_counter_resets_on_a_new_utc_day(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "day", per_day=2)
    day_key = keys.rate_limit_day("day")
    for _ in range(2):
        assert (await limiter.try_acquire()).admitted
    refused = await limiter.try_acquire()
    assert not refused.admitted
    today = refused.server_time_us // US_PER_DAY
    assert int(await aredis.hget(day_key, "day")) == today

    await aredis.hset(day_key, "day", today - 1)  # the stored count is yesterday's
    assert (await limiter.usage()).used_today == 0
    admitted = await limiter.try_acquire()
    assert admitted.admitted
    assert int(await aredis.hget(day_key, "day")) == today
    assert int(await aredis.hget(day_key, "count")) == 1
    assert (await limiter.usage()).used_today == 1


async def test_n_larger_than_any_limit_is_a_value_error(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "big", per_minute=5, per_day=3)
    with pytest.raises(ValueError, match="per day"):
        await limiter.try_acquire(4)
    with pytest.raises(ValueError, match="60000 ms allows 5"):
        await limiter.acquire(6, timeout_s=1)
    for bad in (0, -1, True):
        with pytest.raises(ValueError, match="positive int"):
            await limiter.try_acquire(bad)
    assert await aredis.keys("*") == []


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({}, "at least one limit"),
        ({"per_minute": 0}, "per_minute"),
        ({"per_day": -1}, "per_day"),
        ({"per_minute": 2.5}, "per_minute"),
        ({"windows": [(0, 5)]}, "window_ms"),
        ({"windows": [(1000, 0)]}, "limit"),
        ({"windows": [(1000,)]}, "pairs"),
        ({"per_minute": 5, "windows": [(60_000, 3)]}, "configured twice"),
    ],
)
def test_invalid_limits_are_value_errors_naming_them(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        RateLimiter(object(), "bad", **options)


async def test_usage_reports_windows_and_day_and_writes_nothing(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "status", per_minute=30, per_day=1000, windows=[(1_000, 5)])
    empty = await limiter.usage()
    assert await aredis.keys("*") == []
    assert (empty.used_this_minute, empty.used_today, empty.per_minute, empty.per_day) == (
        0,
        0,
        30,
        1000,
    )
    await limiter.try_acquire(3)
    await limiter.try_acquire()
    usage = await limiter.usage()
    assert usage.name == "status"
    assert [(w.window_ms, w.limit, w.used) for w in usage.windows] == [
        (60_000, 30, 4),
        (1_000, 5, 4),
    ]
    assert usage.used_today == 4
    assert usage.server_time_us > 0


async def test_idle_limiter_keys_expire(aredis: Any) -> None:
    limiter = RateLimiter(aredis, "idle", windows=[(200, 5)], per_day=10)
    admission = await limiter.try_acquire()
    window_key, day_key = keys.rate_limit_window("idle", 200), keys.rate_limit_day("idle")
    assert 0 < await aredis.pttl(window_key) <= 201
    midnight_ms = next_midnight_us(admission.server_time_us) // 1000
    assert 0 < await aredis.pttl(day_key) <= midnight_ms - admission.server_time_us // 1000

    async def window_gone() -> bool:
        return not await aredis.exists(window_key)

    await await_until(window_gone, timeout_s=5, message="the idle window key to expire")
    assert (await limiter.usage()).windows[0].used == 0


async def test_replicas_share_one_limit(backend: Any) -> None:
    clients = [backend.make_async() for _ in range(3)]
    try:
        limiters = [RateLimiter(c, "shared", per_minute=10) for c in clients]
        results = await asyncio.gather(*(lim.try_acquire() for lim in limiters for _ in range(6)))
        assert sum(r.admitted for r in results) == 10
        assert [(await lim.usage()).used_this_minute for lim in limiters] == [10, 10, 10]
    finally:
        for client in clients:
            await client.aclose()
