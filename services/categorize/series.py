"""The hourly records of one location, merged into slots that end at the evaluation hour.

Slot ``offset`` 0 is the evaluation hour (``now`` floored to the hour), 1 the hour before, and so
on; records after the evaluation hour or older than ``history_h`` are ignored. Where an observed
and a forecast record share an hour, the observed one wins; among records of the same kind the
later one in ``hours`` wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from services.categorize.contract import HourlyWeather

HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class HourlySeries:
    """Per-slot values, indexed by offset; a missing slot has ``present`` False and zeros."""

    end_hour: datetime
    span_h: int  # slots from the oldest record up to the evaluation hour (0 without records)
    present: list[bool]
    forecast: list[bool]
    temperature_c: list[float]
    liquid_mm: list[float]  # rain, or precipitation less snowfall when no rain amount is given
    snow_mm: list[float]
    weather_id: list[int | None]
    soil_moisture_m3m3: list[float | None]

    def count(self, flags: list[bool], window_h: int) -> int:
        """How many of the newest ``window_h`` slots have ``flags`` set."""
        return sum(flags[:window_h])

    def any_forecast(self, window_h: int) -> bool:
        """Whether any of the newest ``window_h`` slots holds a forecast record."""
        return any(self.forecast[:window_h])


def evaluation_hour(now: datetime) -> datetime:
    """``now`` floored to the start of its UTC hour; ``now`` must be tz-aware."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be tz-aware (UTC), got {now!r}")
    return datetime.fromtimestamp(int(now.timestamp() // HOUR_S) * HOUR_S, UTC)


def build_series(*, now: datetime, hours: Sequence[HourlyWeather], history_h: int) -> HourlySeries:
    """Merge ``hours`` into slots ending at the evaluation hour of ``now``."""
    end_hour = evaluation_hour(now)
    end_index = int(end_hour.timestamp()) // HOUR_S
    chosen: list[HourlyWeather | None] = [None] * history_h
    oldest = -1
    for record in hours:
        offset = end_index - int(record.time.timestamp() // HOUR_S)
        if not 0 <= offset < history_h:
            continue
        current = chosen[offset]
        if current is None or record.kind == "observed" or current.kind == "forecast":
            chosen[offset] = record
            oldest = max(oldest, offset)
    span_h = oldest + 1
    present = [False] * span_h
    forecast = [False] * span_h
    temperature_c = [0.0] * span_h
    liquid_mm = [0.0] * span_h
    snow_mm = [0.0] * span_h
    weather_id: list[int | None] = [None] * span_h
    soil_moisture_m3m3: list[float | None] = [None] * span_h
    for offset in range(span_h):
        slot = chosen[offset]
        if slot is None:
            continue
        present[offset] = True
        forecast[offset] = slot.kind == "forecast"
        temperature_c[offset] = slot.temperature_c
        snow = max(slot.snow_mm, 0.0)
        snow_mm[offset] = snow
        liquid_mm[offset] = max(slot.rain_mm, slot.precipitation_mm - snow, 0.0)
        weather_id[offset] = slot.weather_id
        soil_moisture_m3m3[offset] = slot.soil_moisture_m3m3
    return HourlySeries(
        end_hour=end_hour,
        span_h=span_h,
        present=present,
        forecast=forecast,
        temperature_c=temperature_c,
        liquid_mm=liquid_mm,
        snow_mm=snow_mm,
        weather_id=weather_id,
        soil_moisture_m3m3=soil_moisture_m3m3,
    )
