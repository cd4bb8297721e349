"""Which records the classifier looks at: observed beats forecast, the window, the hour."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.categorize import HourlyWeather
from services.categorize.handler import HOURLY_FIELDS, hourly_weather
from tests.services.categorize.builders import NOW, Hours, classify, record


def test_observed_beats_forecast_for_the_same_hour_in_any_order() -> None:
    wet_forecast = record(3, kind="forecast", rain_mm=20.0, precipitation_mm=20.0)
    after = Hours().add(wet_forecast)
    assert classify(after).label == "dry"
    before = Hours().records()
    assert classify([wet_forecast, *before]).label == "dry"


def test_forecast_fills_an_hour_without_observation_and_costs_confidence() -> None:
    hours = Hours().drop(3).add(record(3, kind="forecast", rain_mm=20.0, precipitation_mm=20.0))
    result = classify(hours)
    assert result.rule_id == "muddy.p24"
    assert result.confidence == pytest.approx(0.65)


def test_a_later_record_of_the_same_kind_replaces_an_earlier_one() -> None:
    hours = Hours().add(record(3, rain_mm=20.0, precipitation_mm=20.0))
    assert classify(hours).rule_id == "muddy.p24"


def test_forecasts_after_the_evaluation_hour_are_ignored() -> None:
    future = [record(-h, kind="forecast", rain_mm=30.0, precipitation_mm=30.0) for h in (1, 5)]
    result = classify(Hours().add(*future))
    assert result.label == "dry"
    assert result.window_end == NOW + timedelta(hours=1)


def test_now_inside_the_hour_evaluates_that_hour() -> None:
    result = classify(Hours(), now=NOW + timedelta(minutes=59, seconds=59))
    assert result.valid_for == NOW
    assert result.window_start == NOW - timedelta(hours=71)


def test_window_reaches_back_to_the_oldest_record_used() -> None:
    result = classify(Hours(100))
    assert result.window_start == NOW - timedelta(hours=99)
    assert result.window_end == NOW + timedelta(hours=1)


def test_history_older_than_history_max_h_is_ignored() -> None:
    result = classify(Hours(400))
    assert result.window_start == NOW - timedelta(hours=335)


def test_precipitation_without_a_rain_amount_counts_as_liquid() -> None:
    hours = Hours().set(3, precipitation_mm=14.0)
    assert classify(hours).rule_id == "muddy.p24"
    snow_only = Hours(temperature_c=-1.0).set(3, precipitation_mm=14.0, snow_mm=14.0)
    assert classify(snow_only).label == "snow"


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        classify(Hours(), now=datetime(2024, 3, 10, 12))


def test_a_naive_record_time_is_refused() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        HourlyWeather(time=datetime(2024, 3, 10, 12), kind="observed", temperature_c=1.0)


def test_an_unknown_record_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        HourlyWeather(time=NOW, kind="guess", temperature_c=1.0)  # type: ignore[arg-type]


def test_now_values_come_from_the_newest_record_when_recent_hours_are_missing() -> None:
    hours = Hours(temperature_c=-2.0).drop(range(24)).rain(30, 2.0)  # 48 records, none in 24 h
    result = classify(hours)
    assert result.rule_id == "icy.frozen_wet_ground"
    assert result.reasons[0].value == -2.0


class _ReadTracking(dict[str, Any]):
    """A record that remembers which fields were read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def test_the_handler_asks_for_every_field_it_reads_and_no_other() -> None:
    """The categorize handler asks the weather service for HOURLY_FIELDS only; a field read but
    not asked for would silently be None."""
    full = {
        "location_id": "trail-0001",
        "hour": "2026-11-22T10:00:00Z",
        "kind": "observed",
        "temperature_c": 3.5,
        "humidity_pct": 80.0,
        "wind_speed_ms": 4.0,
        "wind_gust_ms": 9.0,
        "precipitation_mm": 1.5,
        "rain_mm": 1.0,
        "snow_mm": 0.5,
        "weather_id": 500,
        "pop": 0.4,
        "soil_moisture_m3m3": 0.31,
        "source": "open-meteo-forecast",
        "fetched_at": "2026-11-22T10:05:00Z",
    }
    tracking = _ReadTracking(full)
    whole = hourly_weather(tracking)
    assert tracking.read == set(HOURLY_FIELDS)
    assert hourly_weather({f: full[f] for f in HOURLY_FIELDS}) == whole
    assert whole.soil_moisture_m3m3 == 0.31
