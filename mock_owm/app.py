"""The app factory: ``create_app(settings)`` for tests, ``serve`` (server.py) for a process."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from mock_owm.admin import build_admin_router
from mock_owm.api import build_api_router
from mock_owm.errors import NOT_FOUND_BODY
from mock_owm.service import MockOwm
from mock_owm.settings import MockOwmSettings


def create_app(settings: MockOwmSettings | None = None) -> FastAPI:
    """A mock OpenWeatherMap; ``settings`` default to the ``MOCK_OWM_*`` environment."""
    settings = settings if settings is not None else MockOwmSettings.load()
    mock = MockOwm(settings)
    app = FastAPI(
        title="mock_owm",
        description="A faithful OpenWeatherMap One Call 3.0 mock with synthetic, deterministic "
                    "weather, quotas and fault injection.",
        version="1.0",
    )
    app.state.mock = mock
    app.include_router(build_api_router(mock))
    app.include_router(build_admin_router(mock))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            mock.stats.status(404)
            return Response(NOT_FOUND_BODY, status_code=404, media_type="application/json")
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    return app
