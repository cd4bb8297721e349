"""When OpenWeatherMap's quota is half of ours, three fetch-worker replicas slow down together: the
429s of the first minute lower the shared limiter's rate, later minutes see far fewer, every
location completes and nothing is dead-lettered. Stray 429s (5% whatever the rate) lower nothing.

Time is compressed, so the test sees several provider minutes in bounded time: the mock's
per-minute quota counts over a rolling 5 s (MOCK_OWM_RATE_LIMIT_WINDOW_S) and the workers' limiter
is built with the same 5 s "minute" (its windows and the 429 evidence window;
``fetch_worker(rate_limit_minute_ms=...)``), a margin of 200 ms and a recovery of five such
minutes, as the production defaults are 2 s and five real ones. The counts checked (429s and
answers per minute, factors, decreases) are then what the defaults do per real minute, in a
twelfth of the time; nothing checks how fast it ran. Real redis-server (one client per replica),
the mock on a real socket, the weather service in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis

from etl_core.ratelimit_adaptive import DEFAULT_MIN_FACTOR
from mock_owm.app import create_app as create_mock_owm
from mock_owm.settings import MockOwmSettings
from services import pipeline_keys
from services.fetch_weather.wiring import fetch_worker, rate_limiter
from services.worker_metrics import pipeline_worker_metrics
from tests.conftest import RedisBackend
from tests.services.conftest import WeatherService, trail
from tests.services.pipeline.failure_support import (
    QUICK_RETRIES,
    assert_nothing_pending,
    latest_conditions,
    run_categorize,
    schedule,
)
from tests.services.pipeline.helpers import fetch_settings
from tests.support.redis_server import RedisServer
from tests.support.servers import serve_in_thread

MINUTE_MS = 5_000  # the compressed provider minute
OURS_PER_MINUTE = 40
PROVIDERS_PER_MINUTE = OURS_PER_MINUTE // 2
LOCATIONS = 30  # a new location costs 4 calls: about six compressed minutes at the provider's rate
REPLICAS = 3
SETTINGS = {
    "owm_rate_limit_per_minute": OURS_PER_MINUTE,
    "owm_rate_limit_per_day": 100_000,
    "owm_rate_limit_margin_ms": 200,  # about the production 2 s of 60 s
    "owm_rate_limit_recovery_s": 5 * MINUTE_MS / 1000,
    "metrics_port": 0,
}


@pytest.fixture
def real_backend(redis_server: RedisServer) -> Iterator[RedisBackend]:
    flush = redis.Redis.from_url(redis_server.url)
    flush.flushall()
    yield RedisBackend(
        kind="real",
        make_sync=lambda: redis.Redis.from_url(redis_server.url),
        make_async=lambda: aioredis.Redis.from_url(redis_server.url),
        url=redis_server.url,
    )
    flush.flushall()
    flush.close()


class Responses:
    """The status of every API answer the workers got, with when it came (monotonic s)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, int]] = []

    async def hook(self, response: httpx.Response) -> None:
        if not response.request.url.path.startswith("/__"):
            self.seen.append((time.monotonic(), response.status_code))

    def per_minute(self, status: int) -> list[int]:
        """Answers with ``status`` in each compressed minute since the first answer, the last
        (partial) minute left out."""
        start = self.seen[0][0]
        minutes = [int((t - start) * 1000 // MINUTE_MS) for t, _ in self.seen]
        counts = [0] * minutes[-1]
        for minute, (_, code) in zip(minutes, self.seen, strict=True):
            if code == status and minute < len(counts):
                counts[minute] += 1
        return counts


@contextlib.asynccontextmanager
async def mock_owm(**faults: Any) -> AsyncIterator[tuple[str, httpx.AsyncClient, Responses]]:
    """The mock on a real socket, its per-minute quota counted over the compressed minute."""
    app = create_mock_owm(MockOwmSettings.load(rate_limit_window_s=MINUTE_MS / 1000, **faults))
    responses = Responses()
    with serve_in_thread(app) as base_url:
        async with httpx.AsyncClient(event_hooks={"response": [responses.hook]}) as http:
            yield base_url, http, responses


async def watch_factor(client: Any, settings: Any, trace: list[float], stop: asyncio.Event) -> None:
    """The shared factor as one more replica sees it, every 50 ms until ``stop``."""
    limiter = rate_limiter(client, settings, minute_ms=MINUTE_MS)
    while not stop.is_set():
        trace.append((await limiter.usage()).factor)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.05)


@dataclass
class Run:
    forwarded: int
    dead_lettered: int
    factors: list[float]  # the shared factor, every 50 ms
    refusals_reported: float
    decreases: float


async def run_replicas(
    weather: WeatherService, backend: RedisBackend, tmp_path: Path, base_url: str, http: Any
) -> Run:
    """Schedule LOCATIONS, run REPLICAS fetch workers until the stage is idle, then categorize."""
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])
    assert await schedule(weather, backend, tmp_path) == LOCATIONS
    settings = fetch_settings(owm_base_url=base_url, **SETTINGS)
    clients = [backend.make_async() for _ in range(REPLICAS + 1)]
    metrics = [pipeline_worker_metrics(pipeline_keys.FETCH_GROUP) for _ in range(REPLICAS)]
    trace: list[float] = []
    stop = asyncio.Event()
    try:
        async with contextlib.AsyncExitStack() as stack:
            workers = [
                await stack.enter_async_context(
                    fetch_worker(
                        settings,
                        redis=client,
                        source_http=http,
                        weather_http=weather.http,
                        concurrency=8,
                        metrics=m,
                        rate_limit_minute_ms=MINUTE_MS,
                        **QUICK_RETRIES,
                    )
                )
                for client, m in zip(clients, metrics, strict=False)
            ]
            watcher = asyncio.create_task(watch_factor(clients[-1], settings, trace, stop))
            counts = await asyncio.gather(*(w.run(until_idle=True) for w in workers))
            stop.set()
            await watcher
        categorized = await run_categorize(weather, clients[-1])
        await assert_nothing_pending(clients[-1])
    finally:
        for client in clients:
            await client.aclose()
    assert sorted(await latest_conditions(weather)) == [trail(n)["id"] for n in range(LOCATIONS)]
    assert categorized.dead_lettered == 0

    def total(name: str) -> float:
        labels = {"stage": pipeline_keys.FETCH_GROUP, "limiter": pipeline_keys.OWM_RATE_LIMITER}
        return sum(m.registry.get_sample_value(name, labels) or 0.0 for m in metrics)

    return Run(
        forwarded=sum(c.forwarded for c in counts),
        dead_lettered=sum(c.dead_lettered for c in counts),
        factors=trace,
        refusals_reported=total("trail_etl_worker_rate_limit_refusals_total"),
        decreases=total("trail_etl_worker_rate_limit_lowered_total"),
    )


