"""schedule-jobs: tasks land once, re-runs add nothing, leftovers first, location files."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from etl_core.outbox import SqliteOutbox
from etl_core.producer import StreamProducer
from services import pipeline_keys
from services.schedule_jobs.locations import LocationsFileError
from services.schedule_jobs.run import ScheduleOptions, producer_for, run_schedule
from services.schedule_jobs.settings import ScheduleSettings
from services.tasks import PIPELINE_CODEC, IngestTask
from tests.services.conftest import WS_API_KEY, WeatherService, trail
from tests.support.redis_server import RedisServer

NOW = datetime(2026, 11, 1, 10, 17, tzinfo=UTC)
WINDOW = "2026-11-01T10:00Z"


@pytest.fixture
def sync_redis(sredis: Any) -> Any:
    """fakeredis, and a real redis-server when there is one (``tests/conftest.py``)."""
    return sredis


def _stream_task_ids(client: Any) -> list[str]:
    return [
        fields[b"task_id"].decode() for _, fields in client.xrange(pipeline_keys.INGESTION_STREAM)
    ]


async def _run(weather: WeatherService, sync_redis: Any, tmp_path: Path, **options: Any) -> Any:
    producer = StreamProducer(sync_redis, pipeline_keys.INGESTION_STREAM)
    return await run_schedule(
        ScheduleOptions(outbox_path=tmp_path / "outbox.sqlite3", chunk_size=4, **options),
        weather=weather.client,
        producer=producer,
        now=NOW,
    )


async def test_tasks_land_once_and_a_rerun_adds_nothing(
    weather: WeatherService, sync_redis: Any, tmp_path: Path
) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(10)])
    first = await _run(weather, sync_redis, tmp_path)
    assert (first.locations, first.published) == (10, 10)
    ids = _stream_task_ids(sync_redis)
    assert sorted(ids) == sorted(f"owm.ingest:{trail(n)['id']}@{WINDOW}" for n in range(10))
    decoded = PIPELINE_CODEC.decode(
        sync_redis.xrange(pipeline_keys.INGESTION_STREAM, count=1)[0][1]
    )
    assert isinstance(decoded.task, IngestTask) and decoded.task.lat == trail(0)["lat"]

    second = await _run(weather, sync_redis, tmp_path)
    assert (second.published, second.already_published) == (0, 10)
    assert sync_redis.xlen(pipeline_keys.INGESTION_STREAM) == 10
    run = (await weather.http.get(f"/v1/runs/{second.run_id}")).json()
    assert run["status"] == "succeeded"
    assert run["counts"]["already_published"] == 10


async def test_leftovers_of_a_crashed_run_are_flushed_first(
    weather: WeatherService, sync_redis: Any, tmp_path: Path
) -> None:
    leftover = IngestTask(location_id="old-trail", window="2026-11-01T09:00Z", lat=1.0, lon=2.0)
    with SqliteOutbox(tmp_path / "outbox.sqlite3") as outbox:
        outbox.put_tasks(pipeline_keys.INGESTION_STREAM, [leftover], PIPELINE_CODEC)
    await weather.client.upsert_locations([trail(1)])
    report = await _run(weather, sync_redis, tmp_path)
    assert report.leftovers_published == 1
    assert _stream_task_ids(sync_redis) == [leftover.task_id, f"owm.ingest:trail-0001@{WINDOW}"]
    with SqliteOutbox(tmp_path / "outbox.sqlite3") as outbox:
        assert outbox.pending_count() == 0


async def test_csv_locations_file(weather: WeatherService, sync_redis: Any, tmp_path: Path) -> None:
    path = tmp_path / "trails.csv"
    path.write_text("id,name,lat,lon\na-1,A,45.1,7.2\nb-2,B,-12.5,130\n", encoding="utf-8")
    report = await _run(weather, sync_redis, tmp_path, locations_file=path)
    assert report.published == 2
    assert _stream_task_ids(sync_redis) == [f"owm.ingest:a-1@{WINDOW}", f"owm.ingest:b-2@{WINDOW}"]


async def test_json_locations_file(
    weather: WeatherService, sync_redis: Any, tmp_path: Path
) -> None:
    path = tmp_path / "trails.json"
    path.write_text(json.dumps([trail(n) for n in range(9)]), encoding="utf-8")
    report = await _run(weather, sync_redis, tmp_path, locations_file=path)
    assert (report.locations, report.published) == (9, 9)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.csv", "id,lat,lon\nok,1,2\nbad,95,2\n", r"line 3: field 'lat'"),
        ("bad.csv", "id,lat\nok,1\n", r"line 1: header lacks column\(s\) lon"),
        ("bad.json", '[{"id": "ok", "lat": 1, "lon": 2}, {"id": "x", "lat": 1}]', r"item 1.*'lon'"),
        ("bad.jsonl", '{"id": "ok", "lat": 1, "lon": 2}\n{"id": ', r"line 2"),
    ],
)
async def test_a_bad_file_names_the_line_and_field(
    weather: WeatherService, sync_redis: Any, tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LocationsFileError, match=expected):
        await _run(weather, sync_redis, tmp_path, locations_file=path)


async def test_a_bad_row_past_the_first_chunk_queues_nothing(
    weather: WeatherService, sync_redis: Any, tmp_path: Path
) -> None:
    path = tmp_path / "locations.jsonl"
    rows = [json.dumps({"id": f"t-{n}", "lat": 1.0, "lon": 2.0}) for n in range(10)]
    path.write_text("\n".join([*rows, '{"id": "t-bad", "lat": 91, "lon": 2}']), encoding="utf-8")
    with pytest.raises(LocationsFileError, match="line 11"):
        await _run(weather, sync_redis, tmp_path, locations_file=path)  # chunks of 4
    assert not sync_redis.exists(pipeline_keys.INGESTION_STREAM)
    with SqliteOutbox(tmp_path / "outbox.sqlite3") as outbox:
        assert outbox.pending_count(pipeline_keys.INGESTION_STREAM) == 0


async def test_chunks_are_published_as_they_are_read(
    weather: WeatherService, sync_redis: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers start on the first chunk while later ones are still being read."""
    await weather.client.upsert_locations([trail(n) for n in range(10)])
    seen_before_chunk: list[int] = []
    real_put = SqliteOutbox.put_tasks

    def put_tasks(self: SqliteOutbox, *args: Any, **kwargs: Any) -> int:
        seen_before_chunk.append(sync_redis.xlen(pipeline_keys.INGESTION_STREAM))
        return real_put(self, *args, **kwargs)

    monkeypatch.setattr(SqliteOutbox, "put_tasks", put_tasks)
    report = await _run(weather, sync_redis, tmp_path)  # chunks of 4: 4, 4, 2
    assert report.published == 10
    assert seen_before_chunk == [0, 4, 8]


