"""Every rule of the default table fires at its threshold and not just below it."""

from __future__ import annotations

import pytest

from services.categorize import LocationTraits, RuleThresholds
from services.categorize.drying import DryingModel
from tests.services.categorize.builders import TRAITS, Hours, classify, reason, record


def rule_of(
    hours: Hours, *, traits: LocationTraits = TRAITS, thresholds: RuleThresholds | None = None
) -> str:
    return classify(hours, traits=traits, thresholds=thresholds).rule_id


# unknown -------------------------------------------------------------------------------------


def test_47_records_in_72_h_is_unknown() -> None:
    result = classify(Hours(47))
    assert (result.label, result.rule_id) == ("unknown", "unknown.insufficient_data")
    assert result.reasons_json() == [
        {
            "metric": "records_72h",
            "value": 47.0,
            "threshold": 48.0,
            "unit": "count",
            "comparison": "<",
        },
    ]


def test_48_records_in_72_h_is_enough() -> None:
    assert classify(Hours(48)).label == "dry"


def test_gaps_count_against_the_72_h_window_and_older_records_do_not_help() -> None:
    hours = Hours(200).drop(range(10, 35))  # 47 of the last 72 hours, plenty before
    assert rule_of(hours) == "unknown.insufficient_data"


def test_no_records_at_all_is_unknown() -> None:
    result = classify([])
    assert result.rule_id == "unknown.insufficient_data"
    assert result.reasons[0].value == 0


# icy -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("weather_id", [511, 611, 612, 613])
def test_freezing_rain_or_sleet_in_24_h_at_or_below_1_c_is_icy(weather_id: int) -> None:
    result = classify(Hours(temperature_c=1.0).set(23, weather_id=weather_id))
    assert (result.label, result.rule_id) == ("icy", "icy.freezing_rain")
    assert reason(result, "freezing_precip_hours_24h")["value"] == 1.0
    assert reason(result, "t_now_c") == {
        "metric": "t_now_c",
        "value": 1.0,
        "threshold": 1.0,
        "unit": "°C",
        "comparison": "<=",
    }


def test_freezing_rain_needs_t_at_or_below_1_c() -> None:
    assert rule_of(Hours(temperature_c=1.01).set(5, weather_id=511)) == "dry.default"


def test_freezing_rain_older_than_24_h_or_plain_snow_does_not_count() -> None:
    assert rule_of(Hours(temperature_c=0.5).set(24, weather_id=511)) == "dry.default"
    assert rule_of(Hours(temperature_c=0.5).set(5, weather_id=600)) == "dry.default"


def test_frozen_ground_with_p48_of_1_mm_is_icy() -> None:
    result = classify(Hours(temperature_c=0.0).rain(30, 1.0))
    assert result.rule_id == "icy.frozen_wet_ground"
    assert [r.metric for r in result.reasons] == ["t_now_c", "p48_mm"]


def test_frozen_ground_boundaries() -> None:
    assert rule_of(Hours(temperature_c=0.0).rain(30, 0.99)) == "dry.default"
    assert rule_of(Hours(temperature_c=0.0).rain(48, 1.0)) == "dry.default"  # outside 48 h
    assert rule_of(Hours(temperature_c=0.01).rain(30, 1.0)) == "dry.default"


def test_frozen_ground_after_snowmelt_is_icy_and_capped() -> None:
    # 4 mm of snow melts in three hours at +6 °C (open: 6 mm/°C/day = 1.5 mm/h), then it freezes
    hours = Hours(96, temperature_c=-5.0).snow(90, 4.0).set(range(30, 41), temperature_c=6.0)
    result = classify(hours)
    assert result.rule_id == "icy.frozen_wet_ground"
    assert reason(result, "melt_48h_mm")["value"] == pytest.approx(4.0)
    assert result.confidence == 0.6  # rests on snowfall alone


