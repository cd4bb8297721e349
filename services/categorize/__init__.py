"""Trail-condition classification: the classifier contract and the rule-based default."""

from services.categorize.contract import (
    HourlyWeather,
    Label,
    LocationTraits,
    Reason,
    TrailClassifier,
    TrailCondition,
    load_classifier,
)
from services.categorize.rules import RuleBasedClassifier
from services.categorize.thresholds import RuleThresholds

DEFAULT_CLASSIFIER = "services.categorize.rules:RuleBasedClassifier"

__all__ = [
    "DEFAULT_CLASSIFIER",
    "HourlyWeather",
    "Label",
    "LocationTraits",
    "Reason",
    "RuleBasedClassifier",
    "RuleThresholds",
    "TrailClassifier",
    "TrailCondition",
    "load_classifier",
]
