"""Hourly series for classifier tests, addressed by offset (0 = the evaluation hour NOW)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.categorize import (
    HourlyWeather,
    LocationTraits,
    RuleBasedClassifier,
    RuleThresholds,
    TrailCondition,
)
from services.categorize.contract import RecordKind

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MILD_C = 12.0  # drying weight 1.0: one hour counts one drying hour
# well drained (24 h per 25.4 mm), open, no aspect: hours needed = 24 * rain_mm / 25.4
TRAITS = LocationTraits(soil_drainage="well", canopy="open")


def at(offset: int) -> datetime:
    return NOW - offset * HOUR


def record(offset: int, *, kind: RecordKind = "observed", **fields: Any) -> HourlyWeather:
    fields.setdefault("temperature_c", MILD_C)
    return HourlyWeather(time=at(offset), kind=kind, **fields)


class Hours:
    """``n`` hourly records at offsets ``first .. first + n - 1``, editable by offset."""

    def __init__(
        self,
        n: int = 72,
        *,
        temperature_c: float = MILD_C,
        kind: RecordKind = "observed",
        first: int = 0,
    ) -> None:
        self.by_offset = {
            o: record(o, kind=kind, temperature_c=temperature_c) for o in range(first, first + n)
        }
        self.extra: list[HourlyWeather] = []

    def set(self, offsets: int | Iterable[int], **changes: Any) -> Hours:
        for offset in [offsets] if isinstance(offsets, int) else offsets:
            self.by_offset[offset] = replace(self.by_offset[offset], **changes)
        return self

    def rain(self, offset: int, mm: float) -> Hours:
        return self.set(offset, rain_mm=mm, precipitation_mm=mm)

    def snow(self, offset: int, mm: float) -> Hours:
        return self.set(offset, snow_mm=mm, precipitation_mm=mm)

    def drop(self, offsets: int | Iterable[int]) -> Hours:
        for offset in [offsets] if isinstance(offsets, int) else offsets:
            del self.by_offset[offset]
        return self

    def add(self, *records: HourlyWeather) -> Hours:
        """Records beside the series (a forecast for an observed hour, a future hour, ...)."""
        self.extra.extend(records)
        return self

    def records(self) -> list[HourlyWeather]:
        ordered = [self.by_offset[o] for o in sorted(self.by_offset, reverse=True)]
        return ordered + self.extra


def classify(
    hours: Hours | Sequence[HourlyWeather],
    *,
    traits: LocationTraits = TRAITS,
    thresholds: RuleThresholds | None = None,
    now: datetime = NOW,
) -> TrailCondition:
    records = hours.records() if isinstance(hours, Hours) else hours
    return RuleBasedClassifier(thresholds).classify(now=now, hours=records, traits=traits)


def reason(condition: TrailCondition, metric: str) -> dict[str, object]:
    """The one reason of ``condition`` about ``metric``."""
    (found,) = [r for r in condition.reasons_json() if r["metric"] == metric]
    return found
