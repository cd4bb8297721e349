"""The limiter's adaptive admission rate, on fakeredis and on a real redis-server: a refusal
reported lowers every window limit only on evidence that refusals keep coming, at most once per
round trip, never below the floor, and the factor climbs back on the server clock by itself."""

from __future__ import annotations

import math
from typing import Any

import pytest

from etl_core import keys
from etl_core.ratelimit import RateLimiter
from etl_core.ratelimit_adaptive import PPM, AdaptiveAdmission
from etl_core.ratelimit_usage import Admission
from tests.support.polling import await_until

MINUTE_MS = 60_000
ADAPTIVE = AdaptiveAdmission()  # evidence: the last 60 s, 5 refusals and 20%; halve; floor 10%


def limiter(client: Any, limit: int = 100, **adaptive: Any) -> RateLimiter:
    return RateLimiter(
        client, "api", windows=[(MINUTE_MS, limit)], adaptive=AdaptiveAdmission(**adaptive)
    )


async def take(lim: RateLimiter, n: int) -> list[Admission]:
    taken = [await lim.try_acquire() for _ in range(n)]
    assert all(a.admitted for a in taken)
    return taken


async def refuse(lim: RateLimiter, admissions: list[Admission]) -> list[bool]:
    """Report each of ``admissions`` refused; whether each report lowered the factor."""
    return [(await lim.report_refusal(a)).lowered for a in admissions]


def full_at_us(cut_us: int, factor: float, options: AdaptiveAdmission = ADAPTIVE) -> int:
    """When a factor lowered to ``factor`` at ``cut_us`` is back to 1 (the script's line)."""
    floor_ppm = round(options.min_factor * PPM)
    recovery_us = round(options.recovery_s * 1000) * 1000
    return cut_us + math.ceil((PPM - round(factor * PPM)) * recovery_us / (PPM - floor_ppm))


async def test_a_stray_refusal_lowers_nothing(aredis: Any) -> None:
    lim = limiter(aredis)
    admissions = await take(lim, 40)
    # Four refusals are fewer than the five needed, whatever their share.
    assert await refuse(lim, admissions[:4]) == [False] * 4
    # A fifth is enough refusals, but 5 of 40 permits (12.5%) is below the 20% share.
    assert await refuse(lim, admissions[4:5]) == [False]
    usage = await lim.usage()
    assert usage.factor == 1.0 and usage.throttled_since_us is None
    assert usage.recent_refusals == 5
    assert usage.windows[0].effective_limit == 100
    assert not await aredis.exists(keys.rate_limit_admission("api"))


async def test_refusals_that_keep_coming_halve_every_window_limit(aredis: Any) -> None:
    lim = RateLimiter(
        aredis, "api", windows=[(MINUTE_MS, 100), (10_000, 51)], per_day=1000, adaptive=ADAPTIVE
    )
    admissions = await take(lim, 20)
    # 5 refusals of 20 permits (25%): the fifth is the evidence.
    assert await refuse(lim, admissions[:5]) == [False] * 4 + [True]
    usage = await lim.usage()
    assert usage.factor == pytest.approx(0.5, abs=0.01)
    assert [(w.limit, w.effective_limit) for w in usage.windows] == [(100, 50), (51, 25)]
    assert usage.per_day == 1000  # the day's budget is not scaled
    assert usage.throttled_since_us is not None
    assert admissions[4].server_time_us < usage.throttled_since_us <= usage.server_time_us
    assert usage.recent_refusals == 5
    admission = await lim.try_acquire()
    assert admission.factor == pytest.approx(0.5, abs=0.01)  # climbing back already


async def test_one_decrease_per_round_trip(aredis: Any) -> None:
    lim = limiter(aredis)
    before = await take(lim, 20)
    assert await refuse(lim, before[:5]) == [False] * 4 + [True]
    # More refusals of calls sent before the decrease say nothing about the lowered rate.
    assert await refuse(lim, before[5:]) == [False] * 15
    assert (await lim.usage()).factor == pytest.approx(0.5, abs=0.01)
    # The evidence starts again at the decrease: 5 refusals of 10 permits taken since.
    after = await take(lim, 10)
    assert await refuse(lim, after[:5]) == [False] * 4 + [True]
    usage = await lim.usage()
    assert usage.factor == pytest.approx(0.25, abs=0.01)
    assert usage.windows[0].effective_limit == math.floor(100 * usage.factor)
    assert usage.recent_refusals == 25


