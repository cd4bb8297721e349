"""The building blocks: drying model, rain history, snowpack."""

from __future__ import annotations

import pytest

from services.categorize import LocationTraits
from services.categorize.drying import DryingModel, normalize_soil_class
from services.categorize.rainfall import (
    latest_rain_reaching,
    longest_dry_run_h,
    rolling_day_mm,
    storm_start,
)
from services.categorize.series import build_series
from services.categorize.snowpack import track_snowpack
from tests.services.categorize.builders import NOW, Hours

MODEL = DryingModel()


@pytest.mark.parametrize(
    ("t_c", "weight"),
    [
        (25.0, 1 / 0.7),
        (20.01, 1 / 0.7),
        (20.0, 1.0),
        (10.01, 1.0),
        (10.0, 1 / 1.5),
        (0.01, 1 / 1.5),
        (0.0, 0.0),
        (-5.0, 0.0),
    ],
)
def test_one_hour_dries_by_the_temperature_factor(t_c: float, weight: float) -> None:
    assert MODEL.hour_weight(t_c) == pytest.approx(weight)


def test_freezing_hours_can_be_made_to_dry_slowly() -> None:
    assert DryingModel(freezing_factor=3.0).hour_weight(-1.0) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("traits", "hours"),
    [
        (LocationTraits(soil_drainage="well"), 24.0),
        (LocationTraits(soil_drainage="excessively"), 6.0),
        (LocationTraits(soil_drainage="very_poorly"), 168.0),
        (LocationTraits(), 48.0),  # unknown soil: the default
        (LocationTraits(soil_drainage="well", aspect="S"), 24 * 0.6),
        (LocationTraits(soil_drainage="well", aspect="n"), 24 * 1.3),
        (LocationTraits(soil_drainage="well", canopy="forest"), 24 * 1.5),
        (LocationTraits(soil_drainage="well", elevation_m=2500.0), 24 * 1.2),
        (LocationTraits(soil_drainage="well", elevation_m=2400.0), 24.0),
        (
            LocationTraits(soil_drainage="poorly", aspect="N", canopy="forest", elevation_m=3000),
            120 * 1.3 * 1.5 * 1.2,
        ),
    ],
)
def test_hours_needed_for_an_inch_of_rain(traits: LocationTraits, hours: float) -> None:
    assert MODEL.needed_h(traits, 25.4) == pytest.approx(hours)


def test_hours_needed_scale_with_the_rain() -> None:
    well = LocationTraits(soil_drainage="well")
    assert MODEL.needed_h(well, 50.8) == pytest.approx(2 * MODEL.needed_h(well, 25.4))


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Well drained", "well"),
        ("moderately-well-drained", "moderately_well"),
        ("  Very Poorly ", "very_poorly"),
        ("", None),
        (None, None),
    ],
)
def test_soil_class_spellings(raw: str | None, key: str | None) -> None:
    assert normalize_soil_class(raw) == key


def test_rolling_day_totals() -> None:
    liquid = [0.0] * 60
    liquid[0], liquid[23], liquid[24], liquid[50] = 1.0, 2.0, 4.0, 8.0
    totals = rolling_day_mm(liquid)
    assert (totals[0], totals[1], totals[24], totals[27], totals[51]) == (3.0, 6.0, 4.0, 8.0, 0.0)


def test_latest_significant_rain_must_be_a_rainy_hour() -> None:
    liquid = [0.0] * 30
    liquid[20] = 3.0
    day = rolling_day_mm(liquid)
    assert latest_rain_reaching(liquid, day, measurable_mm=0.1, day_total_mm=2.5) == 20
    assert latest_rain_reaching(liquid, day, measurable_mm=0.1, day_total_mm=3.1) is None


def test_a_storm_joins_rain_across_gaps_shorter_than_the_gap() -> None:
    liquid = [0.0] * 60
    liquid[5] = liquid[16] = 1.0  # 10 dry hours between: one storm
    liquid[40] = 1.0  # 23 dry hours before: another storm
    assert storm_start(liquid, 5, measurable_mm=0.1, gap_h=12) == 16
    assert storm_start(liquid, 5, measurable_mm=0.1, gap_h=10) == 5


def test_dry_runs_skip_missing_hours() -> None:
    liquid = [0.0] * 20
    present = [True] * 20
    liquid[5] = 1.0
    present[8] = False
    assert longest_dry_run_h(liquid, present, after=15, measurable_mm=0.1) == 8  # 14..6 less 8
    assert longest_dry_run_h(liquid, present, after=5, measurable_mm=0.1) == 5


@pytest.mark.parametrize(("factor", "left_mm"), [(6.0, 4.0), (3.0, 7.0)])
def test_snow_melts_by_degree_days(factor: float, left_mm: float) -> None:
    # 10 mm, then one day at +1 °C: melt = factor x 1 °C x 1 day
    hours = Hours(72, temperature_c=-2.0).snow(60, 10.0).set(range(24, 48), temperature_c=1.0)
    series = build_series(now=NOW, hours=hours.records(), history_h=336)
    pack = track_snowpack(series, melt_factor_mm_per_c_day=factor, melt_base_c=0.0, recent_h=48)
    assert pack.swe_mm == pytest.approx(left_mm)
    assert pack.melt_mm == pytest.approx(10.0 - left_mm)
    assert not pack.swe_forecast


def test_snowpack_never_goes_below_zero_and_forgets_melted_forecasts() -> None:
    hours = Hours(72, temperature_c=15.0).snow(60, 1.0).set(60, kind="forecast")
    series = build_series(now=NOW, hours=hours.records(), history_h=336)
    pack = track_snowpack(series, melt_factor_mm_per_c_day=6.0, melt_base_c=0.0, recent_h=48)
    assert (pack.swe_mm, pack.swe_forecast, pack.melt_mm) == (0.0, False, 0.0)
