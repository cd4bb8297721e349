"""A worker deployable's metrics and probes: serve them (``etl_core.worker.probes``) on
METRICS_HOST:METRICS_PORT and refresh the gauges that come from Redis every few seconds: stream
length, delayed retries, dead letters and the groups' pending and lag (``status.stream_counts``,
the numbers ``trail-etl status`` shows), the shared circuit breakers' state and failure rate,
and the shared rate limiter's admission factor and effective limits.

A metrics failure never stops a worker: a port that cannot be bound is logged and the worker runs
without probes (``/livez`` then goes unanswered, which an orchestrator notices); a failed refresh
is logged and tried again at the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import Counter

from etl_core.breaker import CircuitBreaker
from etl_core.logging import get_logger
from etl_core.ratelimit import RateLimiter
from etl_core.worker import Worker
from etl_core.worker.metrics import WorkerMetrics
from etl_core.worker.probes import ProbeServer
from services.status import stream_counts
from services.worker_settings import WorkerSettings

# The namespace of every worker metric's name (``trail_etl_worker_*``): dashboards and alerts use
# these names (docs/operations.md, "Metrics"); ``etl_core``'s default is neutral.
METRIC_NAMESPACE = "trail_etl_worker"
GAUGES_INTERVAL_S = 5.0
GAUGES_TIMEOUT_S = 2.0
STOP_TIMEOUT_S = 2.0

log = get_logger(__name__)


def pipeline_worker_metrics(stage: str, **options: Any) -> WorkerMetrics:
    """The metrics of one pipeline worker of ``stage``, named ``trail_etl_worker_*``
    (``options``: ``WorkerMetrics``' others, e.g. ``registry``)."""
    return WorkerMetrics(stage, namespace=METRIC_NAMESPACE, **options)


class SourceCallMetrics:
    """``<namespace>_source_calls_total{stage, source, endpoint, outcome}``: every call the weather
    source made to its provider (the calls that are paid for: answers from the cache are not
    counted), by outcome (``ok`` or the error's type), in the worker's registry."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self._stage = metrics.stage
        self._calls = Counter(
            f"{metrics.namespace}_source_calls_total",
            "Calls made to the weather provider (answers from the cache are not counted), by "
            "endpoint and outcome (ok, or the error's type).",
            ["stage", "source", "endpoint", "outcome"],
            registry=metrics.registry,
        )

    def on_call(self, source: str, endpoint: str, outcome: str) -> None:
        self._calls.labels(self._stage, source, endpoint, outcome).inc()


async def refresh_gauges(
    metrics: WorkerMetrics,
    client: Any,
    *,
    stream: str,
    breakers: Sequence[CircuitBreaker | None] = (),
    limiter: RateLimiter | None = None,
) -> None:
    """Set the Redis-derived gauges of ``stream`` (and ``breakers``, ``limiter``) once."""

    counts = await stream_counts(client, stream)
    metrics.set_stream(
        stream,
        length=counts["length"],
        dead_letters=counts["dead_letters"],
        delayed=counts["delayed"],
    )
    for group in counts["groups"]:
        metrics.set_group(stream, group["name"], pending=group["pending"], lag=group["lag"])
    for breaker in breakers:
        if breaker is not None:
            status = await breaker.status()
            metrics.set_breaker(breaker.name, status.state, failure_rate=status.failure_rate)
    if limiter is not None:
        metrics.set_rate_limit(await limiter.usage())


async def _refresh_every(
    interval_s: float,
    stop: asyncio.Event,
    metrics: WorkerMetrics,
    client: Any,
    *,
    stream: str,
    breakers: Sequence[CircuitBreaker | None],
    limiter: RateLimiter | None,
) -> None:
    failing = False
    while not stop.is_set():
        try:
            await asyncio.wait_for(
                refresh_gauges(metrics, client, stream=stream, breakers=breakers, limiter=limiter),
                timeout=GAUGES_TIMEOUT_S,
            )
            if failing:
                log.info("metrics_refresh_recovered", stream=stream)
            failing = False
        except Exception as exc:
            if not failing:  # once per run of failures, not every interval
                log.warning("metrics_refresh_failed", stream=stream, error=repr(exc))
            failing = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


@asynccontextmanager
async def served_metrics(
    settings: WorkerSettings,
    metrics: WorkerMetrics | None,
    worker: Worker,
    *,
    breakers: Sequence[CircuitBreaker | None] = (),
    limiter: RateLimiter | None = None,
    interval_s: float | None = None,
) -> AsyncIterator[ProbeServer | None]:
    """The probe server (None: METRICS_PORT=0, no ``metrics``, or the port could not be bound)
    and the gauge refresher, both in the running loop, for the duration of the block."""
    if metrics is None or settings.metrics_port == 0:
        yield None
        return
    server = ProbeServer(
        metrics,
        worker.client,
        host=settings.metrics_host,
        port=settings.metrics_port,
        liveness_timeout_s=settings.worker_liveness_timeout_s,
        not_ready=worker.not_ready_reason,
    )
    try:
        await server.start()
    except Exception as exc:  # OSError mostly; a METRICS_HOST that is no valid name too
        log.error(
            "metrics_server_unavailable",
            host=settings.metrics_host,
            port=settings.metrics_port,
            error=str(exc),
            hint="METRICS_PORT is taken or METRICS_HOST is not an address of this host",
        )
        yield None
        return
    stop = asyncio.Event()
    refresher = asyncio.create_task(
        _refresh_every(
            interval_s or GAUGES_INTERVAL_S,
            stop,
            metrics,
            worker.client,
            stream=worker.options.stream,
            breakers=breakers,
            limiter=limiter,
        ),
        name="metrics-refresh",
    )
    try:
        yield server
    finally:
        stop.set()
        _done, running = await asyncio.wait([refresher], timeout=STOP_TIMEOUT_S)
        for task in running:  # blocked in a Redis call
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=STOP_TIMEOUT_S)
        await server.close()
