"""The whole pipeline in process (fakeredis, and a real redis-server when there is one):
schedule -> fetch -> categorize -> conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from etl_core import keys
from etl_core.producer import StreamProducer
from services import pipeline_keys
from services.categorize.wiring import categorize_worker
from services.fetch_weather.wiring import fetch_worker
from services.schedule_jobs.run import ScheduleOptions, ScheduleReport, run_schedule
from tests.conftest import RedisBackend
from tests.services.conftest import (
    SourceUnderTest,
    WeatherService,
    owm_total_calls,
    source_calls,
    trail,
)
from tests.services.pipeline.helpers import (
    FAST_WORKER,
    categorize_settings,
    entries_added,
    fetch_settings,
)

LOCATIONS = 20


async def _schedule(
    weather: WeatherService, backend: RedisBackend, tmp_path: Path, now: datetime
) -> ScheduleReport:
    sync_client = backend.make_sync()
    try:
        return await run_schedule(
            ScheduleOptions(outbox_path=tmp_path / "outbox.sqlite3", chunk_size=7),
            weather=weather.client,
            producer=StreamProducer(sync_client, pipeline_keys.INGESTION_STREAM),
            now=now,
        )
    finally:
        sync_client.close()


async def _drain(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any, source: SourceUnderTest
) -> None:
    async with fetch_worker(
        fetch_settings(**source.settings()),
        redis=aredis,
        source_http=owm_http,
        weather_http=weather.http,
        concurrency=8,
        **FAST_WORKER,
    ) as fetcher:
        await fetcher.run(until_idle=True)
    async with categorize_worker(
        categorize_settings(),
        redis=aredis,
        weather_http=weather.http,
        concurrency=8,
        **FAST_WORKER,
    ) as categorizer:
        await categorizer.run(until_idle=True)


async def _latest_conditions(weather: WeatherService) -> list[dict[str, Any]]:
    at = datetime.now(UTC).isoformat()
    page = (
        await weather.http.get("/v1/conditions/latest", params={"limit": 1000, "at": at})
    ).json()
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_twenty_locations_flow_through_once(
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
    source: SourceUnderTest,
) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])

    now = datetime.now(UTC)  # both runs in one window, however long the test takes
    first = await _schedule(weather, backend, tmp_path, now)
    assert first.published == LOCATIONS
    await _drain(weather, owm_http, aredis, source)

    conditions = await _latest_conditions(weather)
    assert sorted(c["location_id"] for c in conditions) == [
        trail(n)["id"] for n in range(LOCATIONS)
    ]
    assert all(c["label"] != "unknown" and c["reasons"] for c in conditions)
    # Every location was new: its history backfilled, at the source's price.
    assert await source_calls(owm_http, source) == source.new_location_calls * LOCATIONS
    assert await aredis.xlen(keys.dead_letter_stream(pipeline_keys.INGESTION_STREAM)) == 0
    assert await aredis.xlen(keys.dead_letter_stream(pipeline_keys.CATEGORIZATION_STREAM)) == 0
    paid = await owm_total_calls(owm_http)

    second = await _schedule(weather, backend, tmp_path, now)
    assert (second.published, second.already_published) == (0, LOCATIONS)
    await _drain(weather, owm_http, aredis, source)
    assert await owm_total_calls(owm_http) == paid
    assert await entries_added(aredis, pipeline_keys.INGESTION_STREAM) == LOCATIONS
