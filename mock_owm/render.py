"""Hours and days as OpenWeatherMap JSON objects: exact field names, nesting and omissions.

Keys for things that did not happen are left out (``rain``, ``snow``, ``wind_gust``), hourly and
current ``rain``/``snow`` are ``{"1h": mm}`` while daily ones are plain numbers, and precipitation
is mm whatever the units.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mock_owm.astro import DAYLIGHT_MIN_SINE, SolarDay, moon_phase, moon_rise_set
from mock_owm.climate import Location
from mock_owm.conditions import CONDITIONS
from mock_owm.daily import (
    HOUR_AFTERNOON,
    HOUR_EVENING,
    HOUR_MORNING,
    HOUR_NIGHT,
    DayAggregate,
    day_summary_text,
)
from mock_owm.derived import feels_like_c, humidity_pct, uv_index
from mock_owm.i18n import describe
from mock_owm.model import Hour
from mock_owm.units import Units

Json = dict[str, Any]
_MIST_ID = 701
SECONDS_PER_HOUR = 3600
_SECONDARY_MIST_BELOW_M = 5_000


@lru_cache(maxsize=1_024)
def weather_element(condition_id: int, lang: str, daytime: bool) -> Json:
    """``{"id", "main", "description", "icon"}``; shared read-only between answers."""
    cond = CONDITIONS[condition_id]
    return {
        "id": condition_id,
        "main": cond.main,
        "description": describe(condition_id, lang),
        "icon": cond.icon + ("d" if daytime else "n"),
    }


def weather_list(h: Hour, lang: str) -> list[Json]:
    """The primary condition, plus mist when precipitation cuts visibility below 5 km."""
    daytime = h.sun_sine > DAYLIGHT_MIN_SINE
    items = [weather_element(h.weather_id, lang, daytime)]
    if (h.rain_mm or h.snow_mm) and h.visibility_m < _SECONDARY_MIST_BELOW_M:
        items.append(weather_element(_MIST_ID, lang, daytime))
    return items


def hour_entry(h: Hour, loc: Location, u: Units, lang: str, *, dt: int | None = None,
               sun_times: tuple[int, int] | None = None, with_pop: bool = False) -> Json:
    """A ``current``, ``hourly[]`` or timemachine ``data[]`` entry.

    ``sun_times`` adds sunrise/sunset (current and timemachine; left out in polar day/night),
    ``with_pop`` adds ``pop`` (hourly only). It runs 48 times per onecall, so it is kept lean.
    """
    temp_c = h.temp_c
    humidity = humidity_pct(temp_c, h.dew_point_c)
    scale, offset, speed = u.temp_scale, u.temp_offset, u.speed_scale
    entry: Json = {"dt": h.dt if dt is None else dt}
    if sun_times is not None:
        entry["sunrise"], entry["sunset"] = sun_times
    entry["temp"] = round(temp_c * scale + offset, 2)
    entry["feels_like"] = round(feels_like_c(temp_c, h.dew_point_c, h.wind_ms) * scale + offset, 2)
    entry["pressure"] = h.pressure_hpa
    entry["humidity"] = humidity
    entry["dew_point"] = round(h.dew_point_c * scale + offset, 2)
    entry["uvi"] = uv_index(h.sun_sine, h.clouds_pct, loc.elevation_m)
    entry["clouds"] = h.clouds_pct
    entry["visibility"] = h.visibility_m
    entry["wind_speed"] = round(h.wind_ms * speed, 2)
    entry["wind_deg"] = h.wind_deg
    if h.gust_ms:
        entry["wind_gust"] = round(h.gust_ms * speed, 2)
    entry["weather"] = weather_list(h, lang)
    if with_pop:
        entry["pop"] = round(h.pop, 2)
    if h.rain_mm:
        entry["rain"] = {"1h": h.rain_mm}
    if h.snow_mm:
        entry["snow"] = {"1h": h.snow_mm}
    return entry


def sun_times(sun: SolarDay) -> tuple[int, int] | None:
    """Sunrise and sunset, or None in polar day or night."""
    if sun.sunrise_s is None or sun.sunset_s is None:
        return None
    return sun.sunrise_s, sun.sunset_s


def _feels(h: Hour, u: Units) -> float:
    return u.temp(feels_like_c(h.temp_c, h.dew_point_c, h.wind_ms))


def daily_dt(sun: SolarDay) -> int:
    """A ``daily[].dt``: the whole hour nearest solar noon, as in OpenWeatherMap's answers (about
    local midday, not exactly noon). Zone offsets are whole hours within half an hour of solar
    time, so it is 11:00, 12:00 or 13:00 on the entry's local date."""
    return round(sun.transit_s / SECONDS_PER_HOUR) * SECONDS_PER_HOUR


