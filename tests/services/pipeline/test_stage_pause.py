"""Failures of the world pause the stage instead of draining it into dead letters.

* OpenWeatherMap refuses our key: fetch-weather pauses on every replica, ``/readyz`` says why,
  ``status`` shows it, refused calls come at the trial rate only, and once a worker with the right
  key starts, every location completes; nothing is dead-lettered.
* The weather service refuses our write key: the same; the answers paid for before the pause are
  not paid for again.
* The weather service is unreachable for 20 s mid-run: nothing is dead-lettered, every location
  completes once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl_core.deadletter import DeadLetters
from etl_core.outcomes import OutcomeCounts
from etl_core.worker import Worker
from mock_owm.app import create_app as create_mock_owm
from mock_owm.settings import MockOwmSettings
from services import pipeline_keys
from services.categorize.wiring import categorize_worker
from services.fetch_weather.wiring import fetch_worker
from services.status import gather_status
from services.worker_metrics import pipeline_worker_metrics
from tests.conftest import RedisBackend
from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN
from tests.services.conftest import OWM_BASE, WeatherService, owm_calls, owm_total_calls, trail
from tests.services.pipeline.failure_support import (
    QUICK_RETRIES,
    assert_nothing_pending,
    latest_conditions,
    run_categorize,
    run_fetch,
    schedule,
)
from tests.services.pipeline.helpers import categorize_settings, fetch_settings
from tests.support.polling import await_until, holds
from tests.support.redis_server import free_port

LOCATIONS = 12
TRIAL_S = 0.3  # a trial task this often while paused by a refused key


@contextlib.asynccontextmanager
async def running(
    worker: Worker, *, until_idle: bool = True
) -> AsyncIterator[asyncio.Task[OutcomeCounts]]:
    """The worker's ``run()`` in the background; stopped at the end if still running."""
    task = asyncio.create_task(worker.run(until_idle=until_idle))
    try:
        yield task
    finally:
        if not task.done():
            worker.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=30)


async def stage_status(aredis: Any, stage: str) -> dict[str, Any]:
    status = await gather_status(aredis, streams=[], per_minute=1000, per_day=10_000)
    (found,) = [s for s in status["stages"] if s["name"] == stage]
    return found


@pytest.fixture
async def owm_other_key() -> AsyncIterator[httpx.AsyncClient]:
    """Mock OWM in process that accepts only a key the workers do not have."""
    settings = MockOwmSettings.load(api_keys="someone-elses-key", admin_token=ADMIN_TOKEN)
    app = create_mock_owm(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=OWM_BASE) as http:
        yield http


async def test_a_refused_owm_key_pauses_fetching_and_dead_letters_nothing(
    weather: WeatherService,
    owm_other_key: httpx.AsyncClient,
    aredis: Any,
    sredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
) -> None:
    owm = owm_other_key
    ids = sorted(trail(n)["id"] for n in range(LOCATIONS))
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])
    assert await schedule(weather, backend, tmp_path) == LOCATIONS
    port = free_port()
    settings = fetch_settings(
        owm_api_key="our-old-key", metrics_port=port, metrics_host="127.0.0.1"
    )
    async with (
        fetch_worker(
            settings,
            redis=aredis,
            source_http=owm,
            weather_http=weather.http,
            concurrency=4,
            metrics=pipeline_worker_metrics(pipeline_keys.FETCH_GROUP),
            pause_trial_interval_s=TRIAL_S,
            **QUICK_RETRIES,
        ) as fetcher,
        running(fetcher),
        httpx.AsyncClient() as http,
    ):
        await await_until(holds(lambda: fetcher.pause_state is not None), message="the pause")
        paused_at = time.monotonic()
        in_hand = 8  # task slots: twice the 4 calls; each such task makes its one call
        assert await owm_total_calls(owm) <= in_hand
        ready = await http.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 503
        assert "OwmAuthError" in ready.json()["reason"] and "401" in ready.json()["reason"]
        stage = await stage_status(aredis, pipeline_keys.FETCH_GROUP)
        assert stage["paused"] is True and stage["source"] == "auto"
        assert "OwmAuthError" in stage["reason"] and "OWM_API_KEY" in stage["reason"]
        # Paused: past the tasks in hand, one trial call per interval, not every task retried
        # every interval (twelve tasks would make 40 calls a second).
        await await_until(
            holds(lambda: time.monotonic() - paused_at > 4 * TRIAL_S), message="four intervals"
        )
        refused = await owm_total_calls(owm)
        assert refused <= in_hand + (time.monotonic() - paused_at) / TRIAL_S + 2
        assert DeadLetters(sredis, pipeline_keys.INGESTION_STREAM).count() == 0
        fetcher.stop()
    counts = fetcher.counts
    assert counts.dead_lettered == 0 and counts.retried == 0 and counts.forwarded == 0
    stats = (await owm.get("/__stats", headers=ADMIN_HEADERS)).json()
    assert set(stats["status_codes"]) == {"401"}

    # The operator fixes the key and restarts the workers: the pause, shared in Redis, is lifted
    # by the first trial task, and the stage catches up; no redrive is needed.
    fixed = await owm.post(
        "/__faults", json={"api_keys": ["our-new-key"]}, headers=ADMIN_HEADERS
    )
    assert fixed.status_code == 200, fixed.text
    fetched = await run_fetch(
        weather,
        owm,
        aredis,
        settings={"owm_api_key": "our-new-key"},
        pause_trial_interval_s=TRIAL_S,
    )
    categorized = await run_categorize(weather, aredis)
    assert fetched.forwarded == LOCATIONS and fetched.dead_lettered == 0
    assert categorized.done == LOCATIONS
    assert sorted(await latest_conditions(weather)) == ids
    assert DeadLetters(sredis, pipeline_keys.INGESTION_STREAM).count() == 0
    assert (await stage_status(aredis, pipeline_keys.FETCH_GROUP))["paused"] is False
    await assert_nothing_pending(aredis)