def test_snow_cover_with_a_freeze_thaw_day_and_frost_is_icy() -> None:
    # one hour at +0.5 °C melts 0.125 mm: a freeze-thaw day, but no "recent melt"
    hours = Hours(temperature_c=-3.0).snow(60, 10.0).set(10, temperature_c=0.5)
    result = classify(hours)
    assert result.rule_id == "icy.snow_freeze_thaw"
    assert [r.metric for r in result.reasons] == ["swe_mm", "freeze_thaw_days_24h", "t_now_c"]
    assert reason(result, "swe_mm")["value"] == pytest.approx(9.875)


def test_snow_cover_without_a_freeze_thaw_day_is_snow() -> None:
    assert rule_of(Hours(temperature_c=-3.0).snow(60, 10.0)) == "snow.swe"


def test_snow_cover_and_freeze_thaw_but_thawing_now_is_not_icy() -> None:
    hours = Hours(temperature_c=-3.0).snow(60, 10.0).set(0, temperature_c=0.5)
    assert rule_of(hours) == "snow.swe"


# snow ----------------------------------------------------------------------------------------


def test_swe_of_5_mm_is_snow() -> None:
    result = classify(Hours(temperature_c=-3.0).snow(50, 5.0))
    assert (result.label, result.rule_id) == ("snow", "snow.swe")
    assert reason(result, "swe_mm") == {
        "metric": "swe_mm",
        "value": 5.0,
        "threshold": 5.0,
        "unit": "mm",
        "comparison": ">=",
    }


def test_swe_just_below_5_mm_is_not_snow() -> None:
    assert rule_of(Hours(temperature_c=-3.0).snow(50, 4.99)) == "dry.default"


def test_melted_snowpack_is_no_longer_snow() -> None:
    # 10 mm melt in 40 h at +1 °C (0.25 mm/h); the melt water of the last 48 h then freezes
    hours = Hours(temperature_c=-3.0).snow(70, 10.0).set(range(20, 69), temperature_c=1.0)
    assert rule_of(hours) == "icy.frozen_wet_ground"
    assert rule_of(hours.set(range(20), temperature_c=1.0)) == "dry.default"


def test_fresh_snow_s24_of_3_mm_with_tmax_2_c_is_snow() -> None:
    # at +2 °C the 3 mm melt within six hours, so only the fresh-snow rule can fire
    result = classify(Hours(temperature_c=2.0).snow(5, 3.0))
    assert result.rule_id == "snow.fresh"
    assert [r.metric for r in result.reasons] == ["s24_mm", "t_max_24h_c"]


def test_fresh_snow_boundaries() -> None:
    assert rule_of(Hours(temperature_c=2.0).snow(5, 2.99)) == "dry.default"
    assert rule_of(Hours(temperature_c=2.01).snow(5, 3.0)) == "dry.default"
    assert rule_of(Hours(temperature_c=2.0).snow(24, 3.0)) == "dry.default"


# muddy ---------------------------------------------------------------------------------------


def test_p24_of_12_7_mm_is_muddy() -> None:
    result = classify(Hours().rain(3, 12.7))
    assert (result.label, result.rule_id) == ("muddy", "muddy.p24")
    assert result.reasons_json() == [
        {"metric": "p24_mm", "value": 12.7, "threshold": 12.7, "unit": "mm", "comparison": ">="},
    ]


def test_p24_just_below_12_7_mm_is_not_the_p24_rule() -> None:
    assert rule_of(Hours().rain(3, 12.69)) == "muddy.p48"


def test_p24_summed_from_many_float_hours_still_meets_12_7_mm() -> None:
    hours = Hours()
    for offset in range(1, 13):
        hours.rain(offset, 1.0)
    for offset in range(13, 20):
        hours.rain(offset, 0.1)  # seven float tenths do not add up to exactly 0.7
    assert rule_of(hours) == "muddy.p24"


def test_p48_of_9_mm_is_muddy() -> None:
    result = classify(Hours().rain(30, 9.0))
    assert result.rule_id == "muddy.p48"
    assert reason(result, "p48_mm")["threshold"] == 9.0


