"""Trail conditions: the classifier's label for one location and UTC hour, with its reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, Strict, StringConstraints, model_validator

from weather_service.models.common import (
    LINE_PATTERN,
    Fraction,
    InputModel,
    OutputModel,
    PastUtcTime,
    ResourceId,
    Slug,
    StrictFloat,
    UtcHour,
    UtcTime,
)

ConditionLabel = Literal["dry", "wet", "muddy", "snow", "icy", "unknown"]
MAX_REASONS = 50

ReasonText = Annotated[str, StringConstraints(max_length=200, pattern=LINE_PATTERN)]
ReasonValue = (
    Annotated[float, Strict(), Field(allow_inf_nan=False)]
    | Annotated[bool, Strict()]
    | ReasonText
    | None
)


class Reason(InputModel):
    """One measured value that decided the label, e.g. P24 = 14.2 mm against 12.7 mm."""

    metric: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    value: ReasonValue = None
    threshold: ReasonValue = None
    unit: Annotated[str, StringConstraints(max_length=32, pattern=LINE_PATTERN)] | None = None


class ConditionIn(InputModel):
    valid_for: UtcHour = Field(examples=["2026-11-22T10:00:00Z"])
    label: ConditionLabel
    confidence: Fraction
    rule_id: Slug = Field(examples=["muddy.p24"])
    reasons: list[Reason] = Field(default_factory=list, max_length=MAX_REASONS)
    classifier_version: Slug = Field(examples=["1.0.0"])
    computed_at: PastUtcTime = Field(description="When the label was computed; newer wins.")
    window_start: UtcTime | None = Field(default=None, description="Start of the data used.")
    window_end: UtcTime | None = Field(default=None, description="End of the data used.")

    @model_validator(mode="after")
    def _window_in_order(self) -> Self:
        if self.window_start and self.window_end and self.window_start > self.window_end:
            raise ValueError("window_start must not be after window_end")
        return self

    def to_row(self, location_id: str) -> dict[str, Any]:
        row = self.model_dump()
        row["location_id"] = location_id
        return row


class LocatedConditionIn(ConditionIn):
    location_id: ResourceId = Field(examples=["trail-0042"])


class ConditionsUpsert(InputModel):
    conditions: list[ConditionIn] = Field(min_length=1)


class ConditionsBatchUpsert(InputModel):
    conditions: list[LocatedConditionIn] = Field(min_length=1)


class ReasonOut(OutputModel):
    metric: str
    value: StrictFloat | bool | str | None = None
    threshold: StrictFloat | bool | str | None = None
    unit: str | None = None


class ConditionOut(OutputModel):
    location_id: str
    valid_for: datetime
    label: ConditionLabel
    confidence: float
    rule_id: str
    reasons: list[ReasonOut]
    classifier_version: str
    computed_at: datetime
    window_start: datetime | None
    window_end: datetime | None
