"""Hourly weather: bulk upsert for one location or many, and the listing of one location's hours.

Precedence (see ``store.weather``): observed beats forecast, never the reverse; among records of
one kind the later ``fetched_at`` wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response

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
from weather_service.db.engine import read_transaction, write_transaction
from weather_service.models.common import ErrorOut, Page, UpsertResult, UtcTime
from weather_service.models.locations import LocationOut
from weather_service.models.weather import (
    WeatherBatchUpsert,
    WeatherQuery,
    WeatherQueryOut,
    WeatherRecordOut,
    WeatherUpsert,
)
from weather_service.store import weather as store
from weather_service.store.cursor import CursorError, decode_time_cursor, encode_time_cursor
from weather_service.store.locations import get_location, list_locations

LISTING = "weather"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000

read_router = APIRouter(tags=["weather"], route_class=OrjsonRoute)
write_router = APIRouter(tags=["weather"], route_class=OrjsonRoute)

BATCH_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    413: {"model": ErrorOut},
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **BATCH_WRITE_RESPONSES,
    404: {"model": ErrorOut, "description": "Unknown location."},
}


@write_router.put(
    "/v1/locations/{location_id}/weather", response_model=UpsertResult, responses=WRITE_RESPONSES
)
def put_location_weather(
    location_id: LocationIdPath,
    body: WeatherUpsert,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
) -> UpsertResult:
    """Upsert hourly records of one location (404 if the location is unknown)."""
    check_batch_size(len(body.records), settings, "records")
    rows = body.rows(location_id)
    with write_transaction(engine) as connection:
        if get_location(connection, location_id) is None:
            not_found("location")
        count = store.upsert_weather(connection, rows)
    return written(request, "weather", location_id, len(rows), count)


@write_router.put("/v1/weather", response_model=UpsertResult, responses=BATCH_WRITE_RESPONSES)
def put_weather_batch(
    body: WeatherBatchUpsert, request: Request, engine: EngineDep, settings: SettingsDep
) -> UpsertResult:
    """Upsert hourly records of many locations; every ``location_id`` must exist (else 422
    naming the first unknown one, and nothing is written)."""
    check_batch_size(len(body.records), settings, "records")
    rows = body.rows()
    with write_transaction(engine) as connection:
        require_known_locations(connection, rows, "records")
        count = store.upsert_weather(connection, rows)
    return written(request, "weather", None, len(rows), count)


@read_router.get(
    "/v1/locations/{location_id}/weather",
    response_model=Page[WeatherRecordOut],
    responses={404: {"model": ErrorOut}},
)
def list_location_weather(
    location_id: LocationIdPath,
    engine: EngineDep,
    start: Annotated[UtcTime | None, Query(description="Earliest hour, inclusive.")] = None,
    end: Annotated[UtcTime | None, Query(description="Latest hour, exclusive.")] = None,
    kind: Literal["observed", "forecast"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[WeatherRecordOut]:
    """One location's hourly records, oldest first."""
    if start is not None and end is not None and end < start:
        field_error(["query", "end"], "must not be before start")
    try:
        after: datetime | None = decode_time_cursor(LISTING, cursor) if cursor else None
    except CursorError as exc:
        cursor_error(exc)
    with read_transaction(engine) as connection:
        if get_location(connection, location_id) is None:
            not_found("location")
        rows = store.list_weather(
            connection,
            location_id,
            limit=limit + 1,
            start=start,
            end=end,
            kind=kind,
            after_hour=after,
        )
    items, more = page_of(rows, limit)
    return Page[WeatherRecordOut](
        items=[WeatherRecordOut.model_validate(row._mapping) for row in items],
        next_cursor=encode_time_cursor(LISTING, items[-1].hour) if more else None,
    )


LOCATION_FIELDS = tuple(LocationOut.model_fields)


@read_router.post(
    "/v1/weather/query",
    response_model=WeatherQueryOut,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
)
def query_weather(body: WeatherQuery, engine: EngineDep) -> Response:
    """Several locations with their records in ``start <= hour < end`` (a read: nothing is
    written; POST only because the list of ids can be long)."""
    ids = sorted(body.location_ids)
    fields = body.record_fields()
    with read_transaction(engine) as connection:
        known = list_locations(connection, limit=len(ids), ids=ids)
        records = store.weather_of_locations(
            connection, ids, columns=fields, start=body.start, end=body.end, kind=body.kind
        )
    found = {row.id for row in known}
    # Serialized straight from the rows (the shape of WeatherQueryOut, which tests check against
    # the schema): validating thousands of records into models again was most of the cost.
    answer = {
        "items": [
            {
                "location": {f: getattr(row, f) for f in LOCATION_FIELDS},
                "records": [dict(zip(fields, r, strict=True)) for r in records.get(row.id, [])],
            }
            for row in known
        ],
        "missing": [i for i in ids if i not in found],
    }
    # orjson writes what pydantic's to_json does for these values (UTC times end in "Z") at about
    # half its cost per record.
    content = orjson.dumps(answer, option=orjson.OPT_UTC_Z)
    return Response(content=content, media_type="application/json")
