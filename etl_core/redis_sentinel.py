"""Clients of the master a set of sentinels name (``redis+sentinel://``, ``etl_core.redis_url``).

redis-py's ``Sentinel.master_for`` gives a client whose pool asks the sentinels for the master's
address each time it opens a connection, and drops idle connections to an address the sentinels
no longer name. A connection still open to a master that was demoted gets ``READONLY`` for a
write; redis-py's ``SentinelManagedConnection`` disconnects it and raises ``ConnectionError``, so
the retry of ``etl_core.redis_client`` sends the command again on a connection to the new master.
While a failover is under way the sentinels may name a master that is down, or none
(``MasterNotFoundError``, a ``ConnectionError``): both are retried the same way, for the retry's
whole budget, which is why a failover shorter than that budget costs no command.

redis-py asks the sentinels only when a connection is taken from the pool: a command retried on
the connection it already holds reconnects to the address that connection had, the dead master's.
The connections here ask the sentinels again before every reconnect, so a retry lands on whichever
master they name by then.

Closing a client here closes the sentinels' connections too; redis-py leaves them open.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.connection import SSLConnection as AsyncSSLConnection
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelConnectionPool
from redis.asyncio.sentinel import SentinelManagedConnection as AsyncSentinelManagedConnection
from redis.backoff import NoBackoff
from redis.connection import SSLConnection
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from etl_core.redis_url import SentinelUrl


class _FollowingConnection(SentinelManagedConnection):
    """Asks the sentinels for the master before every reconnect, not only at pool checkout."""

    _address_fresh = False  # connect_to was just given the address the sentinels name

    def connect_to(self, address: tuple[str, int]) -> None:
        self._address_fresh = True
        try:
            super().connect_to(address)
        finally:
            self._address_fresh = False

    def _connect(self) -> Any:
        if not self._address_fresh and self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        return super()._connect()


class _FollowingSSLConnection(_FollowingConnection, SSLConnection):
    pass


class _AsyncFollowingConnection(AsyncSentinelManagedConnection):
    """The asyncio twin of ``_FollowingConnection``."""

    _address_fresh = False

    async def connect_to(self, address: tuple[str, int]) -> None:
        self._address_fresh = True
        try:
            await super().connect_to(address)
        finally:
            self._address_fresh = False

    async def _connect(self) -> None:
        if not self._address_fresh and self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()


class _AsyncFollowingSSLConnection(_AsyncFollowingConnection, AsyncSSLConnection):
    pass


class _SentinelRedis(redis.Redis):
    def close(self) -> None:
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        super().close()
        if manager is not None:
            for sentinel in manager.sentinels:
                sentinel.close()


class _AsyncSentinelRedis(aioredis.Redis):
    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        await super().aclose(close_connection_pool)
        if manager is not None:
            await manager.aclose()


class _AsyncBlockingSentinelPool(AsyncSentinelConnectionPool, aioredis.BlockingConnectionPool):
    """A sentinel pool of at most ``max_connections``, where a command waits ``timeout`` for a
    free one (as the plain workers' ``BlockingConnectionPool``) instead of failing at once."""


def _sentinel_kwargs(
    url: SentinelUrl,
    *,
    asyncio: bool,
    timeout_s: float,
    username: str | None,
    password: str | None,
) -> dict[str, Any]:
    # A sentinel that does not answer is passed over for the next one at once (redis-py's default
    # would retry it with seconds of backoff); the command's own retry asks them all again.
    kwargs: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry": AsyncRetry(NoBackoff(), 0) if asyncio else Retry(NoBackoff(), 0),
    }
    if url.tls:
        kwargs["ssl"] = True
    if password is not None:
        kwargs["password"] = password
        if username is not None:
            kwargs["username"] = username
    return kwargs


def _data_kwargs(
    url: SentinelUrl, connection_kwargs: dict[str, Any], *, asyncio: bool
) -> dict[str, Any]:
    if asyncio:
        connection_class: type = (
            _AsyncFollowingSSLConnection if url.tls else _AsyncFollowingConnection
        )
    else:
        connection_class = _FollowingSSLConnection if url.tls else _FollowingConnection
    kwargs = {**connection_kwargs, "db": url.db, "connection_class": connection_class}
    if url.password is not None:
        kwargs["password"] = url.password
    if url.username is not None:
        kwargs["username"] = url.username
    return kwargs


def sync_master(
    url: SentinelUrl,
    connection_kwargs: dict[str, Any],
    *,
    sentinel_timeout_s: float,
    sentinel_username: str | None = None,
    sentinel_password: str | None = None,
) -> redis.Redis:
    """A client of ``url``'s master; ``connection_kwargs`` are the data nodes' (timeouts, retry,
    health checks), as for a plain client."""
    sentinel = Sentinel(
        list(url.sentinels),
        sentinel_kwargs=_sentinel_kwargs(
            url,
            asyncio=False,
            timeout_s=sentinel_timeout_s,
            username=sentinel_username,
            password=sentinel_password,
        ),
    )
    client: redis.Redis = sentinel.master_for(
        url.master_name,
        redis_class=_SentinelRedis,
        **_data_kwargs(url, connection_kwargs, asyncio=False),
    )
    return client


def async_master(
    url: SentinelUrl,
    connection_kwargs: dict[str, Any],
    *,
    sentinel_timeout_s: float,
    sentinel_username: str | None = None,
    sentinel_password: str | None = None,
    max_connections: int | None = None,
    pool_wait_s: float = 0.0,
) -> aioredis.Redis:
    """The asyncio twin of ``sync_master``; with ``max_connections``, a blocking pool of at most
    that many, where a command waits up to ``pool_wait_s`` for a free connection."""
    sentinel = AsyncSentinel(
        list(url.sentinels),
        sentinel_kwargs=_sentinel_kwargs(
            url,
            asyncio=True,
            timeout_s=sentinel_timeout_s,
            username=sentinel_username,
            password=sentinel_password,
        ),
    )
    pool_kwargs: dict[str, Any] = {}
    if max_connections is not None:
        pool_kwargs = {
            "connection_pool_class": _AsyncBlockingSentinelPool,
            "max_connections": max_connections,
            "timeout": pool_wait_s,
        }
    client: aioredis.Redis = sentinel.master_for(
        url.master_name,
        redis_class=_AsyncSentinelRedis,
        **pool_kwargs,
        **_data_kwargs(url, connection_kwargs, asyncio=True),
    )
    return client
