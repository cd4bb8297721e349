"""``trail-etl status``: the numbers it gathers (fakeredis and real Redis) and the command line."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from typer.testing import CliRunner

from etl_core import keys
from etl_core.breaker import BreakerOptions, CircuitBreaker
from etl_core.deadletter import DeadLetters
from etl_core.pause import PauseSource, StagePause
from etl_core.ratelimit import RateLimiter
from etl_core.ratelimit_adaptive import AdaptiveAdmission
from etl_core.worker.maintenance import write_heartbeat
from services import pipeline_keys
from services.cli import app
from services.cli.common import console
from services.cli.status import _render
from services.status import STAGE_STREAMS, gather_status
from tests.support.redis_server import RedisServer, free_port

STREAM = "status-test-stream"
GROUP = "status-group"
PER_MINUTE = 10
PER_DAY = 100
RESET_S = 60.0


async def seed(client: Any) -> dict[str, Any]:
    """A stream with one group: c1 holds 2 of 3 entries (live heartbeat), c2 holds none.

    Plus 3 dead letters (2 AuthError, 1 BadData), 1 delayed retry, the OWM breaker opened by 3
    failures after a success and 4 rate-limiter admissions. Returns the ids the test needs.
    """
    ids = [await client.xadd(STREAM, {"n": str(i)}) for i in range(3)]
    await client.xgroup_create(STREAM, GROUP, id="0")
    await client.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=2)
    await client.xgroup_createconsumer(STREAM, GROUP, "c2")
    await write_heartbeat(client, group=GROUP, consumer="c1", ttl_ms=60_000, in_flight=2)
    for i, error_type in enumerate(["AuthError", "BadData", "AuthError"]):
        await client.xadd(
            keys.dead_letter_stream(STREAM),
            {"task_id": f"t:{i}", "payload": "{}", "dlq_error_type": error_type, "dlq_error": "x"},
        )
    await client.zadd(keys.delayed_set(STREAM), {"delayed-entry": 1})
    breaker = CircuitBreaker(
        client,
        pipeline_keys.OWM_BREAKER,
        BreakerOptions(minimum_calls=4, window_calls=10, reset_timeout_s=RESET_S),
    )
    await breaker.record_success()
    for _ in range(3):
        await breaker.record_failure()
    limiter = RateLimiter(
        client, pipeline_keys.OWM_RATE_LIMITER, per_minute=PER_MINUTE, per_day=PER_DAY
    )
    for _ in range(4):
        assert (await limiter.try_acquire()).admitted
    return {"second_id": ids[1].decode() if isinstance(ids[1], bytes) else ids[1]}


def hour_labels(now_ms: int, count: int = 3) -> list[str]:
    """The labels of the hourly window of ``now_ms`` and of the ones before it, newest first."""
    hour_ms = 3_600_000
    start = now_ms - now_ms % hour_ms
    return [
        datetime.fromtimestamp((start - i * hour_ms) / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")
        for i in range(count)
    ]


def empty_window(label: str) -> dict[str, Any]:
    return {
        "window": label,
        "scheduled": 0,
        "fetched": 0,
        "labelled": 0,
        "retrying": {pipeline_keys.FETCH_GROUP: 0, pipeline_keys.CATEGORIZE_GROUP: 0},
        "retrying_complete": True,
        "dead": {pipeline_keys.FETCH_GROUP: 0, pipeline_keys.CATEGORIZE_GROUP: 0},
    }


def running_stage(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "paused": False,
        "source": None,
        "reason": None,
        "since_ms": None,
        "next_trial_ms": None,
        "server_time_ms": None,
    }


def closed_breaker(name: str, *, minimum_calls: int = 30, rate: float = 0.6) -> dict[str, Any]:
    return {
        "name": name,
        "state": "closed",
        "window_calls": 0,
        "window_failures": 0,
        "window_slow_calls": 0,
        "failure_rate": None,
        "failure_rate_threshold": rate,
        "minimum_calls": minimum_calls,
        "retry_after_s": 0.0,
        "opened_at_ms": None,
    }


def check(status: dict[str, Any], second_id: str) -> None:
    """The gathered status of ``seed``'s data, exactly (idle times and retry-after bounded)."""
    ingestion, categorization, stream = status["streams"]
    for missing, name in ((ingestion, pipeline_keys.INGESTION_STREAM), (categorization, None)):
        assert missing["exists"] is False and missing["length"] == 0 and missing["groups"] == []
        assert missing["delayed"] == 0 and missing["dead_letters"]["count"] == 0
        if name:
            assert missing["name"] == name
    assert categorization["name"] == pipeline_keys.CATEGORIZATION_STREAM

    assert stream["name"] == STREAM and stream["exists"] is True
    assert stream["length"] == 3 and stream["delayed"] == 1
    assert stream["backlog"] == 4, "2 pending + 1 undelivered + 1 delayed"
    assert stream["dead_letters"] == {
        "stream": f"{STREAM}:dlq",
        "count": 3,
        "by_error_type": {"AuthError": 2, "BadData": 1},
        "by_window": {},  # their task ids name no window
    }
    (group,) = stream["groups"]
    consumers = group.pop("consumers")
    assert group == {
        "name": GROUP,
        "pending": 2,
        "lag": 1,
        "entries_read": 2,
        "last_delivered_id": second_id,
    }
    assert [(c["name"], c["pending"], c["alive"]) for c in consumers] == [
        ("c1", 2, True),
        ("c2", 0, False),
    ]
    assert all(0 <= c["idle_ms"] < 60_000 for c in consumers)

    owm, weather_service = status["breakers"]
    assert 0 < owm.pop("retry_after_s") <= RESET_S
    assert isinstance(owm.pop("opened_at_ms"), int)
    assert owm == {
        "name": "owm",
        "state": "open",
        "window_calls": 4,
        "window_failures": 3,
        "window_slow_calls": 0,
        "failure_rate": 0.75,
        "failure_rate_threshold": 0.6,
        "minimum_calls": 30,
    }
    assert weather_service == closed_breaker("weather-service", minimum_calls=10, rate=0.5)
    assert status["rate_limit"] == {
        "name": "owm",
        "used_this_minute": 4,
        "per_minute": PER_MINUTE,
        "used_today": 4,
        "per_day": PER_DAY,
        "effective_per_minute": PER_MINUTE,
        "factor": 1.0,
        "throttled_since_ms": None,
        "recent_429": 0,
    }


