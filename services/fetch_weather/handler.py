"""The fetch-weather handler: one ``IngestTask`` -> stored hourly records -> a ``CategorizeTask``.

1. If the weather service holds fewer than ``min_observed_h`` observed hours of the last
   ``history_h`` hours, backfill the missing past days with ``day_summary`` (at most
   ``max_backfill_days`` calls).
2. One ``onecall`` (current observation + 48 h forecast).
3. Upsert everything in one ``PUT /v1/weather`` (an idempotent upsert), forward the categorize task.

Every OWM call goes through the ``OwmGate`` (cache, breaker, rate limiter).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from etl_core.outcomes import Forward, Outcome
from etl_core.worker import TaskContext
from services.fetch_weather.owm_client import OwmClient
from services.fetch_weather.owm_gate import Clock, OwmGate, utc_now
from services.fetch_weather.transform import day_summary_records, onecall_records
from services.tasks import CategorizeTask, IngestTask
from services.weather_client import WeatherServiceClient

HOURS_PER_DAY = 24


@dataclass(frozen=True, slots=True)
class FetchOptions:
    history_h: int = 72
    min_observed_h: int = 48
    max_backfill_days: int = 3


def _hour_of(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["hour"]).replace("Z", "+00:00"))


class FetchWeatherHandler:
    def __init__(
        self,
        *,
        owm: OwmClient,
        gate: OwmGate,
        weather: WeatherServiceClient,
        options: FetchOptions | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._owm = owm
        self._gate = gate
        self._weather = weather
        self._options = options or FetchOptions()
        self._clock = clock

    async def __call__(self, task: IngestTask, ctx: TaskContext) -> Outcome:
        now = self._clock()
        records: list[dict[str, Any]] = []
        missing = await self.missing_days(task.location_id, now)
        for day in missing:
            got = await self._gate.fetch(
                "day_summary",
                f"{task.location_id}:{day.isoformat()}",
                partial(self._owm.day_summary, task.lat, task.lon, day),
            )
            past = [
                r
                for r in day_summary_records(got.answer, fetched_at=got.fetched_at)
                if _hour_of(r) <= now
            ]
            records.extend(past)
        current = await self._gate.fetch(
            "onecall", task.identity(), lambda: self._owm.onecall(task.lat, task.lon)
        )
        records.extend(onecall_records(current.answer, fetched_at=current.fetched_at))
        for record in records:
            record["location_id"] = task.location_id
        result = await self._weather.upsert_weather(records)
        ctx.log.info(
            "weather_fetched",
            location_id=task.location_id,
            backfilled_days=len(missing),
            records=len(records),
            written=result.get("written"),
            from_cache=current.from_cache,
        )
        return Forward([CategorizeTask(location_id=task.location_id, window=task.window)])

    async def missing_days(self, location_id: str, now: datetime) -> list[date]:
        """Past UTC days to backfill: none when enough observed history is stored."""
        o = self._options
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        observed = await self._weather.weather_records(
            location_id,
            start=this_hour - timedelta(hours=o.history_h),
            end=this_hour + timedelta(hours=1),
            kind="observed",
        )
        if len(observed) >= o.min_observed_h:
            return []
        per_day = Counter(_hour_of(r).date() for r in observed)
        today = this_hour.date()
        candidates = [today - timedelta(days=n) for n in range(o.max_backfill_days, 0, -1)]
        return [day for day in candidates if per_day[day] < HOURS_PER_DAY]
