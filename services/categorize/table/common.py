"""Evidence shared by several rules of the table."""

from __future__ import annotations

from services.categorize.evidence import (
    UNIT_C,
    UNIT_H,
    UNIT_MM,
    UNIT_RATIO,
    Evidence,
    evidence,
)
from services.categorize.features import Features
from services.categorize.thresholds import RuleThresholds


def t_now(f: Features, comparison: str, threshold: float) -> Evidence:
    return evidence("t_now_c", f.t_now_c, comparison, threshold, UNIT_C, forecast=f.now_forecast)


def wet_ground(f: Features, t: RuleThresholds) -> list[Evidence]:
    """P48 >= wet_ground_p48_mm, snowmelt in the last 48 h >= recent_melt_48h_mm."""
    found = []
    if f.p48_mm >= t.wet_ground_p48_mm:
        found.append(
            evidence(
                "p48_mm", f.p48_mm, ">=", t.wet_ground_p48_mm, UNIT_MM, forecast=f.forecast_48h
            )
        )
    if f.snowpack.melt_mm >= t.recent_melt_48h_mm:
        found.append(
            evidence(
                "melt_48h_mm",
                f.snowpack.melt_mm,
                ">=",
                t.recent_melt_48h_mm,
                UNIT_MM,
                forecast=f.snowpack.melt_forecast,
            )
        )
    return found


def swe(f: Features, t: RuleThresholds) -> Evidence:
    return evidence(
        "swe_mm",
        f.snowpack.swe_mm,
        ">=",
        t.snow_cover_swe_mm,
        UNIT_MM,
        forecast=f.snowpack.swe_forecast,
    )


def ratio(f: Features, comparison: str, threshold: float) -> Evidence:
    return evidence(
        "drying_ratio",
        f.rain.drying_ratio or 0.0,
        comparison,
        threshold,
        UNIT_RATIO,
        forecast=f.rain.forecast,
    )


def hours_since_rain(f: Features, comparison: str, t: RuleThresholds) -> Evidence:
    return evidence(
        "hours_since_rain_h",
        f.dry_spell_h,
        comparison,
        t.recent_rain_h,
        UNIT_H,
        forecast=f.dry_spell_forecast,
    )
