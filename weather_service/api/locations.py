"""``/v1/locations``: bulk upsert, a keyset-paginated listing (filter by ids or a bounding box),
and lookup by id."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from etl_core.logging import get_logger
from weather_service.api.deps import (
    CursorQuery,
    EngineDep,
    LocationIdPath,
    SettingsDep,
    check_batch_size,
    cursor_error,
    field_error,
    not_found,
    page_of,
)
from weather_service.api.json_route import OrjsonRoute
from weather_service.db.engine import read_transaction, write_transaction
from weather_service.db.tables import ID_LENGTH
from weather_service.models.common import ID_PATTERN, ErrorOut, Page, UpsertResult
from weather_service.models.locations import LocationOut, LocationsUpsert
from weather_service.store import locations as store
from weather_service.store.cursor import CursorError, decode_cursor, encode_cursor

LISTING = "locations"
MAX_IDS = 500
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

read_router = APIRouter(tags=["locations"], route_class=OrjsonRoute)
write_router = APIRouter(tags=["locations"], route_class=OrjsonRoute)
log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run

_ID_RE = re.compile(ID_PATTERN)
ID_RULE = (
    "each id: letters, digits and . _ : - ; starting with a letter or digit; "
    f"at most {ID_LENGTH} characters"
)


def _parse_ids(raw: str) -> list[str]:
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(ids) > MAX_IDS:
        field_error(["query", "ids"], f"at most {MAX_IDS} ids", "too_long")
    if any(len(i) > ID_LENGTH or not _ID_RE.fullmatch(i) for i in ids):
        field_error(["query", "ids"], ID_RULE, "string_pattern_mismatch")
    return ids


def _parse_bbox(raw: str) -> store.BoundingBox:
    parts = raw.split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        field_error(["query", "bbox"], "must be four numbers: west,south,east,north")
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        field_error(["query", "bbox"], "numbers must be finite")
    if not (-180 <= west <= east <= 180):
        field_error(["query", "bbox"], "need -180 <= west <= east <= 180")
    if not (-90 <= south <= north <= 90):
        field_error(["query", "bbox"], "need -90 <= south <= north <= 90")
    return store.BoundingBox(west=west, south=south, east=east, north=north)


@write_router.post(
    "/v1/locations",
    response_model=UpsertResult,
    responses={401: {"model": ErrorOut}, 413: {"model": ErrorOut}},
)
def upsert_locations(
    body: LocationsUpsert, request: Request, engine: EngineDep, settings: SettingsDep
) -> UpsertResult:
    """Create or update locations by id. Re-posting identical data changes nothing."""
    check_batch_size(len(body.locations), settings, "locations")
    now = datetime.now(UTC)
    rows = [location.to_row(now) for location in body.locations]
    with write_transaction(engine) as connection:
        written = store.upsert_locations(connection, rows)
    request.app.state.metrics.observe_write("locations", received=len(rows), written=written)
    log.info("locations_upserted", received=len(rows), written=written)
    return UpsertResult(received=len(rows), written=written)


@read_router.get("/v1/locations", response_model=Page[LocationOut])
def list_locations(
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    ids: Annotated[
        str | None,
        Query(max_length=51_000, description="Comma-separated location ids (at most 500)."),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="west,south,east,north in degrees (GeoJSON order), e.g. -106,39,-105,40.",
        ),
    ] = None,
) -> Page[LocationOut]:
    """Locations ordered by id, a page at a time."""
    try:
        after = decode_cursor(LISTING, cursor) if cursor else None
    except CursorError as exc:
        cursor_error(exc)
    id_filter = _parse_ids(ids) if ids is not None else None
    box = _parse_bbox(bbox) if bbox is not None else None
    with read_transaction(engine) as connection:
        rows = store.list_locations(
            connection, limit=limit + 1, after_id=after, ids=id_filter, bbox=box
        )
    items, more = page_of(rows, limit)
    return Page[LocationOut](
        items=[LocationOut.model_validate(row._mapping) for row in items],
        next_cursor=encode_cursor(LISTING, items[-1].id) if more else None,
    )


@read_router.get(
    "/v1/locations/{location_id}",
    response_model=LocationOut,
    responses={404: {"model": ErrorOut}},
)
def get_location(location_id: LocationIdPath, engine: EngineDep) -> LocationOut:
    with read_transaction(engine) as connection:
        row = store.get_location(connection, location_id)
    if row is None:
        not_found("location")
    return LocationOut.model_validate(row._mapping)
