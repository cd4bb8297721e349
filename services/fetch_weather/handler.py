"""The fetch-weather handler: one ``IngestTask`` -> stored hourly records -> a ``CategorizeTask``.

1. One ``onecall`` (current observation + 48 h forecast).
2. If the weather service holds fewer than ``min_observed_h`` observed hours of the last
   ``history_h`` hours, backfill the missing past days with ``day_summary`` (at most
   ``max_backfill_days`` calls; the days are the location's local ones, from the onecall's
   ``timezone_offset``, as ``day_summary`` takes a local date). The outcome of that check is
   remembered in Redis for as long as it stays true with no new observation (``observed -
   min_observed_h`` hours), so in steady state the check costs one Redis read, not a
   weather-service query.
3. Upsert everything (an idempotent upsert; batched with other handlers' records by
   ``WeatherWrites``), forward the categorize task.

Every OWM call goes through the ``OwmGate`` (cache, breaker, rate limiter).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from etl_core.outcomes import Forward, Outcome
from etl_core.worker import TaskContext
from services.fetch_weather import keys as fetch_keys
from services.fetch_weather.owm_client import OwmClient, OwmUnavailable
from services.fetch_weather.owm_gate import CachedAnswer, Clock, Keep, OwmGate, utc_now
from services.fetch_weather.transform import (
    day_summary_kept,
    day_summary_records,
    onecall_kept,
    onecall_records,
)
from services.tasks import CategorizeTask, IngestTask
from services.weather_client import WeatherServiceClient
from services.weather_writes import WeatherWrites

HOURS_PER_DAY = 24
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True, slots=True)
class FetchOptions:
    history_h: int = 72
    min_observed_h: int = 48
    max_backfill_days: int = 3


def _hour_of(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["hour"]).replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class _History:
    observed_hours: set[datetime] | None  # None: not checked (known to be covered)
    enough: bool

    def missing_days(self, this_hour: datetime, utc_offset: timedelta, days: int) -> list[date]:
        """The location's past local days (``day_summary`` takes a local date) not fully
        observed, of the ``days`` before its local today."""
        if self.enough:
            return []
        per_day = Counter((hour + utc_offset).date() for hour in self.observed_hours or ())
        today = (this_hour + utc_offset).date()
        candidates = [today - timedelta(days=n) for n in range(days, 0, -1)]
        return [day for day in candidates if per_day[day] < HOURS_PER_DAY]


def _utc_offset(onecall: dict[str, Any]) -> timedelta:
    """The location's offset from UTC (``timezone_offset``, seconds); UTC when absent."""
    offset = onecall.get("timezone_offset", 0)
    if isinstance(offset, bool) or not isinstance(offset, int) or abs(offset) > 18 * 3600:
        return timedelta(0)
    return timedelta(seconds=offset)


