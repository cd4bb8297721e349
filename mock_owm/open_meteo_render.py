"""The answer of ``GET /v1/forecast`` from the mock's hours: one JSON object per place (an array of
them when several places are asked), with Open-Meteo's fields in Open-Meteo's order.

The hourly series starts at local midnight ``past_days`` before the place's local today (in the
requested zone, at the mock's "now") and has ``(past_days + forecast_days) * 24`` entries. Times
are local wall-clock labels without an offset (``2026-12-01T18:00``), or with
``timeformat=unixtime`` the UTC instants in seconds. A zone whose offset is not a whole hour
(``Asia/Kolkata``) has its labels on local whole hours, which fall on UTC half hours: each label
reads the mock's nearest UTC hour (the later one).

``latitude``/``longitude`` are those of the point whose weather is served: the request rounded to
the mock's grid of 4 decimals, the same point the OWM endpoints echo (Open-Meteo answers its grid
cell's, which is likewise a little off the request).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pydantic_core import to_json

from mock_owm.astro import SECONDS_PER_DAY
from mock_owm.climate import Location
from mock_owm.forecast import Forecaster, local_date_days
from mock_owm.ground import Ground, GroundModel
from mock_owm.model import SECONDS_PER_HOUR
from mock_owm.open_meteo_params import ForecastQuery
from mock_owm.open_meteo_variables import VARIABLES, Series
from mock_owm.open_meteo_zones import own_zone

_HALF_HOUR_S = SECONDS_PER_HOUR // 2


@lru_cache(maxsize=256)
def iso_labels(first_local_s: int, count: int) -> tuple[str, ...]:
    """``count`` hourly local labels from ``first_local_s`` (local wall-clock seconds)."""
    return tuple(
        datetime.fromtimestamp(first_local_s + k * SECONDS_PER_HOUR, tz=UTC).strftime(
            "%Y-%m-%dT%H:%M")
        for k in range(count)
    )


class OpenMeteoResponder:
    def __init__(self, forecaster: Forecaster, ground: GroundModel | None = None) -> None:
        self.forecaster = forecaster
        self.ground = ground if ground is not None else GroundModel(forecaster)

    def forecast(self, query: ForecastQuery, now_s: float) -> bytes:
        answers = [self.place_answer(lat, lon, query, now_s) for lat, lon in query.places]
        return to_json(answers[0] if len(answers) == 1 else answers)

    def place_answer(self, lat: float, lon: float, query: ForecastQuery,
                     now_s: float) -> dict[str, Any]:
        started = time.perf_counter()
        loc = self.forecaster.location(lat, lon)
        zone = query.zone if query.zone is not None else own_zone(loc)
        first_day = local_date_days(now_s, zone.offset_s) - query.past_days
        count = query.days * 24
        first_local_s = first_day * SECONDS_PER_DAY
        first_utc_s = first_local_s - zone.offset_s
        series = self._series(loc, query, first_utc_s, count)
        hourly_units: dict[str, str] = {"time": "unixtime" if query.unixtime else "iso8601"}
        hourly: dict[str, Any] = {
            "time": (list(range(first_utc_s, first_utc_s + count * SECONDS_PER_HOUR,
                                SECONDS_PER_HOUR))
                     if query.unixtime else list(iso_labels(first_local_s, count)))
        }
        for name in query.variables:
            variable = VARIABLES[name]
            hourly_units[name] = variable.unit(query.units)
            hourly[name] = variable.column(series, query.units)
        answer: dict[str, Any] = {
            "latitude": loc.lat,
            "longitude": loc.lon,
            "generationtime_ms": 0.0,
            "utc_offset_seconds": zone.offset_s,
            "timezone": zone.name,
            "timezone_abbreviation": zone.abbreviation,
            "elevation": loc.elevation_m,
        }
        if query.variables:
            answer["hourly_units"] = hourly_units
            answer["hourly"] = hourly
        answer["generationtime_ms"] = (time.perf_counter() - started) * 1000.0
        return answer

    def _series(self, loc: Location, query: ForecastQuery, first_utc_s: int,
                count: int) -> Series:
        if count == 0 or not query.variables:
            return Series(loc, [], [], [])
        first_hour = (first_utc_s + _HALF_HOUR_S) // SECONDS_PER_HOUR
        hours = self.forecaster.hours(loc, first_hour - 1, count + 1)
        wanted = [VARIABLES[name] for name in query.variables]
        ground: list[Ground] = []
        if any(v.needs_ground for v in wanted):
            ground = self.ground.at(loc, first_hour, count)
        elif any(v.needs_top_moisture for v in wanted):
            # Only the top layer was asked for: no snow depth is built, so none may be read.
            ground = [Ground(math.nan, (m,)) for m in self.ground.top_moisture(loc, first_hour,
                                                                               count)]
        return Series(loc, hours[1:], hours[:-1], ground)
