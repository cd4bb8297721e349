"""How sure a label is: the spec's adjustments from a 0.75 start, clamped to 0.2..0.95.

Adjustments (each applied at most once):
  - history: fewer than ``short_history_h`` observed hours in the last 72 h subtracts
    ``short_history_penalty``; otherwise fewer than ``partial_history_h`` subtracts
    ``partial_history_penalty`` (tiers, not both);
  - soil drainage class unknown: ``unknown_soil_penalty``;
  - the deciding values include forecast records: ``forecast_penalty``;
  - a graded deciding value lies within ``near_threshold_pct`` of its threshold (for °C at least
    ``near_threshold_min_margin_c``, since 15 % of 0 °C is no margin): ``near_threshold_penalty``;
  - more than ``long_dry_h`` hours since the last significant rain adds ``long_dry_bonus``, more
    than ``very_long_dry_h`` adds ``very_long_dry_bonus`` instead (the larger, not the sum);
  - a dry label whose drying ratio reached the rule table's ``well_dried_ratio`` (or with no
    significant rain in the history) adds ``well_dried_bonus``;
  - snow or icy resting on snowfall alone is capped at ``snowfall_only_cap``;
then the result is clamped to ``minimum..maximum``. An ``unknown`` label claims nothing, so it
carries ``minimum``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.categorize.contract import Reason
from services.categorize.evidence import UNIT_C, Decision

DEFAULT_START = 0.75
DEFAULT_SHORT_HISTORY_H = 24
DEFAULT_SHORT_HISTORY_PENALTY = 0.15
DEFAULT_PARTIAL_HISTORY_H = 48
DEFAULT_PARTIAL_HISTORY_PENALTY = 0.08
DEFAULT_UNKNOWN_SOIL_PENALTY = 0.10
DEFAULT_FORECAST_PENALTY = 0.10
DEFAULT_NEAR_THRESHOLD_PENALTY = 0.10
DEFAULT_NEAR_THRESHOLD_PCT = 15.0
DEFAULT_NEAR_THRESHOLD_MIN_MARGIN_C = 0.5
DEFAULT_LONG_DRY_H = 72
DEFAULT_LONG_DRY_BONUS = 0.08
DEFAULT_VERY_LONG_DRY_H = 96
DEFAULT_VERY_LONG_DRY_BONUS = 0.10
DEFAULT_WELL_DRIED_BONUS = 0.05
DEFAULT_SNOWFALL_ONLY_CAP = 0.6
DEFAULT_MINIMUM = 0.2
DEFAULT_MAXIMUM = 0.95
CONFIDENCE_DECIMALS = 4
_FLOAT_SLACK = 1e-9


class ConfidenceModel(BaseModel):
    """Calibration of the confidence adjustments (fractions of 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: float = Field(default=DEFAULT_START, ge=0.0, le=1.0)
    short_history_h: int = Field(default=DEFAULT_SHORT_HISTORY_H, ge=1, le=72)
    short_history_penalty: float = Field(default=DEFAULT_SHORT_HISTORY_PENALTY, ge=0.0, le=1.0)
    partial_history_h: int = Field(default=DEFAULT_PARTIAL_HISTORY_H, ge=1, le=72)
    partial_history_penalty: float = Field(default=DEFAULT_PARTIAL_HISTORY_PENALTY, ge=0.0, le=1.0)
    unknown_soil_penalty: float = Field(default=DEFAULT_UNKNOWN_SOIL_PENALTY, ge=0.0, le=1.0)
    forecast_penalty: float = Field(default=DEFAULT_FORECAST_PENALTY, ge=0.0, le=1.0)
    near_threshold_penalty: float = Field(default=DEFAULT_NEAR_THRESHOLD_PENALTY, ge=0.0, le=1.0)
    near_threshold_pct: float = Field(default=DEFAULT_NEAR_THRESHOLD_PCT, gt=0.0, lt=100.0)
    near_threshold_min_margin_c: float = Field(default=DEFAULT_NEAR_THRESHOLD_MIN_MARGIN_C, ge=0.0)
    long_dry_h: int = Field(default=DEFAULT_LONG_DRY_H, ge=1)
    long_dry_bonus: float = Field(default=DEFAULT_LONG_DRY_BONUS, ge=0.0, le=1.0)
    very_long_dry_h: int = Field(default=DEFAULT_VERY_LONG_DRY_H, ge=1)
    very_long_dry_bonus: float = Field(default=DEFAULT_VERY_LONG_DRY_BONUS, ge=0.0, le=1.0)
    well_dried_bonus: float = Field(default=DEFAULT_WELL_DRIED_BONUS, ge=0.0, le=1.0)
    snowfall_only_cap: float = Field(default=DEFAULT_SNOWFALL_ONLY_CAP, ge=0.0, le=1.0)
    minimum: float = Field(default=DEFAULT_MINIMUM, ge=0.0, le=1.0)
    maximum: float = Field(default=DEFAULT_MAXIMUM, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> ConfidenceModel:
        if self.short_history_h > self.partial_history_h:
            raise ValueError("short_history_h must not exceed partial_history_h")
        if self.long_dry_h > self.very_long_dry_h:
            raise ValueError("long_dry_h must not exceed very_long_dry_h")
        if self.minimum > self.maximum:
            raise ValueError("minimum must not exceed maximum")
        return self

    def is_near(self, reason: Reason) -> bool:
        """Whether ``reason.value`` lies within the near-threshold margin of its threshold."""
        margin = self.near_threshold_pct / 100.0 * abs(reason.threshold)
        if reason.unit == UNIT_C:
            margin = max(margin, self.near_threshold_min_margin_c)
        return abs(reason.value - reason.threshold) <= margin + _FLOAT_SLACK

    def score(
        self,
        decision: Decision,
        *,
        observed_h: int,
        soil_known: bool,
        dry_spell_h: int,
        well_dried: bool,
    ) -> float:
        """The confidence of ``decision`` (see the module docstring for each term)."""
        if decision.label == "unknown":
            return self.minimum
        value = self.start
        if observed_h < self.short_history_h:
            value -= self.short_history_penalty
        elif observed_h < self.partial_history_h:
            value -= self.partial_history_penalty
        if not soil_known:
            value -= self.unknown_soil_penalty
        if decision.forecast:
            value -= self.forecast_penalty
        if any(item.graded and self.is_near(item.reason) for item in decision.evidence):
            value -= self.near_threshold_penalty
        if dry_spell_h > self.very_long_dry_h:
            value += self.very_long_dry_bonus
        elif dry_spell_h > self.long_dry_h:
            value += self.long_dry_bonus
        if decision.label == "dry" and well_dried:
            value += self.well_dried_bonus
        if decision.snowfall_only and decision.label in ("snow", "icy"):
            value = min(value, self.snowfall_only_cap)
        return round(min(max(value, self.minimum), self.maximum), CONFIDENCE_DECIMALS)
