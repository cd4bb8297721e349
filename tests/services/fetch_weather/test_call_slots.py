"""Provider calls in flight are bounded by FETCH_CONCURRENCY (the gate's call slots); the worker
holds more tasks than that (FETCH_MAX_IN_FLIGHT, default twice), so a task writing its records does
not keep a call slot idle."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from etl_core.breaker import CircuitBreaker
from etl_core.errors import ConfigurationError
from services import pipeline_keys
from services.fetch_weather.gate import SourceGate, call_slots_pool
from services.fetch_weather.wiring import fetch_worker_options, rate_limiter
from tests.services.pipeline.helpers import fetch_settings

SLOTS = 3
CALLS = 10
DEADLINE_S = 10.0


async def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


async def test_no_more_calls_than_slots_are_in_flight(aredis: Any) -> None:
    gate = SourceGate(
        aredis,
        "owm",
        limiter=rate_limiter(aredis, fetch_settings()),
        breaker=CircuitBreaker(aredis, pipeline_keys.OWM_BREAKER),
        cache_ttl_s=60,
        rate_limit_wait_s=1.0,
        max_concurrent_calls=SLOTS,
    )
    releases: list[asyncio.Event] = []  # one per call, in the order they started
    finished = 0
    peak = 0

    async def call() -> dict[str, Any]:
        nonlocal finished, peak
        release = asyncio.Event()
        releases.append(release)
        peak = max(peak, len(releases) - finished)
        await release.wait()
        finished += 1
        return {"lat": 1.0}

    fetches = [asyncio.create_task(gate.fetch("onecall", f"loc-{n}", call)) for n in range(CALLS)]
    for answered in range(CALLS):
        # with `answered` calls done, the next SLOTS (or what is left) are in flight
        await _until(lambda a=answered: len(releases) == min(a + SLOTS, CALLS), "calls to start")
        releases[answered].set()
        await _until(lambda a=answered: finished == a + 1, "the call to finish")
    answers = await asyncio.gather(*fetches)
    assert [a.answer for a in answers] == [{"lat": 1.0}] * CALLS
    assert peak == SLOTS


class _NoIo:
    """Cache, breaker and limiter that answer at once, so every fetch reaches the call slots in
    the same turn of the loop (the order the wait count below depends on)."""

    async def get(self, _key: str) -> None:
        return None

    async def set(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    async def acquire(self, *, timeout_s: float) -> None:
        return None

    async def call(self, fn: Any) -> Any:
        return await fn()


async def test_waits_for_a_call_slot_are_reported() -> None:
    waits: list[tuple[str, float]] = []
    no_io: Any = _NoIo()
    gate = SourceGate(
        no_io,
        "owm",
        limiter=no_io,
        breaker=no_io,
        cache_ttl_s=60,
        rate_limit_wait_s=1.0,
        max_concurrent_calls=SLOTS,
        on_slot_wait=lambda pool, waited_s: waits.append((pool, waited_s)),
    )
    release = asyncio.Event()

    async def call() -> dict[str, Any]:
        await release.wait()
        return {}

    fetches = [asyncio.create_task(gate.fetch("onecall", f"loc-{n}", call)) for n in range(CALLS)]
    await asyncio.sleep(0)  # every fetch runs up to its slot (SLOTS get one, the rest wait)
    release.set()
    await asyncio.gather(*fetches)
    assert len(waits) == CALLS - SLOTS
    assert all(pool == call_slots_pool("owm") and waited_s >= 0 for pool, waited_s in waits)


def test_task_slots_default_to_twice_the_call_slots() -> None:
    assert fetch_worker_options(fetch_settings(fetch_concurrency=4)).concurrency == 8
    # --concurrency sets the calls; the task slots follow it
    assert fetch_worker_options(fetch_settings(), concurrency=6).concurrency == 12
    explicit = fetch_settings(fetch_concurrency=4, fetch_max_in_flight=5)
    assert fetch_worker_options(explicit).concurrency == 5


def test_fewer_task_slots_than_calls_are_refused_naming_both() -> None:
    too_few = fetch_settings(fetch_concurrency=8, fetch_max_in_flight=4)
    with pytest.raises(ConfigurationError, match=r"FETCH_MAX_IN_FLIGHT.*FETCH_CONCURRENCY"):
        fetch_worker_options(too_few)
    # --concurrency replaces FETCH_CONCURRENCY: checked against the value in use
    assert fetch_worker_options(too_few, concurrency=4).concurrency == 4
    with pytest.raises(ConfigurationError, match="FETCH_MAX_IN_FLIGHT"):
        fetch_worker_options(fetch_settings(fetch_max_in_flight=4), concurrency=5)


def test_call_slots_must_be_positive(aredis: Any) -> None:
    with pytest.raises(ValueError, match="max_concurrent_calls"):
        SourceGate(
            aredis,
            "owm",
            limiter=rate_limiter(aredis, fetch_settings()),
            breaker=CircuitBreaker(aredis, pipeline_keys.OWM_BREAKER),
            cache_ttl_s=60,
            rate_limit_wait_s=1.0,
            max_concurrent_calls=0,
        )