async def test_gather_status_counts_everything(aredis: Any, sredis: Any) -> None:
    seeded = await seed(aredis)
    status = await gather_status(
        aredis,
        streams=[
            pipeline_keys.INGESTION_STREAM,
            pipeline_keys.CATEGORIZATION_STREAM,
            STREAM,
            STREAM,
        ],
        per_minute=PER_MINUTE,
        per_day=PER_DAY,
        breakers={
            pipeline_keys.OWM_BREAKER: BreakerOptions(reset_timeout_s=RESET_S),
            pipeline_keys.WEATHER_SERVICE_BREAKER: BreakerOptions(
                failure_rate_threshold=0.5, minimum_calls=10, window_calls=20
            ),
        },
    )
    assert set(status) == {
        "server_time_ms",
        "schedule_window",
        "windows",
        "throughput",
        "streams",
        "stages",
        "breakers",
        "rate_limit",
    }
    # the dead-letter numbers are the ones the operator's DeadLetters API reports
    dead = DeadLetters(sredis, STREAM)
    assert status["streams"][2]["dead_letters"]["count"] == dead.count()
    assert status["streams"][2]["dead_letters"]["by_error_type"] == dead.counts_by_error_type()
    check(status, seeded["second_id"])


async def test_gather_status_of_an_empty_redis(aredis: Any) -> None:
    status = await gather_status(aredis, streams=[STREAM], per_minute=60, per_day=1000)
    now_ms = status["server_time_ms"]
    assert isinstance(now_ms, int) and now_ms > 0
    assert status == {
        "server_time_ms": now_ms,
        "schedule_window": "1h",
        "windows": [empty_window(label) for label in hour_labels(now_ms)],
        "throughput": [
            {
                "stage": stage,
                "stream": stream,
                "capped": False,
                "done_last_1m": 0,
                "done_last_5m": 0,
            }
            for stage, stream in STAGE_STREAMS
        ],
        "streams": [
            {
                "name": STREAM,
                "exists": False,
                "length": 0,
                "delayed": 0,
                "backlog": 0,
                "dead_letters": {
                    "stream": f"{STREAM}:dlq",
                    "count": 0,
                    "by_error_type": {},
                    "by_window": {},
                },
                "groups": [],
            }
        ],
        "stages": [
            running_stage(pipeline_keys.FETCH_GROUP),
            running_stage(pipeline_keys.CATEGORIZE_GROUP),
        ],
        "breakers": [closed_breaker("owm"), closed_breaker("weather-service")],
        "rate_limit": {
            "name": "owm",
            "used_this_minute": 0,
            "per_minute": 60,
            "used_today": 0,
            "per_day": 1000,
            "effective_per_minute": 60,
            "factor": 1.0,
            "throttled_since_ms": None,
            "recent_429": 0,
        },
    }
    assert await aredis.keys("*") == []  # status writes nothing


