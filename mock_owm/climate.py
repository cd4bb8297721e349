"""Static facts about a place: pseudo-elevation, timezone and climate, all derived from lat/lon.

OpenWeatherMap knows real terrain; the mock does not, so it invents a smooth, deterministic
landscape: mountain ranges from value noise (some places are alpine), continental and maritime
regions, wet and dry belts by latitude (the tropics, the subtropical deserts, the storm tracks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mock_owm.noise import value_noise_2d

# Regional weather systems are coherent over cells of this size (about 280 km north-south).
REGION_CELL_DEG = 2.5
REGION_WRAP_CELLS = 144  # 360 / REGION_CELL_DEG
# Every coordinate is rounded to this many decimals (what OpenWeatherMap echoes back).
COORD_DECIMALS = 4
_COORD_SCALE = 10**COORD_DECIMALS

_SALT_RELIEF_BROAD = 11
_SALT_RELIEF_RANGE = 12
_SALT_RELIEF_LOCAL = 13
_SALT_CONTINENTAL = 21
_SALT_WETNESS = 22
_SALT_WETNESS_LOCAL = 23

MAX_ELEVATION_M = 4800.0
LAPSE_RATE_C_PER_M = 0.0065


@dataclass(frozen=True, slots=True)
class Location:
    """A place and its climate; every field is a pure function of the rounded coordinates."""

    lat: float
    lon: float
    lat_key: int  # lat * 10^4 as an integer: the noise key of this place
    lon_key: int
    elevation_m: float
    tz_name: str
    tz_offset_s: int
    sin_lat: float
    cos_lat: float
    t_mean_c: float  # annual mean 2 m temperature at this elevation
    season_amp_c: float  # half the annual range of daily means
    season_sign: float  # +1 north (coldest in January), -1 south
    diurnal_amp_c: float  # half the day-night range under a clear sky
    anomaly_sd_c: float  # standard deviation of day-to-day temperature anomalies
    wet_fraction: float  # annual share of hours with precipitation
    wet_season_amp: float  # > 0: wetter in local summer (monsoon); < 0: wetter in winter
    rain_rate_mm_h: float  # scale of precipitation intensity
    dew_depression_c: float  # typical temperature minus dew point in fair weather
    wind_base_ms: float
    wind_dir_deg: float  # prevailing direction the wind blows from
    # For each hour of the local (zone) day: cos of the solar hour's phase, +1 at 15:00 solar time.
    diurnal_shape: tuple[float, ...]
    # The four surrounding regional-grid corners (cx, cy) and their bilinear weights, scaled so that
    # the squares sum to 1: a weighted sum of unit-variance corner values has unit variance.
    corners: tuple[tuple[int, int, float], ...]


def round_coord(value: float) -> float:
    return round(value, COORD_DECIMALS)


def timezone_for(lon: float) -> tuple[str, int]:
    """A fixed-offset IANA zone from longitude: the offset is lon / 15 hours rounded half up.

    ``Etc/GMT`` zones invert the sign by POSIX convention: UTC+2 is ``Etc/GMT-2``. They have no
    daylight saving, so the offset holds all year.
    """
    hours = max(-12, min(12, math.floor(lon / 15.0 + 0.5)))
    if hours == 0:
        return "Etc/GMT", 0
    name = f"Etc/GMT-{hours}" if hours > 0 else f"Etc/GMT+{-hours}"
    return name, hours * 3600


def pseudo_elevation_m(lat: float, lon: float) -> float:
    """Invented terrain: plains, uplands and mountain ranges. About half of all places lie below
    100 m, one in ten above 1,200 m and one in fifty above 2,800 m (alpine)."""
    broad = value_noise_2d(lon / 8.0, lat / 8.0, salt=_SALT_RELIEF_BROAD, wrap_x=45)
    ranges = value_noise_2d(lon / 2.0, lat / 2.0, salt=_SALT_RELIEF_RANGE, wrap_x=180)
    local = value_noise_2d(lon / 0.5, lat / 0.5, salt=_SALT_RELIEF_LOCAL, wrap_x=720)
    raw = 0.5 * broad + 0.35 * ranges + 0.15 * local
    height = min(1.0, max(0.0, (raw - 0.48) / 0.37))
    return round(MAX_ELEVATION_M * height**2.2 + 150.0 * local, 1)


def _corners(lat: float, lon: float) -> tuple[tuple[int, int, float], ...]:
    x = (lon + 180.0) / REGION_CELL_DEG
    y = (lat + 90.0) / REGION_CELL_DEG
    ix = math.floor(x)
    iy = math.floor(y)
    fx = x - ix
    fy = y - iy
    raw = (
        (ix % REGION_WRAP_CELLS, iy, (1 - fx) * (1 - fy)),
        ((ix + 1) % REGION_WRAP_CELLS, iy, fx * (1 - fy)),
        (ix % REGION_WRAP_CELLS, iy + 1, (1 - fx) * fy),
        ((ix + 1) % REGION_WRAP_CELLS, iy + 1, fx * fy),
    )
    norm = 1.0 / math.sqrt(sum(w * w for _, _, w in raw))
    return tuple((cx, cy, w * norm) for cx, cy, w in raw)


def _wet_fraction_by_latitude(lat: float) -> float:
    """The tropics are wet, the subtropics (about 25 degrees) dry, the storm tracks wet again."""
    a = abs(lat)
    tropics = math.exp(-((lat / 11.0) ** 2))
    storm_tracks = math.exp(-(((a - 52.0) / 15.0) ** 2))
    return 0.05 + 0.17 * tropics + 0.07 * storm_tracks


def locate(lat: float, lon: float) -> Location:
    """The climate of a place; ``lat``/``lon`` are rounded to 4 decimals first."""
    lat = round_coord(lat)
    lon = round_coord(lon)
    abs_lat = abs(lat)
    elevation_m = pseudo_elevation_m(lat, lon)
    tz_name, tz_offset_s = timezone_for(lon)
    continental = value_noise_2d(lon / 12.0, lat / 12.0, salt=_SALT_CONTINENTAL, wrap_x=30)
    wet = 0.7 * value_noise_2d(lon / 12.0, lat / 12.0, salt=_SALT_WETNESS, wrap_x=30) + 0.3 * (
        value_noise_2d(lon / 3.0, lat / 3.0, salt=_SALT_WETNESS_LOCAL, wrap_x=120)
    )
    cos_lat = math.cos(math.radians(lat))

    t_sea_c = 27.0 - 0.0077 * lat * lat - 4.0 * (continental - 0.5)
    t_mean_c = t_sea_c - LAPSE_RATE_C_PER_M * elevation_m
    season_amp_c = (1.0 + 0.25 * abs_lat) * (0.45 + 0.7 * continental)
    warmth = min(1.0, max(0.1, (t_mean_c + 5.0) / 32.0))
    mediterranean = math.exp(-(((abs_lat - 37.0) / 8.0) ** 2)) * (1.0 - continental)
    monsoon = math.exp(-((lat / 18.0) ** 2))
    summer_storms = 0.3 * (continental - 0.5) if abs_lat > 40 else 0.0
    wet_season_amp = 0.6 * monsoon - 0.6 * mediterranean + summer_storms
    if abs_lat < 30.0:
        wind_dir_deg = 45.0 if lat >= 0 else 135.0  # trade winds
    elif abs_lat < 62.0:
        wind_dir_deg = 260.0 if lat >= 0 else 280.0  # westerlies
    else:
        wind_dir_deg = 90.0  # polar easterlies

    return Location(
        lat=lat,
        lon=lon,
        lat_key=round(lat * _COORD_SCALE),
        lon_key=round(lon * _COORD_SCALE),
        elevation_m=elevation_m,
        tz_name=tz_name,
        tz_offset_s=tz_offset_s,
        sin_lat=math.sin(math.radians(lat)),
        cos_lat=cos_lat,
        t_mean_c=t_mean_c,
        season_amp_c=season_amp_c,
        season_sign=1.0 if lat >= 0 else -1.0,
        diurnal_amp_c=(2.5 + 4.0 * (1.0 - wet) + 1.5 * continental) * (0.35 + 0.65 * cos_lat),
        anomaly_sd_c=(1.0 + 4.0 * math.sin(math.radians(abs_lat))) * (0.8 + 0.4 * continental),
        wet_fraction=_wet_fraction_by_latitude(lat) * (0.35 + 1.3 * wet),
        wet_season_amp=wet_season_amp,
        rain_rate_mm_h=(0.3 + 0.75 * warmth) * (0.6 + 0.8 * wet),
        dew_depression_c=1.5 + 9.0 * (1.0 - wet) * warmth + 1.5 * continental,
        wind_base_ms=2.2 + 2.5 * abs_lat / 90.0 + elevation_m / 1500.0 + (1.0 - continental),
        wind_dir_deg=wind_dir_deg,
        diurnal_shape=tuple(
            math.cos(2.0 * math.pi * (hour - tz_offset_s / 3600.0 + lon / 15.0 - 15.0) / 24.0)
            for hour in range(24)
        ),
        corners=_corners(lat, lon),
    )
