"""Hourly weather records: one per location and UTC hour, observed or forecast."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, Strict, model_validator
from typing_extensions import TypedDict

from weather_service.models.common import (
    Fraction,
    InputModel,
    OutputModel,
    PastUtcTime,
    ResourceId,
    Slug,
    UtcHour,
    UtcTime,
)
from weather_service.models.locations import LocationOut

WeatherKind = Literal["observed", "forecast"]

Temperature = Annotated[float, Strict(), Field(ge=-100.0, le=70.0, allow_inf_nan=False)]
Percent = Annotated[float, Strict(), Field(ge=0.0, le=100.0, allow_inf_nan=False)]
Speed = Annotated[float, Strict(), Field(ge=0.0, le=150.0, allow_inf_nan=False)]
Amount = Annotated[float, Strict(), Field(ge=0.0, le=1000.0, allow_inf_nan=False)]
WeatherId = Annotated[int, Strict(), Field(ge=100, le=999)]


class WeatherRecordIn(InputModel):
    hour: UtcHour = Field(
        description="Start of the UTC hour the record describes.", examples=["2026-11-22T10:00:00Z"]
    )
    kind: WeatherKind
    temperature_c: Temperature
    humidity_pct: Percent | None = None
    wind_speed_ms: Speed | None = None
    wind_gust_ms: Speed | None = None
    precipitation_mm: Amount | None = Field(
        default=None, description="Liquid-equivalent total in the hour; rain_mm + snow_mm if null."
    )
    rain_mm: Amount = 0.0
    snow_mm: Amount = Field(default=0.0, description="Snowfall as water equivalent.")
    weather_id: WeatherId | None = Field(default=None, description="OpenWeatherMap condition id.")
    pop: Fraction | None = Field(default=None, description="Probability of precipitation, 0..1.")
    soil_moisture_m3m3: Fraction | None = Field(
        default=None,
        description="Volumetric water content of the top soil layer (m³ of water per m³ of soil, "
        "0..1) at the start of the hour; null when the source gives none.",
        examples=[0.31],
    )
    source: Slug = Field(examples=["owm-onecall-3.0"])
    fetched_at: PastUtcTime = Field(description="When the provider was asked; newer wins.")


class LocatedWeatherRecordIn(WeatherRecordIn):
    location_id: ResourceId = Field(examples=["trail-0042"])


def _field_values(records: Sequence[WeatherRecordIn]) -> list[dict[str, Any]]:
    """Each record's field values, copied from the instance's own dict: the fields are plain
    values (no nested models), which ``model_dump`` would return unchanged at ~8x the cost."""
    return [dict(record.__dict__) for record in records]


def _completed(rows: list[dict[str, Any]], location_id: str | None) -> list[dict[str, Any]]:
    for row in rows:
        if location_id is not None:
            row["location_id"] = location_id
        if row["precipitation_mm"] is None:
            row["precipitation_mm"] = row["rain_mm"] + row["snow_mm"]
    return rows


class WeatherUpsert(InputModel):
    records: list[WeatherRecordIn] = Field(min_length=1)

    def rows(self, location_id: str) -> list[dict[str, Any]]:
        """The records as table rows (the hot path: see ``_field_values``)."""
        return _completed(_field_values(self.records), location_id)


class WeatherBatchUpsert(InputModel):
    records: list[LocatedWeatherRecordIn] = Field(min_length=1)

    def rows(self) -> list[dict[str, Any]]:
        return _completed(_field_values(self.records), None)


class WeatherRecordOut(OutputModel):
    location_id: str
    hour: datetime
    kind: WeatherKind
    temperature_c: float
    humidity_pct: float | None
    wind_speed_ms: float | None
    wind_gust_ms: float | None
    precipitation_mm: float
    rain_mm: float
    snow_mm: float
    weather_id: int | None
    pop: float | None
    soil_moisture_m3m3: float | None
    source: str
    fetched_at: datetime


# The fields of a record, in the order an answer writes them (WeatherRecordOut's; a test checks).
RecordField = Literal[
    "location_id",
    "hour",
    "kind",
    "temperature_c",
    "humidity_pct",
    "wind_speed_ms",
    "wind_gust_ms",
    "precipitation_mm",
    "rain_mm",
    "snow_mm",
    "weather_id",
    "pop",
    "soil_moisture_m3m3",
    "source",
    "fetched_at",
]
RECORD_FIELDS: tuple[RecordField, ...] = get_args(RecordField)


class QueriedRecordOut(TypedDict, total=False):
    """A record of a query answer: every field of ``WeatherRecordOut``, or only those the query's
    ``fields`` named."""

    location_id: str
    hour: datetime
    kind: WeatherKind
    temperature_c: float
    humidity_pct: float | None
    wind_speed_ms: float | None
    wind_gust_ms: float | None
    precipitation_mm: float
    rain_mm: float
    snow_mm: float
    weather_id: int | None
    pop: float | None
    soil_moisture_m3m3: float | None
    source: str
    fetched_at: datetime


MAX_QUERY_LOCATIONS = 200
MAX_QUERY_SPAN_H = 14 * 24


class WeatherQuery(InputModel):
    """Many locations' records over one time range, in one request (what a categorize worker
    reads for a batch of tasks)."""

    location_ids: list[ResourceId] = Field(min_length=1, max_length=MAX_QUERY_LOCATIONS)
    start: UtcTime = Field(description="Earliest hour, inclusive.")
    end: UtcTime = Field(description="Latest hour, exclusive.")
    kind: WeatherKind | None = None
    fields: list[RecordField] | None = Field(
        default=None,
        min_length=1,
        description="Only these fields of each record, written in the usual order (default: "
        "every field). A reader that needs a few fields saves the service and itself the rest.",
        examples=[["hour", "kind", "temperature_c", "precipitation_mm"]],
    )

    @model_validator(mode="after")
    def _check(self) -> WeatherQuery:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).total_seconds() > MAX_QUERY_SPAN_H * 3600:
            raise ValueError(f"start..end may span at most {MAX_QUERY_SPAN_H} hours")
        if len(set(self.location_ids)) != len(self.location_ids):
            raise ValueError("location_ids must not repeat")
        if self.fields is not None and len(set(self.fields)) != len(self.fields):
            raise ValueError("fields must not repeat")
        return self

    def record_fields(self) -> tuple[RecordField, ...]:
        """The fields to write, in the order of ``WeatherRecordOut``."""
        if self.fields is None:
            return RECORD_FIELDS
        asked = set(self.fields)
        return tuple(f for f in RECORD_FIELDS if f in asked)


class LocationWeatherOut(OutputModel):
    location: LocationOut
    records: list[QueriedRecordOut] = Field(description="Oldest first.")


class WeatherQueryOut(OutputModel):
    items: list[LocationWeatherOut] = Field(description="One per known location, in id order.")
    missing: list[str] = Field(description="Requested ids that name no location.")
