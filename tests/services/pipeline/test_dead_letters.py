"""Dead letters end to end, and their redrive.

* OWM failing every call with a breaker that never opens: every task is dead-lettered after
  ``max_deliveries``; once it recovers, a redrive (attempts reset) finishes every location. (With
  the breaker, an outage pauses the stage instead: ``test_stage_pause.py``.)
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
from services import pipeline_keys
from tests.conftest import RedisBackend
from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN
from tests.services.conftest import OWM_BASE, WeatherService, trail
from tests.services.pipeline.failure_support import (
    assert_nothing_pending,
    latest_conditions,
    run_categorize,
    run_fetch,
    schedule,
)

LOCATIONS = 12


async def assert_nothing_pending_in_fetch(aredis: Any) -> None:
    pending = await aredis.xpending(pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP)
    assert int(pending["pending"]) == 0
    assert await aredis.zcard(keys.delayed_set(pipeline_keys.INGESTION_STREAM)) == 0


@pytest.fixture
async def owm_down() -> AsyncIterator[httpx.AsyncClient]:
    """Mock OWM in process that answers every API request with a 5xx."""
    app = create_mock_owm(MockOwmSettings.load(error_rate=1.0, seed=1, admin_token=ADMIN_TOKEN))
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

    dead = DeadLetters(sredis, pipeline_keys.INGESTION_STREAM)
    entries = dead.list_entries(limit=1000)
    assert len(entries) == locations
    for entry in entries:
        assert entry.error_type == "OwmUnavailable"
        assert f"gave up after {max_deliveries} deliveries" in entry.error
        assert entry.fields["dlq_deliveries"] == str(max_deliveries)
        assert entry.original_fields["attempts"] == str(max_deliveries - 1)
    # At least one paid call per delivery (the fetch gate may retry a 5xx in place as well),
    # every one answered with a 5xx, and none with anything else.
    stats = (await owm.get("/__stats", headers=ADMIN_HEADERS)).json()
    assert stats["requests_total"] >= locations * max_deliveries
    assert stats["errors_injected"] == {"server_error": stats["requests_total"]}
    assert set(stats["status_codes"]) <= {"500", "502", "503"}
    await assert_nothing_pending_in_fetch(aredis)

    # OWM recovers; the redriven tasks get their attempts back and all complete.
    recovered = await owm.post("/__faults", json={"error_rate": 0.0}, headers=ADMIN_HEADERS)
    assert recovered.status_code == 200, recovered.text
    report = dead.redrive()
    assert len(report.moved) == locations
    for _dead_id, new_id in report.moved:
        ((_id, fields),) = sredis.xrange(pipeline_keys.INGESTION_STREAM, min=new_id, max=new_id)
        assert fields[b"attempts"] == b"0"
        assert not any(k.startswith(b"dlq_") for k in fields)
    fetched = await run_fetch(weather, owm, aredis, settings=settings)
    categorized = await run_categorize(weather, aredis)
    assert (fetched.forwarded, fetched.dead_lettered, fetched.retried) == (locations, 0, 0)
    assert (categorized.done, categorized.dead_lettered) == (locations, 0)
    assert dead.count() == 0
    assert sorted(await latest_conditions(weather)) == ids
    await assert_nothing_pending(aredis)
