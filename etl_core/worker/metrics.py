"""Prometheus metrics of one worker process: the runtime's ``WorkerHooks`` turned into counters,
plus gauges that a refresher sets from Redis (streams, breaker, rate limiter) and the read loop's
liveness.

Every metric lives in the ``CollectorRegistry`` of one ``WorkerMetrics`` (tests build many) and
carries the ``stage`` label the deployable chose (e.g. its consumer group's name). Every name
starts with the ``namespace`` the deployable passes and an underscore (``etl_worker_*`` by
default); the names are listed in docs/etl-core.md ("Metrics and probes").
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from etl_core.breaker import BreakerState
from etl_core.ratelimit_usage import RateLimitUsage
from etl_core.worker.hooks import WorkerHooks

DEFAULT_NAMESPACE = "etl_worker"
OUTCOMES = ("done", "forwarded", "retried", "waited", "dead_lettered", "already_done")
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

Clock = Callable[[], float]


class WorkerMetrics(WorkerHooks):
    """Hooks of one worker; every metric is named ``<namespace>_<name>``; ``clock`` (monotonic
    seconds) is what liveness is measured on."""

    def __init__(
        self,
        stage: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        registry: CollectorRegistry | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.stage = stage
        self.namespace = namespace
        prefix = f"{namespace}_"
        self.registry = r = registry or CollectorRegistry(auto_describe=True)
        self._clock = clock
        self.last_loop = clock()  # start-up counts as a round: liveness starts from here

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(prefix + name, doc, ["stage", *labels], registry=r)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(prefix + name, doc, ["stage", *labels], registry=r)

        self.tasks = counter("tasks", "Tasks settled, by outcome.", "outcome")
        for outcome in OUTCOMES:  # every series exists from the start, at 0
            self.tasks.labels(stage, outcome)
        self.handler_duration = Histogram(
            prefix + "handler_duration_seconds",
            "Time from a task's handler start (or, settled without a handler, from the decision)"
            " until its outcome was applied in Redis.",
            ["stage"],
            buckets=DURATION_BUCKETS_S,
            registry=r,
        ).labels(stage)
        self.retries = counter(
            "retries", "Retries that spent an attempt, by error type.", "error_type"
        )
        self.dead_letters = counter(
            "dead_letters", "Entries sent to the dead-letter stream, by error type.", "error_type"
        )
        self.reclaimed = counter("reclaimed", "Idle entries taken over from other consumers.")
        self.reclaimed.labels(stage)
        self.deleted_while_pending = counter(
            "deleted_while_pending", "Reclaimed entries found deleted from the stream (acked)."
        )
        self.deleted_while_pending.labels(stage)
        self.consumers_pruned = counter(
            "consumers_pruned", "Idle consumers of the group with no pending entry, removed."
        )
        self.consumers_pruned.labels(stage)
        self.redis_errors = counter(
            "redis_errors", "Redis calls that failed and were retried, by where.", "where"
        )
        self.rate_limit_waits = counter(
            "rate_limit_waits", "Rate-limiter acquires that had to sleep.", "limiter"
        )
        self.rate_limit_wait_seconds = counter(
            "rate_limit_wait_seconds", "Seconds slept waiting for rate-limiter permits.", "limiter"
        )
        self.rate_limit_refusals = counter(
            "rate_limit_refusals",
            "Calls a rate limiter admitted that the service refused (e.g. HTTP 429).",
            "limiter",
        )
        self.rate_limit_lowered = counter(
            "rate_limit_lowered",
            "Times this process lowered a shared limiter's admission factor.",
            "limiter",
        )
        self.slot_waits = counter(
            "slot_waits", "Waits for a free slot of a bounded pool (e.g. outgoing calls).", "pool"
        )
        self.slot_wait_seconds = counter(
            "slot_wait_seconds", "Seconds waited for a free slot of a bounded pool.", "pool"
        )
        self.breaker_state = gauge(
            "breaker_state", "Shared circuit breaker: 0 closed, 1 open, 2 half-open.", "breaker"
        )
        self.stage_paused = gauge(
            "stage_paused",
            "1 while this worker sees its stage paused, by source (auto: a stage-wide failure;"
            " manual: an operator), else 0.",
            "source",
        )
        for source in ("auto", "manual"):
            self.stage_paused.labels(stage, source).set(0)
        self.breaker_failure_rate = gauge(
            "breaker_failure_rate",
            "Share of failed calls in the shared circuit breaker's sliding window (0 when empty).",
            "breaker",
        )
        self.rate_limit_factor = gauge(
            "rate_limit_factor",
            "Shared rate limiter's admission factor: 1 the configured limits, lower when lowered.",
            "limiter",
        )
        self.rate_limit_effective = gauge(
            "rate_limit_effective",
            "Shared rate limiter's effective limit per sliding window (configured x factor).",
            "limiter",
            "window_ms",
        )
        self.stream_length = gauge("stream_length", "Entries in the stream (XLEN).", "stream")
        self.dead_letter_length = gauge(
            "dead_letter_stream_length", "Entries in the stream's dead-letter stream.", "stream"
        )
        self.delayed = gauge("delayed_retries", "Retries waiting in the delayed set.", "stream")
        self.group_pending = gauge(
            "group_pending", "Entries delivered to the group, not yet acked.", "stream", "group"
        )
        self.group_lag = gauge(
            "group_lag", "Entries not yet delivered to the group.", "stream", "group"
        )
        self.loop_age = gauge("read_loop_age_seconds", "Seconds since the read loop went round.")
        self.loop_age.labels(stage).set_function(self.loop_age_s)

    # -- WorkerHooks -------------------------------------------------------------------------

    def on_outcome(self, kind: str, error_type: str | None, duration_s: float) -> None:
        self.tasks.labels(self.stage, kind).inc()
        self.handler_duration.observe(duration_s)
        if kind == "retried":
            self.retries.labels(self.stage, error_type or "").inc()
        elif kind == "dead_lettered":
            self.dead_letters.labels(self.stage, error_type or "").inc()

    def on_reclaimed(self, claimed: int, deleted: int) -> None:
        self.reclaimed.labels(self.stage).inc(claimed)
        self.deleted_while_pending.labels(self.stage).inc(deleted)

    def on_consumers_pruned(self, count: int) -> None:
        self.consumers_pruned.labels(self.stage).inc(count)

    def on_loop(self) -> None:
        self.last_loop = self._clock()

    def on_redis_error(self, where: str) -> None:
        self.redis_errors.labels(self.stage, where.lstrip("_")).inc()  # a chore: "_promote"

    def on_pause(self, source: str | None) -> None:
        for each in ("auto", "manual"):
            self.stage_paused.labels(self.stage, each).set(1 if each == source else 0)

    # -- other sources -----------------------------------------------------------------------

    def on_rate_limit_wait(self, limiter: str, waited_s: float) -> None:
        """``RateLimiter(on_wait=...)``."""
        self.rate_limit_waits.labels(self.stage, limiter).inc()
        self.rate_limit_wait_seconds.labels(self.stage, limiter).inc(waited_s)

    def on_rate_limit_refusal(self, limiter: str, lowered: bool) -> None:
        """``RateLimiter(on_refusal=...)``."""
        self.rate_limit_refusals.labels(self.stage, limiter).inc()
        if lowered:
            self.rate_limit_lowered.labels(self.stage, limiter).inc()

    def on_slot_wait(self, pool: str, waited_s: float) -> None:
        """A task waited ``waited_s`` for a slot of ``pool`` (reported by the pool)."""
        self.slot_waits.labels(self.stage, pool).inc()
        self.slot_wait_seconds.labels(self.stage, pool).inc(waited_s)

    def set_breaker(
        self, name: str, state: BreakerState, *, failure_rate: float | None = None
    ) -> None:
        """``failure_rate=None`` (an empty window) shows as 0: nothing failed."""
        self.breaker_state.labels(self.stage, name).set(state.code)
        self.breaker_failure_rate.labels(self.stage, name).set(failure_rate or 0.0)

    def set_rate_limit(self, usage: RateLimitUsage) -> None:
        self.rate_limit_factor.labels(self.stage, usage.name).set(usage.factor)
        for window in usage.windows:
            effective = self.rate_limit_effective.labels(self.stage, usage.name, window.window_ms)
            effective.set(window.effective_limit)

    def set_stream(self, stream: str, *, length: int, dead_letters: int, delayed: int) -> None:
        self.stream_length.labels(self.stage, stream).set(length)
        self.dead_letter_length.labels(self.stage, stream).set(dead_letters)
        self.delayed.labels(self.stage, stream).set(delayed)

    def set_group(self, stream: str, group: str, *, pending: int, lag: int | None) -> None:
        """``lag=None`` (Redis cannot tell) removes the lag series rather than show a stale one."""
        self.group_pending.labels(self.stage, stream, group).set(pending)
        if lag is not None:
            self.group_lag.labels(self.stage, stream, group).set(lag)
        else:
            with contextlib.suppress(KeyError):
                self.group_lag.remove(self.stage, stream, group)

    def loop_age_s(self) -> float:
        """Seconds since the read loop last went round (or since these metrics were made)."""
        return max(0.0, self._clock() - self.last_loop)