def test_p48_just_below_9_mm_is_not_muddy() -> None:
    assert rule_of(Hours().rain(30, 8.99)) == "wet.p72"


def test_drying_ratio_below_half_is_muddy() -> None:
    # very poorly drained: 168 h per 25.4 mm -> 5 mm need 33 h; 4 h dried
    very_poor = LocationTraits(soil_drainage="very_poorly", canopy="open")
    result = classify(Hours().rain(4, 5.0), traits=very_poor)
    assert result.rule_id == "muddy.drying"
    assert reason(result, "drying_ratio")["value"] == pytest.approx(4 / (168 * 5 / 25.4), abs=1e-6)


def _exact_drying() -> RuleThresholds:
    """4 mm of rain need exactly 20 drying hours on well-drained soil."""
    return RuleThresholds(drying=DryingModel(reference_rain_mm=4.0, soil_drying_h={"well": 20.0}))


def test_drying_ratio_exactly_half_is_wet_not_muddy() -> None:
    result = classify(Hours().rain(10, 4.0), thresholds=_exact_drying())
    assert result.rule_id == "wet.drying"
    assert [(r.value, r.comparison, r.threshold) for r in result.reasons] == [
        (0.5, "<", 1.0),
        (0.5, ">=", 0.5),
    ]


def test_drying_ratio_just_below_half_is_muddy() -> None:
    hours = Hours().rain(10, 4.0).set(5, temperature_c=5.0)  # one hour counts 1/1.5
    assert rule_of(hours, thresholds=_exact_drying()) == "muddy.drying"


def test_thawing_after_a_freeze_on_wet_ground_is_muddy() -> None:
    hours = Hours(temperature_c=3.0).set(range(10, 20), temperature_c=-2.0).rain(30, 2.0)
    result = classify(hours)
    assert result.rule_id == "muddy.thaw"
    assert [r.comparison for r in result.reasons] == [">", ">=", ">="]
    assert [r.metric for r in result.reasons] == ["t_now_c", "freeze_thaw_days_48h", "p48_mm"]


def test_thaw_needs_a_freeze_thaw_day_within_the_thaw_window() -> None:
    no_freeze = Hours(temperature_c=3.0).rain(30, 2.0)
    assert rule_of(no_freeze) == "dry.default"
    old_freeze = Hours(temperature_c=3.0).set(range(50, 60), temperature_c=-2.0).rain(30, 2.0)
    assert rule_of(old_freeze) == "dry.default"
    assert rule_of(old_freeze, thresholds=RuleThresholds(thaw_window_days=3)) == "muddy.thaw"


def test_thaw_on_ground_still_drying_is_muddy() -> None:
    # 3 mm on very poorly drained soil need 19.8 h; 40 frozen hours dry nothing, 20 h at 3 °C
    # count 13.3 h: ratio 0.67 (wet), P48 = 0 -- the drying ratio alone makes the ground wet
    hours = Hours(temperature_c=3.0).rain(60, 3.0).set(range(20, 60), temperature_c=-2.0)
    result = classify(hours, traits=LocationTraits(soil_drainage="very_poorly"))
    assert result.rule_id == "muddy.thaw"
    assert reason(result, "drying_ratio")["comparison"] == "<"


def test_a_deluge_stays_muddy_until_48_dry_hours() -> None:
    hours = Hours(120).rain(60, 50.0).rain(12, 0.2)  # dry runs of 47 h and 12 h
    result = classify(hours)
    assert result.rule_id == "muddy.deluge"
    assert reason(result, "deluge_p24_mm")["value"] == 50.0
    assert reason(result, "dry_run_h") == {
        "metric": "dry_run_h",
        "value": 47.0,
        "threshold": 48.0,
        "unit": "h",
        "comparison": "<",
    }


def test_48_dry_hours_end_the_deluge() -> None:
    assert rule_of(Hours(120).rain(60, 50.0).rain(11, 0.2)) == "wet.p72"
    assert rule_of(Hours(120).rain(60, 50.0)) == "wet.p72"