async def test_a_refused_weather_service_key_pauses_and_nothing_is_paid_twice(
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    sredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])
    assert await schedule(weather, backend, tmp_path) == LOCATIONS
    async with (
        fetch_worker(
            fetch_settings(weather_service_api_key="not-the-write-key-0000"),
            redis=aredis,
            source_http=owm_http,
            weather_http=weather.http,
            concurrency=4,
            pause_trial_interval_s=TRIAL_S,
            **QUICK_RETRIES,
        ) as fetcher,
        running(fetcher),
    ):
        await await_until(holds(lambda: fetcher.pause_state is not None), message="the pause")
        assert "WeatherServiceAuthError" in (fetcher.not_ready_reason() or "")
        assert "WEATHER_SERVICE_API_KEY" in (fetcher.not_ready_reason() or "")
        fetcher.stop()
    assert fetcher.counts.dead_lettered == 0 and fetcher.counts.retried == 0
    paid_while_refused = await owm_calls(owm_http, "onecall")
    assert 0 < paid_while_refused <= 8  # the tasks in hand when the first write was refused
    assert DeadLetters(sredis, pipeline_keys.INGESTION_STREAM).count() == 0

    fetched = await run_fetch(weather, owm_http, aredis, pause_trial_interval_s=TRIAL_S)
    assert fetched.forwarded == LOCATIONS and fetched.dead_lettered == 0
    assert await owm_calls(owm_http, "onecall") == LOCATIONS  # the cached ones not paid again


class Unplugged(httpx.AsyncBaseTransport):
    """The weather service in process, behind a plug: pulled, every request fails to connect."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("backend", ["real"], indirect=True)  # 20 s of outage: one backend
async def test_the_weather_service_down_for_20_s_mid_run_dead_letters_nothing(
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    sredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
) -> None:
    locations = 20
    ids = sorted(trail(n)["id"] for n in range(locations))
    await weather.client.upsert_locations([trail(n) for n in range(locations)])
    assert await schedule(weather, backend, tmp_path) == locations
    plug = Unplugged(weather.http._transport)
    options = {**QUICK_RETRIES, "max_deliveries": 5}  # quick: 5 deliveries in about a second
    async with (
        httpx.AsyncClient(transport=plug, base_url=weather.http.base_url) as unplugged_http,
        fetch_worker(
            fetch_settings(owm_rate_limit_per_minute=600),  # a run long enough to pull the plug
            redis=aredis,
            source_http=owm_http,
            weather_http=unplugged_http,
            concurrency=4,
            **options,
        ) as fetcher,
        categorize_worker(
            categorize_settings(),
            redis=aredis,
            weather_http=unplugged_http,
            concurrency=4,
            **options,
        ) as categorizer,
        running(fetcher) as fetching,
        running(categorizer, until_idle=False),
    ):
        await await_until(
            holds(lambda: fetcher.counts.forwarded >= 3), timeout_s=60, message="a few fetched"
        )
        plug.down = True
        pulled_at = time.monotonic()
        await await_until(
            holds(lambda: fetcher.pause_state is not None), timeout_s=30, message="fetch to pause"
        )
        await await_until(
            holds(lambda: time.monotonic() - pulled_at >= 20), timeout_s=60, message="20 s down"
        )
        assert fetcher.counts.dead_lettered == 0 and categorizer.counts.dead_lettered == 0
        plug.down = False
        await asyncio.wait_for(fetching, timeout=120)
        await await_until(
            holds(lambda: categorizer.counts.done == locations),
            timeout_s=120,
            message="every location categorized",
        )
    assert plug.refused > 0
    assert fetcher.counts.forwarded == locations and fetcher.counts.dead_lettered == 0
    assert categorizer.counts.dead_lettered == 0
    assert DeadLetters(sredis, pipeline_keys.INGESTION_STREAM).count() == 0
    assert DeadLetters(sredis, pipeline_keys.CATEGORIZATION_STREAM).count() == 0
    assert sorted(await latest_conditions(weather)) == ids
