"""Noise knots of the latent weather processes, per regional grid corner and per place.

A regional corner's knots for one UTC day are shared by every place in the four cells around it,
so they are memoised: trail locations cluster, and neighbouring days reuse them too. One 64-bit
hash yields five 12-bit values, so a corner-day costs two hashes and a place's knot one.
"""

from __future__ import annotations

from functools import lru_cache

from mock_owm.noise import LOGISTIC_TABLE, hash64, logistic_five

KNOTS_PER_DAY = 4  # one knot every 6 hours
REGIONAL_CACHE_ENTRIES = 32_768
FREEZING_RAIN_SIXTEENTHS = 5  # about 30 % of 6 h spells have a warm layer aloft

_SALT_REGIONAL_A = 101
_SALT_REGIONAL_B = 102
_SALT_LOCAL = 103
_MASK12 = 0xFFF
_INV_4096 = 1.0 / 4096.0


@lru_cache(maxsize=REGIONAL_CACHE_ENTRIES)
def regional_day(cx: int, cy: int, day: int) -> tuple[float, ...]:
    """Knots of one regional corner on one UTC day, all zero-mean with unit variance: ``(moisture,
    cloud)`` for each 6 h knot, then the day's ``(temperature anomaly, wet regime)``."""
    return logistic_five(hash64(cx, cy, day, _SALT_REGIONAL_A)) + logistic_five(
        hash64(cx, cy, day, _SALT_REGIONAL_B))


Corners = tuple[tuple[int, int, float], ...]


@lru_cache(maxsize=REGIONAL_CACHE_ENTRIES)
def regional_blend(corners: Corners, day: int) -> tuple[float, ...]:
    """``regional_day`` blended over a place's four corners (weights with unit sum of squares):
    the same ten values, still zero-mean with unit variance."""
    blend = [0.0] * 10
    for cx, cy, w in corners:
        for n, value in enumerate(regional_day(cx, cy, day)):
            blend[n] += w * value
    return tuple(blend)


class KnotSeries:
    """The blended knots that 24 consecutive UTC hours from ``first_hour`` need at one place.

    Six-hourly: moisture (85 % regional, 15 % local by variance), cloud, storm, windiness, veer and
    the freezing-rain flag; daily: temperature anomaly (unit variance) and the wet regime.
    """

    __slots__ = ("anomaly", "cloud", "freezing", "moisture", "regime", "storm", "veer",
                 "windiness")

    def __init__(self, corners: Corners, lat_key: int, lon_key: int, first_hour: int) -> None:
        last_hour = first_hour + 23
        first_knot = first_hour // 6
        last_knot = last_hour // 6 + 1
        first_day = first_hour // 24
        last_day = last_hour // 24 + 1
        rows = {day: regional_blend(corners, day)
                for day in range(first_day, max(last_day, last_knot // KNOTS_PER_DAY) + 1)}
        self.moisture: list[float] = []
        self.cloud: list[float] = []
        self.storm: list[float] = []
        self.windiness: list[float] = []
        self.veer: list[float] = []
        self.freezing: list[bool] = []
        for knot in range(first_knot, last_knot + 1):
            day, slot = divmod(knot, KNOTS_PER_DAY)
            row = rows[day]
            h = hash64(lat_key, lon_key, knot, _SALT_LOCAL)
            self.moisture.append(0.85 * row[2 * slot] + 0.527 * LOGISTIC_TABLE[h >> 52])
            self.storm.append(LOGISTIC_TABLE[(h >> 40) & _MASK12])
            self.cloud.append(0.7 * row[2 * slot + 1] + 0.714 * LOGISTIC_TABLE[(h >> 28) & _MASK12])
            self.windiness.append(0.5 + (((h >> 16) & _MASK12) + 0.5) * _INV_4096)
            self.veer.append(((((h >> 4) & _MASK12) + 0.5) * _INV_4096 - 0.5) * 140.0)
            self.freezing.append((h & 0xF) < FREEZING_RAIN_SIXTEENTHS)
        self.anomaly = [rows[day][8] for day in range(first_day, last_day + 1)]
        self.regime = [rows[day][9] for day in range(first_day, last_day + 1)]
