"""Locations: bulk upsert, lookup, and a keyset-paginated listing filtered by ids or a box."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, or_, select

from weather_service.db.tables import locations
from weather_service.store.upsert import BulkUpsert, Excluded, keep_winners

DESCRIPTIVE_COLUMNS = ("name", "lat", "lon", "elevation_m", "soil_drainage", "aspect", "canopy")
ID_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """West, south, east, north in degrees (GeoJSON order); west <= east."""

    west: float
    south: float
    east: float
    north: float


def _changed(table: Table, incoming: Excluded) -> ColumnElement[bool]:
    return or_(*(table.c[c].is_distinct_from(incoming[c]) for c in DESCRIPTIVE_COLUMNS))


_upsert = BulkUpsert(
    locations, key=("id",), update=(*DESCRIPTIVE_COLUMNS, "updated_at"), incoming_wins=_changed
)


def upsert_locations(connection: Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Insert new locations; update a stored one only if a descriptive field changed, so an
    identical re-post leaves ``updated_at`` alone."""
    return _upsert(connection, keep_winners(rows, key=lambda r: (r["id"],)))


def get_location(connection: Connection, location_id: str) -> Row[Any] | None:
    return connection.execute(select(locations).where(locations.c.id == location_id)).first()


def existing_ids(connection: Connection, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), ID_LOOKUP_CHUNK):
        chunk = wanted[start : start + ID_LOOKUP_CHUNK]
        found.update(connection.scalars(select(locations.c.id).where(locations.c.id.in_(chunk))))
    return found


def list_locations(
    connection: Connection,
    *,
    limit: int,
    after_id: str | None = None,
    ids: Sequence[str] | None = None,
    bbox: BoundingBox | None = None,
) -> list[Row[Any]]:
    """Up to ``limit`` locations ordered by id, starting after ``after_id``."""
    query = select(locations).order_by(locations.c.id).limit(limit)
    if after_id is not None:
        query = query.where(locations.c.id > after_id)
    if ids is not None:
        query = query.where(locations.c.id.in_(list(ids)))
    if bbox is not None:
        query = query.where(
            locations.c.lat.between(bbox.south, bbox.north),
            locations.c.lon.between(bbox.west, bbox.east),
        )
    return list(connection.execute(query))
