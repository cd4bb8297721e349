"""The synthetic weather: plausible, consistent ids, and every trail label happens."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from mock_owm.astro import DAYLIGHT_MIN_SINE
from mock_owm.conditions import CONDITIONS
from mock_owm.forecast import Forecaster
from mock_owm.model import Hour
from tests.mock_owm.conftest import onecall

LABELS = {"dry", "wet", "muddy", "snow", "icy"}
FREEZING_IDS = {511, 611, 612, 613}


def classify(hours: list[dict[str, Any]]) -> str:
    """docs/trail-rules.md, simplified to 48 hourly records ending now (metric units)."""
    last24 = hours[24:]
    rain = [h.get("rain", {}).get("1h", 0.0) for h in hours]
    p24, p48 = sum(rain[24:]), sum(rain)
    s24 = sum(h.get("snow", {}).get("1h", 0.0) for h in last24)
    t_now = hours[-1]["temp"]
    ids24 = {w["id"] for h in last24 for w in h["weather"]}
    if (ids24 & FREEZING_IDS and t_now <= 1.0) or (t_now <= 0.0 and p48 >= 1.0):
        return "icy"
    if s24 >= 3.0 and max(h["temp"] for h in last24) <= 2.0:
        return "snow"
    if p24 >= 12.7 or p48 >= 9.0:
        return "muddy"
    if rain[-1] > 0 or p48 >= 5.0 or any(rain[24:]):
        return "wet"
    return "dry"


@pytest.mark.parametrize(("evaluated_at", "lat_range", "lon_range"), [
    ("2024-01-15T12:00:00Z", (25.0, 65.0), (-125.0, 40.0)),  # North America and Europe
    ("2024-10-15T12:00:00Z", (-60.0, 75.0), (-180.0, 180.0)),  # the whole globe
])
async def test_every_trail_label_occurs(make_client: Any, evaluated_at: str,
                                        lat_range: tuple[float, float],
                                        lon_range: tuple[float, float]) -> None:
    """Ask for the 48 hours before the evaluation time (the clock set 48 h earlier) at 300 places
    and label each; every label must occur, and none may take nearly all places."""
    start = datetime.fromisoformat(evaluated_at).timestamp() - 48 * 3600
    rnd = random.Random(20240115)
    labels: Counter[str] = Counter()
    async with make_client(now=datetime.fromtimestamp(start, UTC).isoformat()) as client:
        for _ in range(300):
            body = await onecall(client, lat=round(rnd.uniform(*lat_range), 4),
                                 lon=round(rnd.uniform(*lon_range), 4), units="metric",
                                 exclude="current,minutely,daily,alerts")
            labels[classify(body["hourly"])] += 1
    assert set(labels) == LABELS, labels
    assert max(labels.values()) < 0.85 * 300, labels


def sample_hours(days: int = 365, places: int = 30, seed: int = 3) -> list[tuple[Any, Hour]]:
    forecaster = Forecaster()
    rnd = random.Random(seed)
    first = datetime(2023, 1, 1, tzinfo=UTC).timestamp() // 86_400
    out = []
    for _ in range(places):
        loc = forecaster.location(rnd.uniform(-60, 70), rnd.uniform(-180, 180))
        for d in range(int(first), int(first) + days):
            out.extend((loc, h) for h in forecaster.day(loc, d).hours)
    return out


@pytest.fixture(scope="module")
def year_of_hours() -> list[tuple[Any, Hour]]:
    return sample_hours()


def test_weather_ids_agree_with_precipitation_and_temperature(
        year_of_hours: list[tuple[Any, Hour]]) -> None:
    seen: Counter[int] = Counter()
    for _, h in year_of_hours:
        wid = h.weather_id
        seen[wid] += 1
        assert wid in CONDITIONS
        rate = h.rain_mm + h.snow_mm
        if h.rain_mm and h.snow_mm:
            assert wid in (611, 612, 613) and 0.0 < h.temp_c <= 1.5
        elif h.snow_mm:
            assert 600 <= wid <= 602 and h.temp_c <= 0.0
        elif h.rain_mm:
            assert wid == 511 or h.temp_c > 1.5
            if wid == 511:
                assert h.temp_c <= 0.0
            elif 200 <= wid < 300:
                assert h.temp_c >= 16.0
            elif wid == 300:
                assert rate < 0.25
            else:
                assert 500 <= wid <= 504
                assert wid == 500 + sum(rate >= edge for edge in (2.5, 7.6, 16.0, 50.0))
        else:
            assert wid in (701, 741) or 800 <= wid <= 804
    for group in (200, 300, 500, 501, 502, 511, 600, 601, 611, 701, 800, 801, 802, 803, 804):
        assert seen[group] > 0, f"condition {group} never occurs"


def test_precipitation_comes_in_events_of_every_size(year_of_hours: list[tuple[Any, Hour]]) -> None:
    runs, run = [], 0
    daily: Counter[tuple[float, int]] = Counter()
    for loc, h in year_of_hours:
        wet = h.rain_mm + h.snow_mm > 0
        if wet:
            run += 1
        elif run:
            runs.append(run)
            run = 0
        daily[(loc.lat, h.dt // 86_400)] += round(100 * (h.rain_mm + h.snow_mm))
    assert statistics.mean(runs) >= 3.0  # clustered in multi-hour events
    totals_mm = [v / 100 for v in daily.values()]
    assert any(t >= 50.0 for t in totals_mm)  # storms
    assert any(0.0 < t < 1.0 for t in totals_mm)  # drizzle
    wet_share = sum(t > 0 for t in totals_mm) / len(totals_mm)
    assert 0.15 < wet_share < 0.6


def test_seasons_day_and_night_latitude_and_elevation() -> None:
    forecaster = Forecaster()
    jan = int(datetime(2023, 1, 15, tzinfo=UTC).timestamp()) // 86_400
    jul = int(datetime(2023, 7, 15, tzinfo=UTC).timestamp()) // 86_400

    def mean_temp(lat: float, lon: float, first: int) -> float:
        loc = forecaster.location(lat, lon)
        return statistics.mean(h.temp_c for d in range(first, first + 14)
                               for h in forecaster.day(loc, d).hours)

    for lon in (-100.0, 10.0, 100.0):
        assert mean_temp(50.0, lon, jul) > mean_temp(50.0, lon, jan) + 8  # northern summer
        assert mean_temp(-45.0, lon, jan) > mean_temp(-45.0, lon, jul) + 5  # southern summer
        assert mean_temp(5.0, lon, jan) > mean_temp(65.0, lon, jan) + 15  # latitude
    loc = forecaster.location(40.0, -100.0)
    hours = [h for d in range(jul, jul + 30) for h in forecaster.day(loc, d).hours]
    day = [h.temp_c for h in hours if h.sun_sine > 0.5]
    night = [h.temp_c for h in hours if h.sun_sine < DAYLIGHT_MIN_SINE]
    assert statistics.mean(day) > statistics.mean(night) + 3


def test_some_places_are_alpine_and_colder() -> None:
    forecaster = Forecaster()
    rnd = random.Random(11)
    places = [forecaster.location(rnd.uniform(25, 65), rnd.uniform(-125, 40)) for _ in range(500)]
    elevations = sorted(p.elevation_m for p in places)
    assert elevations[len(elevations) // 2] < 500
    assert sum(e > 2500 for e in elevations) >= 5
    highs = [p for p in places if p.elevation_m > 2000]
    lows = [p for p in places if p.elevation_m < 300]
    assert statistics.mean(p.t_mean_c for p in highs) < statistics.mean(p.t_mean_c for p in lows)


def test_icons_are_day_or_night_by_sun(year_of_hours: list[tuple[Any, Hour]]) -> None:
    from mock_owm.render import weather_list

    for _, h in year_of_hours[:5000]:
        icon = weather_list(h, "en")[0]["icon"]
        assert icon.endswith("d" if h.sun_sine > DAYLIGHT_MIN_SINE else "n")
