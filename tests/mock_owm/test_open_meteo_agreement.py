"""Open-Meteo's and OpenWeatherMap's answers of the mock describe the same weather: instant values
at the same hour, preceding-hour sums one hour later, the same zone for ``timezone=auto``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mock_owm.wmo import WMO_BY_OWM_ID
from tests.mock_owm.conftest import FIXED_NOW_S, KEY, TIMEMACHINE, onecall
from tests.mock_owm.open_meteo_support import AGREEMENT_PLACES, forecast, om_place

INSTANT = "temperature_2m,dew_point_2m,relative_humidity_2m,cloud_cover,wind_speed_10m"
PRECEDING = "precipitation,rain,showers,snowfall,weather_code,wind_gusts_10m"


async def _both(client: httpx.AsyncClient, place: dict[str, float]) -> tuple[
        list[dict[str, Any]], dict[str, Any]]:
    owm = await onecall(client, **place, units="metric")
    om = await forecast(client, **om_place(place), hourly=f"{INSTANT},{PRECEDING}",
                        forecast_days=3, timeformat="unixtime", wind_speed_unit="ms")
    return owm["hourly"], om["hourly"]


@pytest.mark.parametrize("place", AGREEMENT_PLACES)
async def test_instant_values_agree_at_the_same_hour(client: httpx.AsyncClient,
                                                     place: dict[str, float]) -> None:
    owm_hours, om = await _both(client, place)
    for hour in owm_hours:
        k = om["time"].index(hour["dt"])
        assert om["temperature_2m"][k] == pytest.approx(hour["temp"], abs=0.051)
        assert om["dew_point_2m"][k] == pytest.approx(hour["dew_point"], abs=0.051)
        assert om["relative_humidity_2m"][k] == hour["humidity"]
        assert om["cloud_cover"][k] == hour["clouds"]
        assert om["wind_speed_10m"][k] == pytest.approx(hour["wind_speed"], abs=0.0051)


@pytest.mark.parametrize("place", AGREEMENT_PLACES)
async def test_an_owm_hour_is_open_meteos_next_label(client: httpx.AsyncClient,
                                                    place: dict[str, float]) -> None:
    """OWM's ``rain.1h`` of the hour starting at H is Open-Meteo's sum at H + 1 h."""
    owm_hours, om = await _both(client, place)
    for hour in owm_hours:
        k = om["time"].index(hour["dt"] + 3600)
        rain = hour.get("rain", {}).get("1h", 0.0)
        snow = hour.get("snow", {}).get("1h", 0.0)
        assert om["precipitation"][k] == pytest.approx(rain + snow, abs=1e-9)
        assert om["rain"][k] + om["showers"][k] == pytest.approx(rain, abs=1e-9)
        assert om["snowfall"][k] == pytest.approx(round(snow * 0.7, 2), abs=1e-9)
        assert om["weather_code"][k] == WMO_BY_OWM_ID[hour["weather"][0]["id"]]
        assert om["wind_gusts_10m"][k] == pytest.approx(
            max(hour.get("wind_gust", 0.0), hour["wind_speed"]), abs=0.0051)


async def test_the_places_cover_rain_snow_and_showers(client: httpx.AsyncClient) -> None:
    """The agreement above is not vacuous: the places' 48 hours hold every kind of amount."""
    totals = {"rain": 0.0, "showers": 0.0, "snowfall": 0.0}
    for place in AGREEMENT_PLACES:
        _, om = await _both(client, place)
        for name in totals:
            totals[name] += sum(om[name][:49])
    assert all(total > 0.5 for total in totals.values()), totals


@pytest.mark.parametrize("lon", [-179.9, -104.99, -7.6, 0.0, 7.4, 8.5417, 97.0, 174.78, 180.0])
async def test_timezone_auto_is_the_owm_zone(client: httpx.AsyncClient, lon: float) -> None:
    owm = await onecall(client, lat=45.0, lon=lon, exclude="minutely,hourly,daily,alerts")
    om = await forecast(client, latitude=45.0, longitude=lon, timezone="auto",
                        hourly="temperature_2m", forecast_days=1, timeformat="unixtime")
    assert om["utc_offset_seconds"] == owm["timezone_offset"]
    assert om["timezone"] == owm["timezone"]
    local_midnight = om["hourly"]["time"][0] + om["utc_offset_seconds"]
    assert local_midnight % 86_400 == 0
    assert local_midnight // 86_400 == (FIXED_NOW_S + owm["timezone_offset"]) // 86_400


async def test_past_days_agree_with_timemachine(client: httpx.AsyncClient) -> None:
    om = await forecast(client, hourly="temperature_2m,cloud_cover", past_days=3,
                        forecast_days=0, timeformat="unixtime")
    for k in range(0, 72, 7):
        dt = om["hourly"]["time"][k]
        response = await client.get(TIMEMACHINE, params={"lat": 47.3769, "lon": 8.5417, "dt": dt,
                                                         "appid": KEY, "units": "metric"})
        past = response.json()["data"][0]
        assert om["hourly"]["temperature_2m"][k] == pytest.approx(past["temp"], abs=0.051)
        assert om["hourly"]["cloud_cover"][k] == past["clouds"]
