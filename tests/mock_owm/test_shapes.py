"""Field names, nesting, counts and omissions, checked against docs/owm-api.md (One Call 3.0)."""

from __future__ import annotations

import random
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from mock_owm.conditions import CONDITIONS
from tests.mock_owm.conftest import (
    DAY_SUMMARY,
    FIXED_NOW_S,
    KEY,
    OVERVIEW,
    TIMEMACHINE,
    ZURICH,
    onecall,
)

TOP = {"lat", "lon", "timezone", "timezone_offset", "current", "minutely", "hourly", "daily"}
WEATHER_ITEM = {"id", "main", "description", "icon"}
CURRENT = {"dt", "sunrise", "sunset", "temp", "feels_like", "pressure", "humidity", "dew_point",
           "uvi", "clouds", "visibility", "wind_speed", "wind_deg", "weather"}
HOURLY = (CURRENT - {"sunrise", "sunset"}) | {"pop"}
DAILY = {"dt", "sunrise", "sunset", "moonrise", "moonset", "moon_phase", "summary", "temp",
         "feels_like", "pressure", "humidity", "dew_point", "wind_speed", "wind_deg", "weather",
         "clouds", "pop", "uvi"}
DAILY_TEMP = {"day", "min", "max", "night", "eve", "morn"}
DAILY_FEELS = {"day", "night", "eve", "morn"}
OPTIONAL = {"wind_gust", "rain", "snow"}
ALERT = {"sender_name", "event", "start", "end", "description", "tags"}


def places(n: int, seed: int = 7) -> list[dict[str, float]]:
    rnd = random.Random(seed)
    return [{"lat": round(rnd.uniform(-60, 70), 4), "lon": round(rnd.uniform(-180, 180), 4)}
            for _ in range(n)]


def check_weather(items: list[dict[str, Any]]) -> None:
    assert items, "weather must hold at least the primary condition"
    for item in items:
        assert set(item) == WEATHER_ITEM
        assert item["id"] in CONDITIONS
        assert item["main"] == CONDITIONS[item["id"]].main
        assert item["icon"][-1] in "dn" and item["icon"][:2] == CONDITIONS[item["id"]].icon


def check_entry(entry: dict[str, Any], required: set[str]) -> None:
    assert required <= set(entry) <= required | OPTIONAL, set(entry) ^ required
    for key in ("rain", "snow"):
        if key in entry:
            value = entry[key]
            if "moon_phase" in required:  # daily: plain numbers
                assert isinstance(value, float | int) and value > 0
            else:
                assert set(value) == {"1h"} and value["1h"] > 0
    if "wind_gust" in entry:
        assert entry["wind_gust"] > 0
    assert 0 <= entry["humidity"] <= 100 and 0 <= entry["clouds"] <= 100
    check_weather(entry["weather"])


async def test_top_level_and_counts(client: httpx.AsyncClient) -> None:
    body = await onecall(client, **ZURICH)
    assert TOP <= set(body) <= TOP | {"alerts"}
    assert (len(body["minutely"]), len(body["hourly"]), len(body["daily"])) == (61, 48, 8)
    assert body["lat"] == ZURICH["lat"] and body["lon"] == ZURICH["lon"]


async def test_entries_have_exact_keys_and_leave_out_what_did_not_happen(
        client: httpx.AsyncClient) -> None:
    seen: dict[str, set[bool]] = {"rain": set(), "snow": set(), "wind_gust": set(),
                                  "daily_rain": set(), "alerts": set()}
    for place in places(40):
        body = await onecall(client, **place)
        check_entry(body["current"], CURRENT if "sunrise" in body["current"] else CURRENT - {
            "sunrise", "sunset"})
        for entry in body["minutely"]:
            assert set(entry) == {"dt", "precipitation"} and entry["precipitation"] >= 0
        for entry in body["hourly"]:
            check_entry(entry, HOURLY)
            assert 0.0 <= entry["pop"] <= 1.0
            seen["rain"].add("rain" in entry)
            seen["snow"].add("snow" in entry)
            seen["wind_gust"].add("wind_gust" in entry)
        for entry in body["daily"]:
            check_entry(entry, DAILY)
            assert set(entry["temp"]) == DAILY_TEMP and set(entry["feels_like"]) == DAILY_FEELS
            assert entry["temp"]["min"] <= entry["temp"]["day"] <= entry["temp"]["max"]
            seen["daily_rain"].add("rain" in entry)
        seen["alerts"].add("alerts" in body)
        for alert in body.get("alerts", []):
            assert set(alert) == ALERT and alert["start"] < alert["end"]
            assert isinstance(alert["tags"], list)
    # Both cases occur: the keys are there when something happened and left out otherwise.
    assert all(flags == {True, False} for flags in seen.values()), seen


