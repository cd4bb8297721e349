"""The muddy rules: heavy recent rain, slow drying, thawing wet ground, a lingering deluge,
saturated topsoil."""

from __future__ import annotations

from services.categorize.evidence import (
    UNIT_DAYS,
    UNIT_H,
    UNIT_M3_M3,
    UNIT_MM,
    Decision,
    evidence,
)
from services.categorize.features import Features
from services.categorize.rainfall import DAY_H
from services.categorize.table.common import ratio, t_now, wet_ground
from services.categorize.thresholds import RuleThresholds


def muddy_p24(f: Features, t: RuleThresholds) -> Decision | None:
    """``muddy.p24``: P24 >= ``muddy_p24_mm``."""
    if f.p24_mm < t.muddy_p24_mm:
        return None
    return Decision(
        "muddy",
        "muddy.p24",
        (evidence("p24_mm", f.p24_mm, ">=", t.muddy_p24_mm, UNIT_MM, forecast=f.forecast_24h),),
    )


def muddy_p48(f: Features, t: RuleThresholds) -> Decision | None:
    """``muddy.p48``: P48 >= ``muddy_p48_mm``."""
    if f.p48_mm < t.muddy_p48_mm:
        return None
    return Decision(
        "muddy",
        "muddy.p48",
        (evidence("p48_mm", f.p48_mm, ">=", t.muddy_p48_mm, UNIT_MM, forecast=f.forecast_48h),),
    )


def muddy_drying(f: Features, t: RuleThresholds) -> Decision | None:
    """``muddy.drying``: drying ratio since the last significant rain < ``muddy_drying_ratio``."""
    if f.rain.drying_ratio is None or f.rain.drying_ratio >= t.muddy_drying_ratio:
        return None
    return Decision("muddy", "muddy.drying", (ratio(f, "<", t.muddy_drying_ratio),))


def muddy_thaw(f: Features, t: RuleThresholds) -> Decision | None:
    """``muddy.thaw``: T now > ``freeze_c`` after a freeze-thaw day within ``thaw_window_days``,
    on wet ground (P48, recent snowmelt, or drying ratio < ``wet_drying_ratio``)."""
    if f.t_now_c <= t.freeze_c or not any(f.freeze_thaw_days[: t.thaw_window_days]):
        return None
    wet = wet_ground(f, t)
    if f.rain.drying_ratio is not None and f.rain.drying_ratio < t.wet_drying_ratio:
        wet.append(ratio(f, "<", t.wet_drying_ratio))
    if not wet:
        return None
    window_h = t.thaw_window_days * DAY_H
    cycles = sum(f.freeze_thaw_days[: t.thaw_window_days])
    return Decision(
        "muddy",
        "muddy.thaw",
        (
            t_now(f, ">", t.freeze_c),
            evidence(
                f"freeze_thaw_days_{window_h}h",
                cycles,
                ">=",
                1,
                UNIT_DAYS,
                forecast=f.forecast_within(window_h),
                graded=False,
            ),
            *wet,
        ),
    )


def muddy_deluge(f: Features, t: RuleThresholds) -> Decision | None:
    """``muddy.deluge``: a 24 h total >= ``deluge_p24_mm`` not yet followed by
    ``deluge_dry_h`` consecutive hours without measurable rain."""
    if f.deluge is None:
        return None
    return Decision(
        "muddy",
        "muddy.deluge",
        (
            evidence(
                "deluge_p24_mm",
                f.deluge.p24_mm,
                ">=",
                t.deluge_p24_mm,
                UNIT_MM,
                forecast=f.deluge.forecast,
            ),
            evidence(
                "dry_run_h",
                f.deluge.dry_run_h,
                "<",
                t.deluge_dry_h,
                UNIT_H,
                forecast=f.deluge.forecast,
            ),
        ),
    )


def muddy_saturated(f: Features, t: RuleThresholds) -> Decision | None:
    """``muddy.saturated``: observed topsoil moisture >= ``muddy_soil_moisture_m3m3`` and T now >
    ``freeze_c`` (frozen ground is firm). Never fires without a soil moisture value."""
    soil = f.soil_moisture_m3m3
    if soil is None or soil < t.muddy_soil_moisture_m3m3 or f.t_now_c <= t.freeze_c:
        return None
    return Decision(
        "muddy",
        "muddy.saturated",
        (
            evidence(
                "soil_moisture_m3m3",
                soil,
                ">=",
                t.muddy_soil_moisture_m3m3,
                UNIT_M3_M3,
                forecast=False,
            ),
            t_now(f, ">", t.freeze_c),
        ),
    )
