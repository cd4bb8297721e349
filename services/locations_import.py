"""``trail-etl locations import FILE``: register locations and their traits in the weather service.

The file formats are those of schedule-jobs' LOCATIONS_FILE (CSV with a header, JSON array, JSON
lines). The whole file is validated first, so an error names the file line and the field before
anything is sent; rows then go to ``POST /v1/locations`` (an idempotent upsert) in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.schedule_jobs.locations import LocationsFileError, location_rows
from services.weather_client import WeatherServiceClient
from weather_service.models.common import ResourceId

DEFAULT_IMPORT_CHUNK = 1000


class LocationRecord(BaseModel):
    """A location as the weather service stores it; empty CSV cells mean "unknown"."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: ResourceId
    name: str = Field(default="", max_length=200)
    lat: float = Field(ge=-90.0, le=90.0, allow_inf_nan=False)
    lon: float = Field(ge=-180.0, le=180.0, allow_inf_nan=False)
    elevation_m: float | None = Field(default=None, ge=-500.0, le=9000.0, allow_inf_nan=False)
    soil_drainage: (
        Literal[
            "excessively", "well", "moderately_well", "somewhat_poorly", "poorly", "very_poorly"
        ]
        | None
    ) = None
    aspect: Literal["N", "NE", "E", "SE", "S", "SW", "W", "NW"] | None = None
    canopy: Literal["open", "partial", "forest"] | None = None

    @field_validator("elevation_m", "soil_drainage", "aspect", "canopy", mode="before")
    @classmethod
    def _blank_is_unknown(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def as_body(self) -> dict[str, Any]:
        body = self.model_dump(exclude_none=True)
        body["name"] = self.name or self.id
        return body


def _record(label: str, where: str, fields: Any) -> LocationRecord:
    try:
        return LocationRecord.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "entry"
        raise LocationsFileError(f"{label}: {where}: field {field!r}: {err['msg']}") from None


@dataclass(frozen=True)
class ImportReport:
    sent: int
    unknown_columns: tuple[str, ...]  # ignored, and named so a misspelt trait is not lost silently


async def import_locations(
    path: Path, client: WeatherServiceClient, *, chunk: int = DEFAULT_IMPORT_CHUNK
) -> ImportReport:
    """Upsert every location of ``path``, once the whole file has parsed: a bad row or an id given
    twice anywhere stops the import before anything is sent (two streaming passes)."""
    label = str(path)
    for raw in location_rows(path, label=label):
        _record(label, raw.where, raw.fields)
    unknown: set[str] = set()
    batch: list[dict[str, Any]] = []
    sent = 0
    for raw in location_rows(path, label=label, unknown_columns=unknown):
        batch.append(_record(label, raw.where, raw.fields).as_body())
        if len(batch) >= chunk:
            await client.upsert_locations(batch)
            sent += len(batch)
            batch = []
    if batch:
        await client.upsert_locations(batch)
        sent += len(batch)
    return ImportReport(sent, tuple(sorted(unknown)))
