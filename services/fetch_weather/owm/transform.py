"""OpenWeatherMap answers -> the weather service's hourly records (UTC hours, metric units).

* ``onecall``: ``current`` becomes the observed record of the current hour; each ``hourly`` entry a
  forecast record. Absent ``rain``/``snow``/``wind_gust`` keys mean nothing happened.
* ``day_summary`` (history for a new location): one day of aggregates becomes 24 observed hourly
  records, marked ``source="owm-day-summary"``: temperature interpolated between the night (00:00),
  morning (06:00), afternoon (12:00) and evening (18:00) values, the day's precipitation spread
  evenly over its hours, as snow when the hour is at or below ``SNOW_BELOW_C``.

An answer without the keys we rely on raises ``OwmUnavailable`` (transient: a malformed answer).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from services.fetch_weather.owm.client import OwmUnavailable

ONECALL_SOURCE = "owm-onecall-3.0"
DAY_SUMMARY_SOURCE = "owm-day-summary"
SNOW_BELOW_C = 0.5
_LIMITS = {
    "temperature_c": (-100.0, 70.0),
    "humidity_pct": (0.0, 100.0),
    "wind_speed_ms": (0.0, 150.0),
    "wind_gust_ms": (0.0, 150.0),
    "rain_mm": (0.0, 1000.0),
    "snow_mm": (0.0, 1000.0),
    "pop": (0.0, 1.0),
}


HOUR_TEXT_CACHE = 4096  # every location of a window shares the same ~50 hours


@lru_cache(maxsize=HOUR_TEXT_CACHE)
def _hour_text(hour_unix: int) -> str:
    return _utc_text(datetime.fromtimestamp(hour_unix, tz=UTC))


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


_UNBOUNDED = (float("-inf"), float("inf"))


def _num(value: Any, field: str) -> float:
    if type(value) is not float and type(value) is not int:  # bool is not a number here
        raise OwmUnavailable(f"malformed answer: {field} is {value!r}, not a number")
    low, high = _LIMITS.get(field, _UNBOUNDED)
    number = float(value)
    return low if number < low else high if number > high else number


def _amount_1h(entry: dict[str, Any], key: str) -> float:
    value = entry.get(key)
    if value is None:
        return 0.0
    if not isinstance(value, dict):
        raise OwmUnavailable(f"malformed answer: {key} is {value!r}, expected {{'1h': mm}}")
    return _num(value.get("1h", 0.0), f"{key}_mm")


def _record(entry: dict[str, Any], *, kind: str, fetched_at: str) -> dict[str, Any]:
    try:
        dt_unix = int(entry["dt"])
        temperature = entry["temp"]
    except (KeyError, TypeError, ValueError) as exc:
        raise OwmUnavailable(f"malformed answer: entry lacks dt or temp ({exc})") from None
    weather = entry.get("weather") or [{}]
    weather_id = weather[0].get("id") if isinstance(weather[0], dict) else None
    rain_mm = _amount_1h(entry, "rain")
    snow_mm = _amount_1h(entry, "snow")
    record: dict[str, Any] = {
        "hour": _hour_text(dt_unix - dt_unix % 3600),
        "kind": kind,
        "temperature_c": _num(temperature, "temperature_c"),
        "humidity_pct": _num(entry["humidity"], "humidity_pct") if "humidity" in entry else None,
        "wind_speed_ms": _num(entry["wind_speed"], "wind_speed_ms")
        if "wind_speed" in entry
        else None,
        "wind_gust_ms": _num(entry["wind_gust"], "wind_gust_ms") if "wind_gust" in entry else None,
        "rain_mm": rain_mm,
        "snow_mm": snow_mm,
        "precipitation_mm": rain_mm + snow_mm,
        "weather_id": weather_id
        if isinstance(weather_id, int) and 100 <= weather_id <= 999
        else None,
        "pop": _num(entry["pop"], "pop") if "pop" in entry else None,
        "soil_moisture_m3m3": None,
        "source": ONECALL_SOURCE,
        "fetched_at": fetched_at,
    }
    return record


def onecall_records(answer: dict[str, Any], *, fetched_at: datetime) -> list[dict[str, Any]]:
    """The observed record of the current hour plus the hourly forecast (48 hours)."""
    current = answer.get("current")
    hourly = answer.get("hourly")
    if not isinstance(current, dict) or not isinstance(hourly, list):
        raise OwmUnavailable("malformed answer: onecall lacks current or hourly")
    fetched = _utc_text(fetched_at)
    records = [_record(current, kind="observed", fetched_at=fetched)]
    records += [
        _record(h, kind="forecast", fetched_at=fetched) for h in hourly if isinstance(h, dict)
    ]
    return records


# What the readers of a onecall answer use (``_record`` of each entry, ``timezone_offset`` in the
# handler): the answer cache keeps only these, a tenth of the answer.
ONECALL_ENTRY_KEYS = (
    "dt",
    "temp",
    "humidity",
    "wind_speed",
    "wind_gust",
    "rain",
    "snow",
    "weather",
    "pop",
)
ONECALL_KEYS = ("current", "hourly", "timezone_offset")
DAY_SUMMARY_KEYS = ("date", "tz", "temperature", "precipitation", "humidity", "wind")


def _kept_entry(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry  # left as it came, for ``onecall_records`` to refuse
    kept = {k: entry[k] for k in ONECALL_ENTRY_KEYS if k in entry}
    weather = kept.get("weather")
    if isinstance(weather, list) and weather and isinstance(weather[0], dict):
        kept["weather"] = [{"id": weather[0].get("id")}]
    return kept


def onecall_kept(answer: dict[str, Any]) -> dict[str, Any]:
    """The part of a onecall answer ``onecall_records`` and the handler read; a malformed answer
    stays as malformed (the reader raises on it, as on the whole answer)."""
    kept = {k: answer[k] for k in ONECALL_KEYS if k in answer}
    if "current" in kept:
        kept["current"] = _kept_entry(kept["current"])
    if isinstance(kept.get("hourly"), list):
        kept["hourly"] = [_kept_entry(h) for h in kept["hourly"]]
    return kept


def day_summary_kept(answer: dict[str, Any]) -> dict[str, Any]:
    """The part of a day_summary answer ``day_summary_records`` reads."""
    return {k: answer[k] for k in DAY_SUMMARY_KEYS if k in answer}


def _parse_tz(tz: str) -> timedelta:
    sign = -1 if tz.startswith("-") else 1
    hours, _, minutes = tz.lstrip("+-").partition(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes or 0))


def day_summary_records(answer: dict[str, Any], *, fetched_at: datetime) -> list[dict[str, Any]]:
    """24 observed hourly records synthesised from one day's aggregates."""
    try:
        day = date.fromisoformat(answer["date"])
        offset = _parse_tz(str(answer.get("tz", "+00:00")))
        temps = answer["temperature"]
        anchors = [
            (0, temps["night"]),
            (6, temps["morning"]),
            (12, temps["afternoon"]),
            (18, temps["evening"]),
            (24, temps["night"]),
        ]
        total_mm = _num(answer["precipitation"]["total"], "rain_mm")
        humidity = answer.get("humidity", {}).get("afternoon")
        wind = answer.get("wind", {}).get("max", {}).get("speed")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise OwmUnavailable(f"malformed answer: day_summary lacks {exc}") from None
    local_midnight_utc = datetime(day.year, day.month, day.day, tzinfo=UTC) - offset
    per_hour_mm = total_mm / 24.0
    fetched = _utc_text(fetched_at)
    records = []
    for local_hour in range(24):
        (h0, t0), (h1, t1) = next(
            (anchors[i], anchors[i + 1])
            for i in range(4)
            if anchors[i][0] <= local_hour < anchors[i + 1][0]
        )
        temperature = _num(t0, "temperature_c") + (
            _num(t1, "temperature_c") - _num(t0, "temperature_c")
        ) * ((local_hour - h0) / (h1 - h0))
        snow = temperature <= SNOW_BELOW_C
        hour = local_midnight_utc + timedelta(hours=local_hour)
        records.append(
            {
                "hour": _utc_text(hour),
                "kind": "observed",
                "temperature_c": round(temperature, 2),
                "humidity_pct": _num(humidity, "humidity_pct") if humidity is not None else None,
                "wind_speed_ms": _num(wind, "wind_speed_ms") if wind is not None else None,
                "wind_gust_ms": None,
                "rain_mm": 0.0 if snow else round(per_hour_mm, 3),
                "snow_mm": round(per_hour_mm, 3) if snow else 0.0,
                "precipitation_mm": round(per_hour_mm, 3),
                "weather_id": None,
                "pop": None,
                "soil_moisture_m3m3": None,
                "source": DAY_SUMMARY_SOURCE,
                "fetched_at": fetched,
            }
        )
    return records
