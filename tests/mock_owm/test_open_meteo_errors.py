"""Every 400 of /v1/forecast names its parameter, in Open-Meteo's body; so do the framework's own
errors under /v1/, while the OWM paths keep OWM's body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.mock_owm.conftest import mock_app_client, mock_client
from tests.mock_owm.open_meteo_support import FORECAST, ZURICH_OM


async def refused(client: httpx.AsyncClient, **params: Any) -> str:
    response = await client.get(FORECAST, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "reason"} and body["error"] is True
    reason: str = body["reason"]
    return reason


def names(reason: str, parameter: str) -> bool:
    """Open-Meteo writes some names as words ("Past days"), others as keys ("past_days")."""
    return parameter.replace("_", " ") in reason.lower().replace("_", " ")


@pytest.mark.parametrize(("params", "parameter"), [
    ({"latitude": 91, "longitude": 8.5}, "latitude"),
    ({"latitude": -90.5, "longitude": 8.5}, "latitude"),
    ({"latitude": "abc", "longitude": 8.5}, "latitude"),
    ({"latitude": "nan", "longitude": 8.5}, "latitude"),
    ({"latitude": "1e999", "longitude": 8.5}, "latitude"),
    ({"longitude": 8.5}, "latitude"),
    ({"latitude": 47.3, "longitude": 180.01}, "longitude"),
    ({"latitude": 47.3, "longitude": " 8.5"}, "longitude"),
    ({"latitude": "47.3,46.1", "longitude": "8.5"}, "longitude"),
])
async def test_bad_coordinates(client: httpx.AsyncClient, params: dict[str, Any],
                               parameter: str) -> None:
    assert names(await refused(client, **params), parameter)


async def test_latitude_reason_is_open_meteos(client: httpx.AsyncClient) -> None:
    reason = await refused(client, latitude=91, longitude=0)
    assert reason == "Latitude must be in range of -90 to 90°. Given: 91.0."


@pytest.mark.parametrize("hourly", ["temperature_3m", "temperature_2m,Rain", "rain,,snowfall",
                                    "x" * 500])
async def test_an_unknown_variable_is_named_with_hourly(client: httpx.AsyncClient,
                                                        hourly: str) -> None:
    reason = await refused(client, **ZURICH_OM, hourly=hourly)
    bad = next(n for n in hourly.split(",") if n not in ("temperature_2m", "rain", "snowfall"))
    assert bad[:64] in reason and "hourly" in reason
    assert len(reason) < 200  # a long value is not echoed whole


@pytest.mark.parametrize(("parameter", "value"), [
    ("past_days", 93), ("past_days", -1), ("past_days", "two"), ("past_days", "1.5"),
    ("forecast_days", 17), ("forecast_days", ""),
    ("timezone", "Mars/Olympus_Mons"), ("timezone", "Etc/GMT-15"), ("timezone", "localtime"),
    ("timezone", "../../etc/passwd"), ("timezone", "gmt"),
    ("timeformat", "rfc3339"), ("temperature_unit", "kelvin"), ("wind_speed_unit", "kph"),
    ("precipitation_unit", "cm"),
    ("daily", "temperature_2m_max"), ("current", "temperature_2m"),
    ("start_date", "2024-01-01"),
])
async def test_a_bad_value_is_named(client: httpx.AsyncClient, parameter: str,
                                    value: Any) -> None:
    assert names(await refused(client, **ZURICH_OM, **{parameter: value}), parameter)


async def test_day_ranges_are_open_meteos(client: httpx.AsyncClient) -> None:
    assert await refused(client, **ZURICH_OM, past_days=93) == (
        "Past days is invalid. Allowed range 0 to 92. Given 93.")
    assert await refused(client, **ZURICH_OM, forecast_days=17) == (
        "Forecast days is invalid. Allowed range 0 to 16. Given 17.")
    assert await refused(client, **ZURICH_OM, timezone="Nowhere") == "Invalid timezone"


async def test_at_most_1000_places(client: httpx.AsyncClient) -> None:
    many = ",".join(["1.5"] * 1001)
    assert names(await refused(client, latitude=many, longitude=many), "latitude")


async def test_a_wrong_apikey_is_a_400_when_keys_are_configured() -> None:
    async with mock_client(open_meteo_api_keys="om-key-1,om-key-2") as client:
        assert await refused(client, **ZURICH_OM, apikey="nope") == (
            "The supplied API key is invalid.")
        assert (await client.get(FORECAST, params={**ZURICH_OM, "apikey": "om-key-2"})
                ).status_code == 200
        # Without a key it is the free API, which needs none.
        assert (await client.get(FORECAST, params=ZURICH_OM)).status_code == 200
        stats = (await client.get("/__stats")).json()
    assert set(stats["open_meteo"]["clients"]) == {"apikey:om-key-2", "ip:127.0.0.1"}


async def test_without_configured_keys_any_reasonable_key_is_accepted(
        client: httpx.AsyncClient) -> None:
    for apikey in ("anything", "k" * 128):
        assert (await client.get(FORECAST, params={**ZURICH_OM, "apikey": apikey})
                ).status_code == 200
    assert await refused(client, **ZURICH_OM, apikey="k" * 129) == (
        "The supplied API key is invalid.")


async def test_framework_errors_under_v1_have_open_meteos_body(client: httpx.AsyncClient) -> None:
    response = await client.post(FORECAST, params=ZURICH_OM)
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert response.json() == {"error": True, "reason": "Method Not Allowed"}
    for path in ("/v1/archive", "/v1/", "/v1/forecast/extra"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": True, "reason": "Not Found"}
    owm = await client.get("/data/3.0/unknown")
    assert owm.json()["cod"] == 404  # the OWM paths keep OWM's body


async def test_a_bug_in_the_mock_is_an_open_meteo_500() -> None:
    async with mock_app_client() as (mock, client):

        def broken(*args: Any, **kwargs: Any) -> bytes:
            raise RuntimeError("boom")

        mock.open_meteo.forecast = broken  # type: ignore[method-assign]
        response = await client.get(FORECAST, params=ZURICH_OM)
        assert response.status_code == 500
        assert response.json() == {"error": True, "reason": "Internal Server Error"}
        stats = (await client.get("/__stats")).json()
    assert stats["status_codes"] == {"500": 1}
    assert stats["open_meteo"]["calls_charged"] == 0.0  # a failed call is not charged


async def test_a_400_is_not_charged(client: httpx.AsyncClient) -> None:
    await refused(client, **ZURICH_OM, hourly="nope")
    stats = (await client.get("/__stats")).json()
    client_stats = stats["open_meteo"]["clients"]["ip:127.0.0.1"]
    assert (client_stats["requests"], client_stats["admitted"]) == (1, 1)
    assert client_stats["calls_charged"] == 0.0
