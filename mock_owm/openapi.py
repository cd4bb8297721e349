"""What ``/openapi.json`` says of each endpoint: its query parameters, bodies and every status code
it can answer. The API endpoints parse their parameters by hand (to answer as OpenWeatherMap
does), so their parameters are declared here rather than inferred by FastAPI."""

from __future__ import annotations

from typing import Any

from mock_owm.params import HISTORY_START_S
from mock_owm.runtime import MAX_API_KEY_CHARS, MAX_API_KEYS, RuntimeConfig

Json = dict[str, Any]

ERROR_SCHEMA: Json = {
    "type": "object",
    "description": "OpenWeatherMap's error body",
    "required": ["cod", "message"],
    "properties": {
        "cod": {"type": "integer"},
        "message": {"type": "string"},
        "parameters": {"type": "array", "items": {"type": "string"}},
    },
}
_ERROR_WHEN = {
    400: "A parameter is missing or out of range (``parameters`` names each)",
    401: "The key (``appid``) is missing or wrong",
    404: "No such resource",
    422: "A field of the body breaks its rule (``parameters`` names each)",
    429: "Quota exceeded or an injected 429 (with ``Retry-After`` when configured)",
    500: "Injected, or a fault of the mock itself",
    502: "Injected",
    503: "Injected",
    504: "An injected hang that the client waited out",
}
API_ERRORS = (400, 401, 429, 500, 502, 503, 504)


def error_responses(*codes: int) -> dict[int | str, Json]:
    return {
        code: {
            "description": _ERROR_WHEN[code],
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for code in codes
    }


def admin_refused() -> dict[int | str, Json]:
    """The 401 of every control endpoint but ``/__health``."""
    return {
        401: {
            "description": "The admin token is missing or wrong",
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
    }


def api_responses(answer: Json) -> dict[int | str, Json]:
    """200 with ``answer`` (the schema of the weather) plus every error an API call can get."""
    ok = {"description": "The weather", "content": {"application/json": {"schema": answer}}}
    return {200: ok, **error_responses(*API_ERRORS)}


def _query(name: str, schema: Json, description: str, *, required: bool = False) -> Json:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


# Required in the sense of OpenWeatherMap's documentation; a missing one is still answered, with
# the 400 (or, for appid, the 401) that names it.
APPID = _query("appid", {"type": "string"}, "API key (one of MOCK_OWM_API_KEYS)", required=True)
LAT = _query("lat", {"type": "number", "minimum": -90, "maximum": 90}, "Latitude", required=True)
LON = _query("lon", {"type": "number", "minimum": -180, "maximum": 180}, "Longitude", required=True)
UNITS = _query(
    "units",
    {"type": "string"},
    "standard (K, m/s; the default), metric (°C, m/s) or imperial (°F, mph); an "
    "unknown value means standard",
)
LANG = _query(
    "lang",
    {"type": "string"},
    "Language of weather[].description: de, fr, es (or sp); anything else is English",
)
EXCLUDE = _query(
    "exclude",
    {"type": "string"},
    "Comma list of current, minutely, hourly, daily, alerts; unknown names are ignored",
)
DT = _query(
    "dt",
    {"type": "integer", "minimum": HISTORY_START_S},
    "Unix time in seconds, 1979-01-01 to now + 4 days",
    required=True,
)
SUMMARY_DATE = _query(
    "date",
    {"type": "string", "format": "date"},
    "YYYY-MM-DD, 1979-01-02 to 1.5 years ahead",
    required=True,
)
OVERVIEW_DATE = _query(
    "date",
    {"type": "string", "format": "date"},
    "YYYY-MM-DD: the place's today (the default) or tomorrow",
)
TZ = _query(
    "tz",
    {"type": "string", "pattern": r"^[+-][0-9]{2}:[0-9]{2}$"},
    "Time zone of the date as +HH:MM or -HH:MM (at most 14:00); default: the place's",
)

ONECALL_PARAMETERS = [LAT, LON, APPID, EXCLUDE, UNITS, LANG]
TIMEMACHINE_PARAMETERS = [LAT, LON, DT, APPID, UNITS, LANG]
DAY_SUMMARY_PARAMETERS = [LAT, LON, SUMMARY_DATE, APPID, TZ, UNITS]
OVERVIEW_PARAMETERS = [LAT, LON, APPID, OVERVIEW_DATE, UNITS]

_PLACE = {"lat": {"type": "number"}, "lon": {"type": "number"}}
_ZONE = {"timezone": {"type": "string"}, "timezone_offset": {"type": "integer"}}
ONECALL_ANSWER: Json = {
    "type": "object",
    "required": ["lat", "lon", "timezone", "timezone_offset"],
    "properties": {
        **_PLACE,
        **_ZONE,
        "current": {"type": "object"},
        "minutely": {"type": "array", "items": {"type": "object"}},
        "hourly": {"type": "array", "items": {"type": "object"}},
        "daily": {"type": "array", "items": {"type": "object"}},
        "alerts": {"type": "array", "items": {"type": "object"}},
    },
}
TIMEMACHINE_ANSWER: Json = {
    "type": "object",
    "required": ["lat", "lon", "timezone", "timezone_offset", "data"],
    "properties": {**_PLACE, **_ZONE, "data": {"type": "array", "items": {"type": "object"}}},
}
DAY_SUMMARY_ANSWER: Json = {
    "type": "object",
    "required": ["lat", "lon", "tz", "date", "units"],
    "properties": {
        **_PLACE,
        "tz": {"type": "string"},
        "date": {"type": "string"},
        "units": {"type": "string"},
    },
}
OVERVIEW_ANSWER: Json = {
    "type": "object",
    "required": ["lat", "lon", "tz", "date", "units", "weather_overview"],
    "properties": {
        **_PLACE,
        "tz": {"type": "string"},
        "date": {"type": "string"},
        "units": {"type": "string"},
        "weather_overview": {"type": "string"},
    },
}


def faults_body_schema() -> Json:
    """The body of ``POST /__faults``: any subset of the configuration, each with its bounds."""
    schema = RuntimeConfig.model_json_schema(by_alias=True, mode="validation")
    properties: Json = schema["properties"]
    for value in properties.values():
        value.pop("default", None)
        value.pop("title", None)
    key = {"type": "string", "minLength": 1, "maxLength": MAX_API_KEY_CHARS}
    properties["api_keys"] = {
        "description": "A list, or one comma-separated string",
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": key, "minItems": 1, "maxItems": MAX_API_KEYS},
        ],
    }
    properties["open_meteo_api_keys"] = {
        "description": "Valid apikey values of /v1/forecast: a list, or one comma-separated "
        'string; null or "" to accept any key',
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": key, "minItems": 1, "maxItems": MAX_API_KEYS},
            {"type": "null"},
        ],
    }
    properties["now"] = {
        "description": 'A fixed clock (ISO 8601, naive means UTC, 1979 to 2099); null, "" or '
        '"real" for the real clock',
        "anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "string", "enum": ["", "real"]},
            {"type": "null"},
        ],
    }
    return {"type": "object", "additionalProperties": False, "properties": properties}
