"""Open-Meteo answers -> hourly records: hour alignment, units, codes, malformed answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.fetch_weather.open_meteo.client import HOURLY_VARIABLES, OpenMeteoUnavailable
from services.fetch_weather.open_meteo.transform import (
    FORECAST_HOURS,
    SOURCE,
    forecast_records,
    utc_offset,
)
from weather_service.models.weather import WeatherUpsert

NOW = datetime(2026, 12, 4, 10, 25, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 1, tzinfo=UTC)  # three past days before local (UTC) today


def answer(days: int = 6, **overrides: list[Any]) -> dict[str, Any]:
    """``days`` of hours from MIDNIGHT; every sum is 0.7 mm; the temperature is a tenth of the
    hour's index, the soil moisture 0.2 m³/m³ plus a thousandth of it."""
    n = days * 24
    hourly: dict[str, list[Any]] = {
        "time": [int((MIDNIGHT + timedelta(hours=i)).timestamp()) for i in range(n)],
        "temperature_2m": [i / 10 for i in range(n)],
        "relative_humidity_2m": [80] * n,
        "precipitation": [0.7] * n,
        "rain": [0.5] * n,
        "showers": [0.2] * n,
        "snowfall": [0.0] * n,
        "weather_code": [61] * n,
        "wind_speed_10m": [3.5] * n,
        "wind_gusts_10m": [7.0] * n,
        "soil_moisture_0_to_1cm": [round(0.2 + i / 1000, 3) for i in range(n)],
    }
    hourly.update(overrides)
    return {"utc_offset_seconds": 0, "hourly": hourly}


def test_steady_state_gives_the_current_hour_and_48_forecast_hours() -> None:
    records = forecast_records(answer(), now=NOW, fetched_at=NOW, observed_since=None)
    observed = [r for r in records if r["kind"] == "observed"]
    forecast = [r for r in records if r["kind"] == "forecast"]
    assert [r["hour"] for r in observed] == ["2026-12-04T10:00:00Z"]
    assert len(forecast) == FORECAST_HOURS
    assert forecast[0]["hour"] == "2026-12-04T10:00:00Z"
    assert forecast[-1]["hour"] == "2026-12-06T09:00:00Z"
    assert {r["source"] for r in records} == {SOURCE}
    WeatherUpsert(records=records)  # every record is one the weather service accepts


def test_a_record_takes_the_instant_at_its_hour_and_the_sums_labelled_an_hour_later() -> None:
    n = 6 * 24
    rain = [0.0] * n
    label = int((datetime(2026, 12, 4, 11, tzinfo=UTC) - MIDNIGHT).total_seconds() // 3600)
    rain[label] = 4.0  # fell between 10:00 and 11:00
    precipitation = [0.0] * n
    precipitation[label] = 4.0
    records = forecast_records(
        answer(rain=rain, showers=[0.0] * n, precipitation=precipitation),
        now=NOW,
        fetched_at=NOW,
        observed_since=None,
    )
    current = records[0]
    assert current["hour"] == "2026-12-04T10:00:00Z"
    assert current["temperature_c"] == (label - 1) / 10  # the value at 10:00
    assert current["rain_mm"] == current["precipitation_mm"] == 4.0
    assert all(r["rain_mm"] == 0.0 for r in records[1:] if r["hour"] != current["hour"])


def test_soil_moisture_is_the_instant_at_the_records_own_hour() -> None:
    records = forecast_records(answer(), now=NOW, fetched_at=NOW, observed_since=None)
    label = int((datetime(2026, 12, 4, 10, tzinfo=UTC) - MIDNIGHT).total_seconds() // 3600)
    current = records[0]
    assert (current["hour"], current["kind"]) == ("2026-12-04T10:00:00Z", "observed")
    assert current["soil_moisture_m3m3"] == round(0.2 + label / 1000, 3)  # labelled 10:00
    assert records[-1]["soil_moisture_m3m3"] == round(0.2 + (label + 47) / 1000, 3)


def test_soil_moisture_is_clamped_to_0_1_and_none_where_the_series_has_none() -> None:
    n = 6 * 24
    label = int((datetime(2026, 12, 4, 10, tzinfo=UTC) - MIDNIGHT).total_seconds() // 3600)
    soil: list[Any] = [0.3] * n
    soil[label], soil[label + 1], soil[label + 2] = 1.25, -0.01, None
    records = forecast_records(
        answer(soil_moisture_0_to_1cm=soil), now=NOW, fetched_at=NOW, observed_since=None
    )
    forecast = [r["soil_moisture_m3m3"] for r in records if r["kind"] == "forecast"]
    assert forecast[:4] == [1.0, 0.0, None, 0.3]
    WeatherUpsert(records=records)


def test_snowfall_in_cm_becomes_its_water_equivalent() -> None:
    n = 6 * 24
    records = forecast_records(
        answer(
            snowfall=[0.7] * n, rain=[0.0] * n, showers=[0.0] * n, precipitation=[1.0] * n,
            weather_code=[73] * n,
        ),
        now=NOW,
        fetched_at=NOW,
        observed_since=None,
    )
    assert records[0]["snow_mm"] == 1.0  # 0.7 cm of snow = 1 mm of water
    assert records[0]["precipitation_mm"] == 1.0
    assert records[0]["weather_id"] == 601  # WMO 73, moderate snow: OWM's "Snow"


def test_a_backfill_covers_every_hour_of_the_history_window_the_series_holds() -> None:
    since = datetime(2026, 12, 1, 10, tzinfo=UTC)  # 72 h before the current hour
    records = forecast_records(answer(), now=NOW, fetched_at=NOW, observed_since=since)
    observed = [r["hour"] for r in records if r["kind"] == "observed"]
    assert len(observed) == 73  # 72 past hours and the current one
    assert observed[0] == "2026-12-01T10:00:00Z" and observed[-1] == "2026-12-04T10:00:00Z"
    assert len(set(observed)) == len(observed)


def test_the_offset_is_the_answers_own() -> None:
    assert utc_offset({"utc_offset_seconds": 46800}) == timedelta(hours=13)
    assert utc_offset({"utc_offset_seconds": "13"}) == timedelta(0)
    assert utc_offset({}) == timedelta(0)


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        ({"hourly": None}, "no hourly"),
        ({"hourly": {"time": ["2026-12-04T10:00"]}}, "unix times"),
        ({"hourly": {**answer()["hourly"], "rain": [0.0]}}, "hourly.rain"),
        ({"hourly": {k: v for k, v in answer()["hourly"].items() if k != "snowfall"}}, "snowfall"),
        ({"hourly": {**answer()["hourly"], "temperature_2m": ["warm"] * 144}}, "not a number"),
        ({"hourly": {k: v for k, v in answer()["hourly"].items() if k[:4] != "soil"}}, "soil"),
        ({"hourly": {**answer()["hourly"], "soil_moisture_0_to_1cm": ["damp"] * 144}}, "soil"),
        ({"hourly": {**answer(1)["hourly"]}}, "no values for the hour"),
    ],
)
def test_a_malformed_answer_is_transient_and_says_what_is_wrong(
    broken: dict[str, Any], says: str
) -> None:
    with pytest.raises(OpenMeteoUnavailable, match=says):
        forecast_records(broken, now=NOW, fetched_at=NOW, observed_since=None)


def test_the_request_reads_at_most_ten_variables() -> None:
    """More than 10 counts as several calls on Open-Meteo's meter."""
    assert len(HOURLY_VARIABLES) <= 10
