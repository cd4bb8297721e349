"""The drying-time model: how many drying hours a rain needs, and how much one hour dries.

Hours needed = soil class hours per reference rain (25.4 mm, one inch: fredtrails' "24 h per
inch" on well-drained soil) x (rain amount / reference rain) x aspect x canopy x elevation factor.

Air temperature scales the clock rather than the need: the published factors (>20 °C x0.7,
>10 °C x1.0, >0 °C x1.5) multiply drying *time*, so one hour of such weather counts as 1/factor
drying hours (an hour at 25 °C counts 1/0.7 = 1.43 h, an hour at 5 °C counts 1/1.5 = 0.67 h).
At or below ``drying_stops_at_c`` nothing dries (the default rule table), unless an operator sets
``freezing_factor`` (3.0 reproduces the trail app's x3).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from services.categorize.contract import LocationTraits

DEFAULT_REFERENCE_RAIN_MM = 25.4
DEFAULT_SOIL_DRYING_H: dict[str, float] = {
    "excessively": 6.0,
    "well": 24.0,
    "moderately_well": 48.0,
    "somewhat_poorly": 72.0,
    "poorly": 120.0,
    "very_poorly": 168.0,
}
DEFAULT_UNKNOWN_SOIL_DRYING_H = 48.0
DEFAULT_ASPECT_FACTORS: dict[str, float] = {
    "N": 1.3,
    "NE": 1.15,
    "E": 1.0,
    "SE": 0.8,
    "S": 0.6,
    "SW": 0.8,
    "W": 1.0,
    "NW": 1.15,
}
DEFAULT_CANOPY_FACTORS: dict[str, float] = {"open": 1.0, "partial": 1.25, "forest": 1.5}
DEFAULT_HIGH_ELEVATION_M = 2400.0
DEFAULT_HIGH_ELEVATION_FACTOR = 1.2
DEFAULT_WARM_ABOVE_C = 20.0
DEFAULT_WARM_FACTOR = 0.7
DEFAULT_MILD_ABOVE_C = 10.0
DEFAULT_MILD_FACTOR = 1.0
DEFAULT_COOL_FACTOR = 1.5
DEFAULT_DRYING_STOPS_AT_C = 0.0
DEFAULT_RAIN_EVENT_GAP_H = 12

_DRAINED_SUFFIX = "_drained"


class DryingModel(BaseModel):
    """Calibration of the drying-time model (every factor multiplies drying time)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference_rain_mm: PositiveFloat = DEFAULT_REFERENCE_RAIN_MM
    soil_drying_h: dict[str, PositiveFloat] = Field(
        default_factory=lambda: dict(DEFAULT_SOIL_DRYING_H)
    )
    unknown_soil_drying_h: PositiveFloat = DEFAULT_UNKNOWN_SOIL_DRYING_H
    aspect_factors: dict[str, PositiveFloat] = Field(
        default_factory=lambda: dict(DEFAULT_ASPECT_FACTORS)
    )
    canopy_factors: dict[str, PositiveFloat] = Field(
        default_factory=lambda: dict(DEFAULT_CANOPY_FACTORS)
    )
    high_elevation_m: PositiveFloat = DEFAULT_HIGH_ELEVATION_M
    high_elevation_factor: PositiveFloat = DEFAULT_HIGH_ELEVATION_FACTOR
    warm_above_c: float = DEFAULT_WARM_ABOVE_C
    warm_factor: PositiveFloat = DEFAULT_WARM_FACTOR
    mild_above_c: float = DEFAULT_MILD_ABOVE_C
    mild_factor: PositiveFloat = DEFAULT_MILD_FACTOR
    cool_factor: PositiveFloat = DEFAULT_COOL_FACTOR
    drying_stops_at_c: float = DEFAULT_DRYING_STOPS_AT_C
    freezing_factor: PositiveFloat | None = None
    rain_event_gap_h: int = Field(default=DEFAULT_RAIN_EVENT_GAP_H, ge=1, le=72)

    @model_validator(mode="after")
    def _ordered_bands(self) -> DryingModel:
        if not self.drying_stops_at_c < self.mild_above_c < self.warm_above_c:
            raise ValueError("need drying_stops_at_c < mild_above_c < warm_above_c")
        return self

    def soil_hours(self, soil_drainage: str | None) -> float | None:
        """Drying hours per reference rain for a soil class; ``None`` when the class is unknown."""
        key = normalize_soil_class(soil_drainage)
        return None if key is None else self.soil_drying_h.get(key)

    def needed_h(self, traits: LocationTraits, rain_mm: float) -> float:
        """Drying hours that ``rain_mm`` of rain needs at a location."""
        soil_h = self.soil_hours(traits.soil_drainage)
        hours = (soil_h if soil_h is not None else self.unknown_soil_drying_h) * (
            rain_mm / self.reference_rain_mm
        )
        if traits.aspect is not None:
            hours *= self.aspect_factors.get(traits.aspect.strip().upper(), 1.0)
        if traits.canopy is not None:
            hours *= self.canopy_factors.get(traits.canopy.strip().lower(), 1.0)
        if traits.elevation_m is not None and traits.elevation_m > self.high_elevation_m:
            hours *= self.high_elevation_factor
        return hours

    def hour_weight(self, temperature_c: float) -> float:
        """Drying hours that one hour at ``temperature_c`` achieves (1 / time factor)."""
        if temperature_c > self.warm_above_c:
            return 1.0 / self.warm_factor
        if temperature_c > self.mild_above_c:
            return 1.0 / self.mild_factor
        if temperature_c > self.drying_stops_at_c:
            return 1.0 / self.cool_factor
        return 0.0 if self.freezing_factor is None else 1.0 / self.freezing_factor


def normalize_soil_class(soil_drainage: str | None) -> str | None:
    """``"Moderately well drained"`` -> ``"moderately_well"``; blank -> ``None``."""
    if soil_drainage is None:
        return None
    key = soil_drainage.strip().lower().replace("-", "_").replace(" ", "_")
    key = key.removesuffix(_DRAINED_SUFFIX)
    return key or None
