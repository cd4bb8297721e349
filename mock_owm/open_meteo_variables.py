"""Open-Meteo's hourly variables, each read from the mock's hours with Open-Meteo's meaning.

Two kinds of values, as Open-Meteo documents them:

* **instant** at the label's time (temperature, humidity, cloud, wind, snow depth, soil...): the
  mock's hour that starts at the label (its values are those of its start, as OWM's ``hourly[]``);
* **preceding hour** (precipitation, rain, showers, snowfall, gusts, probability): the sum or
  maximum of the hour that ends at the label, i.e. the mock's hour starting one hour earlier.
  ``weather_code`` is read there too, although Open-Meteo's table lists it as instant: the code
  of a label then describes the same hour as its precipitation (a rain code never stands beside
  a dry hour), which is what a client reading both needs.

Amounts: ``rain`` is the mock's liquid precipitation outside thunderstorms, ``showers`` the
convective rain of thunderstorm hours, ``snowfall`` the snow's water equivalent at Open-Meteo's
ratio (10 mm of water = 7 cm of snow, "for the water equivalent in millimeter, divide by 7": cm =
mm x 0.7), and ``precipitation`` = rain + showers + snow water equivalent, which is the OWM
answer's ``rain.1h + snow.1h`` of that hour.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from mock_owm.astro import DAYLIGHT_MIN_SINE
from mock_owm.climate import Location
from mock_owm.derived import feels_like_c, humidity_pct, uv_index
from mock_owm.ground import Ground
from mock_owm.model import Hour
from mock_owm.open_meteo_units import OpenMeteoUnits
from mock_owm.wmo import wmo_code

SNOW_CM_PER_MM_WATER = 0.7
_THUNDERSTORM_IDS = range(200, 300)
_SCALE_HEIGHT_M = 8_434.5  # pressure falls by e over this height
_SNOW_COVER_M = 0.01  # under more snow than this the surface stays at or below 0 degC


class Series(NamedTuple):
    """What one answer's columns are read from, one entry per label."""

    loc: Location
    instant: list[Hour]  # the hour starting at the label
    preceding: list[Hour]  # the hour ending at the label
    ground: list[Ground]  # the ground at the label (empty unless a variable needs it)


Column = Callable[[Series, OpenMeteoUnits], list[float] | list[int]]


class Variable(NamedTuple):
    unit: Callable[[OpenMeteoUnits], str]
    column: Column
    needs_ground: bool = False  # the whole ground model (snow, every layer)
    needs_top_moisture: bool = False  # only the top layer's moisture (far cheaper)


def _is_thunderstorm(h: Hour) -> bool:
    return h.weather_id in _THUNDERSTORM_IDS


def _soil_surface_c(h: Hour, g: Ground) -> float:
    """The ground surface: warmer than the air in sunshine, colder on clear nights, and held at
    0 degC at most under snow."""
    clear = 1.0 - h.clouds_pct / 100.0
    if h.sun_sine > 0.0:
        surface = h.temp_c + 9.0 * h.sun_sine * (0.3 + 0.7 * clear)
    else:
        surface = h.temp_c - 2.0 * clear
    return min(surface, 0.0) if g.snow_depth_m > _SNOW_COVER_M else surface


def _surface_pressure_hpa(h: Hour, loc: Location) -> float:
    return round(h.pressure_hpa * math.exp(-max(loc.elevation_m, 0.0) / _SCALE_HEIGHT_M), 1)


def _moisture(layer: int) -> Column:
    def column(s: Series, u: OpenMeteoUnits) -> list[float]:
        return [round(g.moisture[layer], 3) for g in s.ground]
    return column


def _temperature(u: OpenMeteoUnits) -> str:
    return u.temperature_unit


def _fixed(unit: str) -> Callable[[OpenMeteoUnits], str]:
    return lambda u: unit


_PERCENT = _fixed("%")
_MOISTURE = _fixed("m³/m³")


