"""Sun and moon: solar noon, declination, sunrise/sunset (the sunrise equation), moon phase.

Accurate to a minute or two for the sun, which is plenty for day/night icons and UV; the moon is
an approximation (rise and set six hours and a quarter either side of its transit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400
_DAYS_1970_TO_2000 = 10_957
_JD_UNIX_EPOCH = 2_440_587.5
_JD_J2000 = 2_451_545.0
_SIN_OBLIQUITY = math.sin(math.radians(23.4397))
# A new moon (2000-01-06 18:14 UTC) and the mean synodic month.
_NEW_MOON_UNIX_S = 947_182_440
SYNODIC_MONTH_DAYS = 29.530_588_853
_MOON_HALF_ARC_S = 22_350  # about 6 h 12 min from rise to transit
_MOON_LAG_S_PER_PHASE = SECONDS_PER_DAY  # the moon transits one day later per synodic month


@dataclass(frozen=True, slots=True)
class SolarDay:
    """The sun on one day at one place; ``sunrise_s``/``sunset_s`` are None in polar day/night."""

    transit_s: float
    sin_dec: float
    cos_dec: float
    sunrise_s: int | None
    sunset_s: int | None
    polar_day: bool


def solar_day(day: int, *, lon: float, sin_lat: float, cos_lat: float,
              elevation_m: float) -> SolarDay:
    """The sun on ``day`` (days since 1970-01-01); solar noon falls on that date at ``lon``."""
    j_star = (day - _DAYS_1970_TO_2000) - lon / 360.0
    mean_anomaly = math.radians((357.5291 + 0.985_600_28 * j_star) % 360.0)
    center = (
        1.9148 * math.sin(mean_anomaly)
        + 0.0200 * math.sin(2 * mean_anomaly)
        + 0.0003 * math.sin(3 * mean_anomaly)
    )
    ecliptic = math.radians((math.degrees(mean_anomaly) + center + 282.9372) % 360.0)
    j_transit = (_JD_J2000 + j_star + 0.0053 * math.sin(mean_anomaly)
                 - 0.0069 * math.sin(2 * ecliptic))
    transit_s = (j_transit - _JD_UNIX_EPOCH) * SECONDS_PER_DAY
    sin_dec = math.sin(ecliptic) * _SIN_OBLIQUITY
    cos_dec = math.sqrt(1.0 - sin_dec * sin_dec)
    horizon_deg = -0.833 - 2.076 * math.sqrt(max(elevation_m, 0.0)) / 60.0
    denom = cos_lat * cos_dec
    cos_hour_angle = (
        (math.sin(math.radians(horizon_deg)) - sin_lat * sin_dec) / denom if denom > 1e-9 else 2.0
    )
    if cos_hour_angle <= -1.0 or cos_hour_angle >= 1.0:
        return SolarDay(transit_s, sin_dec, cos_dec, None, None, polar_day=cos_hour_angle <= -1.0)
    half_day_s = math.degrees(math.acos(cos_hour_angle)) / 360.0 * SECONDS_PER_DAY
    return SolarDay(
        transit_s,
        sin_dec,
        cos_dec,
        round(transit_s - half_day_s),
        round(transit_s + half_day_s),
        polar_day=False,
    )


def sun_sine(sun: SolarDay, t_s: float, *, sin_lat: float, cos_lat: float) -> float:
    """Sine of the sun's elevation at ``t_s`` (negative below the horizon)."""
    hour_angle = (t_s - sun.transit_s) * (2.0 * math.pi / SECONDS_PER_DAY)
    return sin_lat * sun.sin_dec + cos_lat * sun.cos_dec * math.cos(hour_angle)


# The sun's centre is 0.833 degrees below the horizon at sunrise (refraction and its radius).
DAYLIGHT_MIN_SINE = math.sin(math.radians(-0.833))


def moon_phase(t_s: float) -> float:
    """0 and 1 new moon, 0.25 first quarter, 0.5 full moon, 0.75 last quarter."""
    return ((t_s - _NEW_MOON_UNIX_S) / SECONDS_PER_DAY / SYNODIC_MONTH_DAYS) % 1.0


def moon_rise_set(sun: SolarDay, local_midnight_s: int) -> tuple[int, int]:
    """Approximate moonrise and moonset on the local date starting at ``local_midnight_s``."""
    transit = sun.transit_s + moon_phase(sun.transit_s) * _MOON_LAG_S_PER_PHASE
    rise = local_midnight_s + int((transit - _MOON_HALF_ARC_S - local_midnight_s) % SECONDS_PER_DAY)
    set_ = local_midnight_s + int((transit + _MOON_HALF_ARC_S - local_midnight_s) % SECONDS_PER_DAY)
    return rise, set_
