"""The categorize handler: one ``CategorizeTask`` -> one stored trail condition.

Reads the location and its last ``history_h`` hours (plus ``forecast_h`` hours of forecast) from
the weather service (``POST /v1/weather/query``, batched with other handlers' reads by
``WeatherReads``), labels them with the configured classifier and upserts the condition for the
current UTC hour (``PUT /v1/conditions``, batched with other handlers' conditions by
``WeatherWrites``; the later ``computed_at`` wins, so a re-run is harmless).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from etl_core.outcomes import Done, Outcome
from etl_core.worker import TaskContext
from services.categorize.contract import (
    HourlyWeather,
    LocationTraits,
    TrailClassifier,
    TrailCondition,
)
from services.clock import Clock, utc_now
from services.tasks import CategorizeTask
from services.weather_client import WeatherServiceClient, iso
from services.weather_reads import WeatherReads
from services.weather_writes import WeatherWrites

HOUR_CACHE = 4096  # every location of a window reads the same ~76 hours


@dataclass(frozen=True, slots=True)
class CategorizeOptions:
    history_h: int = 72
    forecast_h: int = 3


@lru_cache(maxsize=HOUR_CACHE)
def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# The record fields hourly_weather reads: the handler asks the weather service for these only.
HOURLY_FIELDS = (
    "hour",
    "kind",
    "temperature_c",
    "humidity_pct",
    "wind_speed_ms",
    "precipitation_mm",
    "rain_mm",
    "snow_mm",
    "weather_id",
    "soil_moisture_m3m3",
)


def hourly_weather(record: dict[str, Any]) -> HourlyWeather:
    """A weather-service record -> the classifier's input."""
    return HourlyWeather(
        time=_time(str(record["hour"])),
        kind=record["kind"],
        temperature_c=float(record["temperature_c"]),
        humidity_pct=record.get("humidity_pct"),
        wind_speed_ms=record.get("wind_speed_ms"),
        precipitation_mm=float(record.get("precipitation_mm") or 0.0),
        rain_mm=float(record.get("rain_mm") or 0.0),
        snow_mm=float(record.get("snow_mm") or 0.0),
        weather_id=record.get("weather_id"),
        soil_moisture_m3m3=record.get("soil_moisture_m3m3"),
    )


def location_traits(location: dict[str, Any]) -> LocationTraits:
    return LocationTraits(
        soil_drainage=location.get("soil_drainage"),
        aspect=location.get("aspect"),
        canopy=location.get("canopy"),
        elevation_m=location.get("elevation_m"),
    )


def condition_item(
    location_id: str, condition: TrailCondition, *, computed_at: datetime
) -> dict[str, Any]:
    """The ``PUT /v1/conditions`` item of one condition."""
    return {
        "location_id": location_id,
        "valid_for": iso(condition.valid_for),
        "label": condition.label,
        "confidence": condition.confidence,
        "rule_id": condition.rule_id,
        "reasons": [
            {"metric": r.metric, "value": r.value, "threshold": r.threshold, "unit": r.unit}
            for r in condition.reasons
        ],
        "classifier_version": condition.classifier_version,
        "computed_at": iso(computed_at),
        "window_start": iso(condition.window_start),
        "window_end": iso(condition.window_end),
    }


class CategorizeHandler:
    def __init__(
        self,
        *,
        classifier: TrailClassifier,
        weather: WeatherServiceClient,
        reads: WeatherReads | None = None,
        writes: WeatherWrites | None = None,
        options: CategorizeOptions | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._classifier = classifier
        self._weather = weather
        self._reads = reads or WeatherReads(weather, max_wait_s=0.0)
        self._writes = writes or WeatherWrites(weather, max_wait_s=0.0)
        self._options = options or CategorizeOptions()
        self._clock = clock

    async def __call__(self, task: CategorizeTask, ctx: TaskContext) -> Outcome:
        now = self._clock()
        valid_for = now.replace(minute=0, second=0, microsecond=0)
        got = await self._reads.location_weather(
            task.location_id,
            start=valid_for - timedelta(hours=self._options.history_h),
            end=valid_for + timedelta(hours=1 + self._options.forecast_h),
            fields=HOURLY_FIELDS,
        )
        location, records = got.location, got.records
        condition = self._classifier.classify(
            now=valid_for,
            hours=[hourly_weather(r) for r in records],
            traits=location_traits(location),
        )
        item = condition_item(task.location_id, condition, computed_at=now)
        await self._writes.put_conditions([item])
        ctx.log.info(
            "condition_computed",
            location_id=task.location_id,
            label=condition.label,
            rule_id=condition.rule_id,
            records=len(records),
        )
        return Done()
