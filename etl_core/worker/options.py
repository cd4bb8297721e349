"""Options of one worker: plain values passed in by the deployable's wiring, never read from env."""

from __future__ import annotations

import os
import socket
import uuid

from pydantic import BaseModel, ConfigDict, Field, model_validator

from etl_core.backoff import DEFAULT_BACKOFF_BASE_S, DEFAULT_BACKOFF_MAX_S
from etl_core.dedup import DEFAULT_DEDUP_HORIZON_S
from etl_core.task import MAX_ATTEMPTS

DEFAULT_CONCURRENCY = 64
DEFAULT_READ_COUNT = 500
DEFAULT_BLOCK_MS = 1000
DEFAULT_RECLAIM_IDLE_MS = 120_000
DEFAULT_RECLAIM_INTERVAL_MS = 5_000
DEFAULT_MAX_DELIVERIES = 5
DEFAULT_HANDLER_TIMEOUT_S = 60.0
DEFAULT_SHUTDOWN_GRACE_S = 20.0
DEFAULT_DELAYED_POLL_MS = 500
DEFAULT_CONSUMER_PRUNE_IDLE_MS = 3_600_000
DEFAULT_HOUSEKEEPING_INTERVAL_MS = 10_000
DEFAULT_EMPTY_READ_BACKOFF_MS = 50
DEFAULT_TRIM_INTERVAL_MS = 60_000
DEFAULT_PAUSE_POLL_MS = 1_000
DEFAULT_PAUSE_TRIAL_INTERVAL_S = 15.0
# The read loop's wait while Redis does not answer: short steps, so it is back soon after Redis.
DEFAULT_REDIS_BACKOFF_BASE_S = 0.1
DEFAULT_REDIS_BACKOFF_MAX_S = 5.0


def unique_consumer_name(prefix: str = "") -> str:
    """host-pid-random: unique per process, so two replicas never share a pending list."""
    host = socket.gethostname().split(".")[0] or "host"
    return f"{prefix}{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class WorkerOptions(BaseModel):
    """How one worker process consumes one stream."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str = Field(min_length=1)
    group: str = Field(min_length=1)
    consumer: str = Field(default_factory=unique_consumer_name, min_length=1)
    forward_stream: str | None = None
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=100_000)
    read_count: int = Field(default=DEFAULT_READ_COUNT, ge=1, le=10_000)
    block_ms: int = Field(default=DEFAULT_BLOCK_MS, ge=1)
    reclaim_idle_ms: int = Field(default=DEFAULT_RECLAIM_IDLE_MS, ge=1)
    reclaim_interval_ms: int = Field(default=DEFAULT_RECLAIM_INTERVAL_MS, ge=1)
    max_deliveries: int = Field(default=DEFAULT_MAX_DELIVERIES, ge=1, le=MAX_ATTEMPTS)
    handler_timeout_s: float = Field(default=DEFAULT_HANDLER_TIMEOUT_S, gt=0)
    shutdown_grace_s: float = Field(default=DEFAULT_SHUTDOWN_GRACE_S, ge=0)
    # A retry's delay: full jitter below base * 2^(attempts - 1), capped (``etl_core.backoff``).
    retry_backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, gt=0)
    retry_backoff_max_s: float = Field(default=DEFAULT_BACKOFF_MAX_S, gt=0)
    # The read loop's wait after its Redis calls failed n times in a row, in the same way.
    redis_backoff_base_s: float = Field(default=DEFAULT_REDIS_BACKOFF_BASE_S, gt=0)
    redis_backoff_max_s: float = Field(default=DEFAULT_REDIS_BACKOFF_MAX_S, gt=0)
    dedup: bool = True
    # How long a done mark lives at least (at most twice that, ``etl_core.dedup``). It must
    # outlive the redeliveries a finished task can still meet (``redelivery_horizon_s``); the
    # application sizes it to its schedule.
    dedup_horizon_s: float = Field(default=DEFAULT_DEDUP_HORIZON_S, gt=0)
    delayed_poll_ms: int = Field(default=DEFAULT_DELAYED_POLL_MS, ge=1)
    consumer_prune_idle_ms: int = Field(default=DEFAULT_CONSUMER_PRUNE_IDLE_MS, ge=1)
    housekeeping_interval_ms: int = Field(default=DEFAULT_HOUSEKEEPING_INTERVAL_MS, ge=1)
    empty_read_backoff_ms: int = Field(default=DEFAULT_EMPTY_READ_BACKOFF_MS, ge=0)
    # Trim the stream to what its groups still need this often (at housekeeping); 0: never.
    trim_interval_ms: int = Field(default=DEFAULT_TRIM_INTERVAL_MS, ge=0)
    # How often the read loop looks at the stage's shared pause (``etl_core.pause``): a pause or
    # resume takes effect on every replica within this (plus one blocking read).
    pause_poll_ms: int = Field(default=DEFAULT_PAUSE_POLL_MS, ge=10, le=60_000)
    # A stage paused by a failure with no known end (a refused key, a failed trial) runs one trial
    # task this often, across every replica.
    pause_trial_interval_s: float = Field(default=DEFAULT_PAUSE_TRIAL_INTERVAL_S, gt=0)

    @property
    def redelivery_horizon_s(self) -> float:
        """How long after its first delivery a task may still be delivered by its own retries and
        reclaims: each of ``max_deliveries`` deliveries may run to its timeout, go unsettled until
        it is reclaimed, or wait for the longest backoff."""
        per_delivery_s = self.handler_timeout_s + self.reclaim_idle_ms / 1000
        return self.max_deliveries * (per_delivery_s + self.retry_backoff_max_s)

    @model_validator(mode="after")
    def _check(self) -> WorkerOptions:
        if self.reclaim_idle_ms <= self.handler_timeout_s * 1000:
            raise ValueError(
                f"reclaim_idle_ms ({self.reclaim_idle_ms}) must be larger than handler_timeout_s "
                f"({self.handler_timeout_s} s), or running tasks would be reclaimed and run twice"
            )
        if self.forward_stream == self.stream:
            raise ValueError("forward_stream must differ from stream")
        return self