@pytest.mark.slow
async def test_replicas_settle_near_a_provider_quota_half_of_ours(
    weather: WeatherService, real_backend: RedisBackend, tmp_path: Path
) -> None:
    async with mock_owm(rate_limit_per_minute=PROVIDERS_PER_MINUTE) as (base_url, http, seen):
        run = await run_replicas(weather, real_backend, tmp_path, base_url, http)
    refused, admitted = seen.per_minute(429), seen.per_minute(200)
    print(f"429s per minute {refused}, 200s per minute {admitted}")
    print(f"factor seen: min {min(run.factors):.2f}, last {run.factors[-1]:.2f}")

    # Every location completes (checked by run_replicas) and nothing is dead-lettered.
    assert run.forwarded == LOCATIONS and run.dead_lettered == 0
    # Every 429 was reported to the shared limiter, and some of them lowered its rate.
    assert run.refusals_reported == sum(code == 429 for _, code in seen.seen)
    assert run.decreases >= 1
    # The first minute overshoots the provider's quota by about its half of our burst; after
    # the decrease the later minutes see far fewer 429s (unadapted, each would see about as many
    # as the first: our limiter would keep admitting twice what the provider takes).
    first, later = refused[0], refused[1:]
    assert first >= PROVIDERS_PER_MINUTE // 2
    assert len(later) >= 3, refused  # the run lasted several minutes: there is a "later"
    assert sum(later) / len(later) <= first / 2
    assert max(later[1:]) < first
    # The rate settled between the floor and the configured rate: lowered, never collapsed.
    assert DEFAULT_MIN_FACTOR < min(run.factors) < 1.0


@pytest.mark.slow
async def test_stray_429s_do_not_lower_the_rate(
    weather: WeatherService, real_backend: RedisBackend, tmp_path: Path
) -> None:
    """5% of answers are 429 whatever the rate (the mock's fault injection), no quota: the rate
    stays the configured one, so the run takes about what a fault-free one does."""
    async with mock_owm(rate_429=0.05, seed=7) as (base_url, http, seen):
        run = await run_replicas(weather, real_backend, tmp_path, base_url, http)
    stray = sum(code == 429 for _, code in seen.seen)
    print(f"{stray} stray 429s; factor seen: min {min(run.factors):.2f}")
    assert run.forwarded == LOCATIONS and run.dead_lettered == 0
    assert stray >= 3 and run.refusals_reported == stray
    assert run.decreases == 0 and min(run.factors) == 1.0
