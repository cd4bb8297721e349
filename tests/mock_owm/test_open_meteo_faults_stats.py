"""/v1/forecast under the OWM endpoints' fault injection (Open-Meteo's error bodies), and what
GET /__stats counts of it."""

from __future__ import annotations

import json
import random

import httpx
import pytest

from mock_owm.stats import WeightedWindowPeak
from tests.mock_owm.conftest import KEY, ONECALL, ZURICH, FakeClock, mock_app_client, mock_client
from tests.mock_owm.open_meteo_support import FORECAST, ZURICH_OM


async def call(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(FORECAST, params={**ZURICH_OM, "hourly": "temperature_2m"})


async def test_injected_5xx_in_open_meteos_body() -> None:
    async with mock_client(error_rate=1.0, seed=3) as client:
        codes = set()
        for _ in range(20):
            response = await call(client)
            codes.add(response.status_code)
            body = response.json()
            assert body["error"] is True
            assert body["reason"] in {"Internal Server Error", "Bad Gateway",
                                      "Service Unavailable"}
        assert codes <= {500, 502, 503} and len(codes) > 1
        stats = (await client.get("/__stats")).json()
    assert stats["errors_injected"] == {"server_error": 20}
    om = stats["open_meteo"]["clients"]["ip:127.0.0.1"]
    assert (om["requests"], om["admitted"], om["calls_charged"]) == (20, 20, 0.0)


async def test_injected_429_is_not_a_quota_reason() -> None:
    async with mock_client(rate_429=1.0, retry_after_s=5) as client:
        response = await call(client)
    assert response.status_code == 429 and response.headers["retry-after"] == "5"
    assert response.json() == {"error": True, "reason": "Too many concurrent requests"}


async def test_malformed_answers_are_truncated_json_and_charged() -> None:
    async with mock_client(malformed_rate=1.0) as client:
        for _ in range(5):
            response = await call(client)
            assert response.status_code == 200
            with pytest.raises(json.JSONDecodeError):
                json.loads(response.content)
        stats = (await client.get("/__stats")).json()
    assert stats["errors_injected"] == {"malformed": 5}
    assert stats["open_meteo"]["calls_charged"] == 5.0  # the server did answer


async def test_timeouts_end_in_an_open_meteo_504() -> None:
    async with mock_client(timeout_rate=1.0, timeout_s=0.05) as client:
        response = await call(client)
    assert response.status_code == 504
    assert response.json() == {"error": True, "reason": "Gateway Timeout"}


async def test_faults_can_be_turned_on_at_run_time(client: httpx.AsyncClient) -> None:
    assert (await call(client)).status_code == 200
    await client.post("/__faults", json={"error_rate": 1.0})
    assert (await call(client)).status_code in (500, 502, 503)
    await client.post("/__faults/reset")
    assert (await call(client)).status_code == 200


async def test_stats_count_forecast_requests_beside_owm() -> None:
    async with mock_app_client() as (mock, client):
        mono = FakeClock()
        mock.monotonic = mono
        await client.get(ONECALL, params={**ZURICH, "appid": KEY})
        for _ in range(3):
            await call(client)
            mono.advance(1.0)
        await client.get(FORECAST, params={"latitude": 100, "longitude": 0})  # 400
        await client.get(FORECAST, params={**ZURICH_OM, "apikey": "k1", "forecast_days": 14,
                                           "hourly": ",".join(["temperature_2m", "rain", "showers",
                                                               "snowfall", "precipitation",
                                                               "cloud_cover", "is_day",
                                                               "weather_code", "snow_depth",
                                                               "dew_point_2m", "visibility",
                                                               "uv_index", "surface_pressure",
                                                               "pressure_msl", "rain"])})
        mono.advance(61.0)
        await call(client)
        await client.get("/v1/nothing")  # 404: counted as a status, not as a request
        stats = (await client.get("/__stats")).json()
    assert stats["requests_total"] == 7
    assert stats["requests_by_endpoint"] == {"onecall": 1, "forecast": 6}
    assert stats["requests_by_key"] == {KEY: 1}  # OWM keys only
    assert stats["status_codes"] == {"200": 6, "400": 1, "404": 1}
    om = stats["open_meteo"]
    # Four calls of 1, and 14 variables (15 names, one twice) over 14 days: 1.4.
    assert om["calls_charged"] == 5.4
    by_address = om["clients"]["ip:127.0.0.1"]
    assert (by_address["requests"], by_address["admitted"], by_address["rate_limited"]) == (5, 5, 0)
    assert by_address["max_in_any_60s"] == 4 and by_address["in_last_60s"] == 1
    assert by_address["calls_charged"] == 4.0
    assert by_address["max_calls_charged_in_any_60s"] == 3.0
    assert by_address["calls_charged_in_last_60s"] == 1.0
    assert om["clients"]["apikey:k1"]["calls_charged"] == 1.4


async def test_stats_reset_keeps_the_quota() -> None:
    async with mock_app_client(open_meteo_rate_limit_per_minute=1) as (mock, client):
        mock.wall_clock = FakeClock(19_737 * 86_400.0)
        assert (await call(client)).status_code == 200
        reset = (await client.post("/__stats/reset")).json()
        assert reset["open_meteo"] == {"calls_charged": 0.0, "rate_limited": {}, "clients": {}}
        assert (await call(client)).status_code == 429
        stats = (await client.get("/__stats")).json()
    assert stats["open_meteo"]["rate_limited"] == {"per_minute": 1}


def test_weighted_window_peak_is_exact() -> None:
    rnd = random.Random(2)
    events = sorted((rnd.uniform(0, 600), rnd.randint(140, 1400)) for _ in range(2000))
    peak = WeightedWindowPeak()
    for t, units in events:
        peak.add(t, units)
    brute = max(sum(u for s, u in events if t - 60 < s <= t) for t, _ in events)
    assert peak.peak == brute
    assert peak.current(10_000.0) == 0
