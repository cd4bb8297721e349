"""The OpenWeatherMap client and the transform, against the real mock_owm app: in process through
httpx's ASGI transport, and over a socket through aiohttp (what the workers use)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from mock_owm.app import create_app
from mock_owm.settings import MockOwmSettings
from services.fetch_weather.errors import MAX_RETRY_AFTER_S
from services.fetch_weather.owm.client import (
    OwmAuthError,
    OwmClient,
    OwmClientOptions,
    OwmRateLimited,
    OwmRequestRejected,
    OwmUnavailable,
)
from services.fetch_weather.owm.transform import day_summary_records, onecall_records
from services.http_transport import AiohttpTransport, HttpTransport, proxy_configured
from tests.support.redis_server import free_port
from tests.support.servers import serve_in_thread
from weather_service.models.weather import WeatherUpsert

NOW = "2024-01-15T12:00:00Z"
KEY = "mock-owm-key"
FETCHED_AT = datetime(2024, 1, 15, 12, 0, 5, tzinfo=UTC)


Owm = Callable[..., AbstractAsyncContextManager[OwmClient]]


@pytest.fixture(params=["httpx-asgi", "aiohttp"])
def owm(request: pytest.FixtureRequest) -> Owm:
    """``async with owm(api_key=..., **mock_settings) as client``: a client of a fresh mock."""

    @asynccontextmanager
    async def open_client(
        api_key: str = KEY, timeout_s: float = 5.0, **settings: Any
    ) -> AsyncIterator[OwmClient]:
        app = create_app(MockOwmSettings.load(now=NOW, **settings))
        options = dict(api_key=api_key, timeout_s=timeout_s, retry_after_429_s=42.0)
        if request.param == "httpx-asgi":
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
                yield OwmClient(http, OwmClientOptions(base_url="http://mock-owm", **options))
            return
        with serve_in_thread(app) as base_url:
            transport: HttpTransport = AiohttpTransport(max_connections=4)
            try:
                yield OwmClient(transport, OwmClientOptions(base_url=base_url, **options))
            finally:
                await transport.aclose()

    return open_client


async def test_onecall_becomes_one_observed_and_48_forecast_records(owm: Owm) -> None:
    async with owm() as client:
        answer = await client.onecall(47.37, 8.54)
    records = onecall_records(answer, fetched_at=FETCHED_AT)
    assert [r["kind"] for r in records] == ["observed"] + ["forecast"] * 48
    assert records[0]["hour"] == "2024-01-15T12:00:00Z" == records[1]["hour"]
    assert records[-1]["hour"] == "2024-01-17T11:00:00Z"
    for record in records:
        assert record["precipitation_mm"] == pytest.approx(record["rain_mm"] + record["snow_mm"])
    assert {r["soil_moisture_m3m3"] for r in records} == {None}  # OWM reports none
    WeatherUpsert.model_validate({"records": records})  # the weather service accepts every record


async def test_day_summary_becomes_24_observed_hours_in_utc(owm: Owm) -> None:
    async with owm() as client:
        answer = await client.day_summary(47.37, 8.54, date(2024, 1, 13))
    records = day_summary_records(answer, fetched_at=FETCHED_AT)
    assert len(records) == 24 and {r["kind"] for r in records} == {"observed"}
    assert records[0]["hour"] == "2024-01-12T23:00:00Z"  # local midnight at UTC+1
    total = sum(r["precipitation_mm"] for r in records)
    assert total == pytest.approx(answer["precipitation"]["total"], abs=0.01)
    temps = {r["hour"][11:13]: r["temperature_c"] for r in records}
    assert temps["11"] == pytest.approx(answer["temperature"]["afternoon"], abs=0.01)
    assert {r["soil_moisture_m3m3"] for r in records} == {None}
    WeatherUpsert.model_validate({"records": records})


async def test_bad_key_is_permanent_and_names_the_problem(owm: Owm) -> None:
    async with owm(api_key="wrong") as client:
        with pytest.raises(OwmAuthError, match="HTTP 401: Invalid API key"):
            await client.onecall(47.37, 8.54)


async def test_bad_parameters_are_permanent(owm: Owm) -> None:
    async with owm() as client:
        with pytest.raises(OwmRequestRejected, match=r"HTTP 400.*parameters: lat"):
            await client.onecall(95.0, 8.54)


async def test_provider_429_waits_without_spending_an_attempt(owm: Owm) -> None:
    async with owm(rate_limit_per_minute=1) as client:
        await client.onecall(47.37, 8.54)
        with pytest.raises(OwmRateLimited) as info:
            await client.onecall(47.37, 8.54)
    assert info.value.retry_after_s == 42.0  # no Retry-After header: the configured default
    assert not info.value.from_header  # so the gate may wait less (the limiter's next permit)


async def test_retry_after_header_is_honoured(owm: Owm) -> None:
    async with owm(rate_429=1.0, retry_after_s=7) as client:
        with pytest.raises(OwmRateLimited) as info:
            await client.onecall(47.37, 8.54)
    assert info.value.retry_after_s == 7.0 and info.value.from_header


async def test_an_absurd_retry_after_is_capped_at_an_hour(owm: Owm) -> None:
    async with owm(rate_429=1.0, retry_after_s=10**7) as client:
        with pytest.raises(OwmRateLimited) as info:
            await client.onecall(47.37, 8.54)
    assert info.value.retry_after_s == MAX_RETRY_AFTER_S == 3600.0


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        ({"error_rate": 1.0}, r"HTTP 5\d\d"),
        ({"malformed_rate": 1.0}, "not valid JSON"),
    ],
)
async def test_server_errors_timeouts_and_garbage_are_transient(
    owm: Owm, fault: dict[str, Any], match: str
) -> None:
    async with owm(**fault) as client:
        with pytest.raises(OwmUnavailable, match=match):
            await client.onecall(47.37, 8.54)


@pytest.mark.parametrize("library", ["httpx", "aiohttp"])
async def test_a_hanging_provider_times_out_as_transient(library: str) -> None:
    app = create_app(MockOwmSettings.load(now=NOW, timeout_rate=1.0, timeout_s=5))
    with serve_in_thread(app) as base_url:
        async with AsyncExitStack() as stack:
            if library == "httpx":
                http: Any = await stack.enter_async_context(httpx.AsyncClient())
            else:
                http = AiohttpTransport(max_connections=1)
                stack.push_async_callback(http.aclose)
            client = OwmClient(
                http, OwmClientOptions(base_url=base_url, api_key=KEY, timeout_s=0.3)
            )
            with pytest.raises(OwmUnavailable, match=r"timed out after 0\.3 s"):
                await client.onecall(47.37, 8.54)


async def test_a_refused_connection_is_transient() -> None:
    transport = AiohttpTransport(max_connections=1)
    try:
        client = OwmClient(
            transport, OwmClientOptions(base_url=f"http://127.0.0.1:{free_port()}", api_key=KEY)
        )
        with pytest.raises(OwmUnavailable, match="ClientConnectorError"):
            await client.onecall(47.37, 8.54)
    finally:
        await transport.aclose()


def test_malformed_structures_are_transient() -> None:
    with pytest.raises(OwmUnavailable, match="lacks current or hourly"):
        onecall_records({"current": {}}, fetched_at=FETCHED_AT)
    with pytest.raises(OwmUnavailable, match="temperature_c"):
        onecall_records({"current": {"dt": 1, "temp": "warm"}, "hourly": []}, fetched_at=FETCHED_AT)
    with pytest.raises(OwmUnavailable, match="expected"):
        onecall_records(
            {"current": {"dt": 1, "temp": 1.0, "rain": 3}, "hourly": []}, fetched_at=FETCHED_AT
        )
    with pytest.raises(OwmUnavailable, match="day_summary lacks"):
        day_summary_records({"date": "2024-01-01"}, fetched_at=FETCHED_AT)


def test_proxy_settings_are_honoured_only_when_present() -> None:
    assert not proxy_configured({"PATH": "/usr/bin", "NO_PROXY": "localhost"})
    assert not proxy_configured({"HTTPS_PROXY": ""})
    assert proxy_configured({"HTTPS_PROXY": "http://proxy:3128"})
    assert proxy_configured({"http_proxy": "http://proxy:3128"})
