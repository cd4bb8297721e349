"""The wet rules, and dry when nothing else fired."""

from __future__ import annotations

from services.categorize.evidence import (
    UNIT_MM,
    Decision,
    evidence,
)
from services.categorize.features import Features
from services.categorize.table.common import hours_since_rain, ratio
from services.categorize.thresholds import RuleThresholds


def wet_raining(f: Features, t: RuleThresholds) -> Decision | None:
    """``wet.raining``: the newest record holds >= ``raining_now_mm`` of rain."""
    if f.rain_now_mm < t.raining_now_mm:
        return None
    return Decision(
        "wet",
        "wet.raining",
        (
            evidence(
                "rain_now_mm",
                f.rain_now_mm,
                ">=",
                t.raining_now_mm,
                UNIT_MM,
                forecast=f.now_forecast,
            ),
        ),
    )


def wet_p72(f: Features, t: RuleThresholds) -> Decision | None:
    """``wet.p72``: P72 >= ``wet_p72_mm``."""
    if f.p72_mm < t.wet_p72_mm:
        return None
    return Decision(
        "wet",
        "wet.p72",
        (evidence("p72_mm", f.p72_mm, ">=", t.wet_p72_mm, UNIT_MM, forecast=f.forecast_72h),),
    )


def wet_drying(f: Features, t: RuleThresholds) -> Decision | None:
    """``wet.drying``: ``muddy_drying_ratio`` <= drying ratio < ``wet_drying_ratio``."""
    if f.rain.drying_ratio is None or f.rain.drying_ratio >= t.wet_drying_ratio:
        return None
    return Decision(
        "wet",
        "wet.drying",
        (
            ratio(f, "<", t.wet_drying_ratio),
            ratio(f, ">=", t.muddy_drying_ratio),
        ),
    )


def wet_recent_rain(f: Features, t: RuleThresholds) -> Decision | None:
    """``wet.recent_rain``: fewer than ``recent_rain_h`` hours since the last significant rain."""
    if f.rain.hours_since_h is None or f.rain.hours_since_h >= t.recent_rain_h:
        return None
    return Decision("wet", "wet.recent_rain", (hours_since_rain(f, "<", t),))


def dry_default(f: Features, t: RuleThresholds) -> Decision:
    """``dry.default``: no other rule fired; the reasons show how far from wet it is."""
    found = [
        evidence("p72_mm", f.p72_mm, "<", t.wet_p72_mm, UNIT_MM, forecast=f.forecast_72h),
        hours_since_rain(f, ">=", t),
    ]
    if f.rain.drying_ratio is not None:
        found.append(ratio(f, ">=", t.wet_drying_ratio))
    return Decision("dry", "dry.default", tuple(found))
