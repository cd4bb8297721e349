"""Dependencies every route shares: the engine, the settings, and request-shaped helpers."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, Path, Query, Request, status
from sqlalchemy import Engine

from weather_service.models.common import ID_PATTERN
from weather_service.settings import WeatherServiceSettings
from weather_service.store.cursor import CursorError

CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> WeatherServiceSettings:
    settings: WeatherServiceSettings = request.app.state.settings
    return settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[WeatherServiceSettings, Depends(get_settings)]

CursorQuery = Annotated[
    str | None,
    Query(
        max_length=400,
        pattern=CURSOR_PATTERN,
        description="next_cursor from the previous page; omit for the first page.",
    ),
]
LocationIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=ID_PATTERN,
        description="Location id, e.g. trail-0042.",
        examples=["trail-0042"],
    ),
]

RunIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=ID_PATTERN,
        description="Run id, e.g. fetch-weather-2026-11-22T10.",
        examples=["fetch-weather-2026-11-22T10"],
    ),
]


def field_error(loc: list[str | int], message: str, error_type: str = "value_error") -> NoReturn:
    """Fail with a 422 shaped like FastAPI's own validation errors, naming the field."""
    raise HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": loc, "msg": message, "type": error_type}],
    )


def cursor_error(exc: CursorError) -> NoReturn:
    field_error(["query", "cursor"], str(exc), "cursor_invalid")


def check_batch_size(count: int, settings: WeatherServiceSettings, field: str) -> None:
    limit = settings.weather_service_max_batch
    if count > limit:
        field_error(["body", field], f"at most {limit} items per request (got {count})", "too_long")


def not_found(what: str) -> NoReturn:
    """404 naming the kind of thing, not the id asked for (answers never echo input)."""
    raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"{what} not found")


def page_of(rows: list[Any], limit: int) -> tuple[list[Any], bool]:
    """Split the ``limit + 1`` rows a listing fetched into this page and whether more follow."""
    return rows[:limit], len(rows) > limit
