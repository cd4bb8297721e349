"""The workers' Redis pool is sized for their concurrency, waits rather than fails when full, and
retries a command whose connection dropped.

redis-py's default asyncio pool holds 100 connections and raises "Too many connections" past that;
a fetch worker at concurrency 64 with a new location's three day_summary calls in flight hit it
after paying for a call and before caching its answer, so the retry paid again.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from services.worker_settings import REDIS_CONNECTIONS_PER_HANDLER, RUNTIME_REDIS_CONNECTIONS
from tests.services.pipeline.helpers import fetch_settings
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis_real


async def test_a_full_pool_makes_commands_wait_not_fail(redis_server: RedisServer) -> None:
    settings = fetch_settings(redis_url=redis_server.url)
    async with AsyncExitStack() as stack:
        client, _weather = await settings.open_clients(
            stack, redis=None, weather_http=None, concurrency=10
        )
        pool = client.connection_pool
        assert isinstance(pool, aioredis.BlockingConnectionPool)
        size = 10 * REDIS_CONNECTIONS_PER_HANDLER + RUNTIME_REDIS_CONNECTIONS
        assert pool.max_connections == size
        # Twice as many commands as connections, each holding its connection for a while.
        replies = await asyncio.gather(
            *(client.blpop([f"nothing-{i}"], timeout=0.3) for i in range(2 * size))
        )
        assert replies == [None] * (2 * size)


async def test_the_pool_retries_dropped_connections_as_the_settings_say(
    redis_server: RedisServer,
) -> None:
    settings = fetch_settings(
        redis_url=redis_server.url, redis_retry_attempts=3, redis_health_check_interval_s=7
    )
    async with AsyncExitStack() as stack:
        client, _weather = await settings.open_clients(
            stack, redis=None, weather_http=None, concurrency=1
        )
        connection = await client.connection_pool.get_connection()
        try:
            assert connection.retry.get_retries() == 3
            assert connection.health_check_interval == 7
            assert {redis.exceptions.ConnectionError, redis.exceptions.TimeoutError} <= set(
                connection.retry._supported_errors
            )
        finally:
            await client.connection_pool.release(connection)