async def lower_the_owm_rate(client: Any) -> int:
    """5 of 5 OWM permits refused (429s that keep coming): the rate halves. Server time, ms."""
    limiter = RateLimiter(
        client, pipeline_keys.OWM_RATE_LIMITER, per_minute=PER_MINUTE, adaptive=AdaptiveAdmission()
    )
    for _ in range(5):
        refusal = await limiter.report_refusal(await limiter.try_acquire())
    assert refusal.lowered
    return refusal.server_time_us // 1000


async def test_a_lowered_rate_shows_its_factor_and_since_when(aredis: Any) -> None:
    lowered_at_ms = await lower_the_owm_rate(aredis)
    status = await gather_status(aredis, streams=[], per_minute=PER_MINUTE, per_day=PER_DAY)
    rate = status["rate_limit"]
    assert rate["factor"] == pytest.approx(0.5, abs=0.01)
    assert (rate["effective_per_minute"], rate["per_minute"]) == (5, PER_MINUTE)
    assert rate["throttled_since_ms"] == lowered_at_ms
    assert (rate["recent_429"], rate["used_this_minute"]) == (5, 5)
    with console.capture() as captured:
        _render(status)
    text = captured.get()
    assert "5/10 this minute, 0/100 today (UTC), 5 429s in the last minute" in text
    assert "OWM rate lowered: 5/10 per minute (factor 0.50) since" in text


runner = CliRunner()


