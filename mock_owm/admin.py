"""Control endpoints for tests and operators: faults and statistics (not part of OpenWeatherMap).

All but ``/__health`` need the admin token (``mock_owm/auth.py``); every error is OpenWeatherMap's
body, ``{"cod", "message", "parameters"}``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from mock_owm.auth import admin_guard
from mock_owm.errors import BAD_BODY_MESSAGE, OwmError, error_body, invalid_fields
from mock_owm.i18n import normalise_lang
from mock_owm.openapi import admin_refused, error_responses, faults_body_schema
from mock_owm.service import MockOwm
from mock_owm.units import units_for

MAX_WARM_LOCATIONS = 20_000
MAX_NAME_CHARS = 32  # a units or lang name
# Strict: a JSON string is not a coordinate (a JSON array is still a pair).
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False, strict=True)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False, strict=True)]
JSON = "application/json"


class WarmRequest(BaseModel):
    """Places to generate ahead of time, as ``[lat, lon]`` pairs; with ``units`` (and ``lang``)
    their onecall answers for the current hour are encoded too."""

    model_config = ConfigDict(extra="forbid")

    locations: list[tuple[Latitude, Longitude]] = Field(max_length=MAX_WARM_LOCATIONS)
    units: str | None = Field(None, max_length=MAX_NAME_CHARS)
    lang: str = Field("en", max_length=MAX_NAME_CHARS)


def _refused(exc: OwmError) -> Response:
    return Response(exc.body, status_code=exc.status, media_type=JSON)


def build_admin_router(mock: MockOwm) -> APIRouter:
    router = APIRouter(tags=["mock control"])
    guarded = APIRouter(
        dependencies=[Depends(admin_guard(mock.admin_token))], responses=admin_refused()
    )

    @router.get("/__health")
    async def health() -> dict[str, str]:
        """Open to probes: no token needed."""
        return {"status": "ok"}

    @guarded.get("/__faults")
    async def get_faults() -> dict[str, Any]:
        """Current faults, limits, keys and clock."""
        return mock.config.public()

    @guarded.post(
        "/__faults",
        response_model=None,
        responses=error_responses(400, 422),
        openapi_extra={
            "requestBody": {
                "required": False,
                "content": {JSON: {"schema": faults_body_schema()}},
            }
        },
    )
    async def set_faults(request: Request) -> Response | dict[str, Any]:
        """Change any subset, e.g. ``{"error_rate": 1.0}``; names as in GET. 400 for a body that
        is not a JSON object, 422 for a bad name or value (nothing is changed then)."""
        try:
            changes = json.loads(await request.body() or b"{}")
        except ValueError:
            changes = None
        if not isinstance(changes, dict):
            return Response(error_body(400, BAD_BODY_MESSAGE), status_code=400, media_type=JSON)
        try:
            return mock.update_config(changes).public()
        except ValidationError as exc:
            return _refused(invalid_fields(exc.errors(include_input=False)))

    @guarded.post("/__faults/reset")
    async def reset_faults() -> dict[str, Any]:
        """Back to the configuration the mock started with."""
        return mock.reset_config().public()

    @guarded.post(
        "/__warm",
        response_model=None,
        responses=error_responses(422),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": WarmRequest.model_json_schema()}},
            }
        },
    )
    async def warm(request: Request) -> Response | dict[str, Any]:
        """Generate the next 8 local days of each place now, so that the first onecall for it is
        cheap (a benchmark warms the mock with its trail list first). Blocks other requests
        while it runs: about 1 ms per place."""
        # Parsed here, not by FastAPI, which would read the body before checking the token.
        try:
            body = WarmRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return _refused(invalid_fields(exc.errors(include_input=False)))
        units = units_for(body.units) if body.units is not None else None
        lang = normalise_lang(body.lang)
        now_s = mock.config.now_s()
        for lat, lon in body.locations:
            mock.responder.warm(lat, lon, now_s=now_s, units=units, lang=lang)
        days = len(body.locations) * mock.responder.days_per_onecall
        return {
            "locations": len(body.locations),
            "days": days,
            "fits_in_cache": days <= mock.settings.day_cache,
        }

    @guarded.get("/__stats")
    async def get_stats() -> dict[str, Any]:
        return mock.stats.snapshot(mock.monotonic())

    @guarded.post("/__stats/reset")
    async def reset_stats() -> dict[str, Any]:
        mock.stats.reset()
        return mock.stats.snapshot(mock.monotonic())

    router.include_router(guarded)
    return router
