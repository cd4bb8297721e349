"""A 429 through ``SourceGate``: reported to the shared limiter with its permit; without Retry-After
the task waits for the limiter's next free permit (at most 60 s), with one the provider's word."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from etl_core import keys
from etl_core.breaker import CircuitBreaker
from etl_core.ratelimit import RateLimiter
from mock_owm.app import create_app as create_mock_owm
from mock_owm.settings import MockOwmSettings
from services import pipeline_keys
from services.fetch_weather.gate import MAX_429_WAIT_S, SourceGate
from services.fetch_weather.owm.client import OwmClient, OwmClientOptions, OwmRateLimited
from services.fetch_weather.wiring import rate_limiter
from tests.services.conftest import OWM_BASE, OWM_KEY
from tests.services.pipeline.helpers import fetch_settings

PER_MINUTE = 3


async def server_time_us(client: Any) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1_000_000 + int(micros)


@pytest.fixture
async def refusing_owm() -> AsyncIterator[Any]:
    """``refusing_owm(**mock_settings)``: a client of a mock that answers every call with 429."""
    clients: list[httpx.AsyncClient] = []

    def make(**settings: Any) -> OwmClient:
        app = create_mock_owm(MockOwmSettings.load(rate_429=1.0, **settings))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=OWM_BASE)
        clients.append(http)
        return OwmClient(http, OwmClientOptions(base_url=OWM_BASE, api_key=OWM_KEY))

    yield make
    for http in clients:
        await http.aclose()


def gate_for(aredis: Any, limiter: Any) -> SourceGate:
    return SourceGate(
        aredis,
        "owm",
        limiter=limiter,
        breaker=CircuitBreaker(aredis, pipeline_keys.OWM_BREAKER),
        cache_ttl_s=60,
        rate_limit_wait_s=0,
        transient_attempts=1,
    )


async def refused(gate: SourceGate, owm: OwmClient) -> OwmRateLimited:
    with pytest.raises(OwmRateLimited) as raised:
        await gate.fetch("onecall", "loc-1", lambda: owm.onecall(47.37, 8.54))
    return raised.value


async def test_without_retry_after_the_task_waits_for_the_next_free_permit(
    aredis: Any, refusing_owm: Any
) -> None:
    settings = fetch_settings(owm_rate_limit_per_minute=PER_MINUTE, owm_rate_limit_margin_ms=0)
    limiter = rate_limiter(aredis, settings)
    gate = gate_for(aredis, limiter)
    owm = refusing_owm()

    # Permits left: the next one is free now, so a stray 429 costs its task no wait.
    error = await refused(gate, owm)
    assert not error.from_header and error.retry_after_s == 0.0

    # The last permit of the minute: the next frees when the oldest leaves the rolling 60 s.
    await limiter.try_acquire()
    before_us = await server_time_us(aredis)
    error = await refused(gate, owm)
    after_us = await server_time_us(aredis)
    window = keys.rate_limit_window(pipeline_keys.OWM_RATE_LIMITER, 60_000)
    [(_, oldest_us)] = await aredis.zrange(window, 0, 0, withscores=True)
    frees_at_us = int(oldest_us) + 60_000_000
    assert frees_at_us - after_us <= error.retry_after_s * 1_000_000 <= frees_at_us - before_us
    assert 0 < error.retry_after_s <= MAX_429_WAIT_S == 60.0
    usage = await limiter.usage()
    assert usage.recent_refusals == 2 and usage.factor == 1.0  # two 429s are no evidence


async def test_a_next_permit_past_a_minute_is_capped_at_60_s(
    aredis: Any, refusing_owm: Any
) -> None:
    limiter = rate_limiter(aredis, fetch_settings(owm_rate_limit_per_day=2))
    gate = gate_for(aredis, limiter)
    await limiter.try_acquire()
    error = await refused(gate, refusing_owm())  # the day's last permit: the next at midnight
    assert (await limiter.usage()).next_permit_s > 60
    assert error.retry_after_s == MAX_429_WAIT_S


async def test_a_retry_after_is_honoured_and_still_counted(aredis: Any, refusing_owm: Any) -> None:
    limiter = rate_limiter(aredis, fetch_settings())
    error = await refused(gate_for(aredis, limiter), refusing_owm(retry_after_s=7))
    assert error.from_header and error.retry_after_s == 7.0
    assert (await limiter.usage()).recent_refusals == 1


async def test_429s_that_keep_coming_lower_the_shared_rate(aredis: Any, refusing_owm: Any) -> None:
    settings = fetch_settings(owm_rate_limit_per_minute=20)
    limiter = rate_limiter(aredis, settings)
    gate, owm = gate_for(aredis, limiter), refusing_owm()
    for _ in range(5):  # 5 of 5 permits refused
        await refused(gate, owm)
    other_replica = rate_limiter(aredis, settings)
    usage = await other_replica.usage()
    assert usage.factor == pytest.approx(0.5, abs=0.01)
    assert usage.effective_per_minute == 10 and usage.per_minute == 20


async def test_a_refusal_that_cannot_be_reported_still_waits(
    aredis: Any, refusing_owm: Any
) -> None:
    real = RateLimiter(aredis, "owm", per_minute=10)

    class Unreachable:
        async def acquire(self, *, timeout_s: float) -> Any:
            return await real.try_acquire()

        async def report_refusal(self, _admission: Any) -> Any:
            raise ConnectionError("redis went away")

    error = await refused(gate_for(aredis, Unreachable()), refusing_owm())
    assert error.retry_after_s == MAX_429_WAIT_S  # the client's default, never a transient error
