"""categorize-trail-conditions: a condition with label and reasons; a bad CLASSIFIER fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from etl_core import keys
from etl_core.errors import ConfigurationError
from etl_core.outcomes import Done
from etl_core.windows import window_label
from services import pipeline_keys
from services.categorize.contract import LABELS
from services.categorize.wiring import categorize_worker
from services.fetch_weather.wiring import fetch_worker
from services.tasks import PIPELINE_CODEC, CategorizeTask, IngestTask
from tests.services.conftest import WeatherService, trail
from tests.services.pipeline.helpers import (
    FAST_WORKER,
    categorize_settings,
    context_for,
    fetch_settings,
)


async def _fetched(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any, n: int
) -> CategorizeTask:
    loc = trail(n)
    await weather.client.upsert_locations([loc])
    task = IngestTask(
        location_id=loc["id"],
        window=window_label(datetime.now(UTC), "1h"),
        lat=loc["lat"],
        lon=loc["lon"],
    )
    async with fetch_worker(
        fetch_settings(), redis=aredis, source_http=owm_http, weather_http=weather.http
    ) as worker:
        await worker.handler(task, context_for(task))
    return CategorizeTask(location_id=task.location_id, window=task.window)


async def _conditions(weather: WeatherService, location_id: str) -> list[dict[str, Any]]:
    page = (await weather.http.get(f"/v1/locations/{location_id}/conditions")).json()
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_a_condition_is_written_with_label_and_reasons(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    task = await _fetched(weather, owm_http, aredis, 1)
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with categorize_worker(
        categorize_settings(), redis=aredis, weather_http=weather.http
    ) as worker:
        outcome = await worker.handler(task, context_for(task))
    after = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert isinstance(outcome, Done)
    [condition] = await _conditions(weather, task.location_id)
    assert condition["label"] in LABELS and condition["label"] != "unknown"
    assert condition["reasons"] and condition["rule_id"]
    assert condition["classifier_version"]
    valid_for = datetime.fromisoformat(condition["valid_for"].replace("Z", "+00:00"))
    assert valid_for in (before, after)


async def _run_until_idle(weather: WeatherService, aredis: Any) -> Any:
    """A categorize worker over the stream until it is idle; its counts."""
    async with categorize_worker(
        categorize_settings(), redis=aredis, weather_http=weather.http, **FAST_WORKER
    ) as worker:
        return await worker.run(until_idle=True)


async def test_the_worker_consumes_the_categorization_stream(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    task = await _fetched(weather, owm_http, aredis, 2)
    await aredis.xadd(pipeline_keys.CATEGORIZATION_STREAM, PIPELINE_CODEC.encode(task))
    counts = await _run_until_idle(weather, aredis)
    assert len(await _conditions(weather, task.location_id)) == 1
    assert counts is not None


@pytest.mark.parametrize("path", ["no_colon", "services.nowhere:Thing", "services.tasks:Nope"])
async def test_a_bad_classifier_fails_at_start_naming_it(path: str, aredis: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"CLASSIFIER") as info:
        async with categorize_worker(categorize_settings(classifier=path), redis=aredis):
            pass
    assert path in str(info.value)


async def test_an_unknown_location_in_a_batched_read_fails_only_its_own_task(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    known = await _fetched(weather, owm_http, aredis, 3)
    unknown = CategorizeTask(location_id="nowhere-0001", window=known.window)
    for task in (known, unknown):
        await aredis.xadd(pipeline_keys.CATEGORIZATION_STREAM, PIPELINE_CODEC.encode(task))
    counts = await _run_until_idle(weather, aredis)
    assert len(await _conditions(weather, known.location_id)) == 1
    assert counts.done == 1 and counts.dead_lettered == 1
    [(_id, fields)] = await aredis.xrange(
        keys.dead_letter_stream(pipeline_keys.CATEGORIZATION_STREAM)
    )
    assert fields[b"dlq_error_type"] == b"WeatherServiceNotFound"
    assert b"nowhere-0001" in fields[b"dlq_error"]
