"""The fetch-weather handler: one ``IngestTask`` -> stored hourly records -> a ``CategorizeTask``.

1. Ask ``HistoryCoverage`` what observed history the weather service holds (in steady state one
   Redis read).
2. Ask the weather source (``services.fetch_weather.source``) for the location's records: the
   current observation, the forecast, and any missing history it must backfill.
3. Upsert them (an idempotent upsert; batched with other handlers' records by
   ``WeatherWrites``), remember the coverage, forward the categorize task.

Everything about the provider (its calls, their order, their cost) belongs to the source.
"""

from __future__ import annotations

from etl_core.outcomes import Forward, Outcome
from etl_core.worker import TaskContext
from services.clock import Clock, utc_now
from services.fetch_weather.history import HistoryCoverage, start_of_hour
from services.fetch_weather.source import SourceRequest, WeatherSource
from services.tasks import CategorizeTask, IngestTask
from services.weather_writes import WeatherWrites


class FetchWeatherHandler:
    def __init__(
        self,
        *,
        source: WeatherSource,
        coverage: HistoryCoverage,
        writes: WeatherWrites,
        clock: Clock = utc_now,
    ) -> None:
        self.source = source
        self.coverage = coverage
        self._writes = writes
        self._clock = clock

    async def __call__(self, task: IngestTask, ctx: TaskContext) -> Outcome:
        now = self._clock()
        history = await self.coverage.check(task.location_id, start_of_hour(now))
        answer = await self.source.fetch(
            SourceRequest(
                location_id=task.location_id,
                lat=task.lat,
                lon=task.lon,
                identity=task.identity(),
                now=now,
                history=history,
                options=self.coverage.options,
            )
        )
        records = answer.records
        for record in records:
            record["location_id"] = task.location_id
        await self._writes.upsert_weather(records)
        await self.coverage.remember(task.location_id, now, history, records)
        ctx.log.info(
            "weather_fetched",
            location_id=task.location_id,
            source=self.source.profile.name,
            backfilled_days=answer.backfilled_days,
            records=len(records),
            calls=answer.calls,
        )
        return Forward([CategorizeTask(location_id=task.location_id, window=task.window)])
