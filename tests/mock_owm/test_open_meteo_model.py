"""The pieces behind /v1/forecast: the WMO code table, the ground model, the time zones."""

from __future__ import annotations

import pytest

from mock_owm.conditions import CONDITIONS
from mock_owm.forecast import Forecaster
from mock_owm.ground import MOISTURE_MAX, MOISTURE_MIN, SNOW_DEPTH_M_PER_MM, GroundModel
from mock_owm.open_meteo_errors import OpenMeteoError
from mock_owm.open_meteo_zones import gmt_abbreviation, resolve_zone
from mock_owm.wmo import OPEN_METEO_CODES, WMO_BY_OWM_ID
from tests.mock_owm.conftest import FIXED_NOW_S

NOW_HOUR = FIXED_NOW_S // 3600


def test_every_owm_condition_has_a_code_open_meteo_answers() -> None:
    assert set(WMO_BY_OWM_ID) == set(CONDITIONS)
    assert set(WMO_BY_OWM_ID.values()) <= OPEN_METEO_CODES


@pytest.mark.parametrize("ids", [(300, 301, 302), (500, 501, 502), (600, 601, 602),
                                 (800, 801, 802, 804)])
def test_codes_keep_the_intensity_order(ids: tuple[int, ...]) -> None:
    codes = [WMO_BY_OWM_ID[i] for i in ids]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)


def test_ground_is_the_same_whatever_was_asked_first() -> None:
    forecaster = Forecaster()
    loc = forecaster.location(39.74, -104.99)
    whole = GroundModel(forecaster).at(loc, NOW_HOUR - 100, 200)
    part = GroundModel(Forecaster()).at(loc, NOW_HOUR + 7, 31)
    assert part == whole[107:138]


def test_the_top_layer_alone_is_the_whole_models_top_layer() -> None:
    """An answer asking only for soil_moisture_0_to_1cm reads the cheap path; it must agree with
    an answer that asks for the whole ground as well."""
    forecaster = Forecaster()
    loc = forecaster.location(47.37, 8.54)
    whole = GroundModel(forecaster).at(loc, NOW_HOUR - 80, 160)
    top = GroundModel(Forecaster()).top_moisture(loc, NOW_HOUR - 80, 160)
    assert top == [g.moisture[0] for g in whole]
    assert len(set(top)) > 10  # it moves with the weather


def test_snow_piles_up_and_melts_and_rain_wets_the_soil() -> None:
    forecaster = Forecaster()
    seen = {"snowfall": 0, "melt": 0, "rain": 0}
    for lat, lon in ((39.74, -104.99), (60.0, 10.0), (-41.29, 174.78), (-15.0, -60.0)):
        loc = forecaster.location(lat, lon)
        hours = forecaster.hours(loc, NOW_HOUR - 240, 480)
        ground = GroundModel(forecaster).at(loc, NOW_HOUR - 239, 479)  # after each hour
        for before, hour, after in zip(ground, hours[1:], ground[1:], strict=False):
            assert after.snow_depth_m >= 0.0
            if hour.snow_mm and hour.temp_c <= 0.0:
                seen["snowfall"] += 1
                assert after.snow_depth_m == pytest.approx(
                    before.snow_depth_m + hour.snow_mm * SNOW_DEPTH_M_PER_MM)
            if not hour.snow_mm and hour.temp_c > 0.0 and before.snow_depth_m:
                seen["melt"] += 1
                assert after.snow_depth_m < before.snow_depth_m
            if hour.rain_mm >= 1.0:
                seen["rain"] += 1
                assert after.moisture[0] > before.moisture[0] or after.moisture[0] == MOISTURE_MAX
            assert all(MOISTURE_MIN <= m <= MOISTURE_MAX for m in after.moisture)
    assert all(seen.values()), seen


@pytest.mark.parametrize(("name", "offset_s", "abbreviation"), [
    ("GMT", 0, "GMT"), ("UTC", 0, "UTC"), ("Etc/GMT", 0, "GMT"), ("Etc/GMT-2", 7200, "GMT+2"),
    ("Etc/GMT+11", -11 * 3600, "GMT-11"), ("Etc/GMT-14", 14 * 3600, "GMT+14"),
])
def test_fixed_zones(name: str, offset_s: int, abbreviation: str) -> None:
    zone = resolve_zone(name, FIXED_NOW_S)
    assert zone is not None
    assert (zone.name, zone.offset_s, zone.abbreviation) == (name, offset_s, abbreviation)


@pytest.mark.parametrize("name", ["Etc/GMT+13", "Etc/GMT-15", "Etc/GMT+1.5", "gmt+1", "",
                                  "posix/Europe/Berlin", "right/UTC", "a" * 70, "Europe/../UTC"])
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(OpenMeteoError) as refused:
        resolve_zone(name, FIXED_NOW_S)
    assert (refused.value.status, refused.value.reason) == (400, "Invalid timezone")


def test_auto_is_left_to_each_place() -> None:
    assert resolve_zone("auto", FIXED_NOW_S) is None


@pytest.mark.parametrize(("offset_s", "text"), [(0, "GMT"), (3600, "GMT+1"), (-10_800, "GMT-3"),
                                                (19_800, "GMT+5:30"), (-34_200, "GMT-9:30")])
def test_gmt_abbreviations(offset_s: int, text: str) -> None:
    assert gmt_abbreviation(offset_s) == text
