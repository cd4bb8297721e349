"""How many rate-limit checks per second one process gets through, one round trip each.

    uv run python bench/ratelimit_bench.py redis://127.0.0.1:6379/0 --concurrency 16 --seconds 5

Uses a limiter name of its own (``bench-<random>``) whose keys expire by themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time

import redis.asyncio as aioredis

from etl_core.ratelimit import RateLimiter

DEFAULT_CONCURRENCY = 16
DEFAULT_RUN_S = 5.0


async def bench(url: str, *, concurrency: int, run_s: float, limit: int, window_ms: int) -> None:
    client = aioredis.Redis.from_url(url)
    limiter = RateLimiter(
        client, f"bench-{secrets.token_hex(4)}", windows=[(window_ms, limit)], per_day=10**12
    )
    checks = admitted = 0
    end = time.monotonic() + run_s

    async def worker() -> None:
        nonlocal checks, admitted
        while time.monotonic() < end:
            admission = await limiter.try_acquire()
            checks += 1
            admitted += admission.admitted

    started = time.monotonic()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.aclose()
    elapsed_s = time.monotonic() - started
    print(
        f"{checks / elapsed_s:,.0f} checks/s, {admitted / elapsed_s:,.0f} admitted/s "
        f"(window {window_ms} ms, limit {limit}, concurrency {concurrency})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--seconds", type=float, default=DEFAULT_RUN_S)
    parser.add_argument("--limit", type=int, default=1_000, help="permits per window")
    parser.add_argument("--window-ms", type=int, default=1_000)
    args = parser.parse_args()
    asyncio.run(
        bench(
            args.url,
            concurrency=args.concurrency,
            run_s=args.seconds,
            limit=args.limit,
            window_ms=args.window_ms,
        )
    )


if __name__ == "__main__":
    main()
