"""The state of the ground, built from the generated hours: snow cover and topsoil moisture.

OpenWeatherMap reports neither, Open-Meteo does (``snow_depth``, ``soil_moisture_*``), so the mock
derives them from the same hours as everything else:

* the snowpack (water equivalent) gains each hour's snow and loses a degree-hour melt of
  ``MELT_MM_PER_DEGREE_HOUR`` per degree above 0 degC; its depth is the water at Open-Meteo's
  fresh-snow ratio (7 cm of snow per 10 mm of water);
* each soil layer's moisture is a baseline set by the local climate plus a decaying memory of the
  water that reached it (rain, and snow as it melts), bounded to plausible volumetric fractions.

A value at hour ``H`` is the state after the hours before it (it depends on nothing later). To be
a pure function of the place and the hour, whatever was asked before, the state for the hours of a
UTC day is always rebuilt from empty ``LOOKBACK_HOURS`` before that day starts, and kept per day.
A snowpack older than the lookback is forgotten, which is the price of that determinism.

The top layer alone (``soil_moisture_0_to_1cm``, what a trail classifier reads) is built from a
shorter lookback, ``TOP_LOOKBACK_HOURS``, in every answer: after five days it keeps under 1% of the
water that reached it, so the value barely differs, and an answer that asks for nothing else costs
six generated days instead of twenty-two.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from mock_owm.climate import Location
from mock_owm.forecast import Forecaster
from mock_owm.model import HOURS_PER_DAY

LOOKBACK_HOURS = 21 * HOURS_PER_DAY
TOP_LOOKBACK_HOURS = 5 * HOURS_PER_DAY
MELT_MM_PER_DEGREE_HOUR = 0.15  # about 3.6 mm of water a day per degree above freezing
SNOW_DEPTH_M_PER_MM = 0.007  # 10 mm of water is 7 cm of snow
MOISTURE_MIN = 0.05  # m3/m3: dry sand
MOISTURE_MAX = 0.5  # saturated loam
DEFAULT_GROUND_CACHE = 4_096  # UTC days of one place (~3 kB each)


class Layer(NamedTuple):
    decay_per_hour: float  # how much of the water's effect is left after an hour
    m3_per_mm: float  # moisture added by 1 mm reaching the layer
    dryness: float  # the baseline is lowered by this in a dry climate


# The thin top layer reacts at once and dries in a day or two; deeper ones lag and keep it longer.
LAYERS = (
    Layer(decay_per_hour=0.96, m3_per_mm=0.025, dryness=0.10),  # 0-1 cm
    Layer(decay_per_hour=0.98, m3_per_mm=0.012, dryness=0.08),  # 1-3 cm
    Layer(decay_per_hour=0.992, m3_per_mm=0.006, dryness=0.06),  # 3-9 cm
)


class Ground(NamedTuple):
    snow_depth_m: float
    moisture: tuple[float, ...]  # one per layer of LAYERS, m3/m3


def _baseline(loc: Location, layer: Layer) -> float:
    """Wetter climates keep wetter soil between rains (wet_fraction spans about 0.01 to 0.3)."""
    wetness = min(1.0, loc.wet_fraction / 0.25)
    return 0.28 - layer.dryness * (1.0 - wetness) - 0.1 * (1.0 - wetness)


class GroundModel:
    def __init__(self, forecaster: Forecaster, *, day_cache: int = DEFAULT_GROUND_CACHE) -> None:
        self._forecaster = forecaster
        self._day = lru_cache(maxsize=day_cache)(self._make_day)
        self._top_day = lru_cache(maxsize=day_cache)(self._make_top_day)

    def at(self, loc: Location, first_hour: int, count: int) -> list[Ground]:
        """The ground at the start of ``count`` hours from ``first_hour`` (hours since 1970 UTC)."""
        deep = self._days(self._day, loc, first_hour, count)
        top = self.top_moisture(loc, first_hour, count)
        return [
            Ground(g.snow_depth_m, (m, *g.moisture[1:])) for g, m in zip(deep, top, strict=True)
        ]

    def top_moisture(self, loc: Location, first_hour: int, count: int) -> list[float]:
        """The top layer's moisture alone (``at(...)[i].moisture[0]``), at a quarter of the cost."""
        return self._days(self._top_day, loc, first_hour, count)

    @staticmethod
    def _days(make: Any, loc: Location, first_hour: int, count: int) -> list[Any]:
        out: list[Any] = []
        hour = first_hour
        end = first_hour + count
        while hour < end:
            day, j = divmod(hour, HOURS_PER_DAY)
            take = min(HOURS_PER_DAY - j, end - hour)
            out.extend(make(loc.lat_key, loc.lon_key, day)[j:j + take])
            hour += take
        return out

    def _make_day(self, lat_key: int, lon_key: int, day: int) -> tuple[Ground, ...]:
        return self._build_day(lat_key, lon_key, day, LOOKBACK_HOURS)

    def _make_top_day(self, lat_key: int, lon_key: int, day: int) -> tuple[float, ...]:
        return tuple(g.moisture[0] for g in self._build_day(lat_key, lon_key, day,
                                                             TOP_LOOKBACK_HOURS))

    def _build_day(self, lat_key: int, lon_key: int, day: int,
                   lookback_hours: int) -> tuple[Ground, ...]:
        loc = self._forecaster.location_by_key(lat_key, lon_key)
        day_start = day * HOURS_PER_DAY
        hours = self._forecaster.hours(loc, day_start - lookback_hours,
                                       lookback_hours + HOURS_PER_DAY - 1)
        baselines = [_baseline(loc, layer) for layer in LAYERS]
        water = [0.0] * len(LAYERS)
        swe = 0.0
        out: list[Ground] = []
        # hours[i] starts at day_start - lookback_hours + i; once it is done, the state is that of
        # the start of the next hour, which lies in this day from i = lookback_hours - 1 on.
        for i, h in enumerate(hours):
            melt = min(swe + h.snow_mm, MELT_MM_PER_DEGREE_HOUR * max(0.0, h.temp_c))
            swe = swe + h.snow_mm - melt
            reaching = h.rain_mm + melt
            for n, layer in enumerate(LAYERS):
                water[n] = water[n] * layer.decay_per_hour + reaching
            if i >= lookback_hours - 1:
                out.append(_ground(swe, water, baselines))
        return tuple(out)


def _ground(swe_mm: float, water: list[float], baselines: list[float]) -> Ground:
    moisture = tuple(
        min(MOISTURE_MAX, max(MOISTURE_MIN, base + layer.m3_per_mm * w))
        for base, layer, w in zip(baselines, LAYERS, water, strict=True)
    )
    return Ground(swe_mm * SNOW_DEPTH_M_PER_MM, moisture)