def test_just_below_a_deluge_is_not_one() -> None:
    assert rule_of(Hours(120).rain(60, 49.99).rain(12, 0.2)) == "wet.p72"


def test_topsoil_moisture_at_the_threshold_is_muddy() -> None:
    result = classify(Hours().set(0, soil_moisture_m3m3=0.40))
    assert (result.label, result.rule_id) == ("muddy", "muddy.saturated")
    assert result.reasons_json() == [
        {
            "metric": "soil_moisture_m3m3",
            "value": 0.40,
            "threshold": 0.40,
            "unit": "m³/m³",
            "comparison": ">=",
        },
        {"metric": "t_now_c", "value": 12.0, "threshold": 0.0, "unit": "°C", "comparison": ">"},
    ]
    assert result.confidence == pytest.approx(0.75 - 0.10)  # within 15 % of the threshold


def test_topsoil_moisture_below_the_threshold_or_unknown_is_not_muddy() -> None:
    assert rule_of(Hours().set(0, soil_moisture_m3m3=0.399)) == "dry.default"
    assert rule_of(Hours().set(0, soil_moisture_m3m3=None)) == "dry.default"
    assert rule_of(Hours().set(0, soil_moisture_m3m3=0.3), thresholds=RuleThresholds(
        muddy_soil_moisture_m3m3=0.3
    )) == "muddy.saturated"


def test_saturated_but_frozen_topsoil_is_firm_not_muddy() -> None:
    assert rule_of(Hours(temperature_c=0.0).set(0, soil_moisture_m3m3=0.45)) == "dry.default"
    assert rule_of(Hours(temperature_c=0.1).set(0, soil_moisture_m3m3=0.45)) == "muddy.saturated"


def test_soil_moisture_is_the_newest_observed_records_only() -> None:
    # A forecast's value is not used, for the same hour or the hours after the observation.
    same_hour = Hours().add(record(0, kind="forecast", soil_moisture_m3m3=0.5))
    assert rule_of(same_hour) == "dry.default"
    newest_forecast = Hours().drop(0).add(record(0, kind="forecast", soil_moisture_m3m3=0.5))
    assert rule_of(newest_forecast) == "dry.default"
    # The newest observed record decides, even behind a newer forecast hour...
    behind = Hours().drop(0).set(1, soil_moisture_m3m3=0.5).add(record(0, kind="forecast"))
    result = classify(behind)
    assert result.rule_id == "muddy.saturated"
    assert result.confidence == pytest.approx(0.75 - 0.10)  # T now is the forecast's
    # ...and an older observation's value does not stand in for a newer one without any.
    assert rule_of(Hours().set(1, soil_moisture_m3m3=0.5)) == "dry.default"


WITHOUT_SOIL_MOISTURE = [
    Hours(),
    Hours(47),
    Hours().rain(3, 12.7),
    Hours().rain(30, 9.0),
    Hours().rain(4, 5.0),
    Hours(120).rain(60, 50.0).rain(12, 0.2),
    Hours(temperature_c=3.0).set(range(10, 20), temperature_c=-2.0).rain(30, 2.0),
    Hours(temperature_c=0.0).rain(30, 1.0),
    Hours(temperature_c=-3.0).snow(60, 10.0),
    Hours().rain(0, 0.1),
    Hours().rain(60, 5.0),
    Hours().rain(10, 4.0),
    Hours().rain(40, 3.0),
]


