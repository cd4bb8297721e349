"""One replica of a shared breaker in its own process, for ``test_breaker_rate.py``.

usage: python -m tests.etl_core.breaker_child REDIS_URL NAME CALLS FAILURE_RATE SEED

Makes CALLS calls through ``CircuitBreaker(NAME)`` with the default options, 16 at a time; each
fails (``TransientError``) with probability FAILURE_RATE, independently (``random.Random(SEED)``).
A refused call (``BreakerOpen``) counts as made. Prints one JSON line: how many calls reached the
"service", failed, were refused, and the state changes this replica saw.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys

import redis.asyncio as aioredis

from etl_core.breaker import BreakerState, CircuitBreaker
from etl_core.errors import BreakerOpen, TransientError

CONCURRENCY = 16


async def main(url: str, name: str, calls: int, failure_rate: float, seed: int) -> None:
    client = aioredis.Redis.from_url(url)
    rng = random.Random(seed)
    changes: list[str] = []

    def hook(_name: str, old: BreakerState, new: BreakerState) -> None:
        changes.append(f"{old}->{new}")

    breaker = CircuitBreaker(client, name, on_state_change=hook)
    counts = {"reached": 0, "failed": 0, "refused": 0}
    left = calls

    async def service() -> None:
        counts["reached"] += 1
        await asyncio.sleep(0)
        if rng.random() < failure_rate:
            counts["failed"] += 1
            raise TransientError("503")

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            try:
                await breaker.call(service)
            except TransientError:
                pass
            except BreakerOpen:
                counts["refused"] += 1

    await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
    await breaker.flush()
    await client.aclose()
    print(json.dumps({**counts, "changes": changes}))


if __name__ == "__main__":
    url, name, n, rate, seed = sys.argv[1:6]
    asyncio.run(main(url, name, int(n), float(rate), int(seed)))
