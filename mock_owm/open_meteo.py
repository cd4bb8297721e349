"""Open-Meteo's forecast API, ``GET /v1/forecast``, beside OpenWeatherMap's in the same app and
from the same synthetic hours, so that both answers for one place and hour agree.

Parameters are parsed by hand (``open_meteo_params``), not by FastAPI, so that every problem is
answered the way Open-Meteo answers it: ``{"error": true, "reason": "..."}``; every error of a
path under ``OPEN_METEO_PREFIX`` has that shape (``app.py``), the framework's own included.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from mock_owm.open_meteo_errors import TOO_MUCH_DATA_REASON, OpenMeteoError
from mock_owm.open_meteo_gate import guarded_forecast
from mock_owm.open_meteo_openapi import FORECAST_PARAMETERS, forecast_responses
from mock_owm.open_meteo_params import parse_forecast_query
from mock_owm.open_meteo_quota import UNITS_PER_CALL, call_units
from mock_owm.runtime import RuntimeConfig
from mock_owm.service import MockOwm

OPEN_METEO_PREFIX = "/v1/"
FORECAST_PATH = "/v1/forecast"


def is_open_meteo_path(path: str) -> bool:
    return path.startswith(OPEN_METEO_PREFIX)


def build_open_meteo_router(mock: MockOwm) -> APIRouter:
    router = APIRouter(tags=["Open-Meteo forecast"])

    def forecast(query: QueryParams, cfg: RuntimeConfig) -> tuple[bytes, int]:
        now_s = cfg.now_s()
        parsed = parse_forecast_query(query, now_s)
        units = call_units(variables=len(parsed.variables), days=parsed.days,
                           locations=len(parsed.places))
        per_hour = cfg.open_meteo_rate_limit_per_hour
        # The real server refuses a call heavier than the hourly limit outright: no client
        # could ever be admitted with it.
        if per_hour is not None and units > per_hour * UNITS_PER_CALL:
            raise OpenMeteoError(400, TOO_MUCH_DATA_REASON)
        return mock.open_meteo.forecast(parsed, now_s), units

    @router.get(FORECAST_PATH, responses=forecast_responses(),
                openapi_extra={"parameters": FORECAST_PARAMETERS})
    async def forecast_endpoint(request: Request) -> Response:
        """Hourly weather for one or more places, past and forecast days in one series:
        ``latitude``, ``longitude``; optional ``hourly``, ``past_days``, ``forecast_days``,
        ``timezone``, ``timeformat``, ``temperature_unit``, ``wind_speed_unit``,
        ``precipitation_unit``, ``apikey``."""
        return await guarded_forecast(mock, "forecast", request, forecast)

    return router
