"""Clients of a test Sentinel deployment built with redis-py's own Sentinel support, at library
level (the settings' URL form is not needed): they follow a failover, retrying a command whose
connection dropped for long enough to span one (about 2 s here). And a way to make a stopped
replica lag for real (``fill_the_replica_socket``)."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from tests.support.sentinel import MASTER_NAME, SentinelTopology

RETRIES = 40  # up to about 40 x 0.5 s: longer than a failover of the test topology
BACKOFF = {"base": 0.05, "cap": 0.5}
SOCKET_TIMEOUT_S = 10.0  # above every WAIT timeout the tests use
FILLER_MB = 1 << 20
FILLER_MAX_MB = 128  # under the replica output buffer's hard limit (256 MB)


def _addresses(topology: SentinelTopology) -> list[tuple[str, int]]:
    return [("127.0.0.1", node.port) for node in topology.sentinel_nodes]


def sync_master(topology: SentinelTopology) -> redis.Redis:
    sentinel = Sentinel(_addresses(topology), socket_timeout=1.0)
    client: redis.Redis = sentinel.master_for(
        MASTER_NAME,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=1.0,
        retry=Retry(ExponentialWithJitterBackoff(**BACKOFF), RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
    return client


def async_master(topology: SentinelTopology) -> aioredis.Redis:
    sentinel = AsyncSentinel(_addresses(topology), socket_timeout=1.0)
    client: aioredis.Redis = sentinel.master_for(
        MASTER_NAME,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=1.0,
        retry=AsyncRetry(ExponentialWithJitterBackoff(**BACKOFF), RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
    return client


def _replica_link(master: redis.Redis) -> dict[str, Any]:
    (link,) = master.client_list(_type="replica")
    return link


def fill_the_replica_socket(master: redis.Redis) -> None:
    """Write filler on the master until the stopped replica's socket takes no more (the kernel's
    buffers on loopback hold megabytes): from then on what the master sends its replica waits in
    the master's own memory, which a SIGKILL loses for good, as a lag does."""
    for number in range(FILLER_MAX_MB):
        link = _replica_link(master)
        if "w" in link["events"] and int(link["omem"]) >= FILLER_MB:
            return
        master.set(f"test-filler:{number}", b"x" * FILLER_MB)
    raise AssertionError(f"{FILLER_MAX_MB} MB did not fill the stopped replica's socket")


def stuck_bytes(master: redis.Redis) -> int:
    """Replication stream the master holds for its stopped replica, unsent."""
    return int(_replica_link(master)["omem"])
