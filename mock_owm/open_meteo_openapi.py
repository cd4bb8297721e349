"""What ``/openapi.json`` says of ``GET /v1/forecast``: its query parameters (parsed by hand, so
declared here, matching what the parser accepts), its answer and Open-Meteo's error body."""

from __future__ import annotations

from typing import Any

from mock_owm.open_meteo_params import (
    DEFAULT_FORECAST_DAYS,
    FORECAST_DAYS_MAX,
    MAX_LOCATIONS,
    NUMBER_LIST_PATTERN,
    PAST_DAYS_MAX,
    TIMEFORMATS,
    VARIABLE_LIST_PATTERN,
)
from mock_owm.open_meteo_units import PRECIPITATION_UNITS, TEMPERATURE_UNITS, WIND_SPEED_UNITS
from mock_owm.open_meteo_variables import VARIABLES

Json = dict[str, Any]

ERROR_SCHEMA: Json = {
    "type": "object",
    "description": "Open-Meteo's error body",
    "required": ["error", "reason"],
    "properties": {"error": {"type": "boolean", "enum": [True]}, "reason": {"type": "string"}},
}
_ERROR_WHEN = {
    400: "A parameter is missing, unknown or out of range, or the apikey is not valid "
         "(``reason`` names the parameter)",
    429: "A minutely, hourly or daily limit is reached (``reason`` says which), or an injected "
         "429",
    500: "Injected, or a fault of the mock itself",
    502: "Injected",
    503: "Injected",
    504: "An injected hang that the client waited out",
}

_PLACE_ANSWER: Json = {
    "type": "object",
    "required": ["latitude", "longitude", "generationtime_ms", "utc_offset_seconds", "timezone",
                 "timezone_abbreviation", "elevation"],
    "properties": {
        "latitude": {"type": "number"},
        "longitude": {"type": "number"},
        "generationtime_ms": {"type": "number"},
        "utc_offset_seconds": {"type": "integer"},
        "timezone": {"type": "string"},
        "timezone_abbreviation": {"type": "string"},
        "elevation": {"type": "number"},
        "hourly_units": {"type": "object", "additionalProperties": {"type": "string"}},
        "hourly": {
            "type": "object",
            "required": ["time"],
            "additionalProperties": {"type": "array", "items": {"type": ["number", "null"]}},
            "properties": {
                "time": {"type": "array", "items": {"type": ["string", "integer"]}},
            },
        },
    },
}
FORECAST_ANSWER: Json = {
    "description": "One object per place; an array of them when several places are asked",
    "oneOf": [_PLACE_ANSWER, {"type": "array", "items": _PLACE_ANSWER}],
}


def _query(name: str, schema: Json, description: str, *, required: bool = False) -> Json:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


FORECAST_PARAMETERS = [
    _query("latitude", {"type": "string", "pattern": NUMBER_LIST_PATTERN},
           f"WGS84 latitude, -90 to 90; up to {MAX_LOCATIONS} comma-separated (as many as "
           "longitudes) for an array of answers", required=True),
    _query("longitude", {"type": "string", "pattern": NUMBER_LIST_PATTERN},
           "WGS84 longitude, -180 to 180; comma-separated like latitude", required=True),
    _query("hourly", {"type": "string", "pattern": VARIABLE_LIST_PATTERN},
           "Comma-separated variables (or the parameter repeated): " + ", ".join(VARIABLES)),
    _query("past_days", {"type": "integer", "minimum": 0, "maximum": PAST_DAYS_MAX},
           "Days before today in the series (default 0)"),
    _query("forecast_days", {"type": "integer", "minimum": 0, "maximum": FORECAST_DAYS_MAX},
           f"Days from today on in the series (default {DEFAULT_FORECAST_DAYS})"),
    _query("timezone", {"type": "string"},
           "GMT (the default), UTC, auto (the place's own, as the OWM endpoints' "
           "timezone_offset), Etc/GMT±N or another IANA name; times are local to it"),
    _query("timeformat", {"type": "string", "enum": list(TIMEFORMATS)},
           "iso8601 (local, no offset; the default) or unixtime (UTC seconds)"),
    _query("temperature_unit", {"type": "string", "enum": list(TEMPERATURE_UNITS)},
           "celsius (the default) or fahrenheit"),
    _query("wind_speed_unit", {"type": "string", "enum": list(WIND_SPEED_UNITS)},
           "kmh (the default), ms, mph or kn"),
    _query("precipitation_unit", {"type": "string", "enum": list(PRECIPITATION_UNITS)},
           "mm (the default) or inch (lengths in inch and ft)"),
    _query("apikey", {"type": "string"},
           "Optional: quotas count per key instead of per address; must be one of "
           "MOCK_OWM_OPEN_METEO_API_KEYS when that is set"),
]


def forecast_responses() -> dict[int | str, Json]:
    ok = {"description": "The hourly weather",
          "content": {"application/json": {"schema": FORECAST_ANSWER}}}
    errors: dict[int | str, Json] = {
        code: {"description": when, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for code, when in _ERROR_WHEN.items()
    }
    return {200: ok, **errors}
