"""The default, rule-based trail classifier: the published thresholds of docs/trail-rules.md.

Pure and fast (plain loops, no I/O): the categorize worker calls it once per location.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from services.categorize.contract import HourlyWeather, LocationTraits, TrailCondition
from services.categorize.features import compute_features
from services.categorize.series import build_series
from services.categorize.table import decide, insufficient_data
from services.categorize.thresholds import WINDOW_H, RuleThresholds

VERSION = "rules-1.1"
CALIBRATION_DIGEST_CHARS = 8
HOUR = timedelta(hours=1)


def classifier_version(thresholds: RuleThresholds) -> str:
    """``rules-1.1`` with the default thresholds, ``rules-1.1+<digest>`` with any other
    calibration, so every stored label says which calibration produced it."""
    if thresholds == RuleThresholds():
        return VERSION
    canonical = json.dumps(thresholds.model_dump(mode="json"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:CALIBRATION_DIGEST_CHARS]
    return f"{VERSION}+{digest}"


class RuleBasedClassifier:
    """Labels a trail from the last 72 h of hourly weather with the default rule table.

    Older records (up to ``history_max_h``) feed the snowpack, the last significant rain and
    the dry-spell length. See docs/trail-rules.md for every rule and threshold.
    """

    def __init__(self, thresholds: RuleThresholds | None = None) -> None:
        self.thresholds = thresholds if thresholds is not None else RuleThresholds()
        self.version = classifier_version(self.thresholds)

    def classify(
        self, *, now: datetime, hours: Sequence[HourlyWeather], traits: LocationTraits
    ) -> TrailCondition:
        t = self.thresholds
        series = build_series(now=now, hours=hours, history_h=t.history_max_h)
        records_72h = series.count(series.present, WINDOW_H)
        observed_72h = records_72h - series.count(series.forecast, WINDOW_H)
        if records_72h < t.min_records_72h:
            decision = insufficient_data(records_72h, t)
            dry_spell_h, well_dried = 0, False
        else:
            features = compute_features(series, t, traits)
            decision = decide(features, t)
            dry_spell_h = features.dry_spell_h
            ratio = features.rain.drying_ratio
            well_dried = ratio is None or ratio >= t.well_dried_ratio
        confidence = t.confidence.score(
            decision,
            observed_h=observed_72h,
            soil_known=t.drying.soil_hours(traits.soil_drainage) is not None,
            dry_spell_h=dry_spell_h,
            well_dried=well_dried,
        )
        window_h = max(series.span_h, WINDOW_H)
        return TrailCondition(
            label=decision.label,
            rule_id=decision.rule_id,
            confidence=confidence,
            reasons=tuple(item.reason for item in decision.evidence),
            valid_for=series.end_hour,
            window_start=series.end_hour - (window_h - 1) * HOUR,
            window_end=series.end_hour + HOUR,
            classifier_version=self.version,
        )
