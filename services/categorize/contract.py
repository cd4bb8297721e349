"""The trail-condition classifier contract: what goes in, what comes out, how one is loaded.

A classifier is any object with a ``version`` string and a keyword-only ``classify`` method, so an
ML model can replace the rule-based default (``services.categorize.rules:RuleBasedClassifier``)
without touching the worker: the worker names one with an import path and calls
:func:`load_classifier`. Everything here is pure data; a classifier does no I/O.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

Label = Literal["dry", "wet", "muddy", "snow", "icy", "unknown"]
LABELS: tuple[Label, ...] = ("dry", "wet", "muddy", "snow", "icy", "unknown")
RecordKind = Literal["observed", "forecast"]
RECORD_KINDS: tuple[RecordKind, ...] = ("observed", "forecast")


@dataclass(frozen=True, slots=True)
class HourlyWeather:
    """The weather of one UTC hour at one location.

    ``time`` is tz-aware and names the start of the hour. ``precipitation_mm`` is the liquid-water
    equivalent of everything that fell; ``snow_mm`` is snowfall as water equivalent. ``weather_id``
    is the OpenWeatherMap condition id (511 freezing rain, 611-613 sleet, 6xx snow, ...).
    ``soil_moisture_m3m3`` is the volumetric water content of the top soil layer (0..1) at the
    start of the hour, or None where the source gives none.
    """

    time: datetime
    kind: RecordKind
    temperature_c: float
    humidity_pct: float | None = None
    wind_speed_ms: float | None = None
    precipitation_mm: float = 0.0
    rain_mm: float = 0.0
    snow_mm: float = 0.0
    weather_id: int | None = None
    soil_moisture_m3m3: float | None = None

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError(f"HourlyWeather.time must be tz-aware (UTC), got {self.time!r}")
        if self.kind not in RECORD_KINDS:
            raise ValueError(f"HourlyWeather.kind must be one of {RECORD_KINDS}, got {self.kind!r}")


@dataclass(frozen=True, slots=True)
class LocationTraits:
    """What is known about the ground at a location; ``None`` means unknown.

    ``soil_drainage`` is a USDA drainage class (excessively, well, moderately_well,
    somewhat_poorly, poorly, very_poorly), ``aspect`` a compass point (N NE E SE S SW W NW; None
    for unknown or flat), ``canopy`` one of open, partial, forest.
    """

    soil_drainage: str | None = None
    aspect: str | None = None
    canopy: str | None = None
    elevation_m: float | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """One comparison that decided a label: ``value comparison threshold`` held, in ``unit``."""

    metric: str
    value: float
    threshold: float
    unit: str
    comparison: str

    def as_dict(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "comparison": self.comparison,
        }


@dataclass(frozen=True, slots=True)
class TrailCondition:
    """A label for one location at one hour, with the reasons a person can read.

    ``valid_for`` is the evaluation hour (UTC, start of the hour); ``window_start`` and
    ``window_end`` bound the hourly records the decision looked at (half-open).
    """

    label: Label
    rule_id: str
    confidence: float
    reasons: tuple[Reason, ...]
    valid_for: datetime
    window_start: datetime
    window_end: datetime
    classifier_version: str

    def reasons_json(self) -> list[dict[str, object]]:
        """The reasons as JSON-ready dicts: ``{metric, value, threshold, unit, comparison}``."""
        return [reason.as_dict() for reason in self.reasons]


@runtime_checkable
class TrailClassifier(Protocol):
    """Labels the trail condition at ``now`` from hourly records (observed and forecast)."""

    version: str

    def classify(
        self, *, now: datetime, hours: Sequence[HourlyWeather], traits: LocationTraits
    ) -> TrailCondition: ...


def load_classifier(import_path: str, **kwargs: Any) -> TrailClassifier:
    """Build the classifier named ``"package.module:ClassName"``, passing ``kwargs`` to it.

    ``ClassName`` may be a class or any factory callable. Raises ``ValueError`` naming the path
    when it is malformed, cannot be imported, cannot be built, or the result does not satisfy
    :class:`TrailClassifier` (a ``version`` string and a callable ``classify``).
    """
    module_name, sep, attr_name = import_path.partition(":")
    if not sep or not module_name.strip() or not attr_name.strip() or ":" in attr_name:
        raise ValueError(
            f"classifier path {import_path!r} must look like 'package.module:ClassName'"
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(
            f"cannot import module {module_name!r} of classifier {import_path!r}: {exc}"
        ) from exc
    factory = getattr(module, attr_name, None)
    if factory is None:
        raise ValueError(
            f"module {module_name!r} has no {attr_name!r} (classifier {import_path!r})"
        )
    if not callable(factory):
        raise ValueError(f"classifier {import_path!r} is not a class or factory callable")
    try:
        classifier = factory(**kwargs)
    except Exception as exc:
        raise ValueError(f"cannot build classifier {import_path!r}: {exc}") from exc
    problems = _protocol_problems(classifier)
    if problems or not isinstance(classifier, TrailClassifier):
        raise ValueError(
            f"{import_path!r} does not satisfy the TrailClassifier protocol: {'; '.join(problems)}"
        )
    return classifier


def _protocol_problems(candidate: object) -> list[str]:
    problems = []
    if not isinstance(getattr(candidate, "version", None), str):
        problems.append("it has no 'version' string")
    if not callable(getattr(candidate, "classify", None)):
        problems.append("it has no callable 'classify'")
    return problems
