"""Control endpoints for tests and operators: faults and statistics (not part of OpenWeatherMap)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import JSONResponse

from mock_owm.i18n import normalise_lang
from mock_owm.service import MockOwm
from mock_owm.units import units_for

MAX_WARM_LOCATIONS = 20_000
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]


class WarmRequest(BaseModel):
    """Places to generate ahead of time, as ``[lat, lon]`` pairs; with ``units`` (and ``lang``)
    their onecall answers for the current hour are encoded too."""

    model_config = ConfigDict(extra="forbid")

    locations: list[tuple[Latitude, Longitude]] = Field(max_length=MAX_WARM_LOCATIONS)
    units: str | None = None
    lang: str = "en"


def build_admin_router(mock: MockOwm) -> APIRouter:
    router = APIRouter(tags=["mock control"])

    @router.get("/__health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/__faults")
    async def get_faults() -> dict[str, Any]:
        """Current faults, limits, keys and clock."""
        return mock.config.public()

    @router.post("/__faults", response_model=None)
    async def set_faults(request: Request) -> JSONResponse | dict[str, Any]:
        """Change any subset, e.g. ``{"error_rate": 1.0}``; names as in GET. 400 for a body that
        is not a JSON object, 422 for a bad name or value (nothing is changed then)."""
        try:
            changes = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"detail": "the body must be a JSON object"}, status_code=400)
        if not isinstance(changes, dict):
            return JSONResponse({"detail": "the body must be a JSON object"}, status_code=400)
        try:
            return mock.update_config(changes).public()
        except ValidationError as exc:
            detail = exc.errors(include_url=False, include_context=False, include_input=False)
            return JSONResponse({"detail": detail}, status_code=422)

    @router.post("/__faults/reset")
    async def reset_faults() -> dict[str, Any]:
        """Back to the configuration the mock started with."""
        return mock.reset_config().public()

    @router.post("/__warm")
    async def warm(body: WarmRequest) -> dict[str, Any]:
        """Generate the next 8 local days of each place now, so that the first onecall for it is
        cheap (a benchmark warms the mock with its trail list first). Blocks other requests
        while it runs: about 1 ms per place."""
        units = units_for(body.units) if body.units is not None else None
        lang = normalise_lang(body.lang)
        now_s = mock.config.now_s()
        for lat, lon in body.locations:
            mock.responder.warm(lat, lon, now_s=now_s, units=units, lang=lang)
        days = len(body.locations) * mock.responder.days_per_onecall
        return {"locations": len(body.locations), "days": days,
                "fits_in_cache": days <= mock.settings.day_cache}

    @router.get("/__stats")
    async def get_stats() -> dict[str, Any]:
        return mock.stats.snapshot(mock.monotonic())

    @router.post("/__stats/reset")
    async def reset_stats() -> dict[str, Any]:
        mock.stats.reset()
        return mock.stats.snapshot(mock.monotonic())

    return router
