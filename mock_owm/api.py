"""The One Call 3.0 endpoints. Parameters are parsed by hand (not by FastAPI) so that every
problem is answered the way OpenWeatherMap answers it: ``{"cod": 400, "message", "parameters"}``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from mock_owm.errors import OwmError
from mock_owm.forecast import local_date_days
from mock_owm.gate import guarded
from mock_owm.i18n import normalise_lang
from mock_owm.openapi import (
    DAY_SUMMARY_ANSWER,
    DAY_SUMMARY_PARAMETERS,
    ONECALL_ANSWER,
    ONECALL_PARAMETERS,
    OVERVIEW_ANSWER,
    OVERVIEW_PARAMETERS,
    TIMEMACHINE_ANSWER,
    TIMEMACHINE_PARAMETERS,
    api_responses,
)
from mock_owm.params import (
    Problems,
    days_to_date,
    exclude,
    parse_date,
    place,
    summary_date,
    timemachine_dt,
    tz_offset_s,
)
from mock_owm.runtime import RuntimeConfig
from mock_owm.service import MockOwm
from mock_owm.units import units_for

PREFIX = "/data/3.0/onecall"


def build_api_router(mock: MockOwm) -> APIRouter:
    router = APIRouter(tags=["One Call 3.0"])
    responder = mock.responder

    def onecall(query: Mapping[str, str], cfg: RuntimeConfig) -> bytes:
        problems = Problems()
        lat, lon = place(query, problems)
        problems.check()
        return responder.onecall(lat, lon, now_s=cfg.now_s(), units=units_for(query.get("units")),
                                 lang=normalise_lang(query.get("lang")), excluded=exclude(query))

    def timemachine(query: Mapping[str, str], cfg: RuntimeConfig) -> bytes:
        problems = Problems()
        lat, lon = place(query, problems)
        dt = timemachine_dt(query, cfg.now_s(), problems)
        problems.check()
        return responder.timemachine(lat, lon, dt=dt, units=units_for(query.get("units")),
                                     lang=normalise_lang(query.get("lang")))

    def day_summary(query: Mapping[str, str], cfg: RuntimeConfig) -> bytes:
        problems = Problems()
        lat, lon = place(query, problems)
        today_utc = days_to_date(local_date_days(cfg.now_s(), 0))
        day = summary_date(query, today_utc, problems)
        offset = tz_offset_s(query, problems)
        problems.check()
        assert day is not None  # problems.check() raised otherwise
        return responder.day_summary(lat, lon, day=day, tz_offset_s=offset,
                                     units=units_for(query.get("units")))

    def overview(query: Mapping[str, str], cfg: RuntimeConfig) -> bytes:
        problems = Problems()
        lat, lon = place(query, problems)
        problems.check()
        now_s = cfg.now_s()
        today = days_to_date(responder.today(lat, lon, now_s))
        day: date | None = today
        if "date" in query:
            day = parse_date(query.get("date"), problems)
            problems.check()
            if day not in (today, today + timedelta(days=1)):
                raise OwmError(400, "date must be today or tomorrow at the location", ["date"])
        assert day is not None
        return responder.overview(lat, lon, day=day, now_s=now_s,
                                  units=units_for(query.get("units")))

    @router.get(PREFIX, responses=api_responses(ONECALL_ANSWER),
                openapi_extra={"parameters": ONECALL_PARAMETERS})
    async def onecall_endpoint(request: Request) -> Response:
        """Current weather, 61 minutes, 48 hours, 8 days and alerts: ``lat``, ``lon``, ``appid``;
        optional ``exclude``, ``units``, ``lang``."""
        return await guarded(mock, "onecall", request.query_params, onecall,
                             request.receive)

    @router.get(PREFIX + "/timemachine", responses=api_responses(TIMEMACHINE_ANSWER),
                openapi_extra={"parameters": TIMEMACHINE_PARAMETERS})
    async def timemachine_endpoint(request: Request) -> Response:
        """Weather at one moment: ``lat``, ``lon``, ``dt`` (unix seconds, 1979-01-01 to now + 4
        days), ``appid``; optional ``units``, ``lang``."""
        return await guarded(mock, "timemachine", request.query_params, timemachine,
                             request.receive)

    @router.get(PREFIX + "/day_summary", responses=api_responses(DAY_SUMMARY_ANSWER),
                openapi_extra={"parameters": DAY_SUMMARY_PARAMETERS})
    async def day_summary_endpoint(request: Request) -> Response:
        """Aggregates of one date: ``lat``, ``lon``, ``date`` (YYYY-MM-DD), ``appid``; optional
        ``tz`` (+HH:MM) and ``units``."""
        return await guarded(mock, "day_summary", request.query_params, day_summary,
                             request.receive)

    @router.get(PREFIX + "/overview", responses=api_responses(OVERVIEW_ANSWER),
                openapi_extra={"parameters": OVERVIEW_PARAMETERS})
    async def overview_endpoint(request: Request) -> Response:
        """A text overview of today or tomorrow: ``lat``, ``lon``, ``appid``; optional ``date``."""
        return await guarded(mock, "overview", request.query_params, overview,
                             request.receive)

    return router
