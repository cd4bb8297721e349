"""Clients of a ``redis+sentinel://`` URL follow the master across failovers (real redis-servers:
a master, a replica, three sentinels): a command sent as the master dies, or to a master the
sentinels have just demoted (``READONLY``), is retried and lands on the new master."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from etl_core.redis_client import RedisRetryOptions, async_client, sync_client
from etl_core.replication import wait_for_replicas
from tests.support.redis_server import redis_server_binary, require_or_skip
from tests.support.sentinel import MASTER_NAME, SentinelTopology, sentinel_topology

pytestmark = [pytest.mark.redis_real, pytest.mark.slow]

# Each try of a command asks the sentinels again; these ride out the test topology's failover
# (a few seconds) with room to spare.
RETRY = RedisRetryOptions(attempts=40, base_ms=50, max_backoff_ms=500)


@pytest.fixture
def topology() -> Iterator[SentinelTopology]:
    require_or_skip("redis-server", redis_server_binary() is not None)
    # A sentinel starts another failover of the same master only 2 x failover-timeout after the
    # last one: a short one lets a test fail over twice in seconds.
    with sentinel_topology(replicas=1, failover_timeout_ms=2000) as topology:
        yield topology


def _value_on_master(topology: SentinelTopology, key: str) -> bytes | None:
    client = topology.master().client()
    try:
        value: Any = client.get(key)
        return value
    finally:
        client.close()


def _readonly_refusals(node: Any) -> int:
    """How many writes ``node`` refused with READONLY (its ``INFO errorstats``)."""
    client = node.client()
    try:
        stat: Any = client.info("errorstats").get("errorstat_READONLY", {"count": 0})
        return int(stat["count"])
    finally:
        client.close()


# WAIT counts the replicas that acknowledged this connection's last write: a pooled connection that
# wrote nothing answers at once. A write of its own, in the same pipeline, puts the connection past
# every write the server held, those of the other pooled connections included (as the outbox's
# ``wait_for_replicas`` does; it has no asyncio form, hence the copy below).
def _replicated(client: redis.Redis) -> int:
    return wait_for_replicas(
        client, fence_key="test-wait-fence", replicas=1, timeout_ms=10_000
    ).acknowledged


async def _replicated_async(client: Any) -> int:
    pipe = client.pipeline(transaction=False)
    pipe.set("test-wait-fence", 1, px=1_000)
    pipe.execute_command("WAIT", 1, 10_000)
    return int((await pipe.execute())[1])


def _demote_the_master(topology: SentinelTopology) -> Any:
    """``SENTINEL FAILOVER``: the replica is promoted while the master is up, and the old master
    made its replica, so a connection still open to it gets ``READONLY`` for a write. (The
    sentinels send the old master its ``REPLICAOF`` only at their next look, about 10 s later;
    the test sends the same command at once.)"""
    old = topology.master()
    # A forced failover promotes the replica as it is, without letting it catch up: what it has
    # not read yet would go when the old master resyncs from it.
    master = old.client(timeout_s=15)
    try:
        assert _replicated(master) == 1
    finally:
        master.close()
    sentinel = topology.sentinel_nodes[0].client()
    try:
        sentinel.execute_command("SENTINEL", "FAILOVER", MASTER_NAME)
    finally:
        sentinel.close()
    topology.wait_for_new_master(old)
    demoted = old.client()
    try:
        demoted.replicaof("127.0.0.1", topology.master().port)
    finally:
        demoted.close()
    topology.wait_replica_of_master(old)
    return old


def test_a_sync_client_follows_a_demotion_and_a_killed_master(topology: SentinelTopology) -> None:
    client = sync_client(topology.sentinel_url(0), RETRY)
    try:
        client.set("sync", "one")
        demoted = _demote_the_master(topology)
        client.set("sync", "two")  # its pooled connection is to the demoted master
        assert _readonly_refusals(demoted) >= 1
        assert _value_on_master(topology, "sync") == b"two"
        # The replica holds it (replication is asynchronous: the kill below must not undo it).
        assert _replicated(client) == 1

        old = topology.master()
        old.kill()
        client.set("sync", "three")  # sent while the sentinels still name the dead master
        assert topology.master() is not old
        assert _value_on_master(topology, "sync") == b"three"
    finally:
        client.close()


async def test_an_async_pooled_client_follows_a_demotion_and_a_killed_master(
    topology: SentinelTopology,
) -> None:
    client = async_client(topology.sentinel_url(1), RETRY, max_connections=4, pool_wait_s=5.0)
    try:
        await asyncio.gather(*(client.incr("async") for _ in range(8)))  # fills the pool
        demoted = await asyncio.to_thread(_demote_the_master, topology)
        await asyncio.gather(*(client.incr("async") for _ in range(8)))
        assert _readonly_refusals(demoted) >= 1
        assert await client.get("async") == b"16"
        assert await _replicated_async(client) == 1

        old = topology.master()
        old.kill()
        answers = await asyncio.gather(*(client.incr("async") for _ in range(8)))
        # Each increment landed once, on the promoted survivor: none lost, none applied twice.
        assert sorted(answers) == list(range(17, 25))
        assert await client.get("async") == b"24"
    finally:
        await client.aclose()


def test_the_sentinels_get_their_own_credentials_and_the_data_nodes_the_urls() -> None:
    url = "rediss+sentinel://app:data-pw@127.0.0.1:1,127.0.0.1:2/trail-etl/3"
    client = sync_client(url, RETRY, sentinel_username="watcher", sentinel_password="sentinel-pw")
    try:
        data = client.connection_pool.connection_kwargs
        assert (data["username"], data["password"], data["db"]) == ("app", "data-pw", 3)
        sentinels = client.connection_pool.sentinel_manager.sentinels  # type: ignore[attr-defined]
        assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [1, 2]
        for sentinel in sentinels:
            kwargs = sentinel.connection_pool.connection_kwargs
            assert (kwargs["username"], kwargs["password"]) == ("watcher", "sentinel-pw")
            assert sentinel.connection_pool.connection_class is redis.SSLConnection
        assert "ssl" in client.connection_pool.connection_class.__name__.lower()
    finally:
        client.close()
    bare = sync_client("redis+sentinel://127.0.0.1:1/trail-etl", RETRY)
    try:
        for sentinel in bare.connection_pool.sentinel_manager.sentinels:  # type: ignore[attr-defined]
            assert sentinel.connection_pool.connection_kwargs["password"] is None
    finally:
        bare.close()