def _wind(u: OpenMeteoUnits) -> str:
    return u.wind_unit


def _water(u: OpenMeteoUnits) -> str:
    return u.water_unit


def _length(u: OpenMeteoUnits) -> str:
    return u.length_unit


VARIABLES: dict[str, Variable] = {
    "temperature_2m": Variable(
        _temperature, lambda s, u: [u.temp(h.temp_c) for h in s.instant]),
    "relative_humidity_2m": Variable(
        _PERCENT, lambda s, u: [humidity_pct(h.temp_c, h.dew_point_c) for h in s.instant]),
    "dew_point_2m": Variable(
        _temperature, lambda s, u: [u.temp(h.dew_point_c) for h in s.instant]),
    "apparent_temperature": Variable(
        _temperature,
        lambda s, u: [u.temp(feels_like_c(h.temp_c, h.dew_point_c, h.wind_ms)) for h in s.instant]),
    "precipitation_probability": Variable(
        _PERCENT, lambda s, u: [round(h.pop * 100.0) for h in s.preceding]),
    "precipitation": Variable(
        _water, lambda s, u: [u.water(h.rain_mm + h.snow_mm) for h in s.preceding]),
    "rain": Variable(
        _water,
        lambda s, u: [u.water(0.0 if _is_thunderstorm(h) else h.rain_mm) for h in s.preceding]),
    "showers": Variable(
        _water,
        lambda s, u: [u.water(h.rain_mm if _is_thunderstorm(h) else 0.0) for h in s.preceding]),
    "snowfall": Variable(
        lambda u: u.snowfall_unit,
        lambda s, u: [u.snowfall(h.snow_mm * SNOW_CM_PER_MM_WATER) for h in s.preceding]),
    "snow_depth": Variable(
        _length, lambda s, u: [u.length(g.snow_depth_m) for g in s.ground], needs_ground=True),
    "weather_code": Variable(
        _fixed("wmo code"), lambda s, u: [wmo_code(h.weather_id) for h in s.preceding]),
    "pressure_msl": Variable(
        _fixed("hPa"), lambda s, u: [float(h.pressure_hpa) for h in s.instant]),
    "surface_pressure": Variable(
        _fixed("hPa"), lambda s, u: [_surface_pressure_hpa(h, s.loc) for h in s.instant]),
    "cloud_cover": Variable(_PERCENT, lambda s, u: [h.clouds_pct for h in s.instant]),
    "visibility": Variable(
        _length, lambda s, u: [u.length(float(h.visibility_m)) for h in s.instant]),
    "wind_speed_10m": Variable(_wind, lambda s, u: [u.wind(h.wind_ms) for h in s.instant]),
    "wind_direction_10m": Variable(_fixed("°"), lambda s, u: [h.wind_deg for h in s.instant]),
    "wind_gusts_10m": Variable(
        _wind, lambda s, u: [u.wind(max(h.gust_ms, h.wind_ms)) for h in s.preceding]),
    "uv_index": Variable(
        _fixed(""),
        lambda s, u: [uv_index(h.sun_sine, h.clouds_pct, s.loc.elevation_m) for h in s.instant]),
    "is_day": Variable(
        _fixed(""), lambda s, u: [int(h.sun_sine > DAYLIGHT_MIN_SINE) for h in s.instant]),
    "soil_temperature_0cm": Variable(
        _temperature,
        lambda s, u: [u.temp(_soil_surface_c(h, g)) for h, g in zip(s.instant, s.ground,
                                                                     strict=True)],
        needs_ground=True),
    "soil_moisture_0_to_1cm": Variable(_MOISTURE, _moisture(0), needs_top_moisture=True),
    "soil_moisture_1_to_3cm": Variable(_MOISTURE, _moisture(1), needs_ground=True),
    "soil_moisture_3_to_9cm": Variable(_MOISTURE, _moisture(2), needs_ground=True),
}
