"""Consume+ack throughput of the worker runtime with a no-op handler, in one process, on real Redis.

Run: uv run python bench/worker_bench.py [--tasks N] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
import redis.asyncio as aioredis

from etl_core.logging import configure_logging
from etl_core.outcomes import Done
from etl_core.task import ScheduledTask, TaskCodec
from etl_core.worker import TaskContext, Worker, WorkerOptions

STREAM = "bench-worker"
GROUP = "bench"


class BenchTask(ScheduledTask):
    task_type = "bench.noop"


CODEC = TaskCodec([BenchTask])


async def noop(_task: Any, _ctx: TaskContext) -> Done:
    return Done()


def fill(url: str, n: int) -> None:
    client = redis.Redis.from_url(url)
    client.delete(STREAM)
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(STREAM, CODEC.encode(BenchTask(location_id=f"loc-{i}", window="bench")))
        if len(pipe) >= 1000:
            pipe.execute()
    pipe.execute()
    client.close()


async def consume(url: str, *, concurrency: int, dedup: bool) -> tuple[int, float]:
    client = aioredis.Redis.from_url(url)
    options = WorkerOptions(
        stream=STREAM,
        group=GROUP,
        concurrency=concurrency,
        read_count=500,
        block_ms=100,
        dedup=dedup,
    )
    worker = Worker(client, CODEC, noop, options)
    started = time.perf_counter()
    counts = await worker.run(until_idle=True)
    elapsed = time.perf_counter() - started
    await client.aclose()
    return counts.done, elapsed


def run(
    n: int = 100_000, redis_url: str | None = None, concurrency: int = 1000
) -> dict[str, float]:
    """No-op consume+ack rate, with and without dedup marks, in one process."""
    server = None
    if redis_url is None:
        from tests.support.redis_server import RedisServer

        server = RedisServer()
        server.start()
        redis_url = server.url
    results: dict[str, float] = {}
    try:
        for dedup in (True, False):
            fill(redis_url, n)
            done, elapsed = asyncio.run(consume(redis_url, concurrency=concurrency, dedup=dedup))
            assert done == n, f"expected {n} done, got {done}"
            results[f"worker_noop_tasks_per_s{'_with_dedup' if dedup else ''}"] = done / elapsed
            redis.Redis.from_url(redis_url).flushall()
    finally:
        if server is not None:
            server.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    configure_logging(json=False, level="WARNING")
    for name, value in run(args.tasks, args.redis_url, args.concurrency).items():
        print(f"{name}: {value:,.0f}")


if __name__ == "__main__":
    main()