@pytest.mark.redis_real
async def test_a_run_completes_across_a_redis_restart(
    weather: WeatherService, aof_redis_server: RedisServer, tmp_path: Path
) -> None:
    """Redis is down when the run starts and back ~3 s later, longer than the client's own
    retries here (2): the publish rounds are tried again until it answers."""
    await weather.client.upsert_locations([trail(n) for n in range(40)])
    settings = ScheduleSettings.load(
        redis_url=aof_redis_server.url, weather_service_api_key=WS_API_KEY, redis_retry_attempts=2
    )
    client = settings.sync_redis()
    producer = producer_for(
        client,
        max_backlog=None,
        backpressure_timeout_s=settings.backpressure_timeout_s,
        redis_unavailable_timeout_s=settings.redis_unavailable_timeout_s,
    )
    aof_redis_server.kill()
    restarter = threading.Timer(3.0, aof_redis_server.start)
    restarter.start()
    try:
        with capture_logs() as logs:
            report = await run_schedule(
                ScheduleOptions(outbox_path=tmp_path / "outbox.sqlite3", chunk_size=4),
                weather=weather.client,
                producer=producer,
                now=NOW,
            )
    finally:
        restarter.join(timeout=30)
    assert (report.locations, report.published, report.already_published) == (40, 40, 0)
    ids = _stream_task_ids(client)
    assert sorted(ids) == sorted(f"owm.ingest:{trail(n)['id']}@{WINDOW}" for n in range(40))
    retries = [e for e in logs if e["event"] == "publish_redis_unavailable"]
    assert retries and all(e["log_level"] == "warning" for e in retries)
    run = (await weather.http.get(f"/v1/runs/{report.run_id}")).json()
    assert run["status"] == "succeeded"
    client.close()
