"""A worker in its own process, for tests that kill it with SIGKILL.

usage: python -m tests.etl_core.worker_child REDIS_URL MODE [--until-idle]
MODE forward: count each call in hash ``test:calls`` and forward one NextJob per task.
MODE poison:  like done, but a task for location ``poison`` kills this process (SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import redis.asyncio as aioredis

from etl_core.logging import configure_logging
from etl_core.outcomes import Done, Forward, Outcome
from etl_core.worker import TaskContext, Worker
from tests.etl_core.workerkit import CODEC, NEXT, NextJob, fast_options

CALLS = "test:calls"


async def main(url: str, mode: str, until_idle: bool) -> None:
    client = aioredis.Redis.from_url(url)

    async def handler(task: Any, _ctx: TaskContext) -> Outcome:
        if mode == "poison" and task.location_id == "poison":
            os.kill(os.getpid(), signal.SIGKILL)
        await client.hincrby(CALLS, task.task_id, 1)
        if mode == "forward":
            await asyncio.sleep(0.002)
            return Forward([NextJob(location_id=task.location_id, window=task.window)])
        return Done()

    options = fast_options(
        forward_stream=NEXT if mode == "forward" else None,
        concurrency=8 if mode == "forward" else 1,
        read_count=8 if mode == "forward" else 1,
        max_deliveries=3,
        reclaim_idle_ms=600,
        handler_timeout_s=0.5,
    )
    worker = Worker(client, CODEC, handler, options)
    worker.install_signal_handlers()
    await worker.run(until_idle=until_idle)
    await client.aclose()


if __name__ == "__main__":
    configure_logging(json=True, level="WARNING")
    asyncio.run(main(sys.argv[1], sys.argv[2], "--until-idle" in sys.argv))
