"""The breaker's defaults against many calls from several processes, on a real redis-server: a
25% random failure rate never opens it; an outage opens it within the minimum calls; and after
it opens, every replica is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from etl_core.breaker import DEFAULT_MINIMUM_CALLS, BreakerState, CircuitBreaker
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3
pytestmark = pytest.mark.redis_real


def run_replicas(url: str, name: str, *, calls_each: int, failure_rate: float) -> list[Any]:
    """Start the replicas together, wait for them all, return what each printed."""
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.etl_core.breaker_child",
                url,
                name,
                str(calls_each),
                str(failure_rate),
                str(seed),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in range(PROCESSES)
    ]
    reports = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()[-2000:]
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    return reports


async def status_of(url: str, name: str) -> Any:
    client = aioredis.Redis.from_url(url)
    try:
        return await CircuitBreaker(client, name).status()
    finally:
        await client.aclose()


async def test_a_quarter_of_calls_failing_at_random_never_opens_it(
    redis_server: RedisServer,
) -> None:
    reports = run_replicas(redis_server.url, "quarter", calls_each=700, failure_rate=0.25)
    reached = sum(r["reached"] for r in reports)
    failed = sum(r["failed"] for r in reports)
    assert reached == PROCESSES * 700  # none refused: every call went to the service
    assert 0.2 < failed / reached < 0.3  # the failures really were about a quarter
    assert [r["changes"] for r in reports] == [[]] * PROCESSES
    assert [r["refused"] for r in reports] == [0] * PROCESSES
    status = await status_of(redis_server.url, "quarter")
    assert status.state is BreakerState.CLOSED
    assert status.window_calls == 60  # successes counted too: the window is full


async def test_an_outage_opens_it_within_the_minimum_calls(redis_server: RedisServer) -> None:
    reports = run_replicas(redis_server.url, "outage", calls_each=700, failure_rate=1.0)
    status = await status_of(redis_server.url, "outage")
    assert status.state is BreakerState.OPEN
    # It opened at the minimum-calls-th failure; the calls in flight then (16 per replica) still
    # reached the service, and every call after was refused without reaching it.
    assert (status.window_calls, status.window_failures) == (DEFAULT_MINIMUM_CALLS,) * 2
    reached = sum(r["reached"] for r in reports)
    assert DEFAULT_MINIMUM_CALLS <= reached <= DEFAULT_MINIMUM_CALLS + PROCESSES * 16
    assert sum(r["refused"] for r in reports) == PROCESSES * 700 - reached
    assert sum(r["changes"].count("closed->open") for r in reports) == 1
