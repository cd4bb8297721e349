"""Helpers of the Open-Meteo tests: the path, places, and a call that must succeed."""

from __future__ import annotations

from typing import Any

import httpx

from tests.mock_owm.conftest import ZURICH

FORECAST = "/v1/forecast"
ZURICH_OM = {"latitude": ZURICH["lat"], "longitude": ZURICH["lon"]}
# Places and, at the tests' fixed clock, what their next 48 hours hold.
DENVER = {"lat": 39.74, "lon": -104.99}  # snow
WELLINGTON = {"lat": -41.29, "lon": 174.78}  # rain
MATO_GROSSO = {"lat": -15.0, "lon": -60.0}  # thunderstorms
OSLO_HILLS = {"lat": 60.0, "lon": 10.0}  # snow
ANCHORAGE = {"lat": 61.2181, "lon": -149.9003}
AGREEMENT_PLACES = [ZURICH, DENVER, WELLINGTON, MATO_GROSSO, OSLO_HILLS, ANCHORAGE]
# Every variable of the mock; 24 of them, so one such call over 7 days weighs 2.4 calls.
ALL_VARIABLES = (
    "temperature_2m,relative_humidity_2m,dew_point_2m,apparent_temperature,"
    "precipitation_probability,precipitation,rain,showers,snowfall,snow_depth,weather_code,"
    "pressure_msl,surface_pressure,cloud_cover,visibility,wind_speed_10m,wind_direction_10m,"
    "wind_gusts_10m,uv_index,is_day,soil_temperature_0cm,soil_moisture_0_to_1cm,"
    "soil_moisture_1_to_3cm,soil_moisture_3_to_9cm"
)


def om_place(place: dict[str, float]) -> dict[str, float]:
    """An OWM ``lat``/``lon`` place as Open-Meteo's ``latitude``/``longitude``."""
    return {"latitude": place["lat"], "longitude": place["lon"]}


async def forecast(client: httpx.AsyncClient, **params: Any) -> Any:
    """The decoded 200 answer of ``GET /v1/forecast`` (Zurich unless a place is given)."""
    if "latitude" not in params:
        params = {**ZURICH_OM, **params}
    response = await client.get(FORECAST, params=params)
    assert response.status_code == 200, response.text
    return response.json()
