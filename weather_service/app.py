"""The app factory: one settings object in, one FastAPI app out, with its own engine and metrics.

No answer is built from the request's ``Host`` header: FastAPI's redirect of ``/path/`` to
``/path`` (an absolute URL on the Host the client named, so an open redirect) is off, and a path
with a trailing slash is 404 like any other unknown path. The API docs are routes of
``weather_service.api.docs``, behind the read key when reads need one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Security
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from etl_core.logging import get_logger
from weather_service.api import conditions, docs, health, locations, runs, stats, weather
from weather_service.api.auth import ApiKeys, require_read_key, require_write_key
from weather_service.api.errors import RouteMethods, install_error_handlers
from weather_service.db.engine import make_engine
from weather_service.metrics import ServiceMetrics
from weather_service.middleware import (
    BodySizeLimitMiddleware,
    HeadAsGetMiddleware,
    ObservabilityMiddleware,
)
from weather_service.migrate import migrate
from weather_service.models.common import ErrorOut
from weather_service.security_headers import SecurityHeadersMiddleware
from weather_service.settings import WeatherServiceSettings

API_VERSION = "1.0.0"
READ_ROUTERS: tuple[APIRouter, ...] = (
    locations.read_router,
    weather.read_router,
    conditions.read_router,
    runs.read_router,
    stats.read_router,
)
WRITE_ROUTERS: tuple[APIRouter, ...] = (
    locations.write_router,
    weather.write_router,
    conditions.write_router,
    runs.write_router,
)
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "The database is unavailable; retry later."},
}
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The request body is not readable as JSON."},
    415: {"model": ErrorOut, "description": "The request body is not sent as application/json."},
}

log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run


class WeatherServiceApp(FastAPI):
    """FastAPI with ``SecurityHeadersMiddleware`` outside everything else, Starlette's error
    middleware included, so that a 500 carries the headers too (``add_middleware`` places a
    middleware inside that one)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack())


def create_app(settings: WeatherServiceSettings | None = None) -> FastAPI:
    """Build the service. ``settings=None`` reads the environment (``ConfigurationError`` names a
    bad variable). The schema is migrated at start-up unless
    ``WEATHER_SERVICE_MIGRATE_ON_START=false``."""
    settings = settings or WeatherServiceSettings.load()
    engine = make_engine(
        settings.database_url,
        pool_size=settings.weather_service_db_pool_size,
        connect_timeout_s=settings.weather_service_db_connect_timeout_s,
        statement_timeout_s=settings.weather_service_db_statement_timeout_s,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.weather_service_migrate_on_start:
            await run_in_threadpool(migrate, settings.database_url)
        log.info("service_started", database=engine.dialect.name)
        try:
            yield
        finally:
            engine.dispose()

    app = WeatherServiceApp(
        title="trail-etl weather service",
        version=API_VERSION,
        description="Stores trail locations, hourly weather, trail conditions and ETL runs.",
        lifespan=lifespan,
        redirect_slashes=False,
        openapi_url=None,  # served by docs.router instead, behind the read key when it is on
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.metrics = ServiceMetrics()
    app.state.api_keys = ApiKeys.of(
        settings.api_keys,
        anonymous_writes=settings.weather_service_allow_anonymous_writes,
        read_auth=settings.weather_service_read_auth,
    )
    if not settings.api_keys:
        log.warning("anonymous_writes_enabled", setting="WEATHER_SERVICE_ALLOW_ANONYMOUS_WRITES")

    install_error_handlers(app)
    app.include_router(health.router)
    auth_responses: dict[int | str, dict[str, Any]] = {
        401: {"model": ErrorOut, "description": "Missing or wrong X-API-Key."}
    }
    read_dependencies = [Security(require_read_key)] if settings.weather_service_read_auth else []
    app.include_router(docs.router, dependencies=read_dependencies)
    for router in READ_ROUTERS:
        app.include_router(
            router,
            dependencies=read_dependencies,
            responses={**COMMON_RESPONSES, **(auth_responses if read_dependencies else {})},
        )
    for router in WRITE_ROUTERS:
        app.include_router(
            router,
            dependencies=[Security(require_write_key)],
            responses={**COMMON_RESPONSES, **auth_responses, **BODY_RESPONSES},
        )
    app.state.route_methods = RouteMethods.of(
        (health.router, docs.router, *READ_ROUTERS, *WRITE_ROUTERS)
    )
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware, max_body_bytes=settings.weather_service_max_body_bytes
    )
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    return app
