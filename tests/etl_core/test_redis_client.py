"""Clients of ``etl_core.redis_client`` ride out a redis-server restart (real SIGKILLs)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from etl_core.redis_client import RedisRetryOptions, async_client, sync_client
from tests.support.redis_server import RedisServer

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
