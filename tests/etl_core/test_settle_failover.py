"""A settle across a Sentinel failover (real redis-servers): redone, never lost.

The worker runtime settles a task (XACK and the dedup mark, one script) on the master. If the
master dies before its replica got the settle, the promoted replica still has the entry pending
(the delivery had replicated) and no mark: the task is handed out again and redone. That is the
promise "redone, not lost", shown deterministically by stopping the replica (SIGSTOP) between the
delivery reaching it and the settle (and filling its socket, so the settle waits in the master's
memory), killing the master while it is stopped, then resuming it.

If the settle did replicate, the new master has the ack and the mark: nothing is redone, and a
copy of the task delivered again (a replayed publish) is acked by the mark without running.
What the handler did outside Redis is not undone by a failover; a redone task repeats it, which
is why handlers' side effects are idempotent (upserts) and paid answers are cached.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from etl_core.dedup import DedupMarks
from etl_core.outcomes import Done, Outcome
from etl_core.worker import TaskContext, Worker
from tests.etl_core.workerkit import CODEC, GROUP, STREAM, Job, fast_options, publish
from tests.support.polling import wait_until
from tests.support.redis_server import redis_server_binary, require_or_skip
from tests.support.sentinel import SentinelTopology, sentinel_topology
from tests.support.sentinel_clients import async_master, fill_the_replica_socket

pytestmark = [pytest.mark.redis_real, pytest.mark.slow]

TASK = Job(location_id="loc-1", window="w1")
MARKS = DedupMarks(STREAM, GROUP)


@pytest.fixture
def topology() -> Iterator[SentinelTopology]:
    require_or_skip("redis-server", redis_server_binary() is not None)
    with sentinel_topology(replicas=1) as topology:
        yield topology


def _pending(node: redis.Redis) -> int:
    try:
        return int(node.xpending(STREAM, GROUP)["pending"])
    except redis.ResponseError:  # the group has not reached this node yet
        return -1


def _marked(node: redis.Redis) -> bool:
    return any(node.hexists(key, TASK.task_id) for key in MARKS.readable_keys())


class Handler:
    """Counts runs per task; ``before_return`` runs (in a thread) before the first run returns."""

    def __init__(self, before_return: Any = None) -> None:
        self.calls: Counter[str] = Counter()
        self._before_return = before_return

    async def __call__(self, task: Any, ctx: TaskContext) -> Outcome:
        self.calls[task.task_id] += 1
        if self.calls[task.task_id] == 1 and self._before_return is not None:
            await asyncio.to_thread(self._before_return)
        return Done()


async def _run_until_idle(topology: SentinelTopology, handler: Handler, **options: Any) -> Any:
    client = async_master(topology)
    try:
        worker = Worker(client, CODEC, handler, fast_options(**options))
        return await asyncio.wait_for(worker.run(until_idle=True), timeout=60)
    finally:
        await client.aclose()


# The first worker's handler waits for the replica, so it gets a long timeout (and the reclaim
# must stay above it); the worker after the failover reclaims the orphaned entry quickly.
SLOW_HANDLER = {"handler_timeout_s": 30, "reclaim_idle_ms": 40_000}


async def test_a_settle_the_replica_never_got_is_redone_on_the_new_master(
    topology: SentinelTopology,
) -> None:
    replica_node = topology.replicas()[0]
    replica = replica_node.client(timeout_s=10)
    master = topology.master().client(timeout_s=10)

    def stop_the_replica_once_it_has_the_delivery() -> None:
        wait_until(lambda: _pending(replica) == 1, message="the delivery on the replica")
        replica_node.pause()
        fill_the_replica_socket(master)  # what the master sends now stays in its memory

    client = async_master(topology)
    await publish(client, [TASK])
    await client.aclose()
    handler = Handler(before_return=stop_the_replica_once_it_has_the_delivery)
    try:
        first = await _run_until_idle(topology, handler, **SLOW_HANDLER)
        assert first.done == 1
        assert (_pending(master), _marked(master)) == (0, True)  # settled on the master

        old = topology.master()
        old.kill()
        replica_node.resume()
        await asyncio.to_thread(topology.wait_for_new_master, old)
        # The new master never got the settle: the entry is pending again, no mark.
        assert (_pending(replica), _marked(replica)) == (1, False)

        second = await _run_until_idle(topology, handler, reclaim_idle_ms=400)
        assert (second.reclaimed, second.done) == (1, 1)
        assert handler.calls[TASK.task_id] == 2, "redone once, on the new master"
        assert (_pending(replica), _marked(replica)) == (0, True)
    finally:
        if replica_node.alive():
            replica_node.resume()


async def test_a_replicated_settle_survives_and_its_mark_stops_a_second_run(
    topology: SentinelTopology,
) -> None:
    replica_node = topology.replicas()[0]
    replica = replica_node.client(timeout_s=10)
    client = async_master(topology)
    await publish(client, [TASK])
    handler = Handler()
    try:
        first = await _run_until_idle(topology, handler)
        assert first.done == 1
        wait_until(
            lambda: _pending(replica) == 0 and _marked(replica), message="the settle replicated"
        )
        await asyncio.to_thread(topology.kill_master)
        assert topology.master() is replica_node
        assert (_pending(replica), _marked(replica)) == (0, True)

        await publish(client, [TASK])  # the same task delivered again (a replayed publish)
        second = await _run_until_idle(topology, handler)
        assert (second.already_done, second.done) == (1, 0)
        assert handler.calls[TASK.task_id] == 1, "the mark kept it from running twice"
    finally:
        await client.aclose()
