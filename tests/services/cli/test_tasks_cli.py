"""``trail-etl tasks active|delayed`` and ``trail-etl task show`` on a real redis-server holding a
task in each place it can be."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from etl_core import keys
from services import pipeline_keys
from services.cli import app
from tests.support.redis_server import RedisServer

runner = CliRunner()
WINDOW = "2026-12-04T06:00Z"


def task_fields(location: str, kind: str = "owm.ingest") -> dict[str, str]:
    return {
        "type": kind,
        "v": "1",
        "task_id": f"{kind}:{location}@{WINDOW}",
        "payload": json.dumps({"location_id": location, "window": WINDOW, "lat": 1, "lon": 2}),
        "attempts": "0",
    }


@pytest.fixture
def seeded(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """loc-run is held by consumer c1; loc-wait is delayed 60 s; loc-dead is dead-lettered;
    loc-queued is in the stream unread; loc-cat's categorize task is held as well."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    ingest = pipeline_keys.INGESTION_STREAM
    client.xgroup_create(ingest, pipeline_keys.FETCH_GROUP, id="0", mkstream=True)
    client.xadd(ingest, task_fields("loc-run"))
    client.xreadgroup(pipeline_keys.FETCH_GROUP, "c1", {ingest: ">"}, count=1)
    client.xadd(ingest, task_fields("loc-queued"))
    now_s, _us = client.time()
    waiting = {**task_fields("loc-wait"), "attempts": "2"}
    client.zadd(keys.delayed_set(ingest), {json.dumps(waiting): now_s * 1000 + 60_000})
    client.xadd(
        keys.dead_letter_stream(ingest),
        {**task_fields("loc-dead"), "dlq_error_type": "OwmNotFound", "dlq_error": "HTTP 404"},
    )
    cat = pipeline_keys.CATEGORIZATION_STREAM
    client.xgroup_create(cat, pipeline_keys.CATEGORIZE_GROUP, id="0", mkstream=True)
    client.xadd(cat, task_fields("loc-run", "owm.categorize"))
    client.xreadgroup(pipeline_keys.CATEGORIZE_GROUP, "c2", {cat: ">"}, count=1)
    yield client
    client.flushall()
    client.close()


def invoke(redis_server: RedisServer, *args: str) -> Any:
    result = runner.invoke(app, list(args), env={"REDIS_URL": redis_server.url, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


def test_tasks_active_lists_who_holds_what(seeded: redis.Redis, redis_server: RedisServer) -> None:
    listed = json.loads(invoke(redis_server, "tasks", "active", "--json").output)
    assert sorted((t["stage"], t["task_id"], t["consumer"], t["deliveries"]) for t in listed) == [
        ("categorize-trail-conditions", f"owm.categorize:loc-run@{WINDOW}", "c2", 1),
        ("fetch-weather", f"owm.ingest:loc-run@{WINDOW}", "c1", 1),
    ]
    assert all(isinstance(t["held_ms"], int) and t["held_ms"] >= 0 for t in listed)
    only_fetch = json.loads(
        invoke(redis_server, "tasks", "active", "--stage", "fetch-weather", "--json").output
    )
    assert [t["consumer"] for t in only_fetch] == ["c1"]
    table = invoke(redis_server, "tasks", "active").output
    assert "2 active" in table and "c1" in table and "c2" in table


def test_tasks_delayed_says_when_each_is_due(
    seeded: redis.Redis, redis_server: RedisServer
) -> None:
    (waiting,) = json.loads(invoke(redis_server, "tasks", "delayed", "--json").output)
    assert waiting["task_id"] == f"owm.ingest:loc-wait@{WINDOW}"
    assert waiting["attempts"] == "2" and 0 < waiting["due_in_ms"] <= 60_000
    assert "due in" in invoke(redis_server, "tasks", "delayed").output


@pytest.mark.parametrize(
    ("needle", "places"),
    [
        (f"owm.ingest:loc-queued@{WINDOW}", [("queued", "fetch-weather")]),
        (f"owm.ingest:loc-wait@{WINDOW}", [("delayed", "fetch-weather")]),
        (f"owm.ingest:loc-dead@{WINDOW}", [("dead", "fetch-weather")]),
        ("loc-run", [("active", "fetch-weather"), ("active", "categorize-trail-conditions")]),
        ("loc-nowhere", []),
    ],
)
def test_task_show_finds_each_place(
    seeded: redis.Redis, redis_server: RedisServer, needle: str, places: list[tuple[str, str]]
) -> None:
    found = json.loads(invoke(redis_server, "task", "show", needle, "--json").output)
    assert [(p["where"], p["stage"]) for p in found] == places
    text = invoke(redis_server, "task", "show", needle).output
    if places:
        assert all(f": {where} in {stage}" in text for where, stage in places)
    else:
        assert "not queued, active, delayed or dead-lettered" in text


def test_task_show_gives_the_reason_of_a_dead_letter(
    seeded: redis.Redis, redis_server: RedisServer
) -> None:
    text = invoke(redis_server, "task", "show", "loc-dead").output
    assert "OwmNotFound: HTTP 404" in text


def test_an_unknown_stage_is_one_line(seeded: redis.Redis, redis_server: RedisServer) -> None:
    result = runner.invoke(
        app, ["tasks", "active", "--stage", "fetch"], env={"REDIS_URL": redis_server.url}
    )
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "unknown stage 'fetch'" in line
