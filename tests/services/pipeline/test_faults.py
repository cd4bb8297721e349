"""The whole pipeline against a faulty OpenWeatherMap: 5xx, 429, hangs and truncated answers.

The mock runs under uvicorn on a real socket (``serve_in_thread``): over ``httpx.ASGITransport``
the client's timeout never fires, so the hang -> client timeout -> retry path needs real sockets.
The weather service stays in process. Every location must end with weather and a condition, no
task may be dead-lettered, and nothing may be left pending.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl_core import keys
from mock_owm.app import create_app as create_mock_owm
from mock_owm.settings import MockOwmSettings
from services import pipeline_keys
from services.fetch_weather import keys as fetch_keys
from tests.conftest import RedisBackend
from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN
from tests.services.conftest import SourceUnderTest, WeatherService, trail
from tests.services.pipeline.failure_support import (
    assert_nothing_pending,
    latest_conditions,
    locations_with_weather,
    run_categorize,
    run_fetch,
    schedule,
)
from tests.services.pipeline.helpers import entries_added
from tests.support.polling import await_until
from tests.support.servers import serve_in_thread

LOCATIONS = 30
CLIENT_TIMEOUT_S = 1.0  # far above the time a real answer takes, even on a busy machine
FAULTS: dict[str, Any] = {
    "error_rate": 0.20,  # 500/502/503
    "rate_429": 0.05,
    "retry_after_s": 1,
    "timeout_rate": 0.03,
    "timeout_s": 10.0,  # far above the client's timeout: the client hangs up first
    "malformed_rate": 0.02,
    # Seeded dice: the k-th request draws the k-th die whatever the interleaving, until the first
    # truncation (how many random bits it takes depends on the body). Seed 45 draws a 5xx, a 429,
    # a hang and a truncation for requests 1, 4, 5 and 6, so every kind is injected in every run.
    "seed": 45,
}


@pytest.fixture
async def faulty_owm() -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """(base URL of the mock on a real socket, a real-socket client for the workers)."""
    app = create_mock_owm(MockOwmSettings.load(**FAULTS, admin_token=ADMIN_TOKEN))
    with serve_in_thread(app) as base_url:
        async with httpx.AsyncClient() as http:
            yield base_url, http


async def _stats(http: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
    stats: dict[str, Any] = (
        await http.get(f"{base_url}/__stats", headers=ADMIN_HEADERS)
    ).json()
    return stats


async def _cached_answers(aredis: Any, source: SourceUnderTest, endpoint: str) -> int:
    pattern = fetch_keys.answer_cache(source.name, endpoint, "*")
    found = [key async for key in aredis.scan_iter(match=pattern)]
    return len(found)


async def test_every_location_completes_through_injected_faults(
    weather: WeatherService,
    faulty_owm: tuple[str, httpx.AsyncClient],
    aredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
    source: SourceUnderTest,
) -> None:
    base_url, owm_http = faulty_owm
    ids = [trail(n)["id"] for n in range(LOCATIONS)]
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])
    assert await schedule(weather, backend, tmp_path) == LOCATIONS

    fetched = await run_fetch(
        weather,
        owm_http,
        aredis,
        settings={
            **source.settings(),
            "owm_base_url": base_url,
            "open_meteo_base_url": base_url,
            "owm_timeout_s": CLIENT_TIMEOUT_S,
            "open_meteo_timeout_s": CLIENT_TIMEOUT_S,
            "owm_breaker_reset_timeout_s": 0.2,  # a run of faults may open it; keep waits short
            "worker_max_deliveries": 25,  # a task may meet several faults in a row
        },
    )
    categorized = await run_categorize(weather, aredis)

    assert fetched.forwarded == LOCATIONS
    assert fetched.dead_lettered == 0
    assert categorized.done == LOCATIONS
    assert categorized.dead_lettered == 0

    assert sorted(await locations_with_weather(weather, ids)) == ids
    conditions = await latest_conditions(weather)
    assert sorted(conditions) == ids
    assert all(c["label"] != "unknown" and c["reasons"] for c in conditions.values())

    assert await aredis.xlen(keys.dead_letter_stream(pipeline_keys.INGESTION_STREAM)) == 0
    assert await aredis.xlen(keys.dead_letter_stream(pipeline_keys.CATEGORIZATION_STREAM)) == 0
    # A retry (or a wait) re-adds its entry to the stream; nothing else is added.
    retries = fetched.retried + fetched.waited
    assert await entries_added(aredis, pipeline_keys.INGESTION_STREAM) == LOCATIONS + retries
    forwarded = await entries_added(aredis, pipeline_keys.CATEGORIZATION_STREAM)
    assert forwarded == LOCATIONS  # forwarded once
    await assert_nothing_pending(aredis)

    # A hang the client gave up on is answered (504) once the mock notices the hang-up.
    stats = await await_until(
        lambda: _settled_stats(owm_http, base_url),
        timeout_s=20,
        message="every mock request to have a status",
    )
    injected = stats["errors_injected"]
    codes = {int(k): v for k, v in stats["status_codes"].items()}
    assert set(injected) == {"server_error", "too_many_requests", "timeout", "malformed"}
    assert codes.get(429, 0) == injected["too_many_requests"]
    assert codes.get(504, 0) == injected["timeout"]
    assert sum(codes.get(c, 0) for c in (500, 502, 503)) == injected["server_error"]
    # Every good answer was paid for once and cached: one task call (onecall, forecast) per
    # location, and no successful request was ever repeated.
    first_call, *_ = source.endpoints
    assert await _cached_answers(aredis, source, first_call) == LOCATIONS
    cached = sum([await _cached_answers(aredis, source, e) for e in source.endpoints])
    assert codes[200] - injected["malformed"] == cached
    assert set(codes) <= {200, 429, 500, 502, 503, 504}


async def _settled_stats(http: httpx.AsyncClient, base_url: str) -> dict[str, Any] | None:
    stats = await _stats(http, base_url)
    answered = sum(stats["status_codes"].values())
    return stats if answered == stats["requests_total"] else None
