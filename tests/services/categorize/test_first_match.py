"""The table is ordered: the first rule that fires wins, across and within labels."""

from __future__ import annotations

from tests.services.categorize.builders import Hours, classify


def test_freezing_rain_with_heavy_rain_is_icy_not_muddy() -> None:
    hours = Hours(temperature_c=0.5).set(2, weather_id=511, rain_mm=20.0, precipitation_mm=20.0)
    assert classify(hours).rule_id == "icy.freezing_rain"


def test_frozen_wet_ground_beats_snow_cover() -> None:
    hours = Hours(temperature_c=-3.0).snow(60, 10.0).rain(30, 2.0)
    assert classify(hours).rule_id == "icy.frozen_wet_ground"


def test_snow_beats_heavy_rain() -> None:
    hours = Hours(temperature_c=-3.0).snow(60, 10.0).set(0, temperature_c=2.0).rain(3, 20.0)
    result = classify(hours)
    assert (result.label, result.rule_id) == ("snow", "snow.swe")


def test_muddy_beats_raining_now() -> None:
    assert classify(Hours().rain(0, 13.0)).rule_id == "muddy.p24"


def test_p24_is_reported_before_p48() -> None:
    result = classify(Hours().rain(3, 13.0).rain(30, 13.0))
    assert result.rule_id == "muddy.p24"
    assert [r.metric for r in result.reasons] == ["p24_mm"]


def test_deluge_follows_the_drying_rule_in_table_order() -> None:
    # a deluge not yet followed by 48 dry hours whose ground has also dried less than half
    hours = Hours(120).rain(60, 60.0).rain(12, 0.2).set(range(13, 60), temperature_c=-1.0)
    hours.set(0, temperature_c=5.0)
    assert classify(hours).rule_id == "muddy.drying"


def test_raining_now_beats_p72() -> None:
    assert classify(Hours().rain(60, 6.0).rain(0, 0.2)).rule_id == "wet.raining"


def test_p72_beats_recent_rain() -> None:
    # 6 mm need 5.7 drying hours: after 10 h the ratio is 1.76, yet the rain is < 24 h old
    assert classify(Hours().rain(10, 6.0)).rule_id == "wet.p72"


def test_rain_rules_name_the_cause_before_saturated_topsoil() -> None:
    assert classify(Hours().rain(3, 12.7).set(0, soil_moisture_m3m3=0.45)).rule_id == "muddy.p24"


def test_saturated_topsoil_beats_raining_now_and_frozen_wet_ground_is_icy() -> None:
    raining = Hours().rain(0, 0.5).set(0, soil_moisture_m3m3=0.45)
    assert classify(raining).rule_id == "muddy.saturated"
    frozen = Hours(temperature_c=0.0).rain(30, 1.0).set(0, soil_moisture_m3m3=0.45)
    assert classify(frozen).rule_id == "icy.frozen_wet_ground"
