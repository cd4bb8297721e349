"""The one hourly weather generator: every answer of the mock derives from ``local_day_hours``.

Weather at a place and UTC hour comes from a few latent processes, each a smooth interpolation of
deterministic noise knots (``knots.py``):

* moisture (6 h knots, mostly regional on a 2.5 degree grid, partly local) plus a wet/dry regime
  (24 h knots): precipitation falls while it exceeds a threshold set by the local climate and
  season, so rain comes in multi-hour events of varied size, from drizzle to 50+ mm storms;
* a temperature anomaly (24 h knots) on top of the seasonal cycle (hemisphere-aware), the lapse rate
  of the pseudo-elevation and a day/night cycle damped by cloud;
* local storm strength, cloud, wind and a freezing-rain flag (6 h knots).

Hours are generated a local date at a time (in the place's zone); forecast, history and daily
aggregates all read the same hours, so they agree wherever they overlap. Precipitation is rounded
to 0.01 mm here, so that sums over hours equal the sums of the values a client sees; the other
fields are rounded when rendered.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist
from typing import NamedTuple

from mock_owm.astro import SECONDS_PER_DAY, SolarDay, solar_day
from mock_owm.climate import Location
from mock_owm.conditions import (
    FOG_MAX_DEW_DEPRESSION_C,
    FREEZING_RAIN_MIN_C,
    KIND_FREEZING_RAIN,
    KIND_RAIN,
    KIND_SLEET,
    KIND_SNOW,
    MIST_MAX_DEW_DEPRESSION_C,
    MIST_MAX_WIND_MS,
    SLEET_MAX_C,
    THUNDER_MIN_C,
    cloud_id,
    pick_hour_condition,
)
from mock_owm.knots import KNOTS_PER_DAY, KnotSeries
from mock_owm.noise import interpolation_table, unit_quad

HOURS_PER_DAY = 24
SECONDS_PER_HOUR = 3600
_KNOT_HOURS = HOURS_PER_DAY // KNOTS_PER_DAY

_SALT_HOURLY = 105
_SIX_HOUR = interpolation_table(_KNOT_HOURS)
_ONE_DAY = interpolation_table(HOURS_PER_DAY)
_YEAR_DAYS = 365.2422
_COLDEST_DAY_OF_YEAR = 19  # January 20th (0-based): coldest in the north, warmest in the south
_MIN_PRECIP_MM = 0.05
_RADIANS_PER_S = 2.0 * math.pi / SECONDS_PER_DAY
_NORMAL = NormalDist()


class Hour(NamedTuple):
    """One hour at one place, in SI units (precipitation in mm during the hour)."""

    dt: int
    temp_c: float
    dew_point_c: float
    pressure_hpa: int
    clouds_pct: int
    wind_ms: float
    wind_deg: int
    gust_ms: float  # 0.0 when not gusty: the key is then left out
    rain_mm: float  # liquid: rain, drizzle, freezing rain and half of sleet
    snow_mm: float  # water equivalent: snow and half of sleet
    weather_id: int
    pop: float
    sun_sine: float  # sine of the sun's elevation at ``dt``
    visibility_m: int


def season_winter_factor(loc: Location, day: float) -> float:
    """+1 in local mid-winter, -1 in mid-summer (``day``: days since 1970-01-01)."""
    phase = 2.0 * math.pi * (day - _COLDEST_DAY_OF_YEAR) / _YEAR_DAYS
    return math.cos(phase) * loc.season_sign


def wet_threshold(loc: Location, day: int) -> float:
    """The moisture level above which it precipitates on ``day`` (a standard normal quantile)."""
    winter = season_winter_factor(loc, day + 0.5)
    share = loc.wet_fraction * (1.0 - loc.wet_season_amp * winter)
    share = min(0.6, max(0.004, share))
    return _NORMAL.inv_cdf(1.0 - share)


@lru_cache(maxsize=HOURS_PER_DAY)
def _hour_table(start_hour_of_day: int) -> tuple[
        tuple[int, float, float, float, int, float, float], ...]:
    """For a day starting at UTC hour ``start_hour_of_day``, per hour: the index of the 6 h knot
    before it, the two knots' weights, the linear position between them, then the same for the
    daily knots (index and two weights)."""
    rows = []
    for j in range(HOURS_PER_DAY):
        six = start_hour_of_day + j
        w0, w1, s6 = _SIX_HOUR[six % _KNOT_HOURS]
        d0, d1, _ = _ONE_DAY[six % HOURS_PER_DAY]
        rows.append((six // _KNOT_HOURS - start_hour_of_day // _KNOT_HOURS, w0, w1, s6,
                     six // HOURS_PER_DAY, d0, d1))
    return tuple(rows)


_new_hour = tuple.__new__


def local_day_hours(loc: Location, date_days: int) -> tuple[tuple[Hour, ...], SolarDay]:
    """The 24 hours of local date ``date_days`` (days since 1970-01-01 in ``loc``'s zone), and the
    sun on that date."""
    first_hour = (date_days * SECONDS_PER_DAY - loc.tz_offset_s) // SECONDS_PER_HOUR
    k = KnotSeries(loc.corners, loc.lat_key, loc.lon_key, first_hour)
    moisture, cloud, storm, windiness, veer = k.moisture, k.cloud, k.storm, k.windiness, k.veer
    freezing, anomalies, regime = k.freezing, k.anomaly, k.regime
    threshold = wet_threshold(loc, date_days)
    sun = solar_day(date_days, lon=loc.lon, sin_lat=loc.sin_lat, cos_lat=loc.cos_lat,
                    elevation_m=loc.elevation_m)
    sun_a = loc.sin_lat * sun.sin_dec
    sun_b = loc.cos_lat * sun.cos_dec
    transit = sun.transit_s
    diurnal_amp = loc.diurnal_amp_c
    anomaly_sd = loc.anomaly_sd_c
    shape = loc.diurnal_shape
    dew_depression = loc.dew_depression_c
    wind_base = loc.wind_base_ms
    wind_dir = loc.wind_dir_deg + 360.5
    first_t = first_hour * SECONDS_PER_HOUR
    first_day = first_t / SECONDS_PER_DAY
    season_t = loc.t_mean_c - loc.season_amp_c * season_winter_factor(loc, first_day)
    season_end = loc.t_mean_c - loc.season_amp_c * season_winter_factor(loc, first_day + 1.0)
    season_step = (season_end - season_t) / HOURS_PER_DAY
    t = first_t
    cos = math.cos

    hours: list[Hour] = []
    for j, (i, w0, w1, s6, di, d0, d1) in enumerate(_hour_table(first_hour % HOURS_PER_DAY)):
        z = (0.8 * (moisture[i] * w0 + moisture[i + 1] * w1)
             + 0.6 * (regime[di] * d0 + regime[di + 1] * d1))
        excess = z - threshold
        cloud_fraction = 0.847 + 0.33 * excess + 0.22 * (cloud[i] * w0 + cloud[i + 1] * w1)
        if excess > 0.0 and cloud_fraction < 0.8:
            cloud_fraction = 0.8
        elif cloud_fraction > 1.0:
            cloud_fraction = 1.0
        elif cloud_fraction < 0.0:
            cloud_fraction = 0.0
        daylight = shape[j]
        anomaly = (anomalies[di] * d0 + anomalies[di + 1] * d1) * anomaly_sd
        temp = season_t + anomaly + diurnal_amp * (1.0 - 0.55 * cloud_fraction) * daylight
        wind = wind_base * (windiness[i] + (windiness[i + 1] - windiness[i]) * s6)
        dd = 0.7 - 0.35 * excess
        dd = dew_depression * (0.08 if dd < 0.08 else 1.6 if dd > 1.6 else dd)
        if daylight > 0.0:
            wind *= 1.0 + 0.15 * daylight
            dd += 0.25 * diurnal_amp * daylight
        else:  # clear, calm nights cool to the dew point: mist and fog by morning
            dd *= 1.0 + 0.8 * (1.0 - cloud_fraction) * daylight
        if excess > -0.3:
            wind += 1.5 * (excess + 0.3)

        if excess > 0.0:
            rain_mm, snow_mm, temp, dd, gust, condition = _precipitation(
                loc, first_hour + j, excess, temp, dd, wind, cloud_fraction,
                storm[i] * w0 + storm[i + 1] * w1, freezing[i if s6 < 0.5 else i + 1])
        else:
            rain_mm = snow_mm = 0.0
            gust = wind * (1.3 + 0.012 * wind) if wind >= 4.0 else 0.0
            if dd <= MIST_MAX_DEW_DEPRESSION_C and wind < MIST_MAX_WIND_MS:
                condition = 741 if dd <= FOG_MAX_DEW_DEPRESSION_C else 701
            else:
                condition = cloud_id(cloud_fraction)
        if rain_mm or snow_mm:
            pop = 0.6 + 0.25 * excess
            pop = 1.0 if pop > 1.0 else pop
            if snow_mm > rain_mm:
                visibility = 10_000.0 - 1_800.0 * snow_mm
                visibility = 300.0 if visibility < 300.0 else visibility
            else:
                visibility = 10_000.0 - 500.0 * (rain_mm + snow_mm)
                visibility = 1_500.0 if visibility < 1_500.0 else visibility
        else:
            pop = 0.3 * (excess + 1.2)
            pop = 0.0 if pop < 0.0 else 0.55 if pop > 0.55 else pop
            visibility = 300.0 + 2_500.0 * dd if 700 <= condition < 800 else 10_000.0
        hours.append(_new_hour(Hour, (
            t,
            temp,
            temp - dd,
            int(1013.5 - 7.0 * z - 0.8 * anomaly),
            int(cloud_fraction * 100.0 + 0.5),
            wind,
            int(wind_dir + veer[i] + (veer[i + 1] - veer[i]) * s6) % 360,
            gust,
            rain_mm,
            snow_mm,
            condition,
            pop,
            sun_a + sun_b * cos((t - transit) * _RADIANS_PER_S),
            int(visibility),
        )))
        t += SECONDS_PER_HOUR
        season_t += season_step
    return tuple(hours), sun


def _precipitation(loc: Location, hour_index: int, excess: float, temp: float, dd: float,
                   wind: float, cloud_fraction: float, storm: float,
                   freezing: bool) -> tuple[float, float, float, float, float, int]:
    """An hour above the wet threshold: ``(rain_mm, snow_mm, temp, dew depression, gust, id)``."""
    u_jitter, u_thunder, u_gust, _ = unit_quad(loc.lat_key, loc.lon_key, hour_index, _SALT_HOURLY)
    warm = math.exp(0.035 * (temp - 10.0))  # warm air holds more water
    warm = 0.5 if warm < 0.5 else 1.8 if warm > 1.8 else warm
    excess = 2.5 if excess > 2.5 else excess
    amount = loc.rain_rate_mm_h * warm * (0.25 + 2.0 * excess + 0.8 * excess * excess)
    if storm > 1.0:
        amount *= 1.0 + (2.0 if storm > 3.0 else storm - 1.0)
    amount = round(amount * (0.7 + 0.6 * u_jitter), 2)
    gust = wind * (1.3 + 0.012 * wind) if wind >= 4.0 else 0.0
    if amount < _MIN_PRECIP_MM:
        return 0.0, 0.0, temp, dd, gust, pick_hour_condition(
            kind=0, rate_mm_h=0.0, thunder=False, cloud_fraction=cloud_fraction,
            dew_depression_c=dd, wind_ms=wind)
    temp -= min(2.5, 0.6 + 0.5 * math.sqrt(amount))
    dd = min(dd, 0.3 + 0.5 * u_gust)
    thunder = False
    if temp > SLEET_MAX_C:
        kind = KIND_RAIN
        thunder = (temp >= THUNDER_MIN_C and amount >= 1.5
                   and u_thunder < min(0.5, 0.15 + 0.02 * (temp - THUNDER_MIN_C)))
        if thunder:
            gust = wind * (1.3 + 0.012 * wind) + 4.0 + 6.0 * u_gust
    elif temp > 0.0:
        kind = KIND_SLEET
    elif temp > FREEZING_RAIN_MIN_C and freezing:
        kind = KIND_FREEZING_RAIN
    else:
        kind = KIND_SNOW
    condition = pick_hour_condition(kind=kind, rate_mm_h=amount, thunder=thunder,
                                    cloud_fraction=cloud_fraction, dew_depression_c=dd,
                                    wind_ms=wind)
    if kind == KIND_SNOW:
        return 0.0, amount, temp, dd, gust, condition
    if kind == KIND_SLEET:
        rain_mm = round(amount / 2.0, 2)
        return rain_mm, round(amount - rain_mm, 2), temp, dd, gust, condition
    return amount, 0.0, temp, dd, gust, condition
