"""Snow water equivalent tracked from snowfall, melted by degree-hours.

OpenWeatherMap reports snowfall but not snow depth, so the snowpack is rebuilt from history:
every hour adds its snowfall (water equivalent) and melts ``Mf / 24 x max(T - base, 0)`` mm,
the degree-day rule ``melt = Mf x max(T, 0 °C)`` per day spread over its hours. Missing hours
neither add nor melt. The pack starts empty at the oldest record.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.categorize.rainfall import MM_DECIMALS
from services.categorize.series import HourlySeries

HOURS_PER_DAY = 24.0


@dataclass(frozen=True, slots=True)
class Snowpack:
    swe_mm: float  # snow water equivalent at the evaluation hour
    swe_forecast: bool  # forecast snowfall or melt shaped the current pack
    melt_mm: float  # melt within the recent window
    melt_forecast: bool


def track_snowpack(
    series: HourlySeries, *, melt_factor_mm_per_c_day: float, melt_base_c: float, recent_h: int
) -> Snowpack:
    """Run the pack from the oldest slot to the evaluation hour; ``melt_mm`` sums the melt of
    the newest ``recent_h`` slots."""
    rate_mm_per_c_h = melt_factor_mm_per_c_day / HOURS_PER_DAY
    swe_mm = 0.0
    swe_forecast = False
    melt_mm = 0.0
    melt_forecast = False
    for offset in range(series.span_h - 1, -1, -1):
        if not series.present[offset]:
            continue
        is_forecast = series.forecast[offset]
        snow = series.snow_mm[offset]
        if snow > 0.0:
            swe_mm += snow
            swe_forecast = swe_forecast or is_forecast
        excess_c = series.temperature_c[offset] - melt_base_c
        if swe_mm <= 0.0 or excess_c <= 0.0:
            continue
        melt = min(swe_mm, rate_mm_per_c_h * excess_c)
        swe_mm -= melt
        swe_forecast = swe_forecast or is_forecast
        if offset < recent_h:
            melt_mm += melt
            melt_forecast = melt_forecast or is_forecast
        if swe_mm <= 10.0**-MM_DECIMALS:
            swe_mm = 0.0
            swe_forecast = False
    return Snowpack(
        swe_mm=round(swe_mm, MM_DECIMALS),
        swe_forecast=swe_forecast,
        melt_mm=round(melt_mm, MM_DECIMALS),
        melt_forecast=melt_forecast,
    )
