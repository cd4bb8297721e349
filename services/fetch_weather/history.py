"""What observed history the weather service holds for a location, and the Redis mark that lets
fetch-weather skip asking.

A location needs ``min_observed_h`` observed hours of the last ``history_h`` (what categorize
reads). ``HistoryCoverage.check`` answers with a ``StoredHistory``: the observed hours found, or
"covered" without a query while the mark is set. After a task's records are written,
``HistoryCoverage.remember`` sets the mark for as long as it stays true with no new observation:
each hour that passes ages one observed hour out of the window. In steady state a task then costs
one Redis read here, not a weather-service query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.fetch_weather import keys as fetch_keys
from services.weather_client import WeatherServiceClient

HOURS_PER_DAY = 24


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    history_h: int = 72
    min_observed_h: int = 48
    max_backfill_days: int = 3


def hour_of(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["hour"]).replace("Z", "+00:00"))


def start_of_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class StoredHistory:
    """``observed_hours``: the observed hours stored in the window, None when the mark said the
    window is covered (not queried); ``enough``: no backfill is needed."""

    observed_hours: frozenset[datetime] | None
    enough: bool

    @classmethod
    def covered(cls) -> StoredHistory:
        return cls(observed_hours=None, enough=True)

    def missing_days(self, this_hour: datetime, utc_offset: timedelta, days: int) -> list[date]:
        """The location's past local days not fully observed, of the ``days`` before its local
        today (oldest first); none when the history is enough."""
        if self.enough:
            return []
        per_day = Counter((hour + utc_offset).date() for hour in self.observed_hours or ())
        today = (this_hour + utc_offset).date()
        candidates = [today - timedelta(days=n) for n in range(days, 0, -1)]
        return [day for day in candidates if per_day[day] < HOURS_PER_DAY]


class HistoryCoverage:
    """The one owner of the history check and of its mark."""

    def __init__(
        self, redis: Any, weather: WeatherServiceClient, options: HistoryOptions | None = None
    ) -> None:
        self._redis = redis
        self._weather = weather
        self.options = options or HistoryOptions()

    async def check(self, location_id: str, this_hour: datetime) -> StoredHistory:
        if await self._redis.exists(fetch_keys.history_covered(location_id)):
            return StoredHistory.covered()
        o = self.options
        observed = await self._weather.weather_records(
            location_id,
            start=this_hour - timedelta(hours=o.history_h),
            end=this_hour + timedelta(hours=1),
            kind="observed",
        )
        hours = frozenset(hour_of(r) for r in observed)
        return StoredHistory(observed_hours=hours, enough=len(hours) >= o.min_observed_h)

    def covered_for(
        self, now: datetime, history: StoredHistory, written: Iterable[dict[str, Any]]
    ) -> timedelta | None:
        """How long the window stays covered with no new observation, given what was stored and
        what was just written; None when it is not covered."""
        o = self.options
        this_hour = start_of_hour(now)
        start = this_hour - timedelta(hours=o.history_h)
        hours = set(history.observed_hours or ())
        hours.update(
            h
            for r in written
            if r.get("kind") == "observed" and start <= (h := hour_of(r)) <= this_hour
        )
        # The oldest observed hours leave the window first. At least min_observed_h remain while
        # the hour ordered[spare] (spare = count - min_observed_h) is still inside it, i.e. until
        # history_h hours after that hour.
        ordered = sorted(hours)
        spare = len(ordered) - o.min_observed_h
        if spare < 0:
            return None
        return ordered[spare] + timedelta(hours=o.history_h) - now

    async def remember(
        self,
        location_id: str,
        now: datetime,
        history: StoredHistory,
        written: Iterable[dict[str, Any]],
    ) -> None:
        """Set the mark after a checked history (a covered one is already marked)."""
        if history.observed_hours is None:
            return
        covered = self.covered_for(now, history, written)
        ttl_s = 0 if covered is None else int(covered.total_seconds())
        if ttl_s > 0:
            await self._redis.set(fetch_keys.history_covered(location_id), "1", ex=ttl_s)
