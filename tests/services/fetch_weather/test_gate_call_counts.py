"""The gate tells its call hook of every call it makes to the provider, with the outcome, and of
none it serves from its cache (the paid-call counters read this)."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.breaker import CircuitBreaker
from services.fetch_weather.errors import SourceRateLimited, SourceUnavailable
from services.fetch_weather.gate import SourceGate
from services.fetch_weather.wiring import rate_limiter
from tests.services.pipeline.helpers import fetch_settings


def gate_counting(aredis: Any, seen: list[tuple[str, str, str]]) -> SourceGate:
    return SourceGate(
        aredis,
        "open-meteo",
        limiter=rate_limiter(aredis, fetch_settings(weather_source="open-meteo")),
        breaker=CircuitBreaker(aredis, "open-meteo"),
        cache_ttl_s=60,
        rate_limit_wait_s=1.0,
        transient_attempts=2,
        on_call=lambda *call: seen.append(call),
    )


async def test_each_call_is_counted_once_with_its_outcome_and_the_cache_costs_none(
    aredis: Any,
) -> None:
    seen: list[tuple[str, str, str]] = []
    gate = gate_counting(aredis, seen)
    answers: list[Any] = [SourceUnavailable("502"), {"hourly": {}}]

    async def flaky() -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    await gate.fetch("forecast", "loc-1@w", flaky)  # a 502, then the retry's answer
    await gate.fetch("forecast", "loc-1@w", flaky)  # from the cache
    assert seen == [
        ("open-meteo", "forecast", "SourceUnavailable"),
        ("open-meteo", "forecast", "ok"),
    ]

    async def refused() -> dict[str, Any]:
        raise SourceRateLimited("429", retry_after_s=1.0, from_header=True)

    with pytest.raises(SourceRateLimited):
        await gate.fetch("forecast", "loc-2@w", refused)
    assert seen[-1] == ("open-meteo", "forecast", "SourceRateLimited")


async def test_a_failing_hook_does_not_fail_the_call(aredis: Any) -> None:
    def broken(*_: str) -> None:
        raise RuntimeError("metrics down")

    gate = SourceGate(
        aredis,
        "owm",
        limiter=rate_limiter(aredis, fetch_settings()),
        breaker=CircuitBreaker(aredis, "owm"),
        cache_ttl_s=60,
        rate_limit_wait_s=1.0,
        on_call=broken,
    )

    async def call() -> dict[str, Any]:
        return {"current": {}}

    got = await gate.fetch("onecall", "loc@w", call)
    assert got.answer == {"current": {}} and not got.from_cache
