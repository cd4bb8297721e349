"""Probes and metrics: ``/health`` (the process answers), ``/ready`` (the database answers and its
schema is the one this code needs) and ``/metrics`` (Prometheus). Never behind an API key."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from etl_core.logging import get_logger
from weather_service.api.deps import EngineDep
from weather_service.api.json_route import OrjsonRoute
from weather_service.db.engine import read_transaction
from weather_service.metrics import ServiceMetrics
from weather_service.migrate import current_revision, head_revision

router = APIRouter(tags=["probes"], route_class=OrjsonRoute)
log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready", "unavailable"]
    database: str
    schema_revision: str | None
    detail: str | None = None


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    """The process is up and serving requests."""
    return HealthOut(status="ok")


@router.get(
    "/ready",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "The database is not usable."}},
)
def ready(engine: EngineDep) -> ReadyOut | JSONResponse:
    """The database answers and is at the schema revision this code needs; 503 otherwise."""
    dialect = engine.dialect.name
    try:
        with read_transaction(engine) as connection:
            connection.execute(text("SELECT 1"))
            revision = current_revision(connection)
    except (sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
        log.warning("not_ready", database=dialect, error=type(exc).__name__)
        return _unavailable(dialect, None, "database unreachable")
    needed = head_revision()
    if revision != needed:
        return _unavailable(dialect, revision, f"schema at revision {revision}; needs {needed}")
    return ReadyOut(status="ready", database=dialect, schema_revision=revision)


def _unavailable(database: str, revision: str | None, detail: str) -> JSONResponse:
    body = ReadyOut(
        status="unavailable", database=database, schema_revision=revision, detail=detail
    )
    return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content=body.model_dump())


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    """Prometheus text exposition of this instance's metrics."""
    registry: ServiceMetrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
