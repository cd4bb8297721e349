"""``read_usage`` (read commands only, for a read-only ACL user) reports what the script's
``usage()`` does, on fakeredis and on a real redis-server."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.ratelimit import RateLimiter
from etl_core.ratelimit_adaptive import AdaptiveAdmission
from etl_core.ratelimit_usage import RateLimitUsage

MINUTE_MS = 60_000
# A slow climb back: the factor moves by well under 1 ppm between the two reads.
ADAPTIVE = AdaptiveAdmission(recovery_s=3600)


def assert_same(read: RateLimitUsage, scripted: RateLimitUsage) -> None:
    assert read.next_permit_s is None
    assert read.windows == scripted.windows
    assert (read.name, read.per_day, read.used_today) == (
        scripted.name,
        scripted.per_day,
        scripted.used_today,
    )
    assert read.factor == pytest.approx(scripted.factor, abs=1e-5)
    assert read.throttled_since_us == scripted.throttled_since_us
    assert read.recent_refusals == scripted.recent_refusals
    assert 0 <= scripted.server_time_us - read.server_time_us < 5_000_000


@pytest.mark.parametrize("adaptive", [ADAPTIVE, None])
async def test_an_unused_limiter_reads_as_empty(aredis: Any, adaptive: Any) -> None:
    lim = RateLimiter(aredis, "api", per_minute=10, per_day=100, adaptive=adaptive)
    read = await lim.read_usage()
    assert (read.used_this_minute, read.used_today, read.factor) == (0, 0, 1.0)
    assert_same(read, await lim.usage())


async def test_admissions_refusals_and_a_lowered_factor_read_the_same(aredis: Any) -> None:
    lim = RateLimiter(
        aredis,
        "api",
        windows=[(MINUTE_MS, 100), (10_000, 51)],
        per_day=1000,
        adaptive=ADAPTIVE,
    )
    admissions = [await lim.try_acquire() for _ in range(20)]
    read = await lim.read_usage()
    assert (read.used_this_minute, read.used_today) == (20, 20)
    assert_same(read, await lim.usage())
    for admission in admissions[:5]:  # 5 of 20 refused: the factor is halved
        await lim.report_refusal(admission)
    read = await lim.read_usage()
    assert read.factor == pytest.approx(0.5, abs=0.01) and read.recent_refusals == 5
    assert read.throttled_since_us is not None
    assert [w.effective_limit for w in read.windows] == [50, 25]
    assert_same(read, await lim.usage())


async def test_without_a_day_limit_nothing_is_used_today(aredis: Any) -> None:
    lim = RateLimiter(aredis, "api", per_minute=10)
    await lim.try_acquire()
    read = await lim.read_usage()
    assert (read.used_this_minute, read.used_today, read.per_day) == (1, 0, None)
    assert_same(read, await lim.usage())