def daily_entry(day: DayAggregate, loc: Location, u: Units, lang: str) -> Json:
    """A ``daily[]`` entry; in polar day or night ``sunrise``/``sunset`` are left out."""
    sun = day.sun
    moonrise, moonset = moon_rise_set(sun, day.local_midnight_s)
    temp = u.temp
    morning, afternoon = day.at(HOUR_MORNING), day.at(HOUR_AFTERNOON)
    evening, night = day.at(HOUR_EVENING), day.at(HOUR_NIGHT)
    windiest = day.windiest
    sunniest = day.sunniest
    entry: Json = {"dt": daily_dt(sun)}
    times = sun_times(sun)
    if times is not None:
        entry["sunrise"], entry["sunset"] = times
    entry |= {
        "moonrise": moonrise,
        "moonset": moonset,
        "moon_phase": round(moon_phase(sun.transit_s), 2),
        "summary": day_summary_text(day),
        "temp": {
            "day": temp(afternoon.temp_c),
            "min": temp(day.temp_min_c),
            "max": temp(day.temp_max_c),
            "night": temp(night.temp_c),
            "eve": temp(evening.temp_c),
            "morn": temp(morning.temp_c),
        },
        "feels_like": {
            "day": _feels(afternoon, u),
            "night": _feels(night, u),
            "eve": _feels(evening, u),
            "morn": _feels(morning, u),
        },
        "pressure": afternoon.pressure_hpa,
        "humidity": humidity_pct(afternoon.temp_c, afternoon.dew_point_c),
        "dew_point": temp(afternoon.dew_point_c),
        "wind_speed": u.speed(windiest.wind_ms),
        "wind_deg": windiest.wind_deg,
    }
    if day.gust_max_ms:
        entry["wind_gust"] = u.speed(day.gust_max_ms)
    entry["weather"] = [weather_element(day.weather_id, lang, True)]
    entry["clouds"] = day.clouds_mean_pct
    entry["pop"] = round(day.pop_max, 2)
    if day.rain_mm:
        entry["rain"] = day.rain_mm
    if day.snow_mm:
        entry["snow"] = day.snow_mm
    entry["uvi"] = uv_index(sunniest.sun_sine, sunniest.clouds_pct, loc.elevation_m)
    return entry


def day_summary_body(day: DayAggregate, loc: Location, u: Units, *, tz: str, date: str) -> Json:
    """The ``day_summary`` answer for one date."""
    afternoon = day.at(HOUR_AFTERNOON)
    windiest = day.windiest
    return {
        "lat": loc.lat,
        "lon": loc.lon,
        "tz": tz,
        "date": date,
        "units": u.name,
        "cloud_cover": {"afternoon": afternoon.clouds_pct},
        "humidity": {"afternoon": humidity_pct(afternoon.temp_c, afternoon.dew_point_c)},
        "precipitation": {"total": day.precip_mm},
        "temperature": {
            "min": u.temp(day.temp_min_c),
            "max": u.temp(day.temp_max_c),
            "afternoon": u.temp(afternoon.temp_c),
            "night": u.temp(day.at(HOUR_NIGHT).temp_c),
            "evening": u.temp(day.at(HOUR_EVENING).temp_c),
            "morning": u.temp(day.at(HOUR_MORNING).temp_c),
        },
        "pressure": {"afternoon": afternoon.pressure_hpa},
        "wind": {"max": {"speed": u.speed(windiest.wind_ms), "direction": windiest.wind_deg}},
    }


def minutely_entries(first_minute_s: int, rates_mm_h: dict[int, float]) -> list[Json]:
    """61 minutes from ``first_minute_s``; each minute's rate is its hour's (mm/h)."""
    return [
        {"dt": t, "precipitation": rates_mm_h.get(t // 3600, 0.0)}
        for t in range(first_minute_s, first_minute_s + 61 * 60, 60)
    ]
