"""``trail-etl migrate-keys``: a Redis of the layout before hash tags moved to today's names.

The old layout only ever ran on a single real Redis, so these tests run on a real redis-server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from typer.testing import CliRunner

from etl_core import keys
from services import pipeline_keys
from services.cli import app
from services.key_migration import MigrationRefused, MoveState, migrate, plan
from tests.conftest import RedisBackend
from tests.services.conftest import WeatherService, owm_total_calls, trail
from tests.services.pipeline.failure_support import (
    assert_nothing_pending,
    latest_conditions,
    run_categorize,
    run_fetch,
    schedule,
)
from tests.support.redis_server import RedisServer

OLD_INGEST = "owm-ingestion-stream"
OLD_CATEGORIZE = "owm-categorization-stream"
OLD_DAY = "etl:ratelimit:owm:day"
OLD_WINDOW = "etl:ratelimit:owm:window:60000"
OLD_BREAKER = "etl:breaker:owm"
OLD_PAUSE = "etl:pause:fetch-weather"
OLD_MARKERS = "etl:published:owm-ingestion-stream:20000"
runner = CliRunner()


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    yield client
    client.flushall()
    client.close()


def old_layout(client: redis.Redis) -> None:
    """What a worker fleet of the old layout leaves when stopped: unread and pending tasks, dead
    letters, a delayed retry, the window's publish markers and the shared limiter's state."""
    for n in range(3):
        client.xadd(OLD_INGEST, {"task_id": f"t{n}", "attempts": "0"})
    client.xgroup_create(OLD_INGEST, pipeline_keys.FETCH_GROUP, id="0")
    client.xreadgroup(pipeline_keys.FETCH_GROUP, "old-worker", {OLD_INGEST: ">"}, count=1)
    client.xadd(f"{OLD_INGEST}:dlq", {"task_id": "dead", "dlq_error_type": "OwmNotFound"})
    client.zadd(f"etl:delayed:{OLD_CATEGORIZE}", {'{"task_id": "later"}': 1.0})
    client.hset(OLD_MARKERS, mapping={"t0": "1", "t1": "1", "t2": "1"})
    client.pexpire(OLD_MARKERS, 3_600_000)
    client.hset(OLD_DAY, mapping={"day": "20500", "count": "917"})
    client.pexpire(OLD_DAY, 90_000_000)
    client.zadd(OLD_WINDOW, {"a": 1.0, "b": 2.0})
    client.hset(OLD_BREAKER, mapping={"state": "0"})
    client.hset(OLD_PAUSE, mapping={"source": "manual", "reason": "bill"})


def test_every_old_key_moves_whole_with_its_ttl(client: redis.Redis) -> None:
    old_layout(client)
    before = {key: client.dump(key) for key in client.keys("*")}
    planned = plan(client)
    assert {m.state for m in planned} == {MoveState.TO_MOVE}
    assert {m.old for m in planned} == set(before)
    assert {key: client.dump(key) for key in client.keys("*")} == before, "plan changed Redis"

    moved = migrate(client)
    assert {m.state for m in moved} == {MoveState.MOVED}
    assert not set(client.keys("*")) & set(before), "an old key was left behind"

    new_ingest = pipeline_keys.INGESTION_STREAM
    assert [f["task_id"] for _id, f in client.xrange(new_ingest)] == ["t0", "t1", "t2"]
    (pending,) = client.xpending_range(new_ingest, pipeline_keys.FETCH_GROUP, "-", "+", 10)
    assert pending["consumer"] == "old-worker", "a stopped worker's task must stay pending"
    assert [f["task_id"] for _id, f in client.xrange(keys.dead_letter_stream(new_ingest))] == [
        "dead"
    ]
    assert client.zcard(keys.delayed_set(pipeline_keys.CATEGORIZATION_STREAM)) == 1
    assert client.hgetall(keys.rate_limit_day(pipeline_keys.OWM_RATE_LIMITER)) == {
        "day": "20500",
        "count": "917",
    }
    assert client.zcard(keys.rate_limit_window(pipeline_keys.OWM_RATE_LIMITER, 60_000)) == 2
    assert client.hgetall(keys.stage_pause(pipeline_keys.FETCH_GROUP))["reason"] == "bill"
    assert client.hlen(keys.breaker(pipeline_keys.OWM_BREAKER)) == 1
    markers = keys.published_markers(new_ingest, 20000)
    assert client.hlen(markers) == 3
    assert 0 < client.pttl(markers) <= 3_600_000
    assert 0 < client.pttl(keys.rate_limit_day(pipeline_keys.OWM_RATE_LIMITER)) <= 90_000_000
    assert client.pttl(keys.breaker(pipeline_keys.OWM_BREAKER)) == -1, (
        "a key without a TTL gained one"
    )

    assert plan(client) == [], "a second run finds nothing to move"


def test_a_run_stopped_between_restore_and_delete_finishes_on_the_next(
    client: redis.Redis,
) -> None:
    old_layout(client)
    client.restore(pipeline_keys.INGESTION_STREAM, 0, client.dump(OLD_INGEST))
    states = {m.old: m.state for m in plan(client)}
    assert states[OLD_INGEST] is MoveState.ALREADY_MOVED
    migrate(client)
    assert not client.exists(OLD_INGEST)
    assert client.xlen(pipeline_keys.INGESTION_STREAM) == 3


def test_an_empty_stream_made_by_a_new_worker_is_replaced(client: redis.Redis) -> None:
    old_layout(client)
    client.xgroup_create(
        pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP, id="0", mkstream=True
    )
    migrate(client)
    assert client.xlen(pipeline_keys.INGESTION_STREAM) == 3


def test_refused_and_nothing_changed_while_a_worker_runs(client: redis.Redis) -> None:
    old_layout(client)
    client.set(keys.heartbeat(pipeline_keys.CATEGORIZE_GROUP, "vm-1-abc"), "{}", px=60_000)
    before = {key: client.dump(key) for key in client.keys("*")}
    with pytest.raises(MigrationRefused, match="categorize-trail-conditions/vm-1-abc"):
        migrate(client)
    assert {key: client.dump(key) for key in client.keys("*")} == before


def test_refused_and_nothing_changed_when_both_layouts_hold_data(client: redis.Redis) -> None:
    old_layout(client)
    client.xadd(pipeline_keys.INGESTION_STREAM, {"task_id": "new"})
    before = {key: client.dump(key) for key in client.keys("*")}
    with pytest.raises(MigrationRefused, match=f"{OLD_INGEST} -> "):
        migrate(client)
    assert {key: client.dump(key) for key in client.keys("*")} == before


def test_cli_dry_run_then_migrate(
    client: redis.Redis, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    old_layout(client)
    env = {"REDIS_URL": redis_server.url, "COLUMNS": "200"}
    dry = runner.invoke(app, ["migrate-keys", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would move 8 key(s)" in dry.output
    assert client.exists(OLD_INGEST)

    client.set(keys.heartbeat(pipeline_keys.FETCH_GROUP, "vm-2-def"), "{}", px=60_000)
    refused = runner.invoke(app, ["migrate-keys"], env=env)
    assert refused.exit_code == 2
    assert "migrate-keys refused: 1 worker(s) still running (fetch-weather/vm-2-def)" in (
        refused.output
    )
    assert "Traceback" not in refused.output
    client.delete(keys.heartbeat(pipeline_keys.FETCH_GROUP, "vm-2-def"))

    done = runner.invoke(app, ["migrate-keys"], env=env)
    assert done.exit_code == 0, done.output
    assert "moved 8 key(s)" in done.output
    again = runner.invoke(app, ["migrate-keys"], env=env)
    assert again.exit_code == 0 and "nothing to migrate" in again.output


@pytest.fixture
def real_backend(redis_server: RedisServer) -> Iterator[RedisBackend]:
    import redis.asyncio as aioredis

    flush = redis.Redis.from_url(redis_server.url)
    flush.flushall()
    yield RedisBackend(
        kind="real",
        make_sync=lambda: redis.Redis.from_url(redis_server.url),
        make_async=lambda: aioredis.Redis.from_url(redis_server.url),
        url=redis_server.url,
    )
    flush.flushall()
    flush.close()


def to_old_names(client: Any) -> None:
    """Rename today's keys to the old layout's names: the state an old fleet leaves."""
    renames = {
        pipeline_keys.INGESTION_STREAM: OLD_INGEST,
        pipeline_keys.CATEGORIZATION_STREAM: OLD_CATEGORIZE,
    }
    prefix = keys.published_marker_prefix(pipeline_keys.INGESTION_STREAM)
    for raw in client.scan_iter(match=f"{prefix}*"):
        name = raw.decode()
        renames[name] = f"etl:published:{OLD_INGEST}:{name[len(prefix) :]}"
    for new, old in renames.items():
        if client.exists(new):
            client.rename(new, old)


async def test_an_old_fleets_tasks_finish_after_the_migration_and_a_rerun_publishes_nothing(
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    real_backend: RedisBackend,
    tmp_path: Path,
) -> None:
    locations = 6
    ids = [trail(n)["id"] for n in range(locations)]
    await weather.client.upsert_locations([trail(n) for n in range(locations)])
    assert await schedule(weather, real_backend, tmp_path) == locations
    sync = real_backend.make_sync()
    aredis = real_backend.make_async()
    try:
        # An old worker read two tasks and was stopped before finishing them.
        sync.xgroup_create(pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP, id="0")
        sync.xreadgroup(
            pipeline_keys.FETCH_GROUP, "old-worker", {pipeline_keys.INGESTION_STREAM: ">"}, count=2
        )
        to_old_names(sync)
        assert not sync.exists(pipeline_keys.INGESTION_STREAM)

        moved = migrate(sync)
        assert {m.old for m in moved} >= {OLD_INGEST}
        assert await schedule(weather, real_backend, tmp_path) == 0, (
            "the moved publish markers keep a rerun of the window from publishing again"
        )
        fetched = await run_fetch(
            weather, owm_http, aredis, reclaim_idle_ms=200, handler_timeout_s=0.1
        )
        categorized = await run_categorize(weather, aredis)
        assert (fetched.forwarded, fetched.dead_lettered) == (locations, 0)
        assert (categorized.done, categorized.dead_lettered) == (locations, 0)
        assert sorted(await latest_conditions(weather)) == sorted(ids)
        await assert_nothing_pending(aredis)
        assert await owm_total_calls(owm_http) >= locations
    finally:
        sync.close()
        await aredis.aclose()
