"""Open-Meteo forecast answers -> the weather service's hourly records (UTC hours, SI units).

Open-Meteo labels an hourly series by time: instant values (temperature, humidity, wind speed,
topsoil moisture) are those at the label; sums (precipitation, rain, showers, snowfall) and the
hour's extremes (wind gusts, the weather code) describe the hour *before* it. Our records name
the hour they start at, so the record of hour ``H`` takes the instant values labelled ``H`` and
the others labelled ``H + 1 h``. Snowfall comes in cm of snow; its water
equivalent is ``cm * 10 / 7`` mm (Open-Meteo's own ratio), which the weather service stores
as ``snow_mm``. WMO weather codes become the OpenWeatherMap condition ids the classifier reads
(``WMO_TO_CONDITION_ID``).

An answer without the fields we rely on raises ``OpenMeteoUnavailable`` (transient: a malformed
answer), so the gate drops it from its cache and the retry asks again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.fetch_weather.open_meteo.client import HOURLY_VARIABLES, OpenMeteoUnavailable
from services.fetch_weather.source import utc_offset_from

SOURCE = "open-meteo-forecast"
SECONDS_PER_HOUR = 3600
SNOW_WATER_MM_PER_CM = 10.0 / 7.0
FORECAST_HOURS = 48  # as many as OWM's onecall: what categorize reads ahead
_LIMITS = {
    "temperature_c": (-100.0, 70.0),
    "humidity_pct": (0.0, 100.0),
    "wind_speed_ms": (0.0, 150.0),
    "wind_gust_ms": (0.0, 150.0),
    "mm": (0.0, 1000.0),
    "soil_moisture_m3m3": (0.0, 1.0),
}
# WMO 4677 codes (Open-Meteo's ``weather_code``) -> the OpenWeatherMap condition id of the same
# weather: the classifier's freezing-rain and snow rules read those (511, 6xx).
WMO_TO_CONDITION_ID = {
    0: 800,
    1: 801,
    2: 802,
    3: 804,
    45: 741,
    48: 741,
    51: 300,
    53: 301,
    55: 302,
    56: 511,
    57: 511,
    61: 500,
    63: 501,
    65: 502,
    66: 511,
    67: 511,
    71: 600,
    73: 601,
    75: 602,
    77: 600,
    80: 520,
    81: 521,
    82: 522,
    85: 620,
    86: 622,
    95: 211,
    96: 201,
    99: 202,
}


def _utc_text(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _value(series: list[Any], i: int, field: str, limits: str | None = None) -> float | None:
    if i < 0 or i >= len(series):
        return None
    value = series[i]
    if value is None:
        return None
    if type(value) is not float and type(value) is not int:
        raise OpenMeteoUnavailable(f"malformed answer: {field}[{i}] is {value!r}, not a number")
    low, high = _LIMITS.get(limits or field, (float("-inf"), float("inf")))
    number = float(value)
    return low if number < low else high if number > high else number


def utc_offset(answer: dict[str, Any]) -> timedelta:
    return utc_offset_from(answer.get("utc_offset_seconds", 0))


def _series(answer: dict[str, Any]) -> tuple[list[int], dict[str, list[Any]]]:
    hourly = answer.get("hourly")
    if not isinstance(hourly, dict):
        raise OpenMeteoUnavailable("malformed answer: no hourly series")
    times = hourly.get("time")
    if not isinstance(times, list) or not all(
        type(t) is int for t in times  # timeformat=unixtime
    ):
        raise OpenMeteoUnavailable("malformed answer: hourly.time is not a list of unix times")
    series: dict[str, list[Any]] = {}
    for name in HOURLY_VARIABLES:
        values = hourly.get(name)
        if not isinstance(values, list) or len(values) != len(times):
            raise OpenMeteoUnavailable(
                f"malformed answer: hourly.{name} is missing or not {len(times)} values long"
            )
        series[name] = values
    return times, series


def forecast_records(
    answer: dict[str, Any], *, now: datetime, fetched_at: datetime, observed_since: datetime | None
) -> list[dict[str, Any]]:
    """The observed record of the current hour, observed records of the past hours from
    ``observed_since`` (None: none), and the forecast of the next ``FORECAST_HOURS`` hours."""
    times, s = _series(answer)
    index = {t: i for i, t in enumerate(times)}
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    fetched = _utc_text(fetched_at)

    def record(hour: datetime, kind: str) -> dict[str, Any] | None:
        start_s = int(hour.timestamp())
        at, after = index.get(start_s), index.get(start_s + SECONDS_PER_HOUR)
        if at is None or after is None:
            return None  # the series does not cover this hour's instant and sums
        temperature = _value(s["temperature_2m"], at, "temperature_c")
        if temperature is None:
            return None
        rain = (_value(s["rain"], after, "rain", "mm") or 0.0) + (
            _value(s["showers"], after, "showers", "mm") or 0.0
        )
        snow_cm = _value(s["snowfall"], after, "snowfall", "mm") or 0.0
        snow = round(snow_cm * SNOW_WATER_MM_PER_CM, 3)
        precipitation = _value(s["precipitation"], after, "precipitation", "mm")
        code = s["weather_code"][after]
        return {
            "hour": _utc_text(hour),
            "kind": kind,
            "temperature_c": temperature,
            "humidity_pct": _value(s["relative_humidity_2m"], at, "humidity_pct"),
            "wind_speed_ms": _value(s["wind_speed_10m"], at, "wind_speed_ms"),
            "wind_gust_ms": _value(s["wind_gusts_10m"], after, "wind_gust_ms"),
            "rain_mm": round(rain, 3),
            "snow_mm": snow,
            "precipitation_mm": round(rain + snow, 3) if precipitation is None else precipitation,
            "weather_id": WMO_TO_CONDITION_ID.get(code) if type(code) is int else None,
            "pop": None,
            "soil_moisture_m3m3": _value(s["soil_moisture_0_to_1cm"], at, "soil_moisture_m3m3"),
            "source": SOURCE,
            "fetched_at": fetched,
        }

    records: list[dict[str, Any]] = []
    if observed_since is not None:
        first = datetime.fromtimestamp(times[0], tz=UTC) if times else this_hour
        hour = max(observed_since, first)
        while hour < this_hour:
            if (r := record(hour, "observed")) is not None:
                records.append(r)
            hour += timedelta(hours=1)
    current = record(this_hour, "observed")
    if current is None:
        raise OpenMeteoUnavailable(f"malformed answer: no values for the hour {this_hour}")
    records.append(current)
    for h in range(FORECAST_HOURS):
        if (r := record(this_hour + timedelta(hours=h), "forecast")) is not None:
            records.append(r)
    return records
