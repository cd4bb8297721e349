"""Confidence: start 0.75, each adjustment of the spec on its own, the cap and the clamp."""

from __future__ import annotations

import pytest

from services.categorize import LocationTraits, RuleThresholds
from services.categorize.confidence import ConfidenceModel
from services.categorize.drying import DryingModel
from tests.services.categorize.builders import Hours, classify

SHORT_OK = RuleThresholds(min_records_72h=20)  # lets short histories reach a label


def p72_rain(n: int = 72, mm: float = 6.0) -> Hours:
    """wet.p72 with nothing else to adjust: 6 mm ten hours ago (20 % above 5 mm)."""
    return Hours(n).rain(10, mm)


def test_a_plain_label_starts_at_0_75() -> None:
    result = classify(p72_rain())
    assert (result.rule_id, result.confidence) == ("wet.p72", 0.75)


@pytest.mark.parametrize(
    ("observed_h", "expected"),
    [(23, 0.60), (24, 0.67), (47, 0.67), (48, 0.75)],
)
def test_short_history_tiers(observed_h: int, expected: float) -> None:
    result = classify(p72_rain(observed_h), thresholds=SHORT_OK)
    assert result.rule_id == "wet.p72"
    assert result.confidence == pytest.approx(expected)


def test_forecast_hours_are_not_history() -> None:
    hours = p72_rain().set(range(30, 72), kind="forecast")  # 30 observed hours
    assert classify(hours).confidence == pytest.approx(0.75 - 0.08 - 0.10)


@pytest.mark.parametrize(
    ("soil", "expected"),
    [(None, 0.65), ("clay", 0.65), ("well", 0.75), ("Moderately well drained", 0.75)],
)
def test_unknown_soil_class(soil: str | None, expected: float) -> None:
    result = classify(p72_rain(), traits=LocationTraits(soil_drainage=soil))
    assert result.confidence == pytest.approx(expected)


def test_a_label_resting_on_forecast() -> None:
    assert classify(p72_rain().set(40, kind="forecast")).confidence == pytest.approx(0.65)


def test_forecast_outside_the_deciding_window_does_not_count() -> None:
    assert classify(p72_rain(100).set(90, kind="forecast")).confidence == pytest.approx(0.75)


@pytest.mark.parametrize(("p72_mm", "expected"), [(5.5, 0.65), (5.75, 0.65), (5.76, 0.75)])
def test_a_deciding_amount_within_15_pct_of_its_threshold(p72_mm: float, expected: float) -> None:
    assert classify(p72_rain(mm=p72_mm)).confidence == pytest.approx(expected)


@pytest.mark.parametrize(("t_now_c", "expected"), [(1.0, 0.65), (0.5, 0.65), (0.4, 0.75)])
def test_temperatures_near_a_threshold_use_a_half_degree_margin(
    t_now_c: float, expected: float
) -> None:
    result = classify(Hours(temperature_c=t_now_c).set(5, weather_id=511))
    assert result.rule_id == "icy.freezing_rain"
    assert result.confidence == pytest.approx(expected)


def test_event_counts_are_not_graded() -> None:
    # one freezing-rain hour is exactly the threshold of one, and not "near" it
    result = classify(Hours(temperature_c=-2.0).set(5, weather_id=511))
    assert result.confidence == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("history_h", "expected"),
    [(72, 0.80), (73, 0.88), (96, 0.88), (97, 0.90), (200, 0.90)],
)
def test_dry_spell_bonus_takes_the_larger_not_the_sum(history_h: int, expected: float) -> None:
    # dry with no significant rain: +0.05 for being dried out, plus the dry-spell bonus
    assert classify(Hours(history_h)).confidence == pytest.approx(expected)


def test_dry_spell_bonus_counts_from_the_last_significant_rain() -> None:
    assert classify(Hours(120).rain(80, 3.0)).confidence == pytest.approx(0.75 + 0.08 + 0.05)
    assert classify(Hours(120).rain(97, 3.0)).confidence == pytest.approx(0.75 + 0.10 + 0.05)


def test_dry_spell_bonus_applies_to_any_label() -> None:
    result = classify(Hours(100, temperature_c=-2.0).set(5, weather_id=511))
    assert (result.rule_id, result.confidence) == ("icy.freezing_rain", pytest.approx(0.85))


def _ratio_thresholds() -> RuleThresholds:
    return RuleThresholds(drying=DryingModel(reference_rain_mm=3.0, soil_drying_h={"well": 24.0}))


def test_drying_ratio_of_1_5_raises_a_dry_label() -> None:
    result = classify(Hours().rain(30, 3.0), thresholds=_ratio_thresholds())  # ratio 1.25
    assert (result.rule_id, result.confidence) == ("dry.default", pytest.approx(0.75))
    result = classify(Hours().rain(36, 3.0), thresholds=_ratio_thresholds())  # ratio 1.5
    assert (result.rule_id, result.confidence) == ("dry.default", pytest.approx(0.80))


def test_snow_from_snowfall_alone_is_capped_at_0_6() -> None:
    result = classify(Hours(100, temperature_c=-3.0).snow(60, 10.0))  # 0.85 before the cap
    assert (result.rule_id, result.confidence) == ("snow.swe", 0.6)


def test_icy_from_rain_is_not_capped_but_icy_from_melt_is() -> None:
    from_rain = classify(Hours(temperature_c=-1.0).rain(30, 2.0))
    assert (from_rain.rule_id, from_rain.confidence) == ("icy.frozen_wet_ground", 0.75)
    from_melt = classify(
        Hours(temperature_c=-1.0).snow(60, 4.0).set(range(40, 50), temperature_c=6.0)
    )
    assert (from_melt.rule_id, from_melt.confidence) == ("icy.frozen_wet_ground", 0.6)


def test_clamped_to_the_floor_and_the_ceiling() -> None:
    low = RuleThresholds(confidence=ConfidenceModel(start=0.3))
    result = classify(
        p72_rain(mm=5.5).set(40, kind="forecast"), thresholds=low, traits=LocationTraits()
    )
    assert result.confidence == 0.2
    high = RuleThresholds(confidence=ConfidenceModel(start=0.9))
    assert classify(Hours(100), thresholds=high).confidence == 0.95


def test_unknown_carries_the_floor() -> None:
    assert classify(Hours(10)).confidence == 0.2