async def test_the_factor_never_goes_below_the_floor(aredis: Any) -> None:
    lim = limiter(aredis, limit=1000, decrease=0.3)
    factors = []
    for _ in range(4):  # 0.3, then 0.1 (not 0.09), then held at the floor
        await refuse(lim, await take(lim, 5))  # 5 of 5 permits since the last decrease
        factors.append((await lim.usage()).factor)
    assert factors[0] == pytest.approx(0.3, abs=0.01)
    assert all(f >= 0.1 for f in factors)
    assert factors[1:] == pytest.approx([0.1] * 3, abs=0.01)
    assert (await lim.usage()).windows[0].effective_limit == 100


async def test_every_window_keeps_at_least_one_permit(aredis: Any) -> None:
    lim = RateLimiter(
        aredis,
        "api",
        windows=[(MINUTE_MS, 100), (30_000, 3)],
        adaptive=AdaptiveAdmission(min_refusals=1, min_refusal_share=0.0, decrease=0.1),
    )
    assert (await lim.report_refusal(await lim.try_acquire())).lowered
    usage = await lim.usage()
    assert usage.factor == pytest.approx(0.1, abs=0.01)
    # 10% of 100, and 1 for the small window (10% of 3 rounds down to 0).
    assert [w.effective_limit for w in usage.windows] == [10, 1]


async def test_min_factor_one_counts_refusals_but_never_lowers(aredis: Any) -> None:
    lim = limiter(aredis, min_factor=1.0)
    admissions = await take(lim, 10)
    assert await refuse(lim, admissions) == [False] * 10
    usage = await lim.usage()
    assert (usage.factor, usage.recent_refusals) == (1.0, 10)


