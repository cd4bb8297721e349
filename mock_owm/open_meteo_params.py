"""The query of ``GET /v1/forecast``, parsed and range-checked as Open-Meteo checks it.

The first problem found is the 400, in Open-Meteo's words (its server's reasons and its decoder's
``Cannot initialize X from invalid String value V for key K``), which name the parameter. Values
are matched whole, as ``/openapi.json`` declares them; unknown parameters are ignored, as
Open-Meteo ignores them, except those of features the mock does not serve (``daily``,
``current``, ``minutely_15``, ``start_date``, ``end_date``), which are refused rather than
silently left out of the answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from mock_owm.open_meteo_errors import OpenMeteoError, quoted
from mock_owm.open_meteo_units import (
    PRECIPITATION_UNITS,
    TEMPERATURE_UNITS,
    WIND_SPEED_UNITS,
    OpenMeteoUnits,
)
from mock_owm.open_meteo_variables import VARIABLES
from mock_owm.open_meteo_zones import DEFAULT_TIMEZONE, Zone, resolve_zone

PAST_DAYS_MAX = 92
FORECAST_DAYS_MAX = 16
DEFAULT_FORECAST_DAYS = 7
MAX_LOCATIONS = 1_000  # the free API's limit per request
TIMEFORMATS = ("iso8601", "unixtime")
UNSERVED = ("daily", "current", "minutely_15", "start_date", "end_date")
# What /openapi.json declares (fullmatch): comma-separated decimals, an exponent allowed.
NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"
NUMBER_LIST_PATTERN = f"^{NUMBER}(,{NUMBER})*$"
VARIABLE_LIST_PATTERN = "^([a-z0-9_]+(,[a-z0-9_]+)*)?$"
_NUMBER_RE = re.compile(NUMBER)
_INT_RE = re.compile(r"-?[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class ForecastQuery:
    places: tuple[tuple[float, float], ...]
    variables: tuple[str, ...]
    past_days: int
    forecast_days: int
    zone: Zone | None  # None: ``auto``, each place's own
    unixtime: bool
    units: OpenMeteoUnits

    @property
    def days(self) -> int:
        return self.past_days + self.forecast_days


def _decoding_error(type_name: str, value: str, key: str) -> OpenMeteoError:
    return OpenMeteoError(400, f"Cannot initialize {type_name} from invalid String value "
                               f"{quoted(value)} for key {key}")


def _coordinates(query: QueryParams, name: str) -> list[float]:
    raw = query.get(name)
    if not raw:
        raise OpenMeteoError(400, "Parameter 'latitude' and 'longitude' must not be empty")
    values = []
    for item in raw.split(","):
        if not _NUMBER_RE.fullmatch(item):
            raise _decoding_error("Float", item, name)
        values.append(float(item))
    return values


def _places(query: QueryParams) -> tuple[tuple[float, float], ...]:
    latitudes = _coordinates(query, "latitude")
    longitudes = _coordinates(query, "longitude")
    if len(latitudes) != len(longitudes):
        raise OpenMeteoError(
            400, "Parameter 'latitude' and 'longitude' must have the same number of elements")
    if len(latitudes) > MAX_LOCATIONS:
        raise OpenMeteoError(
            400, f"Parameter 'latitude' and 'longitude' must not exceed {MAX_LOCATIONS} "
                 "coordinates.")
    for lat, lon in zip(latitudes, longitudes, strict=True):
        if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
            raise OpenMeteoError(400, f"Latitude must be in range of -90 to 90°. Given: {lat}.")
        if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
            raise OpenMeteoError(400, f"Longitude must be in range of -180 to 180°. Given: {lon}.")
    return tuple(zip(latitudes, longitudes, strict=True))


def _variables(query: QueryParams) -> tuple[str, ...]:
    """``hourly``: comma-separated, or repeated (``&hourly=a&hourly=b``), as Open-Meteo takes it;
    a name asked twice is answered once."""
    names: list[str] = []
    for raw in query.getlist("hourly"):
        if raw == "":
            continue
        for name in raw.split(","):
            if name not in VARIABLES:
                raise _decoding_error("ForecastVariable", name, "hourly")
            names.append(name)
    return tuple(dict.fromkeys(names))


def _days(query: QueryParams, name: str, label: str, default: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not _INT_RE.fullmatch(raw):
        raise _decoding_error("Int", raw, name)
    value = int(raw)
    if not 0 <= value <= maximum:
        raise OpenMeteoError(400, f"{label} is invalid. Allowed range 0 to {maximum}. "
                                  f"Given {value}.")
    return value


def _choice(query: QueryParams, name: str, type_name: str, allowed: tuple[str, ...]) -> str:
    raw = query.get(name)
    if raw is None:
        return allowed[0]
    if raw not in allowed:
        raise _decoding_error(type_name, raw, name)
    return raw


def parse_forecast_query(query: QueryParams, now_s: float) -> ForecastQuery:
    """Raises ``OpenMeteoError`` (400) for the first bad parameter."""
    for name in UNSERVED:
        if query.get(name):
            raise OpenMeteoError(400, f"Parameter '{name}' is not served by this mock: it answers "
                                      "hourly variables only")
    places = _places(query)
    variables = _variables(query)
    past_days = _days(query, "past_days", "Past days", 0, PAST_DAYS_MAX)
    forecast_days = _days(query, "forecast_days", "Forecast days", DEFAULT_FORECAST_DAYS,
                          FORECAST_DAYS_MAX)
    zone = resolve_zone(query.get("timezone") or DEFAULT_TIMEZONE, now_s)
    timeformat = _choice(query, "timeformat", "Timeformat", TIMEFORMATS)
    units = OpenMeteoUnits(
        temperature=_choice(query, "temperature_unit", "TemperatureUnit", TEMPERATURE_UNITS),
        wind_speed=_choice(query, "wind_speed_unit", "WindspeedUnit", WIND_SPEED_UNITS),
        precipitation=_choice(query, "precipitation_unit", "PrecipitationUnit",
                              PRECIPITATION_UNITS),
    )
    return ForecastQuery(places=places, variables=variables, past_days=past_days,
                         forecast_days=forecast_days, zone=zone, unixtime=timeformat == "unixtime",
                         units=units)
