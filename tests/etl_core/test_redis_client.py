"""Clients of ``etl_core.redis_client`` ride out a redis-server restart (real SIGKILLs)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import redis

from etl_core.errors import RedisAuthError, RedisPermissionError
from etl_core.redis_client import RedisRetryOptions, async_client, refusal, sync_client
from tests.support.redis_server import RedisServer

NOPERM_XGROUP = "this user has no permissions to run the 'xgroup|create' command"
SCRIPT_REFUSED = (
    "The user executing the script can't run this command or subcommand script: abc, "
    "on @user_script:1."
)
NOPERM_KEY = "this user has no permissions to access one of the keys used as arguments"

CONNECTIONS = 20


def test_the_defaults_sleep_at_most_15_s_in_all() -> None:
    assert RedisRetryOptions().max_sleep_s() == pytest.approx(0.2 + 0.4 + 0.8 + 1.6 + 6 * 2.0)
    assert RedisRetryOptions(attempts=0).max_sleep_s() == 0


@pytest.mark.parametrize(
    "bad",
    [{"attempts": -1}, {"base_ms": 0}, {"max_backoff_ms": 0}, {"health_check_interval_s": -1}],
)
def test_nonsense_options_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        RedisRetryOptions(**bad)


@pytest.mark.redis_real
def test_a_sync_client_survives_a_restart_between_two_commands(
    aof_redis_server: RedisServer,
) -> None:
    client = sync_client(aof_redis_server.url, RedisRetryOptions())
    try:
        client.set("k", "before")
        aof_redis_server.kill()
        aof_redis_server.start()
        assert client.get("k") == b"before"  # the AOF kept it; the stale connection was replaced
        aof_redis_server.kill()
        # Down for half a second (plus its start-up) while the SET below, sent now, retries.
        restarter = threading.Timer(0.5, aof_redis_server.start)
        restarter.start()
        try:
            client.set("k", "after")
        finally:
            restarter.join(timeout=30)
        assert client.get("k") == b"after"
    finally:
        client.close()


@pytest.mark.redis_real
async def test_every_stale_pooled_connection_is_replaced(aof_redis_server: RedisServer) -> None:
    """A full pool of connections to the old server: none of them fails its next command."""
    client = async_client(
        aof_redis_server.url, RedisRetryOptions(), max_connections=CONNECTIONS, pool_wait_s=30
    )
    try:
        await client.set("k", "v")
        # Each BLPOP holds a connection, so the pool opens all of them.
        await asyncio.gather(
            *(client.blpop([f"none-{i}"], timeout=0.2) for i in range(CONNECTIONS))
        )
        assert len(client.connection_pool._available_connections) == CONNECTIONS
        await asyncio.to_thread(aof_redis_server.kill)
        await asyncio.to_thread(aof_redis_server.start)
        replies = await asyncio.gather(*(client.get("k") for _ in range(2 * CONNECTIONS)))
        assert replies == [b"v"] * (2 * CONNECTIONS)
    finally:
        await client.aclose()


@pytest.mark.redis_real
async def test_a_command_sent_while_redis_is_down_succeeds_once_it_is_back(
    aof_redis_server: RedisServer,
) -> None:
    client = async_client(aof_redis_server.url, RedisRetryOptions())
    try:
        await client.set("k", "v")
        await asyncio.to_thread(aof_redis_server.kill)
        # Down for half a second (plus its start-up) while the GET below, sent now, retries.
        restarter = threading.Timer(0.5, aof_redis_server.start)
        restarter.start()
        try:
            assert await client.get("k") == b"v"
        finally:
            restarter.join(timeout=30)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("error", "kind", "command"),
    [
        (redis.AuthenticationError("invalid username-password pair"), RedisAuthError, None),
        (redis.exceptions.NoPermissionError(NOPERM_XGROUP), RedisPermissionError, "xgroup|create"),
        (
            redis.exceptions.NoPermissionError(NOPERM_KEY),
            RedisPermissionError,
            None,
        ),
        (redis.ResponseError(SCRIPT_REFUSED), RedisPermissionError, None),
    ],
)
def test_refusals_are_named(error: Exception, kind: type, command: str | None) -> None:
    refused = refusal(error)
    assert isinstance(refused, kind)
    assert getattr(refused, "command", None) == command
    if command:
        assert f"may not run {command!r}" in str(refused)


@pytest.mark.parametrize(
    "error",
    [
        redis.ConnectionError("refused"),
        redis.TimeoutError("slow"),
        redis.ResponseError("WRONGTYPE"),
    ],
)
def test_other_errors_are_no_refusal(error: Exception) -> None:
    assert refusal(error) is None


def _auth_failures(admin: redis.Redis) -> int:
    """Failed sign-ins the server saw (its ACL log counts repeats in one entry)."""
    entries: Any = admin.execute_command("ACL", "LOG")
    return sum(int(e["count"]) for e in entries if e["reason"] == "auth")


def test_a_wrong_password_is_tried_once(own_redis_server: RedisServer) -> None:
    admin = redis.Redis.from_url(own_redis_server.url, decode_responses=True)
    admin.config_set("requirepass", "right")
    admin.auth("right")
    wrong = own_redis_server.url_for(None, "wrong")
    retry = RedisRetryOptions(attempts=5, base_ms=1)
    with pytest.raises(redis.AuthenticationError):
        sync_client(wrong, retry).ping()
    assert _auth_failures(admin) == 1
    with pytest.raises(redis.AuthenticationError):
        asyncio.run(_ping(async_client(wrong, retry)))
    assert _auth_failures(admin) == 2
    admin.close()


async def _ping(client: Any) -> None:
    try:
        await client.ping()
    finally:
        await client.aclose()
