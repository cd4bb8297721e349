"""Builds one schedule-jobs run from its settings (the one place that wires its objects)."""

from __future__ import annotations

import httpx

from services.schedule_jobs.run import ScheduleOptions, ScheduleReport, producer_for, run_schedule
from services.schedule_jobs.settings import ScheduleSettings
from services.weather_client import WeatherClientOptions, WeatherServiceClient


def schedule_options(settings: ScheduleSettings) -> ScheduleOptions:
    return ScheduleOptions(
        outbox_path=settings.outbox_path,
        window=settings.schedule_window,
        locations_file=settings.locations_file,
        chunk_size=settings.locations_chunk_size,
        replication=settings.replication_wait(),
    )


async def run_from_settings(settings: ScheduleSettings) -> ScheduleReport:
    client = settings.sync_redis()
    try:
        producer = producer_for(
            client,
            max_backlog=settings.stream_max_backlog,
            backpressure_timeout_s=settings.backpressure_timeout_s,
            redis_unavailable_timeout_s=settings.redis_unavailable_timeout_s,
        )
        async with httpx.AsyncClient() as http:
            weather = WeatherServiceClient(
                http,
                WeatherClientOptions(
                    base_url=settings.weather_service_url,
                    api_key=settings.weather_service_api_key.get_secret_value(),
                    timeout_s=settings.weather_service_timeout_s,
                ),
            )
            options = schedule_options(settings)
            return await run_schedule(options, weather=weather, producer=producer)
    finally:
        client.close()