class FetchWeatherHandler:
    def __init__(
        self,
        *,
        owm: OwmClient,
        gate: OwmGate,
        weather: WeatherServiceClient,
        redis: Any,
        writes: WeatherWrites | None = None,
        options: FetchOptions | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._owm = owm
        self._gate = gate
        self._weather = weather
        self._redis = redis
        self._writes = writes or WeatherWrites(weather, max_wait_s=0.0)
        self._options = options or FetchOptions()
        self._clock = clock

    async def __call__(self, task: IngestTask, ctx: TaskContext) -> Outcome:
        now = self._clock()
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        records: list[dict[str, Any]] = []
        history = await self._history(task.location_id, this_hour)
        # The onecall first: if OWM refuses it (a bad key, an outage), no backfill call is spent.
        # The missing days one after another: sent at once, a burst of new locations queued at
        # the API server long enough that its own rolling minute counted more calls than the
        # limiter had admitted in any minute (tests/services/pipeline/test_rate_limit_processes).
        current, current_records = await self._fetch_records(
            "onecall",
            task.identity(),
            partial(self._owm.onecall, task.lat, task.lon),
            onecall_records,
            onecall_kept,
        )
        missing_days = history.missing_days(
            this_hour, _utc_offset(current.answer), self._options.max_backfill_days
        )
        for day in missing_days:
            _got, summary = await self._fetch_records(
                "day_summary",
                f"{task.location_id}:{day.isoformat()}",
                partial(self._owm.day_summary, task.lat, task.lon, day),
                day_summary_records,
                day_summary_kept,
            )
            records.extend(r for r in summary if _hour_of(r) <= now)
        records.extend(current_records)
        for record in records:
            record["location_id"] = task.location_id
        await self._writes.upsert_weather(records)
        if history.observed_hours is not None:
            await self._remember_coverage(task.location_id, now, history, records)
        ctx.log.info(
            "weather_fetched",
            location_id=task.location_id,
            backfilled_days=len(missing_days),
            records=len(records),
            from_cache=current.from_cache,
        )
        return Forward([CategorizeTask(location_id=task.location_id, window=task.window)])

    async def _fetch_records(
        self,
        endpoint: str,
        identity: str,
        call: Callable[[], Awaitable[dict[str, Any]]],
        transform: Callable[..., list[dict[str, Any]]],
        keep: Keep,
    ) -> tuple[CachedAnswer, list[dict[str, Any]]]:
        got = await self._gate.fetch(endpoint, identity, call, keep=keep)
        return got, await self._read(endpoint, identity, got, transform)

    async def _read(
        self,
        endpoint: str,
        identity: str,
        got: CachedAnswer,
        transform: Callable[..., list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """The answer's records; a malformed answer is dropped from the cache, then re-raised
        (``OwmUnavailable``, transient), so the retry pays for a fresh one."""
        try:
            return transform(got.answer, fetched_at=got.fetched_at)
        except OwmUnavailable:
            await self._gate.forget(endpoint, identity)
            raise

    async def missing_days(
        self, location_id: str, now: datetime, utc_offset: timedelta = timedelta(0)
    ) -> list[date]:
        """Past local days to backfill: none when enough observed history is stored."""
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        history = await self._history(location_id, this_hour)
        return history.missing_days(this_hour, utc_offset, self._options.max_backfill_days)

    async def _history(self, location_id: str, this_hour: datetime) -> _History:
        if await self._redis.exists(fetch_keys.history_covered(location_id)):
            return _History(observed_hours=None, enough=True)
        o = self._options
        observed = await self._weather.weather_records(
            location_id,
            start=this_hour - timedelta(hours=o.history_h),
            end=this_hour + timedelta(hours=1),
            kind="observed",
        )
        hours = {_hour_of(r) for r in observed}
        return _History(observed_hours=hours, enough=len(hours) >= o.min_observed_h)

    async def _remember_coverage(
        self,
        location_id: str,
        now: datetime,
        history: _History,
        written: list[dict[str, Any]],
    ) -> None:
        """Mark the location's history as covered for as long as that holds without new data:
        each hour that passes ages one observed hour out of the ``history_h`` window."""
        o = self._options
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        start = this_hour - timedelta(hours=o.history_h)
        hours = set(history.observed_hours or ())
        hours.update(
            h
            for r in written
            if r.get("kind") == "observed" and start <= (h := _hour_of(r)) <= this_hour
        )
        # The oldest observed hours leave the window first. At least min_observed_h remain while
        # the hour ordered[spare] (spare = count - min_observed_h) is still inside it, i.e. until
        # history_h hours after that hour.
        ordered = sorted(hours)
        spare = len(ordered) - o.min_observed_h
        if spare < 0:
            return
        expires = ordered[spare] + timedelta(hours=o.history_h) - now
        ttl_s = int(expires.total_seconds())
        if ttl_s > 0:
            await self._redis.set(fetch_keys.history_covered(location_id), "1", ex=ttl_s)
