"""Dead letters end to end, and their redrive.

* A wrong OpenWeatherMap key: every ingest task is dead-lettered as ``OwmAuthError`` at once; once
  the key is fixed, a redrive of that error type finishes every location and empties the stream.
* OWM down (every answer a 5xx): every task is dead-lettered after ``max_deliveries``; once it
  recovers, a redrive (attempts reset) finishes every location.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl_core import keys
from etl_core.deadletter import DeadLetters
from mock_owm.app import create_app as create_mock_owm
from mock_owm.settings import MockOwmSettings
from services.tasks import IngestTask
from tests.conftest import RedisBackend
from tests.services.conftest import OWM_BASE, OWM_KEY, WeatherService, trail
from tests.services.pipeline.failure_support import (
    assert_nothing_pending,
    latest_conditions,
    locations_with_weather,
    run_categorize,
    run_fetch,
    schedule,
)

LOCATIONS = 12


@pytest.fixture
async def owm_other_key() -> AsyncIterator[httpx.AsyncClient]:
    """Mock OWM in process that accepts only a key the workers do not have."""
    app = create_mock_owm(MockOwmSettings.load(api_keys="someone-elses-key"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=OWM_BASE) as http:
        yield http


async def test_auth_failures_are_dead_lettered_then_redriven(
    weather: WeatherService,
    owm_other_key: httpx.AsyncClient,
    aredis: Any,
    sredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
) -> None:
    owm = owm_other_key
    ids = [trail(n)["id"] for n in range(LOCATIONS)]
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])
    assert await schedule(weather, backend, tmp_path) == LOCATIONS

    fetched = await run_fetch(weather, owm, aredis)
    assert fetched.dead_lettered == LOCATIONS
    assert fetched.forwarded == 0
    assert fetched.retried == 0  # a 401 is permanent: no retry is spent on it
    assert fetched.by_error_type == {"OwmAuthError": LOCATIONS}

    dead = DeadLetters(sredis, keys.INGESTION_STREAM)
    assert dead.count() == LOCATIONS
    assert dead.counts_by_error_type() == {"OwmAuthError": LOCATIONS}
    entries = dead.list_entries(limit=1000)
    dead_ids = [IngestTask.model_validate_json(e.fields["payload"]).location_id for e in entries]
    assert sorted(dead_ids) == ids
    for entry in entries:
        assert entry.error_type == "OwmAuthError"
        assert "401" in entry.error
        assert entry.fields["dlq_stage"] == keys.FETCH_GROUP
        assert entry.fields["dlq_source_stream"] == keys.INGESTION_STREAM
        assert entry.fields["dlq_deliveries"] == "1"
        assert entry.original_fields["type"] == "owm.ingest"
    # Nothing went further: no weather stored, nothing to categorize, no answer cached.
    assert await locations_with_weather(weather, ids) == []
    assert await aredis.xlen(keys.CATEGORIZATION_STREAM) == 0
    stats = (await owm.get("/__stats")).json()
    assert stats["status_codes"] == {"401": LOCATIONS}  # one refused call per task, then stop
    await assert_nothing_pending_in_fetch(aredis)

    # The operator fixes the key and redrives what failed for that reason.
    fixed = await owm.post("/__faults", json={"api_keys": [OWM_KEY]})
    assert fixed.status_code == 200, fixed.text
    report = dead.redrive(error_type="OwmAuthError")
    assert len(report.moved) == LOCATIONS
    assert report.missing == []
    assert dead.count() == 0

    fetched = await run_fetch(weather, owm, aredis)
    categorized = await run_categorize(weather, aredis)
    assert fetched.forwarded == LOCATIONS
    assert fetched.dead_lettered == 0
    assert categorized.done == LOCATIONS
    assert categorized.dead_lettered == 0

    assert dead.count() == 0
    assert DeadLetters(sredis, keys.CATEGORIZATION_STREAM).count() == 0
    assert sorted(await locations_with_weather(weather, ids)) == ids
    conditions = await latest_conditions(weather)
    assert sorted(conditions) == ids
    assert all(c["label"] != "unknown" and c["reasons"] for c in conditions.values())
    assert await aredis.xlen(keys.INGESTION_STREAM) == 2 * LOCATIONS  # originals + redriven
    assert await aredis.xlen(keys.CATEGORIZATION_STREAM) == LOCATIONS
    await assert_nothing_pending(aredis)


async def assert_nothing_pending_in_fetch(aredis: Any) -> None:
    pending = await aredis.xpending(keys.INGESTION_STREAM, keys.FETCH_GROUP)
    assert int(pending["pending"]) == 0
    assert await aredis.zcard(keys.delayed_set(keys.INGESTION_STREAM)) == 0


@pytest.fixture
async def owm_down() -> AsyncIterator[httpx.AsyncClient]:
    """Mock OWM in process that answers every API request with a 5xx."""
    app = create_mock_owm(MockOwmSettings.load(error_rate=1.0, seed=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=OWM_BASE) as http:
        yield http


async def test_exhausted_retries_are_dead_lettered_then_redriven(
    weather: WeatherService,
    owm_down: httpx.AsyncClient,
    aredis: Any,
    sredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
) -> None:
    owm = owm_down
    max_deliveries = 3
    locations = 6
    ids = [trail(n)["id"] for n in range(locations)]
    await weather.client.upsert_locations([trail(n) for n in range(locations)])
    assert await schedule(weather, backend, tmp_path) == locations
    settings = {
        "worker_max_deliveries": max_deliveries,
        # this test is about retries, not the breaker: it never opens
        "owm_breaker_minimum_calls": 10_000,
        "owm_breaker_window_calls": 10_000,
    }

    fetched = await run_fetch(weather, owm, aredis, settings=settings)
    assert fetched.dead_lettered == locations
    assert fetched.retried == locations * (max_deliveries - 1)
    assert fetched.by_error_type == {"OwmUnavailable": locations * max_deliveries}

    dead = DeadLetters(sredis, keys.INGESTION_STREAM)
    entries = dead.list_entries(limit=1000)
    assert len(entries) == locations
    for entry in entries:
        assert entry.error_type == "OwmUnavailable"
        assert f"gave up after {max_deliveries} deliveries" in entry.error
        assert entry.fields["dlq_deliveries"] == str(max_deliveries)
        assert entry.original_fields["attempts"] == str(max_deliveries - 1)
    # At least one paid call per delivery (the fetch gate may retry a 5xx in place as well),
    # every one answered with a 5xx, and none with anything else.
    stats = (await owm.get("/__stats")).json()
    assert stats["requests_total"] >= locations * max_deliveries
    assert stats["errors_injected"] == {"server_error": stats["requests_total"]}
    assert set(stats["status_codes"]) <= {"500", "502", "503"}
    await assert_nothing_pending_in_fetch(aredis)

    # OWM recovers; the redriven tasks get their attempts back and all complete.
    recovered = await owm.post("/__faults", json={"error_rate": 0.0})
    assert recovered.status_code == 200, recovered.text
    report = dead.redrive()
    assert len(report.moved) == locations
    for _dead_id, new_id in report.moved:
        ((_id, fields),) = sredis.xrange(keys.INGESTION_STREAM, min=new_id, max=new_id)
        assert fields[b"attempts"] == b"0"
        assert not any(k.startswith(b"dlq_") for k in fields)
    fetched = await run_fetch(weather, owm, aredis, settings=settings)
    categorized = await run_categorize(weather, aredis)
    assert (fetched.forwarded, fetched.dead_lettered, fetched.retried) == (locations, 0, 0)
    assert (categorized.done, categorized.dead_lettered) == (locations, 0)
    assert dead.count() == 0
    assert sorted(await latest_conditions(weather)) == ids
    await assert_nothing_pending(aredis)
