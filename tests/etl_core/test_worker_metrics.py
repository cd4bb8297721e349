"""Worker metrics and probes: hooks counted in a registry of its own; /metrics, /livez, /readyz."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from etl_core.breaker import BreakerState
from etl_core.errors import RateLimited, TransientError
from etl_core.outcomes import Done, Fail, Outcome
from etl_core.pause import StagePause
from etl_core.ratelimit import RateLimiter
from etl_core.ratelimit_adaptive import AdaptiveAdmission
from etl_core.worker import Worker
from etl_core.worker.metrics import WorkerMetrics
from etl_core.worker.probes import ProbeServer
from tests.etl_core.workerkit import CODEC, Recorder, fast_options, jobs, publish
from tests.support.polling import await_until
from tests.support.redis_server import RedisServer

STAGE = "test-stage"


def value(metrics: WorkerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"stage": STAGE, **labels})


def scraped(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a /metrics page, or None when it is not there."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == {"stage": STAGE, **labels}:
                return float(sample.value)
    return None


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


async def started(metrics: WorkerMetrics, client: Any, **options: Any) -> ProbeServer:
    server = ProbeServer(metrics, client, host="127.0.0.1", port=0, **options)
    await server.start()
    return server


async def test_hooks_count_every_outcome_retry_and_dead_letter(aredis: Any) -> None:
    await publish(aredis, jobs(10))

    async def decide(task: Any, _ctx: Any, n: int) -> Outcome:
        i = int(task.location_id.split("-")[1])
        if i in (6, 7):
            return Fail("BadTrail", "no such trail")
        if i == 8 and n == 1:
            raise TransientError("flaky")
        if i == 9 and n == 1:
            raise RateLimited("slow down", retry_after_s=0.01)
        return Done()

    metrics = WorkerMetrics(STAGE)
    worker = Worker(aredis, CODEC, Recorder(decide), fast_options(), hooks=metrics)
    await asyncio.wait_for(worker.run(until_idle=True), timeout=30)

    tasks = "etl_worker_tasks_total"
    assert value(metrics, tasks, outcome="done") == 8 == worker.counts.done
    assert value(metrics, tasks, outcome="dead_lettered") == 2
    assert value(metrics, tasks, outcome="retried") == 1
    assert value(metrics, tasks, outcome="waited") == 1
    assert value(metrics, tasks, outcome="forwarded") == 0  # present from the start
    assert value(metrics, tasks, outcome="already_done") == 0
    assert value(metrics, "etl_worker_handler_duration_seconds_count") == 12
    assert value(metrics, "etl_worker_retries_total", error_type="TransientError") == 1
    assert value(metrics, "etl_worker_dead_letters_total", error_type="BadTrail") == 2
    assert value(metrics, "etl_worker_reclaimed_total") == 0
    assert metrics.loop_age_s() < 5


async def test_reclaims_and_redis_errors_are_counted() -> None:
    metrics = WorkerMetrics(STAGE)
    metrics.on_reclaimed(3, 1)
    metrics.on_reclaimed(2, 0)
    metrics.on_redis_error("xreadgroup")
    metrics.on_redis_error("_promote")  # a chore, by its method's name
    assert value(metrics, "etl_worker_reclaimed_total") == 5
    assert value(metrics, "etl_worker_deleted_while_pending_total") == 1
    assert value(metrics, "etl_worker_redis_errors_total", where="xreadgroup") == 1
    assert value(metrics, "etl_worker_redis_errors_total", where="promote") == 1


async def test_rate_limiter_waits_are_counted_with_the_seconds_waited(aredis: Any) -> None:
    metrics = WorkerMetrics(STAGE)
    limiter = RateLimiter(aredis, "metered", windows=[(300, 1)], on_wait=metrics.on_rate_limit_wait)
    await limiter.acquire(timeout_s=5)
    await limiter.acquire(timeout_s=5)
    assert value(metrics, "etl_worker_rate_limit_waits_total", limiter="metered") == 1
    waited = value(metrics, "etl_worker_rate_limit_wait_seconds_total", limiter="metered")
    assert waited is not None and 0 < waited <= 0.5


async def test_refusals_and_decreases_are_counted_and_the_factor_is_a_gauge(aredis: Any) -> None:
    metrics = WorkerMetrics(STAGE)
    limiter = RateLimiter(
        aredis,
        "metered",
        windows=[(60_000, 20), (1_000, 9)],
        adaptive=AdaptiveAdmission(),
        on_refusal=metrics.on_rate_limit_refusal,
    )
    for _ in range(5):  # 5 of 5 permits refused: the fifth lowers the factor
        await limiter.report_refusal(await limiter.try_acquire())
    assert value(metrics, "etl_worker_rate_limit_refusals_total", limiter="metered") == 5
    assert value(metrics, "etl_worker_rate_limit_lowered_total", limiter="metered") == 1
    metrics.set_rate_limit(await limiter.usage())
    factor = value(metrics, "etl_worker_rate_limit_factor", limiter="metered")
    assert factor == pytest.approx(0.5, abs=0.01)
    effective = "etl_worker_rate_limit_effective"
    assert value(metrics, effective, limiter="metered", window_ms="60000") == 10
    assert value(metrics, effective, limiter="metered", window_ms="1000") == 4


def test_slot_waits_are_counted_per_pool_with_the_seconds_waited() -> None:
    metrics = WorkerMetrics(STAGE)
    metrics.on_slot_wait("owm-calls", 0.25)
    metrics.on_slot_wait("owm-calls", 0.5)
    assert value(metrics, "etl_worker_slot_waits_total", pool="owm-calls") == 2
    assert value(metrics, "etl_worker_slot_wait_seconds_total", pool="owm-calls") == 0.75


async def test_gauges_show_breaker_state_and_streams_and_drop_an_unknown_lag() -> None:
    metrics = WorkerMetrics(STAGE)
    # The state hash's coding (BreakerCode), which old replicas still write during an upgrade.
    for state, code in (
        (BreakerState.OPEN, 1),
        (BreakerState.HALF_OPEN, 2),
        (BreakerState.CLOSED, 0),
    ):
        metrics.set_breaker("owm", state)
        assert value(metrics, "etl_worker_breaker_state", breaker="owm") == code
    metrics.set_stream("s", length=7, dead_letters=2, delayed=1)
    metrics.set_group("s", "g", pending=3, lag=4)
    assert value(metrics, "etl_worker_stream_length", stream="s") == 7
    assert value(metrics, "etl_worker_dead_letter_stream_length", stream="s") == 2
    assert value(metrics, "etl_worker_delayed_retries", stream="s") == 1
    assert value(metrics, "etl_worker_group_pending", stream="s", group="g") == 3
    assert value(metrics, "etl_worker_group_lag", stream="s", group="g") == 4
    metrics.set_group("s", "g", pending=0, lag=None)
    assert value(metrics, "etl_worker_group_lag", stream="s", group="g") is None
    assert value(metrics, "etl_worker_group_pending", stream="s", group="g") == 0


async def test_metrics_endpoint_serves_the_registry_and_unknown_routes_are_404(
    aredis: Any, http: httpx.AsyncClient
) -> None:
    metrics = WorkerMetrics(STAGE)
    metrics.on_outcome("done", None, 0.02)
    server = await started(metrics, aredis, liveness_timeout_s=60)
    base = f"http://127.0.0.1:{server.port}"
    try:
        page = await http.get(base + "/metrics")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/plain")
        assert scraped(page.text, "etl_worker_tasks_total", outcome="done") == 1
        assert scraped(page.text, "etl_worker_handler_duration_seconds_count") == 1
        assert (await http.get(base + "/nope")).status_code == 404
        assert (await http.post(base + "/metrics")).status_code == 405
        head = await http.head(base + "/livez")
        assert head.status_code == 200 and head.content == b""
    finally:
        await server.close()


async def test_livez_is_503_while_the_read_loop_is_stalled_and_200_once_it_goes_round(
    aredis: Any, http: httpx.AsyncClient
) -> None:
    """One slot, held by a handler that waits: the read loop waits for the slot, not going round."""
    release = asyncio.Event()

    async def hold(_task: Any, _ctx: Any, _n: int) -> Outcome:
        await release.wait()
        return Done()

    metrics = WorkerMetrics(STAGE)
    options = fast_options(concurrency=1, handler_timeout_s=20, reclaim_idle_ms=30_000)
    worker = Worker(aredis, CODEC, Recorder(hold), options, hooks=metrics)
    server = await started(metrics, aredis, liveness_timeout_s=0.3)
    livez = f"http://127.0.0.1:{server.port}/livez"
    running = asyncio.create_task(worker.run())
    try:
        assert (await http.get(livez)).status_code == 200
        await publish(aredis, jobs(1))

        async def status_is(code: int) -> httpx.Response | None:
            response = await http.get(livez)
            return response if response.status_code == code else None

        stalled = await await_until(lambda: status_is(503), message="/livez to say 503")
        assert stalled.json()["status"] == "stalled"
        assert "read loop has not gone round" in stalled.json()["reason"]
        assert worker.in_flight == 1
        release.set()
        healthy = await await_until(lambda: status_is(200), message="/livez to say 200 again")
        assert healthy.json()["loop_age_s"] <= 0.3
        assert worker.counts.done == 1
    finally:
        release.set()
        worker.stop()
        await asyncio.wait_for(running, timeout=30)
        await server.close()


@pytest.mark.redis_real
async def test_readyz_follows_redis_and_never_waits_long(
    own_redis_server: RedisServer, http: httpx.AsyncClient
) -> None:
    client = aioredis.Redis.from_url(own_redis_server.url)
    metrics = WorkerMetrics(STAGE)
    worker = Worker(client, CODEC, Recorder(), fast_options(), hooks=metrics)
    server = await started(metrics, client, liveness_timeout_s=10, ping_timeout_s=1.0)
    base = f"http://127.0.0.1:{server.port}"
    running = asyncio.create_task(worker.run())
    try:
        ready = await http.get(base + "/readyz")
        assert ready.status_code == 200, ready.text
        own_redis_server.stop()
        for _ in range(3):
            began = time.monotonic()
            down = await http.get(base + "/readyz")
            assert down.status_code == 503
            assert time.monotonic() - began < 2.5
        assert down.json()["status"] == "unavailable" and "redis" in down.json()["reason"]

        async def redis_errors_counted() -> bool:
            page = (await http.get(base + "/metrics")).text
            return any(
                s.name == "etl_worker_redis_errors_total" and s.value > 0
                for f in text_string_to_metric_families(page)
                for s in f.samples
            )

        await await_until(redis_errors_counted, message="Redis errors in /metrics")
        # Redis being down is no reason to restart the worker: its loop keeps going round.
        assert (await http.get(base + "/livez")).status_code == 200
        own_redis_server.start()
        await await_until(
            lambda: _status(http, base + "/readyz", 200), message="/readyz to say 200 again"
        )
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=60)
        await server.close()
        await client.aclose()


async def _status(http: httpx.AsyncClient, url: str, code: int) -> bool:
    return (await http.get(url)).status_code == code


def test_names_are_prefixed_and_carry_the_stage() -> None:
    metrics = WorkerMetrics(STAGE)
    names = {f.name for f in metrics.registry.collect()}
    assert names and all(n.startswith("etl_worker_") for n in names)
    assert value(metrics, "etl_worker_read_loop_age_seconds") is not None


def test_the_namespace_names_every_metric() -> None:
    default = {f.name for f in WorkerMetrics(STAGE).registry.collect()}
    metrics = WorkerMetrics(STAGE, namespace="some_app_worker")
    names = {f.name for f in metrics.registry.collect()}
    assert names == {"some_app_worker_" + n.removeprefix("etl_worker_") for n in default}
    metrics.on_outcome("done", None, 0.01)
    assert value(metrics, "some_app_worker_tasks_total", outcome="done") == 1


async def test_readyz_is_503_with_the_reason_while_the_stage_is_paused(
    aredis: Any, http: httpx.AsyncClient
) -> None:
    metrics = WorkerMetrics(STAGE)
    worker = Worker(aredis, CODEC, Recorder(), fast_options(group=STAGE), hooks=metrics)
    server = await started(
        metrics, aredis, liveness_timeout_s=10, not_ready=worker.not_ready_reason
    )
    base = f"http://127.0.0.1:{server.port}"
    running = asyncio.create_task(worker.run())
    pause = StagePause(aredis, STAGE)
    try:
        assert (await http.get(base + "/readyz")).status_code == 200
        await pause.pause("bill at risk")

        async def paused() -> bool:
            answer = await http.get(base + "/readyz")
            return answer.status_code == 503 and "bill at risk" in answer.json()["reason"]

        await await_until(paused, message="/readyz to report the pause")
        assert (await http.get(base + "/livez")).status_code == 200  # paused is not stuck
        assert value(metrics, "etl_worker_stage_paused", source="manual") == 1
        assert value(metrics, "etl_worker_stage_paused", source="auto") == 0
        await pause.resume()
        await await_until(
            lambda: _status(http, base + "/readyz", 200), message="/readyz to say 200 again"
        )
        assert value(metrics, "etl_worker_stage_paused", source="manual") == 0
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=60)
        await server.close()
