"""fetch-weather: records stored, categorize task forwarded, one paid call per task, backfill."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from etl_core.errors import BreakerOpen, RateLimited, TransientError
from etl_core.outcomes import Forward
from etl_core.windows import window_label
from mock_owm.app import create_app as create_mock_owm
from mock_owm.settings import MockOwmSettings
from services import pipeline_keys
from services.fetch_weather import keys as fetch_keys
from services.fetch_weather.gate import COMPRESSED, _encode_cached
from services.fetch_weather.handler import FetchWeatherHandler
from services.fetch_weather.history import HistoryOptions, start_of_hour
from services.fetch_weather.wiring import fetch_worker
from services.tasks import PIPELINE_CODEC, CategorizeTask, IngestTask
from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN
from tests.services.conftest import (
    OWM_BASE,
    OWM_KEY,
    WeatherService,
    owm_calls,
    owm_total_calls,
    trail,
)
from tests.services.pipeline.helpers import FAST_WORKER, context_for, fetch_settings, ingest


@pytest.fixture
async def handler(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> AsyncIterator[FetchWeatherHandler]:
    await weather.client.upsert_locations([trail(n) for n in range(3)])
    async with fetch_worker(
        fetch_settings(), redis=aredis, source_http=owm_http, weather_http=weather.http
    ) as worker:
        assert isinstance(worker.handler, FetchWeatherHandler)
        yield worker.handler


async def _observed_72h(weather: WeatherService, location_id: str) -> int:
    now = datetime.now(UTC)
    records = await weather.client.weather_records(
        location_id, start=now - timedelta(hours=72), end=now + timedelta(hours=1), kind="observed"
    )
    return len(records)


async def test_new_location_is_backfilled_and_forwarded(
    handler: FetchWeatherHandler, weather: WeatherService, owm_http: httpx.AsyncClient
) -> None:
    task = ingest(0)
    outcome = await handler(task, context_for(task))
    assert isinstance(outcome, Forward)
    assert outcome.tasks == [CategorizeTask(location_id=task.location_id, window=task.window)]
    assert await owm_calls(owm_http, "onecall") == 1
    assert await owm_calls(owm_http, "day_summary") == 3
    assert await _observed_72h(weather, task.location_id) >= 48
    forecast = await weather.client.weather_records(
        task.location_id,
        start=datetime.now(UTC),
        end=datetime.now(UTC) + timedelta(hours=49),
        kind="forecast",
    )
    assert len(forecast) >= 40


async def test_no_backfill_when_history_exists(
    handler: FetchWeatherHandler, owm_http: httpx.AsyncClient
) -> None:
    first = ingest(1)
    await handler(first, context_for(first))
    summaries = await owm_calls(owm_http, "day_summary")
    assert summaries >= 1
    later = ingest(1, datetime.now(UTC) + timedelta(hours=1))
    await handler(later, context_for(later))
    assert await owm_calls(owm_http, "day_summary") == summaries
    assert await owm_calls(owm_http, "onecall") == 2


async def test_a_redelivered_task_reuses_the_cached_answer(
    handler: FetchWeatherHandler, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    task = ingest(2)
    await handler(task, context_for(task))
    calls = await owm_total_calls(owm_http)
    again = await handler(task, context_for(task))
    assert isinstance(again, Forward)
    assert await owm_calls(owm_http, "onecall") == 1
    assert await owm_total_calls(owm_http) == calls
    ttl_s = await aredis.ttl(fetch_keys.answer_cache("owm", "onecall", task.identity()))
    assert 0 < ttl_s <= fetch_settings().answer_cache_ttl_s() == 3600


async def test_worker_forwards_to_the_categorization_stream(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(4)])
    tasks = [ingest(n) for n in range(4)]
    for task in tasks:
        await aredis.xadd(pipeline_keys.INGESTION_STREAM, PIPELINE_CODEC.encode(task))
    async with fetch_worker(
        fetch_settings(),
        redis=aredis,
        source_http=owm_http,
        weather_http=weather.http,
        **FAST_WORKER,
    ) as worker:
        await worker.run(until_idle=True)
    entries = await aredis.xrange(pipeline_keys.CATEGORIZATION_STREAM)
    forwarded = {PIPELINE_CODEC.decode(fields).task_id for _, fields in entries}
    assert forwarded == {f"owm.categorize:{t.identity()}" for t in tasks}
    assert await owm_calls(owm_http, "onecall") == 4


async def test_only_missing_days_are_backfilled(
    handler: FetchWeatherHandler, weather: WeatherService, owm_http: httpx.AsyncClient
) -> None:
    task = ingest(1)
    answer = await owm_http.get(
        "/data/3.0/onecall", params={"lat": task.lat, "lon": task.lon, "appid": OWM_KEY}
    )
    offset = timedelta(seconds=answer.json()["timezone_offset"])  # day_summary days are local
    now = datetime.now(UTC)
    local_today = (now + offset).date()
    local_yesterday = datetime.combine(local_today - timedelta(days=1), datetime.min.time(), UTC)
    stored = [
        {
            "location_id": task.location_id,
            "hour": (local_yesterday - offset + timedelta(hours=h)).isoformat(),
            "kind": "observed",
            "temperature_c": 3.0,
            "source": "test",
            "fetched_at": now.isoformat(),
        }
        for h in range(24)
    ]
    await weather.client.upsert_weather(stored)
    history = await handler.coverage.check(task.location_id, start_of_hour(now))
    assert history.missing_days(start_of_hour(now), offset, 3) == [
        local_today - timedelta(days=3),
        local_today - timedelta(days=2),
    ]
    await handler(task, context_for(task))
    assert await owm_calls(owm_http, "day_summary") == 2


async def test_every_paid_call_goes_through_the_shared_rate_limiter(
    weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    await weather.client.upsert_locations([trail(0)])
    settings = fetch_settings(owm_rate_limit_per_day=2, owm_rate_limit_wait_s=0)
    task = ingest(0)
    async with fetch_worker(
        settings, redis=aredis, source_http=owm_http, weather_http=weather.http
    ) as worker:
        with pytest.raises(RateLimited):
            await worker.handler(task, context_for(task))
        with pytest.raises(RateLimited):  # the two answers paid for are cached, not paid again
            await worker.handler(task, context_for(task))
    assert await owm_total_calls(owm_http) == 2


async def test_the_shared_breaker_opens_after_failures(
    weather: WeatherService, aredis: Any
) -> None:
    await weather.client.upsert_locations([trail(0)])
    settings = fetch_settings(
        owm_breaker_minimum_calls=2, owm_breaker_reset_timeout_s=600, owm_transient_attempts=1
    )
    failing = create_mock_owm(
        MockOwmSettings.load(error_rate=1.0, seed=1, admin_token=ADMIN_TOKEN)
    )
    transport = httpx.ASGITransport(app=failing)
    async with (
        httpx.AsyncClient(transport=transport, base_url=OWM_BASE) as owm_http,
        fetch_worker(
            settings, redis=aredis, source_http=owm_http, weather_http=weather.http
        ) as worker,
    ):
        task = ingest(0)
        for _ in range(2):
            with pytest.raises(TransientError):
                await worker.handler(task, context_for(task))
        with pytest.raises(BreakerOpen):
            await worker.handler(task, context_for(task))
        assert await owm_total_calls(owm_http) == 2


async def test_transient_failures_are_retried_in_process_before_the_task_fails(
    weather: WeatherService, aredis: Any
) -> None:
    await weather.client.upsert_locations([trail(0)])
    settings = fetch_settings(owm_breaker_minimum_calls=50, owm_transient_attempts=3)
    failing = create_mock_owm(
        MockOwmSettings.load(error_rate=1.0, seed=1, admin_token=ADMIN_TOKEN)
    )
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=failing), base_url=OWM_BASE
        ) as owm_http,
        fetch_worker(
            settings, redis=aredis, source_http=owm_http, weather_http=weather.http
        ) as worker,
    ):
        task = ingest(0)
        with pytest.raises(TransientError):
            await worker.handler(task, context_for(task))
        assert await owm_total_calls(owm_http) == 3  # the first day_summary, three times


def _count_history_reads(
    handler: FetchWeatherHandler, monkeypatch: pytest.MonkeyPatch
) -> list[Any]:
    calls: list[Any] = []
    client = handler.coverage._weather
    original = client.weather_records

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await original(*args, **kwargs)

    monkeypatch.setattr(client, "weather_records", counted)
    return calls


async def test_covered_history_is_not_read_again_until_it_could_fall_short(
    handler: FetchWeatherHandler,
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = _count_history_reads(handler, monkeypatch)
    first = ingest(0)
    await handler(first, context_for(first))
    assert len(reads) == 1
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    observed = len(
        await weather.client.weather_records(
            first.location_id,
            start=this_hour - timedelta(hours=72),
            end=this_hour + timedelta(hours=1),
            kind="observed",
        )
    )
    ttl_s = await aredis.ttl(fetch_keys.history_covered(first.location_id))
    # Covered for as many hours as the stored observations exceed the minimum of 48, less the
    # part of this hour already gone: never longer than the history can really stay covered.
    assert 0 < ttl_s <= (observed - 48) * 3600

    later = ingest(0, datetime.now(UTC) + timedelta(hours=1))
    await handler(later, context_for(later))
    assert len(reads) == 1  # the mark answered
    assert await owm_calls(owm_http, "day_summary") == 3

    await aredis.delete(fetch_keys.history_covered(first.location_id))
    again = ingest(0, datetime.now(UTC) + timedelta(hours=2))
    await handler(again, context_for(again))
    assert len(reads) == 2  # without the mark the service is asked, and history suffices
    assert await owm_calls(owm_http, "day_summary") == 3


async def test_the_coverage_mark_lasts_until_the_count_would_drop_below_the_minimum(
    handler: FetchWeatherHandler, weather: WeatherService, aredis: Any
) -> None:
    task = ingest(1)
    now = datetime.now(UTC)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    stored = [
        {
            "location_id": task.location_id,
            "hour": (this_hour - timedelta(hours=h)).isoformat(),
            "kind": "observed",
            "temperature_c": 3.0,
            "source": "test",
            "fetched_at": now.isoformat(),
        }
        for h in range(60)  # this hour and the 59 before it
    ]
    await weather.client.upsert_weather(stored)
    await handler(task, context_for(task))
    # 60 observed hours, 12 to spare: the 13th oldest (this_hour - 47 h) leaves the 72 h window
    # 25 h from this hour.
    ttl_s = await aredis.ttl(fetch_keys.history_covered(task.location_id))
    expected_s = (this_hour + timedelta(hours=25) - now).total_seconds()
    assert expected_s - 60 <= ttl_s <= expected_s


async def test_too_little_history_sets_no_coverage_mark(
    handler: FetchWeatherHandler, weather: WeatherService, aredis: Any, owm_http: httpx.AsyncClient
) -> None:
    await httpx_post_faults(owm_http, {"error_rate": 0.0})
    task = ingest(2)
    handler.coverage.options = HistoryOptions(history_h=72, min_observed_h=72, max_backfill_days=1)
    await handler(task, context_for(task))
    assert await owm_calls(owm_http, "day_summary") == 1
    assert not await aredis.exists(fetch_keys.history_covered(task.location_id))


async def httpx_post_faults(owm_http: httpx.AsyncClient, faults: dict[str, Any]) -> None:
    response = await owm_http.post("/__faults", json=faults, headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text


async def test_a_malformed_cached_answer_is_dropped_so_the_retry_asks_again(
    handler: FetchWeatherHandler, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    task = ingest(2)
    key = fetch_keys.answer_cache("owm", "onecall", task.identity())
    await aredis.set(key, _encode_cached({"current": {"dt": 1}}, datetime.now(UTC)))
    await aredis.set(fetch_keys.history_covered(task.location_id), "1", ex=60)
    with pytest.raises(TransientError, match="malformed"):
        await handler(task, context_for(task))
    assert not await aredis.exists(key)
    assert await owm_calls(owm_http, "onecall") == 0

    outcome = await handler(task, context_for(task))
    assert isinstance(outcome, Forward)
    assert await owm_calls(owm_http, "onecall") == 1
    assert (await aredis.get(key)).startswith(COMPRESSED)


async def test_a_location_far_from_utc_backfills_its_local_days_once(
    handler: FetchWeatherHandler, weather: WeatherService, owm_http: httpx.AsyncClient, aredis: Any
) -> None:
    # Queenstown, New Zealand: UTC+12 or +13. day_summary takes a local date; counting UTC days
    # instead left the history short and cost two day_summary calls again every window.
    body = {**trail(9), "id": "queenstown", "lat": -45.03, "lon": 168.66}
    await weather.client.upsert_locations([body])
    task = IngestTask(
        location_id="queenstown",
        window=window_label(datetime.now(UTC), "1h"),
        lat=-45.03,
        lon=168.66,
    )
    await handler(task, context_for(task))
    assert await owm_calls(owm_http, "day_summary") == 3
    assert await aredis.exists(fetch_keys.history_covered("queenstown"))

    await aredis.delete(fetch_keys.history_covered("queenstown"))  # make the next task look again
    later = IngestTask(
        location_id="queenstown",
        window=window_label(datetime.now(UTC) + timedelta(hours=1), "1h"),
        lat=-45.03,
        lon=168.66,
    )
    await handler(later, context_for(later))
    assert await owm_calls(owm_http, "day_summary") == 3  # the stored history was enough
