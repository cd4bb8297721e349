"""The Redis settings of every deployable that talks to Redis, and the clients built from them."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from pydantic import Field, SecretStr, field_validator

from etl_core.redis_client import (
    DEFAULT_HEALTH_CHECK_INTERVAL_S,
    DEFAULT_RETRY_ATTEMPTS,
    DEFAULT_RETRY_MAX_BACKOFF_MS,
    DEFAULT_SOCKET_CONNECT_TIMEOUT_S,
    RedisRetryOptions,
    async_client,
    sync_client,
)
from etl_core.redis_url import check_plain_url, is_sentinel_url, parse_sentinel_url
from etl_core.settings import ServiceSettings

# Commands of the scheduler and the CLI may be long (a publish round of 4000 tasks, a redrive).
SYNC_SOCKET_TIMEOUT_S = 30.0


class RedisSettings(ServiceSettings):
    """``REDIS_URL`` and how a command rides out a Redis restart (``etl_core.redis_client``).

    A command whose connection dropped or timed out is tried again up to
    ``REDIS_RETRY_ATTEMPTS`` times, sleeping up to 200 ms, 400 ms, ... (at most
    ``REDIS_RETRY_MAX_BACKOFF_MS``) before each: with the defaults about 12 s in all, 15 s at
    most, before the error reaches the code that sent it.

    ``REDIS_URL`` may name sentinels instead of a server
    (``redis+sentinel://[user:password@]host:port[,host:port...]/master-name[/db]``,
    ``rediss+sentinel://`` for TLS; ``etl_core.redis_url``): the clients then follow the master
    the sentinels name across a failover. The sentinels are sent ``REDIS_SENTINEL_USERNAME`` and
    ``REDIS_SENTINEL_PASSWORD`` when the password is set, and no credentials otherwise; the URL's
    own credentials are the data nodes'.
    """

    # repr=False: it may hold a password; messages show it through etl_core.redact.redact_url.
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        pattern=r"^(redis|rediss|unix|redis\+sentinel|rediss\+sentinel)://",
        repr=False,
    )
    redis_sentinel_username: str | None = None
    redis_sentinel_password: SecretStr | None = None
    redis_retry_attempts: int = Field(default=DEFAULT_RETRY_ATTEMPTS, ge=0, le=100)
    redis_retry_max_backoff_ms: int = Field(default=DEFAULT_RETRY_MAX_BACKOFF_MS, ge=1, le=60_000)
    # A pooled connection idle this long is PINGed before use (0: never), so one left over from a
    # server that restarted is replaced before a command is written to it.
    redis_health_check_interval_s: int = Field(default=DEFAULT_HEALTH_CHECK_INTERVAL_S, ge=0)

    @field_validator("redis_url")
    @classmethod
    def _sentinel_form(cls, url: str) -> str:
        if is_sentinel_url(url):
            parse_sentinel_url(url)  # its RedisUrlError (a ValueError) names what is wrong
        else:
            check_plain_url(url)
        return url

    def _sentinel_auth(self) -> dict[str, str | None]:
        password = self.redis_sentinel_password
        return {
            "sentinel_username": self.redis_sentinel_username,
            "sentinel_password": password.get_secret_value() if password is not None else None,
        }

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
            **self._sentinel_auth(),
        )

    def async_redis_cli(self) -> aioredis.Redis:
        """An asyncio client for an operator command (``status``, ``pause``): one command at a
        time, with the scheduler's and the CLI's socket timeout."""
        return async_client(
            self.redis_url,
            self.redis_retry(),
            socket_timeout_s=SYNC_SOCKET_TIMEOUT_S,
            **self._sentinel_auth(),
        )

    def async_redis(self, *, max_connections: int, pool_wait_s: float) -> aioredis.Redis:
        """An asyncio client over a pool of at most ``max_connections`` (the workers)."""
        return async_client(
            self.redis_url,
            self.redis_retry(),
            max_connections=max_connections,
            pool_wait_s=pool_wait_s,
            **self._sentinel_auth(),
        )
