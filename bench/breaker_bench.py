"""What the shared circuit breaker costs per call: Redis commands, Redis CPU and client time.

    uv run python bench/breaker_bench.py [--calls 20000] [--failure-rate 0.0] [--concurrency 16]

Starts a private redis-server on a free port (needs the binary on PATH), makes ``--calls`` calls
through ``CircuitBreaker`` (default options) to a service that answers at once and fails with
``--failure-rate`` (independent, seeded), ``--concurrency`` at a time, and prints per call: the
Redis commands the breaker sent (``INFO commandstats``), the server CPU they took (``INFO cpu``)
and the client's wall time, beside the same loop with no breaker.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from etl_core.breaker import CircuitBreaker
from etl_core.errors import BreakerOpen, TransientError
from tests.support.redis_server import RedisServer


async def _server_counts(client: Any) -> tuple[int, float]:
    stats = await client.info("commandstats")
    commands = sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")
    cpu = await client.info("cpu")
    return commands, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


async def _run(client: Any, *, calls: int, concurrency: int, rate: float, guarded: bool) -> float:
    breaker = CircuitBreaker(client, f"bench-{random.random()}")
    rng = random.Random(1)
    left = calls

    async def service() -> None:
        if rng.random() < rate:
            raise TransientError("503")

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            try:
                if guarded:
                    await breaker.call(service)
                else:
                    await service()
            except (TransientError, BreakerOpen):
                pass

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return time.perf_counter() - started


async def bench(calls: int, concurrency: int, rate: float) -> None:
    server = RedisServer()
    server.start()
    client = aioredis.Redis.from_url(server.url)
    try:
        await _run(client, calls=500, concurrency=concurrency, rate=rate, guarded=True)  # warm up
        await client.config_resetstat()
        before = await _server_counts(client)
        guarded_s = await _run(
            client, calls=calls, concurrency=concurrency, rate=rate, guarded=True
        )
        after = await _server_counts(client)
        bare_s = await _run(client, calls=calls, concurrency=concurrency, rate=rate, guarded=False)
    finally:
        await client.aclose()
        server.close()
    commands = (after[0] - before[0]) / calls
    cpu_us = (after[1] - before[1]) / calls * 1e6
    print(
        f"{calls} calls, failure rate {rate}, concurrency {concurrency}: "
        f"{commands:.2f} Redis commands per call, {cpu_us:.1f} us Redis CPU per call, "
        f"{guarded_s / calls * 1e6:.0f} us client wall time per call "
        f"(without the breaker {bare_s / calls * 1e6:.1f} us)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(bench(args.calls, args.concurrency, args.failure_rate))


if __name__ == "__main__":
    main()
