"""Every component runs under the ACL rules docs/operations.md gives it, on a real redis-server:
it does its job and Redis denies it nothing (``ACL LOG`` stays empty); a user without a needed
permission is refused with the command named."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from typer.testing import CliRunner

from etl_core import keys
from etl_core.breaker import CircuitBreaker
from etl_core.pause import PauseSource
from etl_core.producer import StreamProducer
from etl_core.redis_client import RedisRetryOptions, async_client, sync_client
from services import pipeline_keys
from services.categorize.wiring import categorize_worker
from services.cli import app
from services.fetch_weather.wiring import fetch_worker, rate_limiter
from services.schedule_jobs.run import ScheduleOptions, run_schedule
from services.worker_metrics import pipeline_worker_metrics, refresh_gauges
from tests.services.conftest import WeatherService, owm_calls, trail
from tests.services.pipeline.helpers import FAST_WORKER, categorize_settings, fetch_settings
from tests.support.redis_server import RedisServer, redis_server_binary, require_or_skip

OPERATIONS_DOC = Path(__file__).parents[2] / "docs" / "operations.md"
ADMIN_PASSWORD = "admin-pw-for-tests"
LOCATIONS = 3
# The worker's chores (reclaim, trim, pruning, delayed retries) run at every turn.
EVERY_CHORE = {"reclaim_interval_ms": 1, "housekeeping_interval_ms": 1, "trim_interval_ms": 1}
runner = CliRunner()


def documented_acl_rules() -> dict[str, list[str]]:
    """``ACL SETUSER`` rules of the ```acl block of docs/operations.md, by user name."""
    block = re.search(r"```acl\n(.*?)```", OPERATIONS_DOC.read_text(encoding="utf-8"), re.S)
    assert block, "docs/operations.md has no ```acl block"
    rules = {}
    for line in block.group(1).splitlines():
        words = shlex.split(line)
        assert words[:2] == ["ACL", "SETUSER"], line
        rules[words[2]] = words[3:]
    assert set(rules) == {"trail-worker", "trail-scheduler", "trail-viewer", "trail-operator"}
    return rules


class AclRedis:
    """A redis-server with the documented users, each with password ``pw-<user>``."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.admin = redis.Redis.from_url(server.url, decode_responses=True)
        for user, rules in documented_acl_rules().items():
            words = [f">{self.password(user)}" if w == ">PASSWORD" else w for w in rules]
            self.admin.execute_command("ACL", "SETUSER", user, *words)

    @staticmethod
    def password(user: str) -> str:
        return f"pw-{user}"

    def url(self, user: str) -> str:
        return self.server.url_for(user, self.password(user))

    def denials(self) -> list[Any]:
        return list(self.admin.execute_command("ACL", "LOG"))

    def assert_nothing_denied(self) -> None:
        denied = self.denials()
        assert denied == [], denied


@pytest.fixture
def acl_redis() -> Iterator[AclRedis]:
    require_or_skip("redis-server", redis_server_binary() is not None)
    server = RedisServer(password=ADMIN_PASSWORD)
    server.start()
    try:
        yield AclRedis(server)
    finally:
        server.close()


async def test_scheduler_and_workers_do_their_jobs_under_their_acls(
    acl_redis: AclRedis, weather: WeatherService, owm_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])
    scheduler = sync_client(acl_redis.url("trail-scheduler"), RedisRetryOptions())
    try:
        report = await run_schedule(
            ScheduleOptions(outbox_path=tmp_path / "outbox.sqlite3"),
            weather=weather.client,
            producer=StreamProducer(scheduler, pipeline_keys.INGESTION_STREAM, max_backlog=1000),
            now=datetime.now(UTC),
        )
    finally:
        scheduler.close()
    assert report.published == LOCATIONS
    acl_redis.assert_nothing_denied()

    worker_redis = async_client(acl_redis.url("trail-worker"), RedisRetryOptions())
    try:
        settings = fetch_settings()
        async with fetch_worker(
            settings,
            redis=worker_redis,
            source_http=owm_http,
            weather_http=weather.http,
            concurrency=2,
            **FAST_WORKER,
            **EVERY_CHORE,
        ) as fetcher:
            await fetcher.run(until_idle=True)
        async with categorize_worker(
            categorize_settings(),
            redis=worker_redis,
            weather_http=weather.http,
            concurrency=2,
            **FAST_WORKER,
            **EVERY_CHORE,
        ) as categorizer:
            await categorizer.run(until_idle=True)
        await refresh_gauges(  # what the metrics refresher reads
            pipeline_worker_metrics(pipeline_keys.FETCH_GROUP),
            worker_redis,
            stream=pipeline_keys.INGESTION_STREAM,
            breakers=[CircuitBreaker(worker_redis, pipeline_keys.OWM_BREAKER)],
            limiter=rate_limiter(worker_redis, settings),
        )
    finally:
        await worker_redis.aclose()
    assert fetcher.counts.forwarded == LOCATIONS and fetcher.counts.dead_lettered == 0
    assert categorizer.counts.done == LOCATIONS and categorizer.counts.dead_lettered == 0
    assert await owm_calls(owm_http, "onecall") == LOCATIONS
    acl_redis.assert_nothing_denied()


def _seed(admin: redis.Redis) -> str:
    """A stream with a group and a consumer, a dead letter, a breaker outcome, a paused stage;
    the dead letter's id."""
    admin.xadd(pipeline_keys.INGESTION_STREAM, {"type": "t"})
    admin.xgroup_create(pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP, id="0")
    admin.xreadgroup(
        pipeline_keys.FETCH_GROUP, "c1", {pipeline_keys.INGESTION_STREAM: ">"}, count=1
    )
    admin.set(keys.heartbeat(pipeline_keys.FETCH_GROUP, "c1"), "{}")
    admin.rpush(keys.breaker_calls(pipeline_keys.OWM_BREAKER), "f1")
    admin.hset(
        keys.stage_pause(pipeline_keys.CATEGORIZE_GROUP), mapping={"source": PauseSource.MANUAL}
    )
    dead = keys.dead_letter_stream(pipeline_keys.INGESTION_STREAM)
    return str(admin.xadd(dead, {"type": "t", "task_id": "t:1", "dlq_error_type": "Boom"}))


