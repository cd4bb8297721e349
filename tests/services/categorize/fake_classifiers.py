"""Objects for load_classifier tests: one valid, and ones that miss part of the protocol."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.categorize import HourlyWeather, LocationTraits, TrailCondition
from services.categorize.rules import RuleBasedClassifier


class VersionOnly:
    version = "fake-1"


class ClassifyOnly:
    def classify(
        self, *, now: datetime, hours: Sequence[HourlyWeather], traits: LocationTraits
    ) -> TrailCondition:
        return RuleBasedClassifier().classify(now=now, hours=hours, traits=traits)


class Tagged(ClassifyOnly):
    """A valid classifier whose version comes from its keyword arguments."""

    def __init__(self, *, tag: str) -> None:
        self.version = f"tagged-{tag}"


def make_default() -> RuleBasedClassifier:
    return RuleBasedClassifier()


NOT_CALLABLE = "just a string"
