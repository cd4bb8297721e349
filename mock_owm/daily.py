"""Aggregates of the hours of one local date, used by onecall ``daily[]`` and ``day_summary``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mock_owm.astro import SolarDay
from mock_owm.conditions import CONDITIONS, cloud_id
from mock_owm.model import Hour

HOUR_NIGHT = 0
HOUR_MORNING = 6
HOUR_AFTERNOON = 12
HOUR_EVENING = 18
_THUNDER_IDS = frozenset({200, 201, 202})
_SLEET_IDS = frozenset({611, 612, 613})
_DRY_OR_DRIZZLE_IDS = frozenset({300, 701, 741, 800, 801, 802, 803, 804})


@dataclass(frozen=True, slots=True)
class DayAggregate:
    """One local date: its 24 hours (``hours[h]`` covers local hh:00) and their aggregates."""

    local_midnight_s: int  # the date's 00:00 local time as unix seconds
    hours: tuple[Hour, ...]
    sun: SolarDay
    temp_min_c: float
    temp_max_c: float
    rain_mm: float
    snow_mm: float
    windiest: Hour
    sunniest: Hour  # the hour with the highest UV
    gust_max_ms: float  # 0.0 when no hour was gusty
    pop_max: float
    clouds_mean_pct: int
    weather_id: int

    @property
    def precip_mm(self) -> float:
        return round(self.rain_mm + self.snow_mm, 2)

    def at(self, local_hour: int) -> Hour:
        return self.hours[local_hour]


def aggregate_day(local_midnight_s: int, hours: Sequence[Hour], sun: SolarDay) -> DayAggregate:
    """One pass over the hours (this runs for every generated day)."""
    first = hours[0]
    t_min = t_max = first.temp_c
    windiest = sunniest = first
    sun_best = -1.0
    rain = snow = gust = pop = 0.0
    clouds = 0
    ids: set[int] = set()
    for h in hours:
        temp = h.temp_c
        if temp < t_min:
            t_min = temp
        elif temp > t_max:
            t_max = temp
        if h.wind_ms > windiest.wind_ms:
            windiest = h
        if h.sun_sine > 0.0:
            cloud = h.clouds_pct / 100.0
            uv_weight = h.sun_sine * (1.0 - 0.7 * cloud * cloud)
            if uv_weight > sun_best:
                sun_best, sunniest = uv_weight, h
        rain += h.rain_mm
        snow += h.snow_mm
        if h.gust_ms > gust:
            gust = h.gust_ms
        if h.pop > pop:
            pop = h.pop
        clouds += h.clouds_pct
        ids.add(h.weather_id)
    rain = round(rain, 2)
    snow = round(snow, 2)
    clouds_mean = round(clouds / len(hours))
    return DayAggregate(
        local_midnight_s=local_midnight_s,
        hours=tuple(hours),
        sun=sun,
        temp_min_c=t_min,
        temp_max_c=t_max,
        rain_mm=rain,
        snow_mm=snow,
        windiest=windiest,
        sunniest=sunniest,
        gust_max_ms=gust,
        pop_max=pop,
        clouds_mean_pct=clouds_mean,
        weather_id=day_condition(ids, rain_mm=rain, snow_mm=snow, clouds_pct=clouds_mean),
    )


def day_condition(ids: set[int], *, rain_mm: float, snow_mm: float, clouds_pct: int) -> int:
    """The condition that best describes a whole day (``ids``: its hours' conditions): the most
    significant precipitation by daily total, else the mean cloud cover."""
    if rain_mm + snow_mm <= 0.0:
        return cloud_id(clouds_pct / 100.0)
    if 511 in ids:
        return 511
    if ids & _THUNDER_IDS and rain_mm >= snow_mm:
        return 200 if rain_mm < 2.5 else 201 if rain_mm < 20.0 else 202
    if ids & _SLEET_IDS and snow_mm <= 2.0 * rain_mm and rain_mm <= 2.0 * snow_mm:
        return 611
    if snow_mm > rain_mm:
        return 600 if snow_mm < 2.0 else 601 if snow_mm < 10.0 else 602
    if rain_mm < 0.5 and ids <= _DRY_OR_DRIZZLE_IDS:
        return 300
    if rain_mm < 5.0:
        return 500
    if rain_mm < 15.0:
        return 501
    if rain_mm < 30.0:
        return 502
    return 503 if rain_mm < 50.0 else 504


def day_summary_text(day: DayAggregate) -> str:
    """A one-line English summary, like OpenWeatherMap's ``daily[].summary``."""
    description = CONDITIONS[day.weather_id].description
    if day.rain_mm + day.snow_mm <= 0.0:
        return f"There will be {description} today"
    parts = []
    if day.rain_mm > 0.0:
        parts.append(f"{day.rain_mm:.1f} mm of rain")
    if day.snow_mm > 0.0:
        parts.append(f"{day.snow_mm:.1f} mm of snow (water equivalent)")
    return f"Expect a day of {description} with " + " and ".join(parts)
