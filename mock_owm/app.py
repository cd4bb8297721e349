"""The app factory: ``create_app(settings)`` for tests, ``serve`` (server.py) for a process."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from etl_core.logging import get_logger
from mock_owm.admin import build_admin_router
from mock_owm.api import build_api_router
from mock_owm.errors import NOT_FOUND_BODY, SERVER_ERROR_MESSAGES, error_body, invalid_fields
from mock_owm.open_meteo import build_open_meteo_router, is_open_meteo_path
from mock_owm.open_meteo_errors import error_body as open_meteo_error_body
from mock_owm.open_meteo_errors import status_reason
from mock_owm.service import MockOwm
from mock_owm.settings import MockOwmSettings

JSON = "application/json"
CONTROL_PREFIX = "/__"
log = get_logger(__name__, component="mock_owm")


def create_app(settings: MockOwmSettings | None = None) -> FastAPI:
    """A mock OpenWeatherMap; ``settings`` default to the ``MOCK_OWM_*`` environment."""
    settings = settings if settings is not None else MockOwmSettings.load()
    mock = MockOwm(settings)
    app = FastAPI(
        title="mock_owm",
        description="A faithful OpenWeatherMap One Call 3.0 mock, and beside it Open-Meteo's "
        "forecast API from the same synthetic, deterministic weather, with quotas and fault "
        "injection.",
        version="1.0",
    )
    app.state.mock = mock
    app.include_router(build_api_router(mock))
    app.include_router(build_open_meteo_router(mock))
    app.include_router(build_admin_router(mock))

    # Every error, the framework's own included, is OpenWeatherMap's {"cod", "message"} body,
    # or under /v1/ Open-Meteo's {"error": true, "reason"}.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith(CONTROL_PREFIX):
            mock.stats.status(exc.status_code)  # an unknown path or a wrong method
        if is_open_meteo_path(request.url.path):
            return Response(
                open_meteo_error_body(status_reason(exc.status_code)),
                status_code=exc.status_code,
                media_type=JSON,
                headers=getattr(exc, "headers", None),
            )
        if exc.status_code == 404:
            return Response(NOT_FOUND_BODY, status_code=404, media_type=JSON)
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return Response(
            error_body(exc.status_code, message),
            status_code=exc.status_code,
            media_type=JSON,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> Response:
        refused = invalid_fields(exc.errors(), skip=1)  # loc starts with "body"
        if is_open_meteo_path(request.url.path):
            return Response(open_meteo_error_body(refused.message), status_code=refused.status,
                            media_type=JSON)
        return Response(refused.body, status_code=refused.status, media_type=JSON)

    @app.exception_handler(Exception)
    async def failure(request: Request, exc: Exception) -> Response:
        log.error("mock_owm.request_failed", path=request.url.path, exc_info=exc)
        if is_open_meteo_path(request.url.path):
            return Response(open_meteo_error_body(status_reason(500)), status_code=500,
                            media_type=JSON)
        return Response(
            error_body(500, SERVER_ERROR_MESSAGES[500]), status_code=500, media_type=JSON
        )

    return app