def _ok(url: str, *args: str) -> str:
    result = runner.invoke(app, list(args), env={"REDIS_URL": url, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_viewer_reads_status_and_dead_letters_with_read_commands_only(
    acl_redis: AclRedis,
) -> None:
    entry_id = _seed(acl_redis.admin)
    url = acl_redis.url("trail-viewer")
    status = json.loads(_ok(url, "status", "--json"))
    (ingestion,) = [s for s in status["streams"] if s["name"] == pipeline_keys.INGESTION_STREAM]
    assert ingestion["dead_letters"]["by_error_type"] == {"Boom": 1}
    assert ingestion["groups"][0]["consumers"][0]["alive"] is True
    assert [s["paused"] for s in status["stages"]] == [False, True]
    assert status["breakers"][0]["window_failures"] == 0  # "f1" is long out of the window
    assert "breaker owm: closed" in _ok(url, "status")
    assert "Boom" in _ok(url, "dlq", "list", pipeline_keys.INGESTION_STREAM)
    assert "t:1" in _ok(url, "dlq", "show", pipeline_keys.INGESTION_STREAM, entry_id)
    assert "c1" in _ok(url, "tasks", "active")
    _ok(url, "tasks", "delayed")
    assert "dead in fetch-weather" in _ok(url, "task", "show", "t:1")
    acl_redis.assert_nothing_denied()


def test_the_operator_redrives_purges_pauses_and_resumes(acl_redis: AclRedis) -> None:
    entry_id = _seed(acl_redis.admin)
    url = acl_redis.url("trail-operator")
    assert "redrove 1 entries" in _ok(
        url, "dlq", "redrive", pipeline_keys.INGESTION_STREAM, "--id", entry_id
    )
    dead = keys.dead_letter_stream(pipeline_keys.INGESTION_STREAM)
    acl_redis.admin.xadd(dead, {"type": "t", "task_id": "t:2", "dlq_error_type": "Boom"})
    assert "purged 1 entries" in _ok(
        url, "dlq", "purge", pipeline_keys.INGESTION_STREAM, "--all", "--yes"
    )
    assert "paused fetch-weather" in _ok(url, "pause", pipeline_keys.FETCH_GROUP)
    assert "resumed fetch-weather" in _ok(url, "resume", pipeline_keys.FETCH_GROUP)
    _ok(url, "status")
    acl_redis.assert_nothing_denied()


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["dlq", "purge", pipeline_keys.INGESTION_STREAM, "--all", "--yes"], "xdel"),
        (["dlq", "redrive", pipeline_keys.INGESTION_STREAM, "--all"], "evalsha"),
        (["pause", pipeline_keys.FETCH_GROUP], "evalsha"),
    ],
)
def test_the_viewer_may_not_write(acl_redis: AclRedis, args: list[str], command: str) -> None:
    _seed(acl_redis.admin)
    result = runner.invoke(app, args, env={"REDIS_URL": acl_redis.url("trail-viewer")})
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert f"Redis ACL permission missing: the user may not run '{command}'" in line
    assert acl_redis.password("trail-viewer") not in result.output
