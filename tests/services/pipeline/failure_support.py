"""Pipeline failure tests' steps: schedule, drain both stages, check nothing is left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from etl_core import keys
from etl_core.outcomes import OutcomeCounts
from etl_core.producer import StreamProducer
from services import pipeline_keys
from services.categorize.wiring import categorize_worker
from services.fetch_weather.wiring import fetch_worker
from services.schedule_jobs.run import ScheduleOptions, run_schedule
from tests.conftest import RedisBackend
from tests.services.conftest import WeatherService
from tests.services.pipeline.helpers import FAST_WORKER, categorize_settings, fetch_settings

# Quick retries, and enough of them that a run of injected faults never exhausts a task.
QUICK_RETRIES: dict[str, Any] = {
    **FAST_WORKER,
    "retry_backoff_base_s": 0.02,
    "retry_backoff_max_s": 0.2,
}


async def schedule(
    weather: WeatherService, backend: RedisBackend, tmp_path: Path, now: datetime | None = None
) -> int:
    """One schedule run; the number of ingest tasks it published."""
    sync_client = backend.make_sync()
    try:
        report = await run_schedule(
            ScheduleOptions(outbox_path=tmp_path / "outbox.sqlite3", chunk_size=7),
            weather=weather.client,
            producer=StreamProducer(sync_client, pipeline_keys.INGESTION_STREAM),
            now=now or datetime.now(UTC),
        )
    finally:
        sync_client.close()
    return report.published


async def run_fetch(
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    *,
    settings: dict[str, Any] | None = None,
    **options: Any,
) -> OutcomeCounts:
    async with fetch_worker(
        fetch_settings(**(settings or {})),
        redis=aredis,
        source_http=owm_http,
        weather_http=weather.http,
        concurrency=8,
        **{**QUICK_RETRIES, **options},
    ) as fetcher:
        return await fetcher.run(until_idle=True)


async def run_categorize(weather: WeatherService, aredis: Any, **options: Any) -> OutcomeCounts:
    async with categorize_worker(
        categorize_settings(),
        redis=aredis,
        weather_http=weather.http,
        concurrency=8,
        **{**QUICK_RETRIES, **options},
    ) as categorizer:
        return await categorizer.run(until_idle=True)


async def latest_conditions(weather: WeatherService) -> dict[str, dict[str, Any]]:
    """The latest condition of every location, by location id."""
    at = datetime.now(UTC).isoformat()
    page = (
        await weather.http.get("/v1/conditions/latest", params={"limit": 1000, "at": at})
    ).json()
    return {c["location_id"]: c for c in page["items"]}


async def locations_with_weather(weather: WeatherService, location_ids: list[str]) -> list[str]:
    """Those of ``location_ids`` that hold at least one stored weather record around now."""
    now = datetime.now(UTC)
    out = []
    for location_id in location_ids:
        records = await weather.client.weather_records(
            location_id,
            start=now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=72),
            end=now + timedelta(hours=48),
        )
        if records:
            out.append(location_id)
    return out


async def assert_nothing_pending(aredis: Any) -> None:
    """No entry pending in either group, no delayed retry, nothing unread."""
    for stream, group in (
        (pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP),
        (pipeline_keys.CATEGORIZATION_STREAM, pipeline_keys.CATEGORIZE_GROUP),
    ):
        pending = await aredis.xpending(stream, group)
        assert int(pending["pending"]) == 0, (stream, pending)
        assert await aredis.zcard(keys.delayed_set(stream)) == 0, stream
        groups = await aredis.xinfo_groups(stream)
        (info,) = [g for g in groups if _text(g["name"]) == group]
        stream_info = await aredis.xinfo_stream(stream)
        assert _text(info["last-delivered-id"]) == _text(stream_info["last-generated-id"]), stream


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
