"""Redis clients that ride out a restart of the server.

redis-py retries a command only on connections given a ``Retry``; a client built from a bare URL
or pool has none, so after a restart every pooled connection of the old server fails its next
command ("Connection closed by server"). The clients built here try a command that failed with
``ConnectionError`` or ``TimeoutError`` again on a fresh connection (``BusyLoadingError``, a server
still loading its append-only file, is a ``ConnectionError``), after sleeps drawn by
``ExponentialWithJitterBackoff``: uniform in [0, min(max_backoff, base * 2^n)] before try n + 1.
A pooled connection idle for longer than ``health_check_interval_s`` is PINGed before use, so a
stale one is replaced before a command is written to it.

A command is sent again when its reply was lost, so it may run twice. That is safe for every
command etl_core sends: ``publish_once.lua`` skips task ids it has marked; ``settle.lua`` applies
an item only while its entry is pending for this consumer (a first run acked it, so a second
reports it skipped, and nothing is forwarded, retried or dead-lettered twice);
``promote_delayed.lua`` and ``redrive.lua`` move only what they still find; the rest are reads,
SET/DEL with fixed values, XACK, XCLAIM JUSTID and XGROUP CREATE (BUSYGROUP is expected). What a
second run can change is bookkeeping in the safe direction: a rate-limit reservation or a breaker
outcome counted twice (fewer calls, never more than the limits), and a settle whose first run's
reply was lost reports its items skipped. Entries that a lost XREADGROUP or XAUTOCLAIM reply
delivered stay pending for the consumer, which takes them back (``worker.maintenance``).

A URL of the Sentinel form (``redis+sentinel://``, ``etl_core.redis_url``) gives a client of the
master the sentinels name (``etl_core.redis_sentinel``), with the same retry, whose connections
follow a failover. Such a client also retries ``READONLY`` (a write that reached a demoted
master): ``REDIS_OUTAGE_ERRORS`` lists what callers treat as Redis not being there, failovers
included, rather than as a fault of the command.

Redis refusing us is not an outage: a wrong password (``AuthenticationError``, which redis-py
derives from ``ConnectionError``) is never tried again, and ``refusal`` turns it, and a command
our ACL user lacks (``NoPermissionError``), into ``RedisRefused`` where the callers translate
redis-py's errors.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from etl_core.errors import RedisAuthError, RedisPermissionError, RedisRefused
from etl_core.redact import redact_text
from etl_core.redis_sentinel import async_master, sync_master
from etl_core.redis_url import is_sentinel_url, parse_sentinel_url

T = TypeVar("T")

DEFAULT_RETRY_ATTEMPTS = 10
DEFAULT_RETRY_BASE_MS = 100
DEFAULT_RETRY_MAX_BACKOFF_MS = 2_000
DEFAULT_HEALTH_CHECK_INTERVAL_S = 10
# redis-py's own defaults, named here because the workers rely on them (XREADGROUP blocks 1 s).
DEFAULT_SOCKET_TIMEOUT_S = 5.0
DEFAULT_SOCKET_CONNECT_TIMEOUT_S = 5.0

# Redis not there for now: down, restarting, loading, or mid-failover (a demoted master answers
# READONLY; MasterNotFoundError, no master named yet, is a ConnectionError).
REDIS_OUTAGE_ERRORS: tuple[type[redis.exceptions.RedisError], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
)
_PLAIN_RETRIED = [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
# A plain URL that names a replica gets READONLY for good: retrying would only delay the error.
_SENTINEL_RETRIED = [*_PLAIN_RETRIED, redis.exceptions.ReadOnlyError]

_AUTH_ERRORS = (
    redis.exceptions.AuthenticationError,
    redis.exceptions.AuthorizationError,
    redis.exceptions.AuthenticationWrongNumberOfArgsError,
)
_NAMED_COMMAND = re.compile(r"permissions to run the '([^']+)' command")
# What Redis 7 answers when a Lua script calls a command the user may not run (no NOPERM code).
_SCRIPT_COMMAND_REFUSED = "user executing the script can't run this command"


def refusal(exc: BaseException) -> RedisRefused | None:
    """``exc`` as the ``RedisRefused`` it is when Redis refused our credentials
    (``RedisAuthError``) or an ACL permission (``RedisPermissionError``, naming the command when
    Redis does); None for any other error (an outage, a wrong type, a bug)."""
    if isinstance(exc, RedisRefused):
        return exc
    text = redact_text(str(exc))
    if isinstance(exc, _AUTH_ERRORS):
        return RedisAuthError(f"Redis authentication failed: {text}")
    if isinstance(exc, redis.exceptions.NoPermissionError):
        named = _NAMED_COMMAND.search(text)
        if named is None:
            return RedisPermissionError(f"Redis ACL permission missing: {text}")
        command = named.group(1)
        return RedisPermissionError(
            f"Redis ACL permission missing: the user may not run {command!r}", command=command
        )
    if isinstance(exc, redis.exceptions.ResponseError) and _SCRIPT_COMMAND_REFUSED in text:
        reason = text.split(" script:")[0]
        return RedisPermissionError(
            f"Redis ACL permission missing: a command run by a Lua script ({reason})"
        )
    return None


def _retryable(also: Callable[[Exception], bool] | None) -> Callable[[Exception], bool]:
    return lambda error: refusal(error) is None and (also is None or also(error))


class _OutageRetry(Retry):
    """redis-py's ``Retry`` that gives up at once when Redis refused us (see ``refusal``)."""

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        return super().call_with_retry(
            do, fail, is_retryable=_retryable(is_retryable), with_failure_count=with_failure_count
        )


