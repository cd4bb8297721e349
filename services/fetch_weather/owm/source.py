"""OpenWeatherMap One Call 3.0 as a weather source.

Per task: one ``onecall`` (the current observation and the 48 h forecast). When the stored
history is not enough, the missing past local days (at most ``max_backfill_days``) are backfilled
with ``day_summary``, one call each: the days are the location's own (``day_summary`` takes a
local date), known from the onecall's ``timezone_offset``, so the onecall goes first, and if OWM
refuses it (a bad key, an outage) no backfill call is spent. The days go one after another: sent
at once, a burst of new locations queued at the API long enough that its own rolling minute
counted more calls than the limiter had admitted in any minute
(tests/services/pipeline/test_rate_limit_processes.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any

from services.fetch_weather.errors import SourceUnavailable
from services.fetch_weather.gate import CachedAnswer, Keep, SourceGate
from services.fetch_weather.history import hour_of, start_of_hour
from services.fetch_weather.owm.client import OwmClient, OwmClientOptions
from services.fetch_weather.owm.transform import (
    day_summary_kept,
    day_summary_records,
    onecall_kept,
    onecall_records,
)
from services.fetch_weather.settings import FetchWeatherSettings
from services.fetch_weather.source import (
    RateLimits,
    SourceAnswer,
    SourceProfile,
    SourceRequest,
    utc_offset_from,
)
from services.http_transport import HttpTransport

NAME = "owm"
Transform = Callable[..., list[dict[str, Any]]]


def utc_offset(onecall: dict[str, Any]) -> timedelta:
    """The location's offset from UTC (``timezone_offset``, seconds); UTC when absent."""
    return utc_offset_from(onecall.get("timezone_offset", 0))


class OwmSource:
    def __init__(self, client: OwmClient, gate: SourceGate, profile: SourceProfile) -> None:
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
                per_minute=settings.owm_rate_limit_per_minute,
                per_day=settings.owm_rate_limit_per_day,
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
    ) -> OwmSource:
        if settings.owm_api_key is None:  # the settings refuse this; a custom wiring may not
            raise ValueError("the OWM source needs OWM_API_KEY")
        client = OwmClient(
            http,
            OwmClientOptions(
                base_url=settings.owm_base_url,
                api_key=settings.owm_api_key.get_secret_value(),
                timeout_s=settings.owm_timeout_s,
            ),
        )
        return cls(client, gate, profile)

    async def fetch(self, request: SourceRequest) -> SourceAnswer:
        now = request.now
        calls = 0
        current, current_records = await self._records(
            "onecall",
            request.identity,
            partial(self._client.onecall, request.lat, request.lon),
            onecall_records,
            onecall_kept,
        )
        calls += not current.from_cache
        offset = utc_offset(current.answer)
        missing_days = request.history.missing_days(
            start_of_hour(now), offset, request.options.max_backfill_days
        )
        records: list[dict[str, Any]] = []
        for day in missing_days:
            got, summary = await self._records(
                "day_summary",
                f"{request.location_id}:{day.isoformat()}",
                partial(self._client.day_summary, request.lat, request.lon, day),
                day_summary_records,
                day_summary_kept,
            )
            calls += not got.from_cache
            records.extend(r for r in summary if hour_of(r) <= now)
        records.extend(current_records)
        return SourceAnswer(
            records=records, utc_offset=offset, calls=calls, backfilled_days=len(missing_days)
        )

    async def _records(
        self,
        endpoint: str,
        identity: str,
        call: Callable[[], Awaitable[dict[str, Any]]],
        transform: Transform,
        keep: Keep,
    ) -> tuple[CachedAnswer, list[dict[str, Any]]]:
        """The answer and its records; a malformed answer is dropped from the cache, then
        re-raised (transient), so the retry pays for a fresh one."""
        got = await self._gate.fetch(endpoint, identity, call, keep=keep)
        try:
            return got, transform(got.answer, fetched_at=got.fetched_at)
        except SourceUnavailable:
            await self._gate.forget(endpoint, identity)
            raise
