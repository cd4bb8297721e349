"""Trail locations: where the pipeline fetches weather, with what the classifier needs to know
about drying (soil drainage class, aspect, canopy, elevation)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, Strict

from weather_service.models.common import InputModel, Name, OutputModel, ResourceId

SoilDrainage = Literal[
    "excessively", "well", "moderately_well", "somewhat_poorly", "poorly", "very_poorly"
]
Aspect = Literal["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
Canopy = Literal["open", "partial", "forest"]

Latitude = Annotated[float, Strict(), Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Longitude = Annotated[float, Strict(), Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
Elevation = Annotated[float, Strict(), Field(ge=-500.0, le=9000.0, allow_inf_nan=False)]


class LocationIn(InputModel):
    id: ResourceId = Field(examples=["trail-0042"])
    name: Name = Field(examples=["Ridge Loop"])
    lat: Latitude = Field(examples=[39.74])
    lon: Longitude = Field(examples=[-105.2])
    elevation_m: Elevation | None = None
    soil_drainage: SoilDrainage | None = Field(
        default=None, description="USDA soil drainage class; null when unknown."
    )
    aspect: Aspect | None = Field(default=None, description="Direction the slope faces.")
    canopy: Canopy | None = None

    def to_row(self, now: datetime) -> dict[str, Any]:
        row = self.model_dump()
        row["created_at"] = now
        row["updated_at"] = now
        return row


class LocationsUpsert(InputModel):
    locations: list[LocationIn] = Field(min_length=1)


class LocationOut(OutputModel):
    id: str
    name: str
    lat: float
    lon: float
    elevation_m: float | None
    soil_drainage: SoilDrainage | None
    aspect: Aspect | None
    canopy: Canopy | None
    created_at: datetime
    updated_at: datetime
