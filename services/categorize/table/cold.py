"""The cold rules: icy, then snow."""

from __future__ import annotations

from services.categorize.evidence import (
    UNIT_C,
    UNIT_COUNT,
    UNIT_DAYS,
    UNIT_MM,
    Decision,
    evidence,
)
from services.categorize.features import Features
from services.categorize.table.common import swe, t_now, wet_ground
from services.categorize.thresholds import RuleThresholds


def icy_freezing_rain(f: Features, t: RuleThresholds) -> Decision | None:
    """``icy.freezing_rain``: a freezing-rain or sleet id (511, 611-613) in the last 24 h and
    T now <= ``freezing_rain_max_c``."""
    if f.freezing_precip_hours_24h < 1 or f.t_now_c > t.freezing_rain_max_c:
        return None
    return Decision(
        "icy",
        "icy.freezing_rain",
        (
            evidence(
                "freezing_precip_hours_24h",
                f.freezing_precip_hours_24h,
                ">=",
                1,
                UNIT_COUNT,
                forecast=f.freezing_precip_forecast,
                graded=False,
            ),
            t_now(f, "<=", t.freezing_rain_max_c),
        ),
    )


def icy_frozen_wet_ground(f: Features, t: RuleThresholds) -> Decision | None:
    """``icy.frozen_wet_ground``: T now <= ``freeze_c`` on wet ground (P48 >=
    ``wet_ground_p48_mm`` or snowmelt in 48 h >= ``recent_melt_48h_mm``)."""
    if f.t_now_c > t.freeze_c:
        return None
    wet = wet_ground(f, t)
    if not wet:
        return None
    melt_only = all(item.reason.metric == "melt_48h_mm" for item in wet)
    return Decision(
        "icy",
        "icy.frozen_wet_ground",
        (t_now(f, "<=", t.freeze_c), *wet),
        snowfall_only=melt_only,
    )


def icy_snow_freeze_thaw(f: Features, t: RuleThresholds) -> Decision | None:
    """``icy.snow_freeze_thaw``: snow cover (SWE >= ``snow_cover_swe_mm``), a freeze-thaw day
    in the last 24 h, and T now <= ``freeze_c``."""
    if not (
        f.snowpack.swe_mm >= t.snow_cover_swe_mm
        and f.freeze_thaw_days[0]
        and f.t_now_c <= t.freeze_c
    ):
        return None
    return Decision(
        "icy",
        "icy.snow_freeze_thaw",
        (
            swe(f, t),
            evidence(
                "freeze_thaw_days_24h", 1, ">=", 1, UNIT_DAYS, forecast=f.forecast_24h, graded=False
            ),
            t_now(f, "<=", t.freeze_c),
        ),
        snowfall_only=True,
    )


def snow_swe(f: Features, t: RuleThresholds) -> Decision | None:
    """``snow.swe``: estimated snow water equivalent >= ``snow_cover_swe_mm``."""
    if f.snowpack.swe_mm < t.snow_cover_swe_mm:
        return None
    return Decision("snow", "snow.swe", (swe(f, t),), snowfall_only=True)


def snow_fresh(f: Features, t: RuleThresholds) -> Decision | None:
    """``snow.fresh``: S24 >= ``fresh_snow_s24_mm`` and Tmax24 <= ``fresh_snow_max_c``."""
    if f.s24_mm < t.fresh_snow_s24_mm or f.t_max_24h_c is None:
        return None
    if f.t_max_24h_c > t.fresh_snow_max_c:
        return None
    return Decision(
        "snow",
        "snow.fresh",
        (
            evidence(
                "s24_mm", f.s24_mm, ">=", t.fresh_snow_s24_mm, UNIT_MM, forecast=f.forecast_24h
            ),
            evidence(
                "t_max_24h_c",
                f.t_max_24h_c,
                "<=",
                t.fresh_snow_max_c,
                UNIT_C,
                forecast=f.forecast_24h,
            ),
        ),
        snowfall_only=True,
    )
