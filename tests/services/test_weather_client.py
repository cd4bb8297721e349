"""The weather-service client against the real app in process, and its error translation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from etl_core.errors import PermanentError, TransientError
from services.weather_client import (
    WeatherClientOptions,
    WeatherServiceAuthError,
    WeatherServiceClient,
    WeatherServiceNotFound,
    WeatherServiceRejected,
    WeatherServiceUnavailable,
)
from services.weather_reads import WeatherReads
from tests.services.conftest import WS_BASE, WeatherService, trail


def _record(location_id: str, hour: datetime) -> dict[str, object]:
    return {
        "location_id": location_id,
        "hour": hour.isoformat(),
        "kind": "observed",
        "temperature_c": 5.0,
        "source": "test",
        "fetched_at": datetime.now(UTC).isoformat(),
    }


async def test_locations_page_by_page(weather: WeatherService) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(7)])
    pages = [page async for page in weather.client.location_pages(page_size=3)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert {loc["id"] for p in pages for loc in p} == {trail(n)["id"] for n in range(7)}


async def test_weather_round_trip_pages_through(weather: WeatherService) -> None:
    await weather.client.upsert_locations([trail(1), trail(2)])
    base = datetime(2026, 11, 1, tzinfo=UTC)
    records = [_record(trail(n)["id"], base + timedelta(hours=h)) for n in (1, 2) for h in range(6)]
    result = await weather.client.upsert_weather(records)
    assert result["written"] == 12
    got = await weather.client.weather_records(
        "trail-0001", start=base, end=base + timedelta(hours=4), kind="observed"
    )
    assert len(got) == 4


async def test_batched_reads_ask_for_only_the_fields_each_reader_names(
    weather: WeatherService,
) -> None:
    await weather.client.upsert_locations([trail(1), trail(2)])
    base = datetime(2026, 11, 1, tzinfo=UTC)
    await weather.client.upsert_weather([_record(trail(n)["id"], base) for n in (1, 2)])
    reads = WeatherReads(weather.client, max_wait_s=0.05)
    window = {"start": base, "end": base + timedelta(hours=1)}
    try:
        sparse, full, other = await asyncio.gather(
            reads.location_weather("trail-0001", **window, fields=["temperature_c", "hour"]),
            reads.location_weather("trail-0002", **window),
            reads.location_weather("trail-0002", **window, fields=["kind"]),
        )
    finally:
        await reads.aclose()
    assert sparse.records == [{"hour": "2026-11-01T00:00:00Z", "temperature_c": 5.0}]
    assert other.records == [{"kind": "observed"}]
    [record] = full.records
    assert record["location_id"] == "trail-0002"
    assert record["source"] == "test"
    assert sparse.location["id"] == "trail-0001"


async def test_errors_are_translated(weather: WeatherService) -> None:
    with pytest.raises(WeatherServiceNotFound):
        await weather.client.get_location("nope")
    with pytest.raises(WeatherServiceRejected, match=r"records\.0\.location_id"):
        await weather.client.upsert_weather([_record("unknown", datetime(2026, 11, 1, tzinfo=UTC))])
    keyless = WeatherServiceClient(
        weather.http, WeatherClientOptions(base_url=WS_BASE, api_key="wrong-key-0123456789")
    )
    with pytest.raises(WeatherServiceAuthError, match="WEATHER_SERVICE_API_KEY"):
        await keyless.upsert_locations([trail(1)])


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_transient_with_retry_after(status: int) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"detail": "down"}, headers={"Retry-After": "7"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = WeatherServiceClient(http, WeatherClientOptions(base_url="http://ws"))
        with pytest.raises(WeatherServiceUnavailable) as info:
            await client.get_location("x")
    assert isinstance(info.value, TransientError)
    assert info.value.retry_after_s == 7.0


async def test_connection_errors_are_transient() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = WeatherServiceClient(http, WeatherClientOptions(base_url="http://ws"))
        with pytest.raises(TransientError):
            await client.get_location("x")
    assert not issubclass(WeatherServiceUnavailable, PermanentError)
