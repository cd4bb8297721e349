"""Shared bits of the worker tests: task types, fast options, a recording handler."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from etl_core.outcomes import Done, Outcome
from etl_core.task import ScheduledTask, TaskCodec
from etl_core.worker import TaskContext, Worker, WorkerOptions

STREAM = "test-in"
NEXT = "test-next"
GROUP = "test-group"


class Job(ScheduledTask):
    task_type = "test.job"


class NextJob(ScheduledTask):
    task_type = "test.next"


CODEC = TaskCodec([Job, NextJob])


def fast_options(**overrides: Any) -> WorkerOptions:
    base: dict[str, Any] = {
        "stream": STREAM,
        "group": GROUP,
        "concurrency": 16,
        "block_ms": 50,
        "empty_read_backoff_ms": 5,
        "reclaim_idle_ms": 400,
        "reclaim_interval_ms": 30,
        "handler_timeout_s": 0.3,
        "delayed_poll_ms": 10,
        "retry_backoff_base_s": 0.005,
        "retry_backoff_max_s": 0.02,
        "shutdown_grace_s": 1.0,
        "housekeeping_interval_ms": 50,
        "pause_poll_ms": 20,
    }
    base.update(overrides)
    return WorkerOptions(**base)


def jobs(n: int, window: str = "w1") -> list[Job]:
    return [Job(location_id=f"loc-{i}", window=window) for i in range(n)]


async def publish(client: Any, tasks: list[Any], stream: str = STREAM) -> list[bytes]:
    pipe = client.pipeline(transaction=False)
    for task in tasks:
        pipe.xadd(stream, CODEC.encode(task))
    return list(await pipe.execute())


class Recorder:
    """A handler that counts calls per task and answers through ``decide``."""

    def __init__(
        self, decide: Callable[[Any, TaskContext, int], Awaitable[Outcome]] | None = None
    ) -> None:
        self.calls: Counter[str] = Counter()
        self.contexts: list[TaskContext] = []
        self._decide = decide

    async def __call__(self, task: Any, ctx: TaskContext) -> Outcome:
        self.calls[task.task_id] += 1
        self.contexts.append(ctx)
        if self._decide is None:
            return Done()
        return await self._decide(task, ctx, self.calls[task.task_id])


async def run_until_idle(
    client: Any, handler: Any, *, timeout_s: float = 30.0, **overrides: Any
) -> Worker:
    worker = Worker(client, CODEC, handler, fast_options(**overrides))
    await asyncio.wait_for(worker.run(until_idle=True), timeout=timeout_s)
    return worker