async def test_time_fields(client: httpx.AsyncClient) -> None:
    body = await onecall(client, **ZURICH)
    assert body["current"]["dt"] == FIXED_NOW_S
    minutes = [m["dt"] for m in body["minutely"]]
    assert minutes[0] == (FIXED_NOW_S // 60 + 1) * 60
    assert all(b - a == 60 for a, b in pairwise(minutes))
    hours = [h["dt"] for h in body["hourly"]]
    assert hours[0] == FIXED_NOW_S // 3600 * 3600
    assert all(b - a == 3600 for a, b in pairwise(hours))
    offset = body["timezone_offset"]
    today = (FIXED_NOW_S + offset) // 86400
    assert [(d["dt"] + offset) // 86400 for d in body["daily"]] == [today + n for n in range(8)]
    for day in body["daily"]:
        assert day["sunrise"] < day["dt"] < day["sunset"]  # dt is around midday
        assert all(isinstance(day[k], int) for k in ("dt", "sunrise", "sunset", "moonrise"))
        assert 0.0 <= day["moon_phase"] <= 1.0


@pytest.mark.parametrize(("lon", "zone", "offset_s"), [
    (8.5417, "Etc/GMT-1", 3600),
    (-122.42, "Etc/GMT+8", -8 * 3600),
    (7.4999, "Etc/GMT", 0),
    (7.5, "Etc/GMT-1", 3600),
    (179.99, "Etc/GMT-12", 12 * 3600),
    (-180.0, "Etc/GMT+12", -12 * 3600),
])
async def test_timezone_from_longitude(client: httpx.AsyncClient, lon: float, zone: str,
                                       offset_s: int) -> None:
    body = await onecall(client, lat=10.0, lon=lon, exclude="minutely,hourly,daily")
    assert (body["timezone"], body["timezone_offset"]) == (zone, offset_s)
    tz = ZoneInfo(body["timezone"])
    assert tz.utcoffset(None) is not None  # a real IANA zone a client can load
    assert int(tz.utcoffset(None).total_seconds()) == offset_s  # type: ignore[union-attr]


async def test_coordinates_are_echoed_rounded_to_four_decimals(client: httpx.AsyncClient) -> None:
    body = await onecall(client, lat="47.376912345", lon="-8.00004999", exclude="minutely,hourly")
    assert (body["lat"], body["lon"]) == (47.3769, -8.0)


async def test_icons_follow_the_sun(client: httpx.AsyncClient) -> None:
    body = await onecall(client, **ZURICH)
    suffixes = {h["weather"][0]["icon"][-1] for h in body["hourly"]}
    assert suffixes == {"d", "n"}
    for day in body["daily"]:
        assert day["weather"][0]["icon"].endswith("d")


@pytest.mark.parametrize("lat", [80.0, -80.0])  # polar night and polar day in January
async def test_polar_days_leave_out_sunrise_and_sunset(client: httpx.AsyncClient,
                                                       lat: float) -> None:
    body = await onecall(client, lat=lat, lon=15.0)
    assert "sunrise" not in body["current"] and "sunset" not in body["current"]
    for day in body["daily"]:
        check_entry(day, DAILY - {"sunrise", "sunset"})


async def test_daily_dt_is_a_whole_hour_about_local_midday(client: httpx.AsyncClient) -> None:
    for place in [*places(40), {"lat": 10.0, "lon": 180.0}, {"lat": 10.0, "lon": -180.0}]:
        body = await onecall(client, **place, exclude="current,minutely,hourly,alerts")
        offset = body["timezone_offset"]
        for day in body["daily"]:
            assert day["dt"] % 3600 == 0, (place, day["dt"])
            assert (day["dt"] + offset) % 86_400 // 3600 in (11, 12, 13), place


async def test_timemachine_shape(client: httpx.AsyncClient) -> None:
    response = await client.get(TIMEMACHINE, params={**ZURICH, "dt": FIXED_NOW_S - 86_400,
                                                     "appid": KEY})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"lat", "lon", "timezone", "timezone_offset", "data"}
    assert len(body["data"]) == 1
    check_entry(body["data"][0], CURRENT)
    assert body["data"][0]["dt"] == FIXED_NOW_S - 86_400


async def test_day_summary_shape(client: httpx.AsyncClient) -> None:
    response = await client.get(DAY_SUMMARY, params={**ZURICH, "date": "2024-01-10",
                                                     "appid": KEY})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"lat", "lon", "tz", "date", "units", "cloud_cover", "humidity",
                         "precipitation", "temperature", "pressure", "wind"}
    assert (body["tz"], body["date"], body["units"]) == ("+01:00", "2024-01-10", "standard")
    assert set(body["cloud_cover"]) == set(body["humidity"]) == set(body["pressure"]) == {
        "afternoon"}
    assert set(body["precipitation"]) == {"total"}
    assert set(body["temperature"]) == {"min", "max", "afternoon", "night", "evening", "morning"}
    assert set(body["wind"]) == {"max"} and set(body["wind"]["max"]) == {"speed", "direction"}


async def test_overview_shape(client: httpx.AsyncClient) -> None:
    response = await client.get(OVERVIEW, params={**ZURICH, "appid": KEY, "units": "metric"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"lat", "lon", "tz", "date", "units", "weather_overview"}
    assert (body["tz"], body["date"], body["units"]) == ("+01:00", "2024-01-15", "metric")
    assert "°C" in body["weather_overview"]
    tomorrow = await client.get(OVERVIEW, params={**ZURICH, "appid": KEY, "date": "2024-01-16"})
    assert tomorrow.status_code == 200 and tomorrow.json()["date"] == "2024-01-16"