@pytest.fixture
def clean_redis(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in (
        "REDIS_URL",
        "OWM_RATE_LIMIT_PER_MINUTE",
        "OWM_RATE_LIMIT_PER_DAY",
        "OWM_BREAKER_RESET_TIMEOUT_S",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if "_BREAKER_" in name:
            monkeypatch.delenv(name)
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield redis_server.url
    client.flushall()
    client.close()


def _seed_real(url: str) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        client = aioredis.Redis.from_url(url)
        try:
            return await seed(client)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_cli_json(clean_redis: str) -> None:
    seeded = _seed_real(clean_redis)
    env = {
        "REDIS_URL": clean_redis,
        "OWM_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
        "OWM_RATE_LIMIT_PER_DAY": str(PER_DAY),
        "OWM_BREAKER_RESET_TIMEOUT_S": str(RESET_S),
    }
    result = runner.invoke(app, ["status", "--json", "--stream", STREAM], env=env)
    assert result.exit_code == 0, result.output
    check(json.loads(result.stdout), seeded["second_id"])


def test_cli_tables(clean_redis: str) -> None:
    _seed_real(clean_redis)
    result = runner.invoke(
        app, ["status", "--stream", STREAM], env={"REDIS_URL": clean_redis, "COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for text in (
        STREAM,
        GROUP,
        "c1",
        "live",
        "AuthError=2",
        "breaker owm: open",
        "4 calls in the window, 75% failed",
        "4/60",
    ):
        assert text in result.stdout, result.stdout
    assert "OWM rate lowered" not in result.stdout


def test_cli_shows_a_lowered_rate(clean_redis: str) -> None:
    async def lower() -> None:
        client = aioredis.Redis.from_url(clean_redis)
        try:
            await lower_the_owm_rate(client)
        finally:
            await client.aclose()

    asyncio.run(lower())
    env = {"REDIS_URL": clean_redis, "OWM_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE), "COLUMNS": "200"}
    result = runner.invoke(app, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert "OWM rate lowered: 5/10 per minute (factor 0.50)" in result.stdout, result.stdout
    result = runner.invoke(app, ["status", "--json"], env=env)
    rate = json.loads(result.stdout)["rate_limit"]
    assert rate["effective_per_minute"] == 5 and rate["recent_429"] == 5


def test_cli_shows_the_limiter_of_the_configured_source(clean_redis: str) -> None:
    env = {
        "REDIS_URL": clean_redis,
        "WEATHER_SOURCE": "open-meteo",
        "OPEN_METEO_RATE_LIMIT_PER_MINUTE": "600",
        "OPEN_METEO_RATE_LIMIT_PER_DAY": "",
        "COLUMNS": "200",
    }
    result = runner.invoke(app, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert "Open-Meteo rate limit: 0/600 this minute, 0/unlimited today" in result.stdout
    result = runner.invoke(app, ["status", "--json"], env=env)
    status = json.loads(result.stdout)
    assert status["rate_limit"]["name"] == "open-meteo"
    assert status["rate_limit"]["per_day"] is None
    assert status["breakers"][0]["name"] == "open-meteo"


def test_cli_with_a_source_it_cannot_read_exits_2_in_one_line(clean_redis: str) -> None:
    env = {"REDIS_URL": clean_redis, "WEATHER_SOURCE": "mine.sources:Radar"}
    result = runner.invoke(app, ["status"], env=env)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: WEATHER_SOURCE: status knows the limits of owm and open-meteo, not of "
        "'mine.sources:Radar'"
    ]


def test_cli_unreachable_redis_exits_2_naming_redis_url() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = runner.invoke(app, ["status", "--json"], env={"REDIS_URL": url})
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and f"REDIS_URL={url}" in lines[0]
    assert result.stdout == ""


async def test_unknown_lag_is_null_and_shown_as_a_question_mark(aredis: Any) -> None:
    for i in (1, 2, 3):
        await aredis.xadd(STREAM, {"n": str(i)}, id=f"{i}-0")
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    await aredis.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=1)
    await aredis.xdel(STREAM, "2-0")  # a deletion past the last delivered id: Redis cannot tell
    status = await gather_status(aredis, streams=[STREAM], per_minute=60, per_day=1000)
    (group,) = status["streams"][0]["groups"]
    assert group["lag"] is None and group["pending"] == 1 and group["last_delivered_id"] == "1-0"
    assert json.loads(json.dumps(status))["streams"][0]["groups"][0]["lag"] is None
    with console.capture() as captured:
        _render(status)
    (row,) = [line for line in captured.get().splitlines() if GROUP in line and "1-0" in line]
    assert row.split("│")[4].strip() == "?"  # the lag column


async def test_a_paused_stage_is_shown_with_its_source_reason_and_next_trial(aredis: Any) -> None:
    await StagePause(aredis, pipeline_keys.FETCH_GROUP).pause(
        "OwmAuthError: HTTP 401", source=PauseSource.AUTO, retry_after_s=30
    )
    await StagePause(aredis, pipeline_keys.CATEGORIZE_GROUP).pause("provider incident")
    status = await gather_status(aredis, streams=[], per_minute=60, per_day=1000)
    fetch, categorize = status["stages"]
    assert (fetch["name"], fetch["paused"], fetch["source"], fetch["reason"]) == (
        pipeline_keys.FETCH_GROUP,
        True,
        "auto",
        "OwmAuthError: HTTP 401",
    )
    assert fetch["next_trial_ms"] - fetch["since_ms"] == 30_000
    assert 0 <= fetch["server_time_ms"] - fetch["since_ms"] < 30_000
    assert (categorize["source"], categorize["next_trial_ms"]) == ("manual", None)
    with console.capture() as captured:
        _render(status)
    text = " ".join(captured.get().split())  # long lines wrap at the console's width
    assert "stage fetch-weather: paused (auto) for" in text
    assert "OwmAuthError: HTTP 401; next trial in" in text
    assert "stage categorize-trail-conditions: paused (manual) for" in text
    assert "provider incident" in text


def _reading(entries_read: int | None, pending: int) -> dict[str, Any]:
    group = {"name": "g", "pending": pending, "lag": 0, "entries_read": entries_read}
    return {"streams": [{"name": "s", "groups": [group]}]}


def test_settle_rates_count_what_was_read_and_is_no_longer_pending() -> None:
    from services.cli.status import settle_rates

    # 100 read, 10 pending -> 400 read, 20 pending: 290 settled in 2 s
    assert settle_rates(_reading(100, 10), _reading(400, 20), 2.0) == {"s/g": 145.0}
    assert settle_rates(_reading(None, 0), _reading(5, 0), 1.0) == {}  # unknown before
    assert settle_rates(_reading(5, 0), _reading(5, 0), 1.0) == {"s/g": 0.0}


def test_cli_watch_prints_a_reading_per_interval_until_interrupted(clean_redis: str) -> None:
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from services.cli import main; main()",
            "status",
            "--json",
            "--watch",
            "0.5",
        ],
        env={**os.environ, "REDIS_URL": clean_redis},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first, second = json.loads(process.stdout.readline()), json.loads(process.stdout.readline())
        assert first["settled_per_s"] == {} and "streams" in second
        assert "settled_per_s" in second
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err


async def seed_windows(client: Any, now_ms: int) -> list[str]:
    """Tallies, delayed retries and dead letters of the current hour and the one before, one
    dead letter of an older hour (not shown), and settled-log entries 10 s, 2 min and 10 min old.
    """
    labels = hour_labels(now_ms, 4)
    current, previous, _, old = labels
    ingestion, categorization = pipeline_keys.INGESTION_STREAM, pipeline_keys.CATEGORIZATION_STREAM
    await client.hset(
        keys.window_tally(ingestion, current),
        mapping={keys.TALLY_PUBLISHED: 10, keys.tally_done_field(pipeline_keys.FETCH_GROUP): 7},
    )
    await client.hset(
        keys.window_tally(categorization, current),
        mapping={keys.tally_done_field(pipeline_keys.CATEGORIZE_GROUP): 5},
    )
    await client.hset(keys.window_tally(ingestion, previous), keys.TALLY_PUBLISHED, 3)
    for i, label in enumerate([current, current, previous]):
        member = json.dumps({"task_id": f"owm.ingest:loc-{i}@{label}", "attempts": "1"})
        await client.zadd(keys.delayed_set(ingestion), {member: now_ms + 1000 + i})
    await client.zadd(keys.delayed_set(categorization), {"not json": now_ms})
    for i, label in enumerate([current, old]):
        await client.xadd(
            keys.dead_letter_stream(categorization),
            {"task_id": f"owm.categorize:loc-{i}@{label}", "dlq_error_type": "BadData"},
        )
    log = keys.settled_log(ingestion, pipeline_keys.FETCH_GROUP)
    for age_ms, n in ((600_000, 100), (120_000, 20), (10_000, 3)):
        await client.xadd(log, {"n": n}, id=f"{now_ms - age_ms}-0")
    await client.xadd(
        keys.settled_log(categorization, pipeline_keys.CATEGORIZE_GROUP),
        {"n": 2},
        id=f"{now_ms - 61_000}-0",
    )
    return labels


async def test_per_window_totals_and_throughput(aredis: Any) -> None:
    seconds, micros = await aredis.time()
    labels = await seed_windows(aredis, int(seconds) * 1000 + int(micros) // 1000)
    before = set(await aredis.keys("*"))
    status = await gather_status(aredis, streams=[], per_minute=60, per_day=1000)
    assert set(await aredis.keys("*")) == before  # read only
    if hour_labels(status["server_time_ms"], 4) != labels:
        pytest.skip("an hour began while the test ran")
    current, previous, earlier = status["windows"]
    assert current == {
        "window": labels[0],
        "scheduled": 10,
        "fetched": 7,
        "labelled": 5,
        "retrying": {pipeline_keys.FETCH_GROUP: 2, pipeline_keys.CATEGORIZE_GROUP: 0},
        "retrying_complete": True,
        "dead": {pipeline_keys.FETCH_GROUP: 0, pipeline_keys.CATEGORIZE_GROUP: 1},
    }
    assert previous == {
        **empty_window(labels[1]),
        "scheduled": 3,
        "retrying": {pipeline_keys.FETCH_GROUP: 1, pipeline_keys.CATEGORIZE_GROUP: 0},
    }
    assert earlier == empty_window(labels[2])  # the old hour's dead letter is a 4th window
    fetch, categorize = status["throughput"]
    assert (fetch["stage"], fetch["done_last_1m"], fetch["done_last_5m"]) == (
        pipeline_keys.FETCH_GROUP,
        3,
        23,
    )
    assert (categorize["done_last_1m"], categorize["done_last_5m"]) == (0, 2)
    assert fetch["capped"] is False
    with console.capture() as captured:
        _render(status)
    text = captured.get()
    assert "throughput fetch-weather: 3 done in the last minute, 23 in 5 minutes" in text
    row = next(line for line in text.splitlines() if labels[0] in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == [labels[0], "10", "7", "5", "2/0", "0/1"], row


async def test_throughput_at_the_cap_is_shown_as_a_lower_bound(
    aredis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.status.THROUGHPUT_SCAN_CAP", 2)
    monkeypatch.setattr("services.status.DELAYED_SCAN_CAP", 1)
    seconds, _micros = await aredis.time()
    await seed_windows(aredis, int(seconds) * 1000)
    status = await gather_status(aredis, streams=[], per_minute=60, per_day=1000)
    fetch = status["throughput"][0]
    assert fetch["capped"] is True and fetch["done_last_5m"] == 23  # the first 2 of 3 entries
    assert status["windows"][0]["retrying_complete"] is False
    with console.capture() as captured:
        _render(status)
    assert ">= 3 done in the last minute" in captured.get()


def test_cli_json_numbers_are_numbers(clean_redis: str) -> None:
    client = redis.Redis.from_url(clean_redis)
    seconds, micros = client.time()
    asyncio.run(_seed_url(clean_redis, int(seconds) * 1000 + int(micros) // 1000))
    result = runner.invoke(app, ["status", "--json"], env={"REDIS_URL": clean_redis})
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert isinstance(status["server_time_ms"], int)
    for window in status["windows"]:
        for name in ("scheduled", "fetched", "labelled"):
            assert type(window[name]) is int
        assert all(type(v) is int for v in [*window["retrying"].values(), *window["dead"].values()])
        assert type(window["retrying_complete"]) is bool
    assert status["windows"][0]["scheduled"] in (10, 0)  # 0 only if an hour began meanwhile
    for row in status["throughput"]:
        assert type(row["done_last_1m"]) is int and type(row["done_last_5m"]) is int
    assert status["throughput"][0]["done_last_5m"] == 23


async def _seed_url(url: str, now_ms: int) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await seed_windows(client, now_ms)
    finally:
        await client.aclose()
