"""A worker across redis-server SIGKILLs and restarts from the AOF: no handler fails, no attempt is
spent, every task is handed on exactly once (handlers that use Redis themselves, real server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from etl_core import keys
from etl_core.outcomes import Forward, Outcome
from etl_core.redis_client import RedisRetryOptions, async_client
from etl_core.worker import TaskContext, Worker
from tests.etl_core.workerkit import (
    CODEC,
    GROUP,
    NEXT,
    STREAM,
    NextJob,
    fast_options,
    jobs,
    publish,
)
from tests.support.polling import await_until
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis_real

TASKS = 400
RESTART_AT = (80, 200)  # hand-offs seen when redis-server is killed and restarted


class RedisUsingHandler:
    """Reads and writes keys of its own around a short wait, as the fetch handler does."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.attempts: list[int] = []

    async def __call__(self, task: Any, ctx: TaskContext) -> Outcome:
        self.attempts.append(ctx.attempts)
        key = f"test-seen:{task.task_id}"
        await self.client.get(key)
        await asyncio.sleep(0.02)
        await self.client.set(key, "1", ex=600)
        return Forward([NextJob(location_id=task.location_id, window=task.window)])


async def test_redis_restarts_cost_no_attempt_and_hand_off_each_task_once(
    aof_redis_server: RedisServer,
) -> None:
    retry = RedisRetryOptions()
    client = async_client(aof_redis_server.url, retry, max_connections=64, pool_wait_s=30)
    observer = async_client(aof_redis_server.url, retry)
    handler = RedisUsingHandler(client)
    options = fast_options(
        forward_stream=NEXT,
        concurrency=8,
        # Long enough that no entry is reclaimed during a restart: a reclaim counts a delivery.
        handler_timeout_s=30,
        reclaim_idle_ms=60_000,
    )
    worker = Worker(client, CODEC, handler, options)
    await publish(client, jobs(TASKS))
    running = asyncio.create_task(worker.run())
    try:
        for threshold in RESTART_AT:
            await await_until(
                lambda t=threshold: _handed_off_at_least(observer, t),
                timeout_s=30,
                message=f"{threshold} hand-offs",
            )
            await asyncio.to_thread(aof_redis_server.kill)
            await asyncio.to_thread(aof_redis_server.start)
        assert int(await observer.xlen(NEXT)) < TASKS, "the restarts came too late"
        await await_until(
            lambda: _finished(observer), timeout_s=60, message=f"{TASKS} tasks finished"
        )
        worker.stop()
        counts = await asyncio.wait_for(running, timeout=30)

        forwarded = [CODEC.decode(f).task_id for _id, f in await observer.xrange(NEXT)]
        assert len(forwarded) == TASKS and len(set(forwarded)) == TASKS, "each handed on once"
        # The client's retries hid both restarts from the handlers: not even a wait.
        assert (counts.retried, counts.waited, counts.dead_lettered) == (0, 0, 0), counts
        assert not {"ConnectionError", "TimeoutError"} & set(counts.by_error_type), counts
        assert set(handler.attempts) == {0}, "a restart spent an attempt"
        assert await observer.xlen(keys.dead_letter_stream(STREAM)) == 0
    finally:
        worker.stop()
        await asyncio.wait([running], timeout=30)
        await client.aclose()
        await observer.aclose()


async def _handed_off_at_least(observer: Any, count: int) -> bool:
    return int(await observer.xlen(NEXT)) >= count


async def _finished(observer: Any) -> bool:
    if int(await observer.xlen(NEXT)) < TASKS:
        return False
    pending = int((await observer.xpending(STREAM, GROUP))["pending"])
    return pending == 0 and int(await observer.zcard(keys.delayed_set(STREAM))) == 0