async def test_the_factor_climbs_back_linearly_on_the_server_clock(aredis: Any) -> None:
    """Nobody writes during recovery: every check computes the factor on the line."""
    options = AdaptiveAdmission(evidence_window_ms=1_000, recovery_s=1.5)
    lim = RateLimiter(aredis, "api", windows=[(1_000, 40)], adaptive=options)
    admissions = await take(lim, 10)
    refusals = [await lim.report_refusal(a) for a in admissions[:5]]
    cut = refusals[-1]
    assert cut.lowered and cut.factor == 0.5
    cut_us = cut.server_time_us
    full_us = full_at_us(cut_us, 0.5, options)
    seen: list[float] = []

    async def back_to_full() -> bool:
        usage = await lim.usage()
        t = usage.server_time_us
        climbed = 500_000 * (t - cut_us) / (full_us - cut_us)
        expected_ppm = PPM if t >= full_us else math.floor(500_000 + climbed)
        assert round(usage.factor * PPM) == expected_ppm
        assert usage.windows[0].effective_limit == max(1, 40 * expected_ppm // PPM)
        seen.append(usage.factor)
        return usage.factor == 1.0

    await await_until(back_to_full, timeout_s=20, interval_s=0.05, message="the factor back at 1")
    assert seen == sorted(seen)  # it only climbs
    assert len(set(seen)) > 2  # and was seen on its way
    # Back at 1, the factor's key is gone: an idle limiter leaves nothing behind.
    await await_until(
        lambda: _gone(aredis, keys.rate_limit_admission("api")), timeout_s=5, message="key gone"
    )
    await await_until(
        lambda: _gone(aredis, keys.rate_limit_refusals("api")), timeout_s=5, message="refusals gone"
    )


async def _gone(client: Any, key: str) -> bool:
    return not await client.exists(key)


async def test_the_wait_under_a_lowered_factor_is_the_soonest_that_suffices(aredis: Any) -> None:
    lim = limiter(aredis, limit=10)
    admissions = await take(lim, 5)
    assert (await refuse(lim, admissions))[-1]  # 5 of 5 refused: factor 0.5, 5 per minute
    refused = await lim.try_acquire()
    assert not refused.admitted
    # The window holds 5 = its effective limit. The oldest ages out in about 60 s, but the
    # factor reaches 0.6 (6 of 10) sooner: 0.1 of the 0.9 it climbs in 300 s.
    cut_us = (await aredis.hmget(keys.rate_limit_admission("api"), "cut_us"))[0]
    cut_us = int(cut_us)
    full_us = full_at_us(cut_us, 0.5)
    at_us = math.ceil(cut_us + 100_000 * (full_us - cut_us) / 500_000) + 1
    assert round(refused.wait_s * 1_000_000) == at_us - refused.server_time_us
    assert 30 < refused.wait_s < 34


async def test_the_wait_is_an_age_out_when_the_factor_cannot_make_room(aredis: Any) -> None:
    lim = limiter(aredis, limit=10)
    admissions = await take(lim, 10)
    assert (await refuse(lim, admissions[:5]))[-1]  # factor 0.5: 5 per minute, 10 in the window
    refused = await lim.try_acquire()
    assert not refused.admitted
    # 11 > 10 can never fit the window whatever the factor: the 6th oldest must age out first
    # (then 5 remain, 4 + 1 fit the effective 5), unless the factor is back first (it is not).
    sixth_us = admissions[5].server_time_us
    assert round(refused.wait_s * 1_000_000) == sixth_us + 60_000_000 - refused.server_time_us


async def test_a_refusal_reports_the_wait_for_the_next_permit(aredis: Any) -> None:
    lim = RateLimiter(aredis, "api", windows=[(MINUTE_MS, 3)], adaptive=ADAPTIVE)
    admissions = await take(lim, 3)
    refusal = await lim.report_refusal(admissions[0])
    assert not refusal.lowered and refusal.recent_refusals == 1
    expected_us = admissions[0].server_time_us + 60_000_000 - refusal.server_time_us
    assert round(refusal.next_permit_s * 1_000_000) == expected_us
    assert (await lim.usage()).windows[0].used == 3  # the report reserved nothing


async def test_replicas_share_the_factor(backend: Any) -> None:
    clients = [backend.make_async() for _ in range(3)]
    try:
        limiters = [limiter(c) for c in clients]
        admissions = [await lim.try_acquire() for lim in limiters for _ in range(4)]
        for i, admission in enumerate(admissions[:5]):  # reported by different replicas
            await limiters[i % 3].report_refusal(admission)
        usages = [await lim.usage() for lim in limiters]
        assert [u.factor for u in usages] == pytest.approx([0.5] * 3, abs=0.01)
        assert [u.throttled_since_us for u in usages] == [usages[0].throttled_since_us] * 3
        assert [u.windows[0].effective_limit for u in usages] == [50] * 3
    finally:
        for client in clients:
            await client.aclose()


async def test_lowered_and_recovered_are_logged_and_counted(
    aredis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[tuple[str, str, dict[str, Any]]] = []

    class Recorder:
        def __getattr__(self, level: str) -> Any:
            return lambda event, **kw: lines.append((level, event, kw))

    monkeypatch.setattr("etl_core.ratelimit.log", Recorder())
    hooks: list[tuple[str, bool]] = []
    lim = RateLimiter(
        aredis,
        "api",
        windows=[(1_000, 20)],
        adaptive=AdaptiveAdmission(evidence_window_ms=1_000, recovery_s=0.5),
        on_refusal=lambda *a: hooks.append(a),
    )
    await refuse(lim, await take(lim, 5))
    assert hooks == [("api", False)] * 4 + [("api", True)]
    [(level, _, fields)] = [line for line in lines if line[1] == "rate_limit_lowered"]
    assert level == "warning"
    assert fields["limiter"] == "api" and fields["factor"] == 0.5
    assert fields["effective_limits"] == {1_000: 10} and fields["recent_refusals"] == 5

    async def recovered() -> bool:
        await lim.usage()
        return any(line[1] == "rate_limit_recovered" for line in lines)

    await await_until(recovered, timeout_s=10, interval_s=0.05, message="rate_limit_recovered")
    [(level, _, fields)] = [line for line in lines if line[1] == "rate_limit_recovered"]
    assert level == "info" and fields["limiter"] == "api" and fields["throttled_for_s"] >= 0


async def test_a_non_adaptive_limiter_cannot_take_refusals(aredis: Any) -> None:
    lim = RateLimiter(aredis, "plain", per_minute=5)
    with pytest.raises(ValueError, match="does not adapt"):
        await lim.report_refusal(await lim.try_acquire())


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"evidence_window_ms": 0}, "evidence_window_ms"),
        ({"min_refusals": 0}, "min_refusals"),
        ({"min_refusal_share": 1.5}, "min_refusal_share"),
        ({"decrease": 1.0}, "decrease"),
        ({"min_factor": 0.0}, "min_factor"),
        ({"recovery_s": 0}, "recovery_s"),
    ],
)
def test_bad_options_are_value_errors_naming_them(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        AdaptiveAdmission(**options)


def test_adapting_needs_a_window_as_long_as_the_evidence() -> None:
    with pytest.raises(ValueError, match="at least that long"):
        RateLimiter(object(), "short", windows=[(1_000, 5)], adaptive=ADAPTIVE)
    with pytest.raises(ValueError, match="at least that long"):
        RateLimiter(object(), "daily", per_day=5, adaptive=ADAPTIVE)
