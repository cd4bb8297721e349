"""The Redis settings of every deployable that talks to Redis, and the clients built from them."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from pydantic import Field

from etl_core.redis_client import (
    DEFAULT_HEALTH_CHECK_INTERVAL_S,
    DEFAULT_RETRY_ATTEMPTS,
    DEFAULT_RETRY_MAX_BACKOFF_MS,
    DEFAULT_SOCKET_CONNECT_TIMEOUT_S,
    RedisRetryOptions,
    async_client,
    sync_client,
)
from etl_core.settings import ServiceSettings

# Commands of the scheduler and the CLI may be long (a publish round of 4000 tasks, a redrive).
SYNC_SOCKET_TIMEOUT_S = 30.0


class RedisSettings(ServiceSettings):
    """``REDIS_URL`` and how a command rides out a Redis restart (``etl_core.redis_client``).

    A command whose connection dropped or timed out is tried again up to
    ``REDIS_RETRY_ATTEMPTS`` times, sleeping up to 200 ms, 400 ms, ... (at most
    ``REDIS_RETRY_MAX_BACKOFF_MS``) before each: with the defaults about 12 s in all, 15 s at
    most, before the error reaches the code that sent it.
    """

    # repr=False: it may hold a password; messages show it through etl_core.redact.redact_url.
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://", repr=False
    )
    redis_retry_attempts: int = Field(default=DEFAULT_RETRY_ATTEMPTS, ge=0, le=100)
    redis_retry_max_backoff_ms: int = Field(default=DEFAULT_RETRY_MAX_BACKOFF_MS, ge=1, le=60_000)
    # A pooled connection idle this long is PINGed before use (0: never), so one left over from a
    # server that restarted is replaced before a command is written to it.
    redis_health_check_interval_s: int = Field(default=DEFAULT_HEALTH_CHECK_INTERVAL_S, ge=0)

    def redis_retry(self) -> RedisRetryOptions:
        return RedisRetryOptions(
            attempts=self.redis_retry_attempts,
            max_backoff_ms=self.redis_retry_max_backoff_ms,
            health_check_interval_s=self.redis_health_check_interval_s,
        )

    def sync_redis(self) -> redis.Redis:
        """A synchronous client (the scheduler, the CLI); close it with ``close()``."""
        return sync_client(
            self.redis_url,
            self.redis_retry(),
            socket_timeout_s=SYNC_SOCKET_TIMEOUT_S,
            socket_connect_timeout_s=DEFAULT_SOCKET_CONNECT_TIMEOUT_S,
        )

    def async_redis_cli(self) -> aioredis.Redis:
        """An asyncio client for an operator command (``status``, ``pause``): one command at a
        time, with the scheduler's and the CLI's socket timeout."""
        return async_client(
            self.redis_url, self.redis_retry(), socket_timeout_s=SYNC_SOCKET_TIMEOUT_S
        )

    def async_redis(self, *, max_connections: int, pool_wait_s: float) -> aioredis.Redis:
        """An asyncio client over a pool of at most ``max_connections`` (the workers)."""
        return async_client(
            self.redis_url,
            self.redis_retry(),
            max_connections=max_connections,
            pool_wait_s=pool_wait_s,
        )
