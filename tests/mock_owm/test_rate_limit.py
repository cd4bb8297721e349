"""Per-key quotas (exact rolling 60 s, UTC day) and the statistics that prove them."""

from __future__ import annotations

import random

import pytest

from mock_owm.ratelimit import PER_DAY, PER_MINUTE, QuotaLimiter
from mock_owm.stats import WindowPeak
from tests.mock_owm.conftest import KEY, ONECALL, ZURICH, FakeClock, mock_app_client

BODY_429 = {"cod": 429, "message": "Your account is temporary blocked due to exceeding of "
            "requests limitation of your subscription type. Please choose the proper subscription "
            "http://openweathermap.org/price"}
DAY_S = 86_400.0


def check(limiter: QuotaLimiter, t: float, *, per_minute: int | None = None,
          per_day: int | None = None, wall: float = 5 * DAY_S) -> str | None:
    return limiter.check("k", mono_s=t, wall_s=wall + t, per_minute=per_minute, per_day=per_day)


def test_minute_window_is_exactly_the_last_60_seconds() -> None:
    limiter = QuotaLimiter()
    assert [check(limiter, t, per_minute=3) for t in (0.0, 1.0, 2.0)] == [None] * 3
    assert check(limiter, 3.0, per_minute=3) == PER_MINUTE
    assert check(limiter, 59.999, per_minute=3) == PER_MINUTE
    assert check(limiter, 60.0, per_minute=3) is None  # the call at 0.0 left (t - 60, t]
    assert check(limiter, 60.5, per_minute=3) == PER_MINUTE
    assert check(limiter, 61.0, per_minute=3) is None


def test_a_compressed_minute_is_exactly_window_s_long() -> None:
    limiter = QuotaLimiter()

    def short(t: float) -> str | None:
        return limiter.check("k", mono_s=t, wall_s=5 * DAY_S + t, per_minute=2, per_day=None,
                             window_s=5.0)

    assert [short(t) for t in (0.0, 1.0, 4.999)] == [None, None, PER_MINUTE]
    assert limiter.seconds_until_free("k", mono_s=4.999, window_s=5.0) == pytest.approx(0.001)
    assert short(5.0) is None  # the call at 0.0 left (t - 5, t]
    assert short(5.5) == PER_MINUTE


async def test_the_window_length_is_a_setting_and_a_runtime_fault() -> None:
    async with mock_app_client(rate_limit_per_minute=1, rate_limit_window_s=0.3) as (_, client):
        assert (await client.get("/__faults")).json()["rate_limit_window_s"] == 0.3
        assert (await client.get(ONECALL, params={**ZURICH, "appid": KEY})).status_code == 200
        changed = await client.post("/__faults", json={"rate_limit_window_s": 120})
        assert changed.json()["rate_limit_window_s"] == 120
        assert (await client.post("/__faults", json={"rate_limit_window_s": 0})).status_code == 422


def test_refused_calls_do_not_count() -> None:
    limiter = QuotaLimiter()
    for t in range(2):
        assert check(limiter, float(t), per_minute=2) is None
    for t in range(2, 59):
        assert check(limiter, float(t), per_minute=2) == PER_MINUTE
    assert check(limiter, 60.0, per_minute=2) is None


def test_day_quota_resets_at_utc_midnight() -> None:
    limiter = QuotaLimiter()
    before_midnight = 6 * DAY_S - 10.0
    for i in range(2):
        assert limiter.check("k", mono_s=i, wall_s=before_midnight + i, per_minute=None,
                             per_day=2) is None
    assert limiter.check("k", mono_s=3, wall_s=before_midnight + 3, per_minute=None,
                         per_day=2) == PER_DAY
    assert limiter.check("k", mono_s=11, wall_s=6 * DAY_S + 1, per_minute=None,
                         per_day=2) is None
    assert limiter.check("other", mono_s=12, wall_s=6 * DAY_S + 2, per_minute=None,
                         per_day=2) is None


def test_window_peak_is_exact_and_memory_is_bounded() -> None:
    rnd = random.Random(1)
    times = sorted(rnd.uniform(0, 600) for _ in range(3000))
    times += [600.0 + i * 0.01 for i in range(500)]  # a burst
    peak = WindowPeak()
    for t in times:
        peak.add(t)
        assert len(peak._times) == sum(1 for s in times if t - 60 < s <= t)
    brute = max(sum(1 for s in times if t - 60 < s <= t) for t in times)
    assert peak.peak == brute
    assert peak.current(10_000.0) == 0 and len(peak._times) == 0


async def test_429_with_exact_body_and_stats_prove_the_limit() -> None:
    clock = FakeClock()
    async with mock_app_client(rate_limit_per_minute=5) as (mock, client):
        mock.monotonic = clock
        statuses = []
        for _ in range(8):
            response = await client.get(ONECALL, params={**ZURICH, "appid": KEY})
            statuses.append(response.status_code)
            clock.advance(1.0)
        assert statuses == [200] * 5 + [429] * 3
        assert response.json() == BODY_429
        assert "retry-after" not in response.headers
        clock.advance(53.0)  # 61 s after the first call: it left the window, two more did too
        ok = [(await client.get(ONECALL, params={**ZURICH, "appid": KEY})).status_code
              for _ in range(3)]
        assert ok == [200, 200, 429]
        stats = (await client.get("/__stats")).json()
    key = stats["keys"][KEY]
    assert key["max_in_any_60s"] == 9  # everything that reached the quota check
    assert key["max_admitted_in_any_60s"] == 5  # never more than the limit
    assert (key["requests"], key["admitted"], key["rate_limited"]) == (11, 7, 4)
    assert stats["status_codes"] == {"200": 7, "429": 4}
    assert stats["rate_limited"] == {PER_MINUTE: 4}


async def test_day_limit_and_retry_after() -> None:
    async with mock_app_client(rate_limit_per_day=3, retry_after_s=600) as (_, client):
        responses = [await client.get(ONECALL, params={**ZURICH, "appid": KEY}) for _ in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert responses[-1].json() == BODY_429
        assert responses[-1].headers["retry-after"] == "600"
        stats = (await client.get("/__stats")).json()
    assert stats["rate_limited"] == {PER_DAY: 1}


async def test_limits_are_per_key_and_changeable_at_run_time() -> None:
    async with mock_app_client(api_keys="a,b") as (mock, client):
        mock.monotonic = FakeClock()
        for key in ("a", "b"):
            for _ in range(3):
                assert (await client.get(ONECALL, params={**ZURICH, "appid": key})
                        ).status_code == 200
        changed = await client.post("/__faults", json={"rate_limit_per_minute": 3})
        assert changed.json()["rate_limit_per_minute"] == 3
        assert (await client.get(ONECALL, params={**ZURICH, "appid": "a"})).status_code == 429
        await client.post("/__faults", json={"rate_limit_per_minute": None})
        assert (await client.get(ONECALL, params={**ZURICH, "appid": "a"})).status_code == 200


@pytest.mark.parametrize("limit", [0, -1, "many"])
async def test_bad_limits_are_refused(limit: object) -> None:
    async with mock_app_client() as (_, client):
        response = await client.post("/__faults", json={"rate_limit_per_minute": limit})
        assert response.status_code == 422
        assert (await client.get("/__faults")).json()["rate_limit_per_minute"] is None
