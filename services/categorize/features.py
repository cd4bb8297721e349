"""The inputs of the rule table, computed once per classification from the hourly slots.

Windows count slots back from the evaluation hour (offset 0): ``p24_mm`` sums offsets 0..23.
"Now" values (``t_now_c``, ``rain_now_mm``) come from the newest record at or before the
evaluation hour. Each value carries whether forecast records went into it.

``soil_moisture_m3m3`` is that of the newest *observed* record at or before the evaluation hour,
None when it has none (or there is none): a forecast's soil moisture is not used, and an older
record's value does not stand in for a missing one, so a location whose source gives no soil
moisture (OpenWeatherMap) is labelled from rain and temperature alone as soon as its records do.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.categorize.contract import LocationTraits
from services.categorize.rainfall import (
    DAY_H,
    MM_DECIMALS,
    latest_rain_reaching,
    longest_dry_run_h,
    rolling_day_mm,
    storm_start,
    window_sum_mm,
)
from services.categorize.series import HourlySeries
from services.categorize.snowpack import Snowpack, track_snowpack
from services.categorize.thresholds import WINDOW_H, RuleThresholds

RATIO_DECIMALS = 6
MELT_WINDOW_H = 48


@dataclass(frozen=True, slots=True)
class RainState:
    """The last significant rain and how far the ground has dried since."""

    hours_since_h: int | None  # slots since the last significant rain hour; None: none in history
    storm_mm: float  # liquid total of the storm that rain ended
    drying_achieved_h: float
    drying_needed_h: float
    drying_ratio: float | None
    forecast: bool  # forecast records lie between the storm's start and now


@dataclass(frozen=True, slots=True)
class Deluge:
    """A 24 h total of at least ``deluge_p24_mm`` not yet followed by enough dry hours."""

    p24_mm: float
    dry_run_h: int
    forecast: bool


@dataclass(frozen=True, slots=True)
class Features:
    span_h: int
    t_now_c: float
    now_forecast: bool
    rain_now_mm: float
    p24_mm: float
    p48_mm: float
    p72_mm: float
    s24_mm: float
    forecast_24h: bool
    forecast_48h: bool
    forecast_72h: bool
    t_min_24h_c: float | None
    t_max_24h_c: float | None
    freeze_thaw_days: tuple[bool, ...]  # per 24 h block, newest first (0-23 h, 24-47 h, ...)
    freezing_precip_hours_24h: int
    freezing_precip_forecast: bool
    snowpack: Snowpack
    rain: RainState
    deluge: Deluge | None
    dry_spell_forecast: bool
    soil_moisture_m3m3: float | None  # observed records only: never from a forecast

    def forecast_within(self, window_h: int) -> bool:
        """Whether forecast records lie in the newest ``window_h`` hours (24, 48 or 72)."""
        if window_h <= DAY_H:
            return self.forecast_24h
        return self.forecast_48h if window_h <= 2 * DAY_H else self.forecast_72h

    @property
    def dry_spell_h(self) -> int:
        """Hours since the last significant rain; the whole history when there was none."""
        return self.span_h if self.rain.hours_since_h is None else self.rain.hours_since_h


def compute_features(
    series: HourlySeries, thresholds: RuleThresholds, traits: LocationTraits
) -> Features:
    """Every input of the rule table; ``series`` must hold at least one record."""
    t = thresholds
    now = series.present.index(True)
    temps_24h = [
        series.temperature_c[o] for o in range(min(DAY_H, series.span_h)) if series.present[o]
    ]
    freezing_ids = set(t.freezing_precip_ids)
    freezing_hours = [
        o for o in range(min(DAY_H, series.span_h)) if series.weather_id[o] in freezing_ids
    ]
    day_mm = rolling_day_mm(series.liquid_mm)
    rain = _rain_state(series, day_mm, t, traits)
    spell_h = series.span_h if rain.hours_since_h is None else rain.hours_since_h + 1
    return Features(
        span_h=series.span_h,
        t_now_c=series.temperature_c[now],
        now_forecast=series.forecast[now],
        rain_now_mm=series.liquid_mm[now],
        p24_mm=window_sum_mm(series.liquid_mm, DAY_H),
        p48_mm=window_sum_mm(series.liquid_mm, 2 * DAY_H),
        p72_mm=window_sum_mm(series.liquid_mm, WINDOW_H),
        s24_mm=window_sum_mm(series.snow_mm, DAY_H),
        forecast_24h=series.any_forecast(DAY_H),
        forecast_48h=series.any_forecast(2 * DAY_H),
        forecast_72h=series.any_forecast(WINDOW_H),
        t_min_24h_c=min(temps_24h) if temps_24h else None,
        t_max_24h_c=max(temps_24h) if temps_24h else None,
        freeze_thaw_days=_freeze_thaw_days(series, t.freeze_c),
        freezing_precip_hours_24h=len(freezing_hours),
        freezing_precip_forecast=any(series.forecast[o] for o in freezing_hours),
        snowpack=track_snowpack(
            series,
            melt_factor_mm_per_c_day=t.melt_factor_for(traits.canopy),
            melt_base_c=t.freeze_c,
            recent_h=MELT_WINDOW_H,
        ),
        rain=rain,
        deluge=_deluge(series, day_mm, t),
        dry_spell_forecast=series.any_forecast(spell_h),
        soil_moisture_m3m3=_observed_soil_moisture(series),
    )


def _observed_soil_moisture(series: HourlySeries) -> float | None:
    for offset in range(series.span_h):
        if series.present[offset] and not series.forecast[offset]:
            return series.soil_moisture_m3m3[offset]
    return None


def _freeze_thaw_days(series: HourlySeries, freeze_c: float) -> tuple[bool, ...]:
    """Per 24 h block of the 72 h window: Tmin < freeze_c and Tmax > freeze_c."""
    days = []
    for first in range(0, WINDOW_H, DAY_H):
        temps = [
            series.temperature_c[o]
            for o in range(first, min(first + DAY_H, series.span_h))
            if series.present[o]
        ]
        days.append(bool(temps) and min(temps) < freeze_c < max(temps))
    return tuple(days)


def _rain_state(
    series: HourlySeries, day_mm: list[float], t: RuleThresholds, traits: LocationTraits
) -> RainState:
    liquid = series.liquid_mm
    last = latest_rain_reaching(
        liquid,
        day_mm,
        measurable_mm=t.measurable_rain_mm,
        day_total_mm=t.significant_rain_mm_per_day,
    )
    if last is None:
        return RainState(None, 0.0, 0.0, 0.0, None, forecast=False)
    first = storm_start(
        liquid, last, measurable_mm=t.measurable_rain_mm, gap_h=t.drying.rain_event_gap_h
    )
    storm_mm = round(sum(liquid[last : first + 1]), MM_DECIMALS)
    achieved_h = 0.0
    for offset in range(last - 1, -1, -1):
        if series.present[offset] and liquid[offset] < t.measurable_rain_mm:
            achieved_h += t.drying.hour_weight(series.temperature_c[offset])
    needed_h = t.drying.needed_h(traits, storm_mm)
    return RainState(
        hours_since_h=last,
        storm_mm=storm_mm,
        drying_achieved_h=round(achieved_h, RATIO_DECIMALS),
        drying_needed_h=round(needed_h, RATIO_DECIMALS),
        drying_ratio=round(achieved_h / needed_h, RATIO_DECIMALS),
        forecast=series.any_forecast(first + 1),
    )


def _deluge(series: HourlySeries, day_mm: list[float], t: RuleThresholds) -> Deluge | None:
    last = latest_rain_reaching(
        series.liquid_mm, day_mm, measurable_mm=t.measurable_rain_mm, day_total_mm=t.deluge_p24_mm
    )
    if last is None:
        return None
    dry_run_h = longest_dry_run_h(
        series.liquid_mm, series.present, after=last, measurable_mm=t.measurable_rain_mm
    )
    if dry_run_h >= t.deluge_dry_h:
        return None
    return Deluge(
        p24_mm=day_mm[last], dry_run_h=dry_run_h, forecast=series.any_forecast(last + DAY_H)
    )
