"""One schedule-jobs run: flush leftovers, queue this window's tasks chunk by chunk (each committed
to the outbox, then flushed), record the run.

Every task is committed to the SQLite outbox before it is published, so a crash between the two
loses nothing: the next run flushes the leftovers first. Task ids are deterministic (location and
window), so a second run in the same window publishes nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_core.logging import get_logger
from etl_core.outbox import DEFAULT_REPLICATION_WAIT, SqliteOutbox
from etl_core.producer import StreamProducer
from etl_core.replication import ReplicationWait
from etl_core.windows import window_label
from services import pipeline_keys
from services.schedule_jobs.locations import (
    ScheduledLocation,
    file_location_chunks,
    service_location_chunks,
)
from services.tasks import PIPELINE_CODEC, IngestTask
from services.weather_client import WeatherServiceClient

STAGE = "schedule-jobs"
log = get_logger("services.schedule_jobs")


@dataclass(frozen=True, slots=True)
class ScheduleOptions:
    outbox_path: Path
    window: str = "1h"
    locations_file: Path | None = None
    chunk_size: int = 1000
    stream: str = pipeline_keys.INGESTION_STREAM
    # Rows are deleted only once the master's replicas hold their tasks (etl_core.replication).
    replication: ReplicationWait = DEFAULT_REPLICATION_WAIT


@dataclass(frozen=True, slots=True)
class ScheduleReport:
    run_id: str
    window: str
    leftovers_published: int
    locations: int
    queued: int
    published: int
    already_published: int

    def counts(self) -> dict[str, int]:
        return {
            "leftovers_published": self.leftovers_published,
            "locations": self.locations,
            "queued": self.queued,
            "published": self.published,
            "already_published": self.already_published,
        }


def _chunks(
    options: ScheduleOptions, weather: WeatherServiceClient
) -> AsyncIterator[list[ScheduledLocation]]:
    if options.locations_file is not None:
        return file_location_chunks(options.locations_file, chunk_size=options.chunk_size)
    return service_location_chunks(weather, chunk_size=options.chunk_size)


async def run_schedule(
    options: ScheduleOptions,
    *,
    weather: WeatherServiceClient,
    producer: StreamProducer,
    now: datetime | None = None,
) -> ScheduleReport:
    """Run once; returns only after every task of this run (and any leftover) is published."""
    now = now or datetime.now(UTC)
    window = window_label(now, options.window)
    run_id = f"{STAGE}-{window.replace(':', '')}-{uuid.uuid4().hex[:12]}"
    bound = log.bind(run_id=run_id, window=window, stream=options.stream)
    with SqliteOutbox(options.outbox_path) as outbox:
        leftovers = 0
        if outbox.pending_count(options.stream):
            leftovers = outbox.flush(producer, replication=options.replication).published
            bound.info("schedule_leftovers_flushed", published=leftovers)
        await weather.create_run(run_id=run_id, stage=STAGE, started_at=now)
        try:
            report = await _queue_and_flush(
                options,
                weather=weather,
                producer=producer,
                outbox=outbox,
                window=window,
                run_id=run_id,
                leftovers=leftovers,
            )
        except Exception as exc:
            await _record_failure(weather, run_id, exc)
            raise
    await weather.finish_run(run_id, status="succeeded", counts=report.counts())
    bound.info("schedule_finished", **report.counts())
    return report


async def _queue_and_flush(
    options: ScheduleOptions,
    *,
    weather: WeatherServiceClient,
    producer: StreamProducer,
    outbox: SqliteOutbox,
    window: str,
    run_id: str,
    leftovers: int,
) -> ScheduleReport:
    locations = queued = published = already = 0
    # Each chunk is committed to the outbox, then flushed, before the next is read: the workers
    # start on the first chunk while the rest is still being read (a million locations take a
    # while), and a crash leaves at most the chunk in hand unpublished (flushed by the next run).
    async for chunk in _chunks(options, weather):
        tasks = [
            IngestTask(location_id=loc.id, window=window, lat=loc.lat, lon=loc.lon) for loc in chunk
        ]
        locations += len(tasks)
        queued += outbox.put_tasks(options.stream, tasks, PIPELINE_CODEC)
        flushed = outbox.flush(producer, replication=options.replication)
        published += flushed.published
        already += flushed.already_published
    return ScheduleReport(
        run_id=run_id,
        window=window,
        leftovers_published=leftovers,
        locations=locations,
        queued=queued,
        published=published,
        already_published=already,
    )


async def _record_failure(weather: WeatherServiceClient, run_id: str, exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}"
    log.error("schedule_failed", run_id=run_id, error=message)
    try:
        await weather.finish_run(run_id, status="failed", counts={}, message=message)
    except Exception as report_exc:  # the original error matters more than this one
        log.warning("schedule_failure_not_recorded", run_id=run_id, error=str(report_exc))


def producer_for(
    client: Any,
    *,
    max_backlog: int | None,
    backpressure_timeout_s: float,
    redis_unavailable_timeout_s: float,
) -> StreamProducer:
    """The ingestion-stream producer (``client`` is a sync redis client). A round Redis does not
    answer is tried again for up to ``redis_unavailable_timeout_s``: the run rides out a Redis
    restart, and sending a round again never publishes a task twice (``publish_once.lua``)."""
    return StreamProducer(
        client,
        pipeline_keys.INGESTION_STREAM,
        max_backlog=max_backlog,
        backpressure_timeout_s=backpressure_timeout_s,
        redis_unavailable_timeout_s=redis_unavailable_timeout_s,
    )