@pytest.mark.parametrize("hours", WITHOUT_SOIL_MOISTURE)
def test_without_soil_moisture_every_label_is_what_the_table_without_the_rule_gives(
    hours: Hours, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source that reports no soil moisture (OpenWeatherMap) is labelled exactly as before."""
    from services.categorize import table

    with_rule = classify(hours)
    without = tuple(rule for rule in table.RULES if rule is not table.muddy_saturated)
    monkeypatch.setattr(table, "RULES", without)
    assert classify(hours) == with_rule


# wet -----------------------------------------------------------------------------------------


def test_raining_now_is_wet() -> None:
    result = classify(Hours().rain(0, 0.1))
    assert (result.label, result.rule_id) == ("wet", "wet.raining")
    assert reason(result, "rain_now_mm")["threshold"] == 0.1


def test_drizzle_below_measurable_now_is_not_raining() -> None:
    assert rule_of(Hours().rain(0, 0.09)) == "dry.default"


def test_p72_of_5_mm_is_wet() -> None:
    result = classify(Hours().rain(60, 5.0))
    assert result.rule_id == "wet.p72"
    assert reason(result, "p72_mm")["value"] == 5.0


def test_p72_boundaries() -> None:
    assert rule_of(Hours().rain(60, 4.99)) == "dry.default"
    assert rule_of(Hours(80).rain(71, 5.0)) == "wet.p72"
    assert rule_of(Hours(80).rain(72, 5.0)) == "dry.default"


def test_drying_ratio_below_one_is_wet() -> None:
    hours = Hours().rain(29, 4.0)  # needs 30 h, 29 h dried
    thresholds = RuleThresholds(
        drying=DryingModel(reference_rain_mm=4.0, soil_drying_h={"well": 30.0})
    )
    result = classify(hours, thresholds=thresholds)
    assert result.rule_id == "wet.drying"
    assert [(r.comparison, r.threshold) for r in result.reasons] == [("<", 1.0), (">=", 0.5)]


def test_drying_ratio_of_one_is_dry() -> None:
    thresholds = RuleThresholds(
        drying=DryingModel(reference_rain_mm=4.0, soil_drying_h={"well": 30.0})
    )
    assert rule_of(Hours().rain(30, 4.0), thresholds=thresholds) == "dry.default"


def test_less_than_24_h_since_significant_rain_is_wet() -> None:
    fast = LocationTraits(soil_drainage="excessively")  # 3 mm dry in 0.7 h
    result = classify(Hours().rain(23, 3.0), traits=fast)
    assert result.rule_id == "wet.recent_rain"
    assert reason(result, "hours_since_rain_h")["value"] == 23.0
    assert rule_of(Hours().rain(24, 3.0), traits=fast) == "dry.default"


def test_light_rain_is_not_significant_rain() -> None:
    # 2.4 mm in a day stay below the 2.5 mm/day of "significant rain"
    hours = Hours().rain(10, 1.2).rain(12, 1.2)
    assert rule_of(hours) == "dry.default"
    assert rule_of(Hours().rain(10, 1.3).rain(12, 1.2)) == "wet.recent_rain"


# dry -----------------------------------------------------------------------------------------


def test_nothing_fired_is_dry() -> None:
    result = classify(Hours())
    assert (result.label, result.rule_id) == ("dry", "dry.default")
    assert result.reasons_json() == [
        {"metric": "p72_mm", "value": 0.0, "threshold": 5.0, "unit": "mm", "comparison": "<"},
        {
            "metric": "hours_since_rain_h",
            "value": 72.0,
            "threshold": 24.0,
            "unit": "h",
            "comparison": ">=",
        },
    ]


def test_dry_after_rain_gives_the_drying_ratio() -> None:
    result = classify(Hours().rain(40, 3.0))
    assert result.rule_id == "dry.default"
    assert reason(result, "drying_ratio")["value"] == pytest.approx(40 / (24 * 3 / 25.4), 1e-5)
    assert reason(result, "hours_since_rain_h")["value"] == 40.0


def test_every_rule_id_of_the_table_is_covered() -> None:
    from services.categorize.table import RULES

    ids = {rule.__name__.replace("_", ".", 1) for rule in RULES}
    assert ids == {
        "icy.freezing_rain",
        "icy.frozen_wet_ground",
        "icy.snow_freeze_thaw",
        "snow.swe",
        "snow.fresh",
        "muddy.p24",
        "muddy.p48",
        "muddy.drying",
        "muddy.thaw",
        "muddy.deluge",
        "muddy.saturated",
        "wet.raining",
        "wet.p72",
        "wet.drying",
        "wet.recent_rain",
    }