class _AsyncOutageRetry(AsyncRetry):
    """The asyncio twin of ``_OutageRetry``."""

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        return await super().call_with_retry(
            do, fail, is_retryable=_retryable(is_retryable), with_failure_count=with_failure_count
        )


@dataclass(frozen=True, slots=True)
class RedisRetryOptions:
    """How a client retries a command whose connection dropped or timed out.

    ``attempts`` is the number of tries after the first (0: none); the defaults sleep about 12 s in
    all (at most ``max_sleep_s()``, 15 s) before the error reaches the caller, plus each try's own
    time (a refused connection fails at once; an unreachable host takes the connect timeout).
    """

    attempts: int = DEFAULT_RETRY_ATTEMPTS
    base_ms: int = DEFAULT_RETRY_BASE_MS
    max_backoff_ms: int = DEFAULT_RETRY_MAX_BACKOFF_MS
    health_check_interval_s: int = DEFAULT_HEALTH_CHECK_INTERVAL_S

    def __post_init__(self) -> None:
        if self.attempts < 0:
            raise ValueError(f"attempts must be >= 0, got {self.attempts}")
        if self.base_ms < 1 or self.max_backoff_ms < 1:
            raise ValueError(
                f"base_ms and max_backoff_ms must be at least 1, got {self.base_ms}, "
                f"{self.max_backoff_ms}"
            )
        if self.health_check_interval_s < 0:
            raise ValueError(
                f"health_check_interval_s must be >= 0, got {self.health_check_interval_s}"
            )

    def max_sleep_s(self) -> float:
        """The longest one command can sleep between its tries, in all."""
        ceilings = (
            min(self.max_backoff_ms, self.base_ms * 2**n) for n in range(1, self.attempts + 1)
        )
        return sum(ceilings) / 1000

    def _backoff(self) -> ExponentialWithJitterBackoff:
        return ExponentialWithJitterBackoff(
            cap=self.max_backoff_ms / 1000, base=self.base_ms / 1000
        )

    def connection_kwargs(self, *, asyncio: bool, sentinel: bool = False) -> dict[str, Any]:
        """What redis-py's clients and pools take to retry as described (a new ``Retry`` each
        time: redis-py copies it into every connection, and it keeps state); ``sentinel``: for
        a client of a Sentinel-managed master, which retries ``READONLY`` too."""
        retry_class = _AsyncOutageRetry if asyncio else _OutageRetry
        return {
            "retry": retry_class(self._backoff(), self.attempts),
            "retry_on_error": list(_SENTINEL_RETRIED if sentinel else _PLAIN_RETRIED),
            "health_check_interval": self.health_check_interval_s,
        }


def sync_client(
    url: str,
    retry: RedisRetryOptions,
    *,
    socket_timeout_s: float = DEFAULT_SOCKET_TIMEOUT_S,
    socket_connect_timeout_s: float = DEFAULT_SOCKET_CONNECT_TIMEOUT_S,
    sentinel_username: str | None = None,
    sentinel_password: str | None = None,
) -> redis.Redis:
    """A synchronous client of ``url`` (``redis://``, ``rediss://``, ``unix://``, or the
    Sentinel form, whose sentinels take ``sentinel_username``/``sentinel_password`` if set)."""
    if is_sentinel_url(url):
        return sync_master(
            parse_sentinel_url(url),
            {
                "socket_timeout": socket_timeout_s,
                "socket_connect_timeout": socket_connect_timeout_s,
                **retry.connection_kwargs(asyncio=False, sentinel=True),
            },
            sentinel_timeout_s=socket_connect_timeout_s,
            sentinel_username=sentinel_username,
            sentinel_password=sentinel_password,
        )
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=socket_connect_timeout_s,
        **retry.connection_kwargs(asyncio=False),
    )


def async_client(
    url: str,
    retry: RedisRetryOptions,
    *,
    max_connections: int | None = None,
    pool_wait_s: float = 0.0,
    socket_timeout_s: float = DEFAULT_SOCKET_TIMEOUT_S,
    socket_connect_timeout_s: float = DEFAULT_SOCKET_CONNECT_TIMEOUT_S,
    sentinel_username: str | None = None,
    sentinel_password: str | None = None,
) -> aioredis.Redis:
    """An asyncio client of ``url`` (as ``sync_client``); ``aclose()`` closes its pool too.

    With ``max_connections`` the pool holds at most that many, and a command waits up to
    ``pool_wait_s`` for a free one instead of failing with "Too many connections".
    """
    if is_sentinel_url(url):
        return async_master(
            parse_sentinel_url(url),
            {
                "socket_timeout": socket_timeout_s,
                "socket_connect_timeout": socket_connect_timeout_s,
                **retry.connection_kwargs(asyncio=True, sentinel=True),
            },
            sentinel_timeout_s=socket_connect_timeout_s,
            sentinel_username=sentinel_username,
            sentinel_password=sentinel_password,
            max_connections=max_connections,
            pool_wait_s=pool_wait_s,
        )
    kwargs: dict[str, Any] = {
        "socket_timeout": socket_timeout_s,
        "socket_connect_timeout": socket_connect_timeout_s,
        **retry.connection_kwargs(asyncio=True),
    }
    if max_connections is None:
        return aioredis.Redis.from_url(url, **kwargs)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=pool_wait_s, **kwargs
    )
    return aioredis.Redis.from_pool(pool)
