"""GET /v1/forecast: the answer's fields, series lengths and times, units, several places."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import pytest

from mock_owm.open_meteo_openapi import FORECAST_ANSWER
from mock_owm.wmo import OPEN_METEO_CODES
from tests.mock_owm.conftest import FIXED_NOW_S, MockClientFactory
from tests.mock_owm.open_meteo_support import (
    ALL_VARIABLES,
    FORECAST,
    ZURICH_OM,
    forecast,
)

TOP_LEVEL = ["latitude", "longitude", "generationtime_ms", "utc_offset_seconds", "timezone",
             "timezone_abbreviation", "elevation", "hourly_units", "hourly"]


async def test_default_answer_is_seven_days_from_local_midnight_in_gmt(
        client: httpx.AsyncClient) -> None:
    body = await forecast(client, hourly="temperature_2m,precipitation")
    assert list(body) == TOP_LEVEL
    assert (body["timezone"], body["timezone_abbreviation"], body["utc_offset_seconds"]) == (
        "GMT", "GMT", 0)
    assert body["latitude"] == pytest.approx(ZURICH_OM["latitude"], abs=1e-4)
    assert body["longitude"] == pytest.approx(ZURICH_OM["longitude"], abs=1e-4)
    assert isinstance(body["elevation"], float) and body["generationtime_ms"] >= 0
    assert body["hourly_units"] == {"time": "iso8601", "temperature_2m": "°C",
                                    "precipitation": "mm"}
    hourly = body["hourly"]
    assert list(hourly) == ["time", "temperature_2m", "precipitation"]
    assert all(len(values) == 7 * 24 for values in hourly.values())
    assert hourly["time"][:3] == ["2024-01-15T00:00", "2024-01-15T01:00", "2024-01-15T02:00"]
    assert hourly["time"][-1] == "2024-01-21T23:00"
    jsonschema.validate(body, FORECAST_ANSWER)


@pytest.mark.parametrize(("past_days", "forecast_days"), [(0, 1), (3, 2), (92, 0), (0, 16),
                                                         (1, 0), (0, 0)])
async def test_past_and_forecast_days_make_one_series(
        client: httpx.AsyncClient, past_days: int, forecast_days: int) -> None:
    body = await forecast(client, hourly="temperature_2m,snowfall", past_days=past_days,
                          forecast_days=forecast_days, timeformat="unixtime")
    times = body["hourly"]["time"]
    assert len(times) == len(body["hourly"]["snowfall"]) == (past_days + forecast_days) * 24
    today_midnight = FIXED_NOW_S - FIXED_NOW_S % 86_400
    assert times == list(range(today_midnight - past_days * 86_400,
                               today_midnight + forecast_days * 86_400, 3_600))


async def test_times_are_local_to_the_timezone_without_an_offset(
        client: httpx.AsyncClient) -> None:
    iso = await forecast(client, hourly="temperature_2m", timezone="Etc/GMT-14", forecast_days=1)
    unix = await forecast(client, hourly="temperature_2m", timezone="Etc/GMT-14", forecast_days=1,
                          timeformat="unixtime")
    assert iso["utc_offset_seconds"] == unix["utc_offset_seconds"] == 14 * 3600
    assert iso["timezone_abbreviation"] == "GMT+14"
    # 12:00 UTC on the 15th is 02:00 on the 16th at UTC+14: its local today is the 16th.
    assert iso["hourly"]["time"][0] == "2024-01-16T00:00"
    assert unix["hourly_units"]["time"] == "unixtime"
    assert unix["hourly"]["time"][0] == int(datetime(2024, 1, 15, 10, tzinfo=UTC).timestamp())
    assert iso["hourly"]["temperature_2m"] == unix["hourly"]["temperature_2m"]
    west = await forecast(client, hourly="temperature_2m", timezone="Etc/GMT+12",
                          forecast_days=1)
    assert west["utc_offset_seconds"] == -12 * 3600 and west["hourly"]["time"][0].startswith(
        "2024-01-15T00")


async def test_iana_zones_use_their_offset_at_now(client: httpx.AsyncClient) -> None:
    try:
        zoneinfo.ZoneInfo("Europe/Berlin")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database on this host")
    berlin = await forecast(client, timezone="Europe/Berlin")
    assert (berlin["timezone"], berlin["utc_offset_seconds"], berlin["timezone_abbreviation"]) == (
        "Europe/Berlin", 3600, "CET")
    sao_paulo = await forecast(client, timezone="America/Sao_Paulo")
    assert sao_paulo["utc_offset_seconds"] == -3 * 3600
    assert sao_paulo["timezone_abbreviation"] == "GMT-3"
    kolkata = await forecast(client, timezone="Asia/Kolkata", hourly="temperature_2m",
                             timeformat="unixtime", forecast_days=1)
    assert kolkata["utc_offset_seconds"] == 19_800
    assert kolkata["hourly"]["time"][0] % 3600 == 1800  # local midnight is a UTC half hour
    utc = await forecast(client, timezone="UTC")
    assert (utc["timezone"], utc["utc_offset_seconds"]) == ("UTC", 0)


async def test_without_hourly_there_is_no_series(client: httpx.AsyncClient) -> None:
    body = await forecast(client)
    assert list(body) == TOP_LEVEL[:7]


async def test_every_variable_is_in_range(client: httpx.AsyncClient) -> None:
    body = await forecast(client, hourly=ALL_VARIABLES, past_days=2, forecast_days=16,
                          timezone="auto")
    hourly = body["hourly"]
    names = ALL_VARIABLES.split(",")
    assert list(hourly) == ["time", *names] and list(body["hourly_units"]) == ["time", *names]
    assert {len(values) for values in hourly.values()} == {18 * 24}
    units = body["hourly_units"]
    assert units["snowfall"] == "cm" and units["snow_depth"] == "m"
    assert units["weather_code"] == "wmo code" and units["soil_moisture_0_to_1cm"] == "m³/m³"
    assert units["wind_speed_10m"] == units["wind_gusts_10m"] == "km/h"
    assert units["is_day"] == "" and units["wind_direction_10m"] == "°"
    assert all(0 <= v <= 100 for v in hourly["relative_humidity_2m"] + hourly["cloud_cover"])
    assert all(0 <= v <= 100 for v in hourly["precipitation_probability"])
    assert set(hourly["is_day"]) == {0, 1}
    assert set(hourly["weather_code"]) <= OPEN_METEO_CODES
    for layer in ("soil_moisture_0_to_1cm", "soil_moisture_1_to_3cm", "soil_moisture_3_to_9cm"):
        assert all(0.05 <= v <= 0.5 for v in hourly[layer])
    for name in ("precipitation", "rain", "showers", "snowfall", "snow_depth", "wind_speed_10m"):
        assert min(hourly[name]) >= 0.0, name
    # A label's gust is the hour before it, at least that hour's wind.
    assert all(g >= w for g, w in zip(hourly["wind_gusts_10m"][1:], hourly["wind_speed_10m"],
                                      strict=False))
    for precipitation, rain, showers, snowfall in zip(
            hourly["precipitation"], hourly["rain"], hourly["showers"], hourly["snowfall"],
            strict=True):
        assert precipitation == pytest.approx(rain + showers + snowfall / 7 * 10, abs=0.011)
    assert all(-90 < t < 60 for t in hourly["temperature_2m"] + hourly["soil_temperature_0cm"])
    assert all(d <= t + 1e-9 for d, t in zip(hourly["dew_point_2m"], hourly["temperature_2m"],
                                             strict=True))


async def test_repeated_hourly_parameters_are_one_list(client: httpx.AsyncClient) -> None:
    response = await client.get(FORECAST, params=[
        ("latitude", "47.3769"), ("longitude", "8.5417"), ("hourly", "temperature_2m"),
        ("hourly", "rain,temperature_2m"), ("forecast_days", "1")])
    assert response.status_code == 200
    assert list(response.json()["hourly"]) == ["time", "temperature_2m", "rain"]


async def test_unit_conversions(client: httpx.AsyncClient) -> None:
    names = "temperature_2m,dew_point_2m,wind_speed_10m,precipitation,snowfall,snow_depth"
    place = {"latitude": 39.74, "longitude": -104.99}  # snow on the ground and falling
    metric = await forecast(client, **place, hourly=names, wind_speed_unit="ms", past_days=2)
    imperial = await forecast(client, **place, hourly=names, temperature_unit="fahrenheit",
                              wind_speed_unit="mph", precipitation_unit="inch", past_days=2)
    kmh = await forecast(client, **place, hourly="wind_speed_10m", past_days=2)
    knots = await forecast(client, **place, hourly="wind_speed_10m", wind_speed_unit="kn",
                           past_days=2)
    assert imperial["hourly_units"] == {"time": "iso8601", "temperature_2m": "°F",
                                        "dew_point_2m": "°F", "wind_speed_10m": "mp/h",
                                        "precipitation": "inch", "snowfall": "inch",
                                        "snow_depth": "ft"}
    assert metric["hourly_units"]["wind_speed_10m"] == "m/s"
    assert knots["hourly_units"]["wind_speed_10m"] == "kn"
    m, i = metric["hourly"], imperial["hourly"]
    assert max(m["snow_depth"]) > 0 and max(m["snowfall"]) > 0
    for k in range(len(m["time"])):
        assert i["temperature_2m"][k] == pytest.approx(m["temperature_2m"][k] * 1.8 + 32, abs=0.15)
        assert i["wind_speed_10m"][k] == pytest.approx(m["wind_speed_10m"][k] * 2.2369, abs=0.07)
        assert kmh["hourly"]["wind_speed_10m"][k] == pytest.approx(m["wind_speed_10m"][k] * 3.6,
                                                                   abs=0.07)
        assert knots["hourly"]["wind_speed_10m"][k] == pytest.approx(
            m["wind_speed_10m"][k] * 1.9438, abs=0.07)
        assert i["precipitation"][k] == pytest.approx(m["precipitation"][k] / 25.4, abs=0.0007)
        assert i["snowfall"][k] == pytest.approx(m["snowfall"][k] / 2.54, abs=0.003)
        assert i["snow_depth"][k] == pytest.approx(m["snow_depth"][k] / 0.3048, abs=0.03)


async def test_several_places_give_an_array_in_their_order(client: httpx.AsyncClient) -> None:
    body = await forecast(client, latitude="47.3769,-41.29,61.2181",
                          longitude="8.5417,174.78,-149.9003", hourly="temperature_2m",
                          forecast_days=1, timezone="auto")
    assert isinstance(body, list) and len(body) == 3
    assert [(b["latitude"], b["longitude"]) for b in body] == [
        (47.3769, 8.5417), (-41.29, 174.78), (61.2181, -149.9003)]
    assert [b["utc_offset_seconds"] for b in body] == [3600, 12 * 3600, -10 * 3600]
    one = await forecast(client, latitude="-41.29", longitude="174.78", hourly="temperature_2m",
                         forecast_days=1, timezone="auto")
    assert body[1]["hourly"] == one["hourly"]
    jsonschema.validate(body, FORECAST_ANSWER)


async def test_same_request_same_weather_in_two_instances(
        make_client: MockClientFactory) -> None:
    params: dict[str, Any] = {**ZURICH_OM, "hourly": ALL_VARIABLES, "past_days": 5}
    async with make_client() as first, make_client() as second:
        a = (await first.get(FORECAST, params=params)).json()
        b = (await second.get(FORECAST, params=params)).json()
    del a["generationtime_ms"], b["generationtime_ms"]
    assert a == b
