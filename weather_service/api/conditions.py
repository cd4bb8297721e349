"""Trail conditions: upsert for one location or many, one location's history, and the latest
label of every location. For one (location, hour) the later ``computed_at`` wins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from weather_service.api.batch import require_known_locations, written
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
from weather_service.api.weather import BATCH_WRITE_RESPONSES, WRITE_RESPONSES
from weather_service.db.engine import read_transaction, write_transaction
from weather_service.models.common import ErrorOut, Page, UpsertResult, UtcTime
from weather_service.models.conditions import (
    ConditionLabel,
    ConditionOut,
    ConditionsBatchUpsert,
    ConditionsUpsert,
)
from weather_service.store import conditions as store
from weather_service.store.cursor import (
    CursorError,
    decode_cursor,
    decode_time_cursor,
    encode_cursor,
    encode_time_cursor,
)
from weather_service.store.locations import get_location

HISTORY_LISTING = "conditions"
LATEST_LISTING = "conditions-latest"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

read_router = APIRouter(tags=["conditions"], route_class=OrjsonRoute)
write_router = APIRouter(tags=["conditions"], route_class=OrjsonRoute)


@write_router.put(
    "/v1/locations/{location_id}/conditions",
    response_model=UpsertResult,
    responses=WRITE_RESPONSES,
)
def put_location_conditions(
    location_id: LocationIdPath,
    body: ConditionsUpsert,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
) -> UpsertResult:
    """Upsert labels of one location (404 if the location is unknown)."""
    check_batch_size(len(body.conditions), settings, "conditions")
    rows = [condition.to_row(location_id) for condition in body.conditions]
    with write_transaction(engine) as connection:
        if get_location(connection, location_id) is None:
            not_found("location")
        count = store.upsert_conditions(connection, rows)
    return written(request, "conditions", location_id, len(rows), count)


@write_router.put("/v1/conditions", response_model=UpsertResult, responses=BATCH_WRITE_RESPONSES)
def put_conditions_batch(
    body: ConditionsBatchUpsert, request: Request, engine: EngineDep, settings: SettingsDep
) -> UpsertResult:
    """Upsert labels of many locations; every ``location_id`` must exist (else 422, nothing
    written)."""
    check_batch_size(len(body.conditions), settings, "conditions")
    rows = [condition.to_row(condition.location_id) for condition in body.conditions]
    with write_transaction(engine) as connection:
        require_known_locations(connection, rows, "conditions")
        count = store.upsert_conditions(connection, rows)
    return written(request, "conditions", None, len(rows), count)


@read_router.get(
    "/v1/locations/{location_id}/conditions",
    response_model=Page[ConditionOut],
    responses={404: {"model": ErrorOut}},
)
def list_location_conditions(
    location_id: LocationIdPath,
    engine: EngineDep,
    start: Annotated[UtcTime | None, Query(description="Earliest valid_for, inclusive.")] = None,
    end: Annotated[UtcTime | None, Query(description="Latest valid_for, exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ConditionOut]:
    """One location's labels over time, oldest first."""
    if start is not None and end is not None and end < start:
        field_error(["query", "end"], "must not be before start")
    try:
        after: datetime | None = decode_time_cursor(HISTORY_LISTING, cursor) if cursor else None
    except CursorError as exc:
        cursor_error(exc)
    with read_transaction(engine) as connection:
        if get_location(connection, location_id) is None:
            not_found("location")
        rows = store.list_conditions(
            connection, location_id, limit=limit + 1, start=start, end=end, after_valid_for=after
        )
    items, more = page_of(rows, limit)
    return Page[ConditionOut](
        items=[ConditionOut.model_validate(row._mapping) for row in items],
        next_cursor=encode_time_cursor(HISTORY_LISTING, items[-1].valid_for) if more else None,
    )


@read_router.get("/v1/conditions/latest", response_model=Page[ConditionOut])
def latest_conditions(
    engine: EngineDep,
    label: ConditionLabel | None = Query(default=None, description="Only locations labelled so."),
    at: Annotated[
        UtcTime | None, Query(description="Ignore labels valid after this time (e.g. now).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ConditionOut]:
    """Each location's label with the greatest ``valid_for``, ordered by location id."""
    try:
        after = decode_cursor(LATEST_LISTING, cursor) if cursor else None
    except CursorError as exc:
        cursor_error(exc)
    with read_transaction(engine) as connection:
        rows = store.latest_conditions(
            connection, limit=limit + 1, after_location_id=after, label=label, at=at
        )
    items, more = page_of(rows, limit)
    return Page[ConditionOut](
        items=[ConditionOut.model_validate(row._mapping) for row in items],
        next_cursor=encode_cursor(LATEST_LISTING, items[-1].location_id) if more else None,
    )
