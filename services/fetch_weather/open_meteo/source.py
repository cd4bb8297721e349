"""Open-Meteo as a weather source: one forecast call per task, history included.

Its forecast endpoint returns past days and forecast in one series (``past_days``), so a new
location costs one call, not the four of OWM: when the stored history is not enough, the call
asks for ``max_backfill_days`` past local days (``timezone=auto``) and every hour of the history
window it covers becomes an observed record; otherwise it asks for today and what follows. The
request stays within what Open-Meteo counts as one call (at most 10 variables and 14 days).

Keyless by default (the free API: 600 calls a minute, 5,000 an hour, 10,000 a day per client
address, enforced by the shared limiter across every replica); OPEN_METEO_API_KEY and
OPEN_METEO_BASE_URL for the commercial endpoint or a self-hosted instance.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from services.fetch_weather.errors import SourceUnavailable
from services.fetch_weather.gate import SourceGate
from services.fetch_weather.history import start_of_hour
from services.fetch_weather.open_meteo.client import OpenMeteoClient, OpenMeteoClientOptions
from services.fetch_weather.open_meteo.transform import forecast_records, utc_offset
from services.fetch_weather.settings import FetchWeatherSettings
from services.fetch_weather.source import (
    RateLimits,
    SourceAnswer,
    SourceProfile,
    SourceRequest,
)
from services.http_transport import HttpTransport

NAME = "open-meteo"
ENDPOINT = "forecast"
# Today and the next two local days: the 48 forecast hours from any hour of today, and the hour
# after the last (its sums are labelled there).
FORECAST_DAYS = 3
MAX_DAYS_PER_CALL = 14  # more counts as several calls


def kept(answer: dict[str, Any]) -> dict[str, Any]:
    """The part of an answer the transform reads (the answer cache keeps only this)."""
    keep: dict[str, Any] = {}
    if "utc_offset_seconds" in answer:
        keep["utc_offset_seconds"] = answer["utc_offset_seconds"]
    if "hourly" in answer:
        keep["hourly"] = answer["hourly"]
    return keep


class OpenMeteoSource:
    def __init__(self, client: OpenMeteoClient, gate: SourceGate, profile: SourceProfile) -> None:
        self._client = client
        self._gate = gate
        self.profile = profile

    @classmethod
    def describe(cls, settings: FetchWeatherSettings) -> SourceProfile:
        return SourceProfile(
            name=NAME,
            limiter=NAME,
            breaker=NAME,
            limits=RateLimits(
                per_minute=settings.open_meteo_rate_limit_per_minute,
                per_hour=settings.open_meteo_rate_limit_per_hour,
                per_day=settings.open_meteo_rate_limit_per_day,
            ),
            breaker_options=settings.owm_breaker_options(),
        )

    @classmethod
    def open(
        cls,
        settings: FetchWeatherSettings,
        *,
        http: HttpTransport,
        gate: SourceGate,
        profile: SourceProfile,
    ) -> OpenMeteoSource:
        key = settings.open_meteo_api_key
        client = OpenMeteoClient(
            http,
            OpenMeteoClientOptions(
                base_url=settings.open_meteo_base_url,
                api_key=None if key is None else key.get_secret_value(),
                timeout_s=settings.open_meteo_timeout_s,
            ),
        )
        return cls(client, gate, profile)

    async def fetch(self, request: SourceRequest) -> SourceAnswer:
        backfill = not request.history.enough
        past_days = min(request.options.max_backfill_days, MAX_DAYS_PER_CALL - FORECAST_DAYS)
        got = await self._gate.fetch(
            ENDPOINT,
            request.identity,
            partial(
                self._client.forecast,
                request.lat,
                request.lon,
                past_days=past_days if backfill else 0,
                forecast_days=FORECAST_DAYS,
            ),
            keep=kept,
        )
        this_hour = start_of_hour(request.now)
        observed_since = this_hour - timedelta(hours=request.options.history_h)
        try:
            records = forecast_records(
                got.answer,
                now=request.now,
                fetched_at=got.fetched_at,
                observed_since=observed_since if backfill else None,
            )
        except SourceUnavailable:
            await self._gate.forget(ENDPOINT, request.identity)
            raise
        return SourceAnswer(
            records=records,
            utc_offset=utc_offset(got.answer),
            calls=0 if got.from_cache else 1,
            backfilled_days=past_days if backfill else 0,
        )
