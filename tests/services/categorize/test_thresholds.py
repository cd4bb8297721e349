"""Thresholds come from configuration: they change outcomes, and nonsense is refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.categorize import LocationTraits, RuleBasedClassifier, RuleThresholds
from tests.services.categorize.builders import Hours, classify


def test_defaults_are_the_published_figures() -> None:
    t = RuleThresholds()
    assert (t.min_records_72h, t.muddy_p24_mm, t.muddy_p48_mm, t.wet_p72_mm) == (48, 12.7, 9, 5)
    assert (t.snow_cover_swe_mm, t.fresh_snow_s24_mm, t.deluge_p24_mm) == (5, 3, 50)
    assert t.muddy_soil_moisture_m3m3 == 0.40
    assert t.drying.soil_drying_h["very_poorly"] == 168
    assert t.confidence.start == 0.75


def test_a_higher_p24_threshold_moves_the_rule() -> None:
    hours = Hours().rain(3, 15.0)
    assert classify(hours).rule_id == "muddy.p24"
    assert classify(hours, thresholds=RuleThresholds(muddy_p24_mm=20.0)).rule_id == "muddy.p48"


def test_thresholds_validated_from_a_config_dict() -> None:
    hours = Hours().rain(60, 4.0)
    assert classify(hours).label == "dry"
    configured = RuleThresholds.model_validate({"wet_p72_mm": 3.0})
    assert classify(hours, thresholds=configured).rule_id == "wet.p72"


def test_soil_drying_hours_from_config() -> None:
    configured = RuleThresholds.model_validate({"drying": {"soil_drying_h": {"well": 500.0}}})
    assert classify(Hours().rain(40, 3.0), thresholds=configured).rule_id == "wet.drying"


def test_melt_factor_depends_on_canopy() -> None:
    # 8 mm of snow, then a day at +1 °C: the open melts 6 mm, the forest 3 mm
    hours = Hours(temperature_c=-3.0).snow(40, 8.0).set(range(24), temperature_c=1.0)
    open_ground = LocationTraits(soil_drainage="well", canopy="open")
    assert classify(hours, traits=open_ground).label == "dry"
    forest = LocationTraits(soil_drainage="well", canopy="forest")
    assert classify(hours, traits=forest).rule_id == "snow.swe"
    slow = RuleThresholds(melt_factor_mm_per_c_day={"open": 2.0})
    assert classify(hours, thresholds=slow, traits=LocationTraits(canopy="open")).label == "snow"


@pytest.mark.parametrize(
    "bad",
    [
        {"muddy_p24_mm": 0},
        {"muddy_p24_mm": -1.0},
        {"min_records_72h": 0},
        {"min_records_72h": 73},
        {"history_max_h": 48},
        {"muddy_drying_ratio": 1.2},
        {"muddy_soil_moisture_m3m3": 0},
        {"muddy_soil_moisture_m3m3": 1.5},
        {"muddy_soil_moisture_m3m3": float("nan")},
        {"well_dried_ratio": 0.9},
        {"thaw_window_days": 4},
        {"deluge_dry_h": 400},
        {"freezing_precip_ids": [-1]},
        {"melt_factor_mm_per_c_day": {"open": -6.0}},
        {"typo_mm": 1.0},
        {"drying": {"warm_factor": 0}},
        {"drying": {"soil_drying_h": {"well": 0}}},
        {"drying": {"mild_above_c": 25.0}},
        {"confidence": {"minimum": 0.9, "maximum": 0.5}},
        {"confidence": {"start": 1.5}},
        {"confidence": {"near_threshold_pct": 0}},
    ],
)
def test_nonsense_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RuleThresholds.model_validate(bad)


def test_thresholds_are_frozen() -> None:
    with pytest.raises(ValidationError):
        RuleThresholds().muddy_p24_mm = 1.0


def test_version_names_the_calibration() -> None:
    assert RuleBasedClassifier().version == "rules-1.1"
    assert RuleBasedClassifier(RuleThresholds()).version == "rules-1.1"
    custom = RuleBasedClassifier(RuleThresholds(muddy_p24_mm=20.0)).version
    assert custom.startswith("rules-1.1+") and len(custom) == len("rules-1.1+") + 8
    assert RuleBasedClassifier(RuleThresholds(muddy_p24_mm=20.0)).version == custom
    assert RuleBasedClassifier(RuleThresholds(muddy_p24_mm=21.0)).version != custom
    result = classify(Hours(), thresholds=RuleThresholds(muddy_p24_mm=20.0))
    assert result.classifier_version == custom
