"""Exactness of the shared rate limiter under contention, on a real redis-server.

Several OS processes, each with its own event loop, client and concurrent acquirers, hammer one
limiter for about three windows. Every admission's server timestamp is checked: no rolling window,
wherever it starts, ever holds more than the limit, and the limit is used to at least 95%.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from bisect import bisect_left
from typing import Any

import pytest
import redis.asyncio as aioredis

from etl_core.errors import RateLimited
from etl_core.ratelimit import RateLimiter
from tests.support.redis_server import RedisServer

PROCESSES = 4
ACQUIRERS_PER_PROCESS = 4
WINDOW_MS = 2_000
LIMIT = 40
RUN_S = 6.5  # a little over three windows
BARRIER_TIMEOUT_S = 60.0  # spawning and importing in every process
RESULT_TIMEOUT_S = 30.0  # after RUN_S, for the last acquire and the reply


async def _hammer_async(url: str, name: str) -> list[int]:
    client = aioredis.Redis.from_url(url)
    limiter = RateLimiter(client, name, windows=[(WINDOW_MS, LIMIT)])
    end = time.monotonic() + RUN_S
    admitted: list[int] = []

    async def acquirer() -> None:
        while (remaining_s := end - time.monotonic()) > 0:
            try:
                admission = await limiter.acquire(timeout_s=remaining_s)
            except RateLimited:
                return
            admitted.append(admission.server_time_us)

    try:
        await asyncio.gather(*(acquirer() for _ in range(ACQUIRERS_PER_PROCESS)))
    finally:
        await client.aclose()
    return admitted


def _hammer(url: str, name: str, barrier: Any, results: Any) -> None:
    """One worker process: wait for the others, hammer for RUN_S, report server timestamps."""
    barrier.wait(timeout=BARRIER_TIMEOUT_S)
    results.put(asyncio.run(_hammer_async(url, name)))


def max_in_any_window(times_us: list[int], window_us: int) -> int:
    """The most admissions in any half-open [t, t + window) that starts at an admission."""
    return max(bisect_left(times_us, t + window_us) - bisect_left(times_us, t) for t in times_us)


def collect(procs: list[Any], results: Any, *, timeout_s: float) -> list[list[int]]:
    """One reply per process, failing at once if one of them dies, or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    replies: list[list[int]] = []
    while len(replies) < len(procs):
        try:
            replies.append(results.get(timeout=0.1))
        except queue.Empty:
            crashed = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            assert not crashed, f"a hammering process failed with exit code {crashed}"
            assert time.monotonic() < deadline, "timed out waiting for the hammering processes"
    return replies


@pytest.mark.redis_real
@pytest.mark.slow
def test_no_rolling_window_exceeds_the_limit_across_processes(redis_server: RedisServer) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_hammer, args=(redis_server.url, "exactness", barrier, results))
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        per_process = collect(
            procs, results, timeout_s=BARRIER_TIMEOUT_S + RUN_S + RESULT_TIMEOUT_S
        )
    finally:
        for proc in procs:
            proc.join(timeout=RESULT_TIMEOUT_S)
            if proc.is_alive():
                proc.kill()
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    assert all(per_process), "every process got admissions"

    times_us = sorted(t for batch in per_process for t in batch)
    window_us = WINDOW_MS * 1000
    assert max_in_any_window(times_us, window_us) <= LIMIT

    full_windows = (times_us[-1] - times_us[0]) // window_us
    assert full_windows >= 2, f"the run covered only {full_windows} full window(s)"
    assert len(times_us) >= 0.95 * LIMIT * full_windows
    for k in range(full_windows):
        start = times_us[0] + k * window_us
        in_window = bisect_left(times_us, start + window_us) - bisect_left(times_us, start)
        assert in_window >= 0.95 * LIMIT, f"window {k} admitted only {in_window} of {LIMIT}"


def test_the_window_check_catches_an_overfull_window() -> None:
    """The checker itself: a burst straddling a boundary is caught; exactly W apart is not."""
    assert max_in_any_window([0, 1, 999, 1000], 1000) == 3
    assert max_in_any_window([0, 1000, 2000], 1000) == 1
    assert max_in_any_window([5, 5, 5], 1000) == 3
