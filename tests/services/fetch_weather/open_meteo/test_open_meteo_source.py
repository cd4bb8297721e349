"""The Open-Meteo source against the mock's /v1/forecast: what a location costs, what it stores,
and the provider's refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from etl_core.errors import PermanentError, RateLimited
from etl_core.outcomes import Forward
from services.fetch_weather import keys as fetch_keys
from services.fetch_weather.handler import FetchWeatherHandler
from services.fetch_weather.wiring import fetch_worker
from tests.mock_owm.conftest import ADMIN_HEADERS
from tests.services.conftest import SOURCES, WeatherService, owm_total_calls, trail
from tests.services.pipeline.helpers import context_for, fetch_settings, ingest

OPEN_METEO = SOURCES["open-meteo"]


@pytest.fixture
async def handler(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> AsyncIterator[FetchWeatherHandler]:
    await weather.client.upsert_locations([trail(n) for n in range(3)])
    async with fetch_worker(
        fetch_settings(**OPEN_METEO.settings()),
        redis=aredis,
        source_http=owm_http,
        weather_http=weather.http,
    ) as worker:
        assert isinstance(worker.handler, FetchWeatherHandler)
        yield worker.handler


async def _stored(weather: WeatherService, location_id: str, kind: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return await weather.client.weather_records(
        location_id, start=now - timedelta(hours=73), end=now + timedelta(hours=49), kind=kind
    )


async def _forecast_calls(http: httpx.AsyncClient) -> int:
    stats = (await http.get("/__stats", headers=ADMIN_HEADERS)).json()
    return int(stats["requests_by_endpoint"].get("forecast", 0))


async def test_a_new_location_costs_exactly_one_call_history_included(
    handler: FetchWeatherHandler, weather: WeatherService, owm_http: httpx.AsyncClient
) -> None:
    task = ingest(0)
    outcome = await handler(task, context_for(task))
    assert isinstance(outcome, Forward)
    assert await owm_total_calls(owm_http) == await _forecast_calls(owm_http) == 1
    observed = await _stored(weather, task.location_id, "observed")
    assert len(observed) >= 72  # the whole history window, from the one call
    assert {r["source"] for r in observed} == {"open-meteo-forecast"}
    forecast = await _stored(weather, task.location_id, "forecast")
    assert len(forecast) >= 47


async def test_stored_records_carry_the_topsoil_moisture_the_mock_serves(
    handler: FetchWeatherHandler, weather: WeatherService
) -> None:
    task = ingest(0)
    await handler(task, context_for(task))
    for kind in ("observed", "forecast"):
        soil = [r["soil_moisture_m3m3"] for r in await _stored(weather, task.location_id, kind)]
        assert soil and all(isinstance(v, float) and 0.0 < v < 1.0 for v in soil), kind
        assert len(set(soil)) > 1, kind  # a series, not one value copied


async def test_a_rerun_in_the_same_window_costs_nothing_and_the_next_window_one_call(
    handler: FetchWeatherHandler, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    task = ingest(1)
    await handler(task, context_for(task))
    again = await handler(task, context_for(task))
    assert isinstance(again, Forward)
    assert await owm_total_calls(owm_http) == 1
    assert await aredis.exists(fetch_keys.answer_cache("open-meteo", "forecast", task.identity()))
    assert await aredis.exists(fetch_keys.history_covered(task.location_id))

    later = ingest(1, datetime.now(UTC) + timedelta(hours=1))
    await handler(later, context_for(later))
    assert await owm_total_calls(owm_http) == 2


async def test_a_429_waits_without_spending_an_attempt_and_reads_the_reason(
    handler: FetchWeatherHandler, owm_http: httpx.AsyncClient
) -> None:
    faults = {"429_rate": 1.0, "seed": 1}
    assert (await owm_http.post("/__faults", json=faults, headers=ADMIN_HEADERS)).is_success
    task = ingest(2)
    with pytest.raises(RateLimited, match="HTTP 429"):
        await handler(task, context_for(task))


async def test_a_400_is_permanent_and_names_the_parameter(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    """A self-hosted instance that lacks a variable refuses the request: retrying cannot help."""

    class Renaming(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            url = request.url.copy_set_param("hourly", "temperature_2m,no_such_variable")
            forwarded = httpx.Request(request.method, url, headers=request.headers)
            return await owm_http._transport.handle_async_request(forwarded)

    await weather.client.upsert_locations([trail(0)])
    async with (
        httpx.AsyncClient(transport=Renaming(), base_url=str(owm_http.base_url)) as http,
        fetch_worker(
            fetch_settings(**OPEN_METEO.settings()),
            redis=aredis,
            source_http=http,
            weather_http=weather.http,
        ) as worker,
    ):
        task = ingest(0)
        with pytest.raises(PermanentError, match="no_such_variable") as refused:
            await worker.handler(task, context_for(task))
    assert "HTTP 400" in str(refused.value)


async def test_the_day_limit_is_the_shared_limiters_and_spends_no_call_past_it(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(3)])
    settings = fetch_settings(
        **{**OPEN_METEO.settings(), "open_meteo_rate_limit_per_day": 2},
        owm_rate_limit_wait_s=0,
    )
    async with fetch_worker(
        settings, redis=aredis, source_http=owm_http, weather_http=weather.http
    ) as worker:
        for n in range(2):
            task = ingest(n)
            assert isinstance(await worker.handler(task, context_for(task)), Forward)
        third = ingest(2)
        with pytest.raises(RateLimited, match="open-meteo"):
            await worker.handler(third, context_for(third))
    assert await owm_total_calls(owm_http) == 2
