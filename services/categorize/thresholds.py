"""Every threshold of the default rule table, with the spec's published defaults.

Operators calibrate these from configuration: a deployable's settings class holds a
``RuleThresholds`` (or a dict validated into one) and passes it to ``RuleBasedClassifier``.
The classifier itself reads no environment. Windows of the table (24/48/72 h) are fixed;
amounts are millimetres of liquid water (snow as water equivalent), temperatures °C.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from services.categorize.confidence import ConfidenceModel
from services.categorize.drying import DryingModel

WINDOW_H = 72

DEFAULT_HISTORY_MAX_H = 336
DEFAULT_MIN_RECORDS_72H = 48
DEFAULT_MEASURABLE_RAIN_MM = 0.1
DEFAULT_SIGNIFICANT_RAIN_MM_PER_DAY = 2.5
DEFAULT_FREEZE_C = 0.0
# icy
DEFAULT_FREEZING_PRECIP_IDS: tuple[int, ...] = (511, 611, 612, 613)
DEFAULT_FREEZING_RAIN_MAX_C = 1.0
DEFAULT_WET_GROUND_P48_MM = 1.0
DEFAULT_RECENT_MELT_48H_MM = 1.0
# snow
DEFAULT_SNOW_COVER_SWE_MM = 5.0
DEFAULT_FRESH_SNOW_S24_MM = 3.0
DEFAULT_FRESH_SNOW_MAX_C = 2.0
DEFAULT_MELT_FACTOR_MM_PER_C_DAY: dict[str, float] = {"open": 6.0, "partial": 4.5, "forest": 3.0}
DEFAULT_UNKNOWN_CANOPY_MELT_FACTOR_MM_PER_C_DAY = 4.5
# muddy
DEFAULT_MUDDY_P24_MM = 12.7
DEFAULT_MUDDY_P48_MM = 9.0
DEFAULT_MUDDY_DRYING_RATIO = 0.5
DEFAULT_THAW_WINDOW_DAYS = 2
DEFAULT_DELUGE_P24_MM = 50.0
DEFAULT_DELUGE_DRY_H = 48
# Topsoil (0-1 cm) volumetric water content that means mud, where a source reports it: near
# saturation for loam (porosity about 0.46 m³/m³, field capacity about 0.27; Rawls et al. 1982),
# i.e. water the surface cannot drain. Drained loam or sand holds far less; clay holds about this
# much at field capacity, when it is sticky already.
DEFAULT_MUDDY_SOIL_MOISTURE_M3M3 = 0.40
# wet
DEFAULT_RAINING_NOW_MM = 0.1
DEFAULT_WET_P72_MM = 5.0
DEFAULT_WET_DRYING_RATIO = 1.0
DEFAULT_RECENT_RAIN_H = 24
# dry
DEFAULT_WELL_DRIED_RATIO = 1.5


class RuleThresholds(BaseModel):
    """Calibration of the default rule table (see docs/trail-rules.md for each name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # data
    history_max_h: int = Field(default=DEFAULT_HISTORY_MAX_H, ge=WINDOW_H, le=24 * 60)
    min_records_72h: int = Field(default=DEFAULT_MIN_RECORDS_72H, ge=1, le=WINDOW_H)
    measurable_rain_mm: PositiveFloat = DEFAULT_MEASURABLE_RAIN_MM
    significant_rain_mm_per_day: PositiveFloat = DEFAULT_SIGNIFICANT_RAIN_MM_PER_DAY
    freeze_c: float = DEFAULT_FREEZE_C
    # icy
    freezing_precip_ids: tuple[int, ...] = DEFAULT_FREEZING_PRECIP_IDS
    freezing_rain_max_c: float = DEFAULT_FREEZING_RAIN_MAX_C
    wet_ground_p48_mm: PositiveFloat = DEFAULT_WET_GROUND_P48_MM
    recent_melt_48h_mm: PositiveFloat = DEFAULT_RECENT_MELT_48H_MM
    # snow
    snow_cover_swe_mm: PositiveFloat = DEFAULT_SNOW_COVER_SWE_MM
    fresh_snow_s24_mm: PositiveFloat = DEFAULT_FRESH_SNOW_S24_MM
    fresh_snow_max_c: float = DEFAULT_FRESH_SNOW_MAX_C
    melt_factor_mm_per_c_day: dict[str, PositiveFloat] = Field(
        default_factory=lambda: dict(DEFAULT_MELT_FACTOR_MM_PER_C_DAY)
    )
    unknown_canopy_melt_factor_mm_per_c_day: PositiveFloat = (
        DEFAULT_UNKNOWN_CANOPY_MELT_FACTOR_MM_PER_C_DAY
    )
    # muddy
    muddy_p24_mm: PositiveFloat = DEFAULT_MUDDY_P24_MM
    muddy_p48_mm: PositiveFloat = DEFAULT_MUDDY_P48_MM
    muddy_drying_ratio: PositiveFloat = DEFAULT_MUDDY_DRYING_RATIO
    thaw_window_days: int = Field(default=DEFAULT_THAW_WINDOW_DAYS, ge=1, le=WINDOW_H // 24)
    deluge_p24_mm: PositiveFloat = DEFAULT_DELUGE_P24_MM
    deluge_dry_h: int = Field(default=DEFAULT_DELUGE_DRY_H, ge=1)
    muddy_soil_moisture_m3m3: float = Field(
        default=DEFAULT_MUDDY_SOIL_MOISTURE_M3M3, gt=0.0, le=1.0, allow_inf_nan=False
    )
    # wet
    raining_now_mm: PositiveFloat = DEFAULT_RAINING_NOW_MM
    wet_p72_mm: PositiveFloat = DEFAULT_WET_P72_MM
    wet_drying_ratio: PositiveFloat = DEFAULT_WET_DRYING_RATIO
    recent_rain_h: int = Field(default=DEFAULT_RECENT_RAIN_H, ge=1)
    # dry
    well_dried_ratio: PositiveFloat = DEFAULT_WELL_DRIED_RATIO
    # models
    drying: DryingModel = DryingModel()
    confidence: ConfidenceModel = ConfidenceModel()

    @model_validator(mode="after")
    def _consistent(self) -> RuleThresholds:
        if not self.muddy_drying_ratio < self.wet_drying_ratio <= self.well_dried_ratio:
            raise ValueError("need muddy_drying_ratio < wet_drying_ratio <= well_dried_ratio")
        if self.deluge_dry_h >= self.history_max_h:
            raise ValueError("deluge_dry_h must be shorter than history_max_h")
        if any(code < 0 for code in self.freezing_precip_ids):
            raise ValueError("freezing_precip_ids must be OpenWeatherMap condition ids (>= 0)")
        return self

    def melt_factor_for(self, canopy: str | None) -> float:
        """Degree-day melt factor (mm/°C/day) for a canopy; unknown canopy uses the middle one."""
        if canopy is None:
            return self.unknown_canopy_melt_factor_mm_per_c_day
        return self.melt_factor_mm_per_c_day.get(
            canopy.strip().lower(), self.unknown_canopy_melt_factor_mm_per_c_day
        )
