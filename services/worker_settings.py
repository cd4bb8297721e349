"""What every worker deployable reads the same way: Redis, the weather service, the runtime."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx
from pydantic import Field, SecretStr, model_validator

from etl_core.backoff import DEFAULT_BACKOFF_BASE_S, DEFAULT_BACKOFF_MAX_S
from etl_core.breaker import CircuitBreaker
from etl_core.task import MAX_ATTEMPTS
from etl_core.windows import parse_window
from etl_core.worker import WorkerOptions
from services import pipeline_keys
from services.breaker_settings import WeatherServiceBreakerSettings
from services.http_transport import AiohttpTransport, HttpTransport
from services.redis_settings import RedisSettings
from services.settings_types import DEFAULT_WEATHER_SERVICE_URL, LogLevel
from services.weather_client import WeatherClientOptions, WeatherServiceClient
from services.weather_reads import WeatherReads
from services.weather_writes import DEFAULT_MAX_RECORDS, WeatherWrites
from services.window_settings import ScheduleWindowSettings

# A handler's Redis commands in flight at once (a source call's cache read, limiter, breaker and
# cache write), so handlers do not queue for a connection.
REDIS_CONNECTIONS_PER_HANDLER = 4
RUNTIME_REDIS_CONNECTIONS = 32  # read loop, settler, reclaim, chores, metrics, probes
REDIS_POOL_WAIT_S = 30.0


class WorkerSettings(RedisSettings, WeatherServiceBreakerSettings, ScheduleWindowSettings):
    weather_service_url: str = Field(default=DEFAULT_WEATHER_SERVICE_URL, pattern=r"^https?://")
    weather_service_api_key: SecretStr = Field(min_length=16)
    weather_service_timeout_s: float = Field(default=30.0, gt=0)
    weather_service_batch_records: int = Field(default=DEFAULT_MAX_RECORDS, ge=1, le=100_000)
    weather_service_batch_wait_ms: float = Field(default=2.0, ge=0, le=10_000)
    worker_handler_timeout_s: float = Field(default=60.0, gt=0)
    worker_reclaim_idle_ms: int = Field(default=120_000, ge=1)
    worker_max_deliveries: int = Field(default=5, ge=1, le=MAX_ATTEMPTS)
    # A failed task's n-th retry waits a random time up to min(MAX, BASE x 2^(n-1)) (full jitter,
    # so tasks that failed together do not come back together).
    worker_retry_backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, gt=0, le=3600)
    worker_retry_backoff_max_s: float = Field(default=DEFAULT_BACKOFF_MAX_S, gt=0, le=86_400)
    worker_shutdown_grace_s: float = Field(default=20.0, ge=0)
    # A consumer of the group idle this long with no pending entry (a stopped replica) is
    # removed at housekeeping; never one with pending entries, never the worker's own.
    worker_consumer_prune_idle_s: float = Field(default=3600.0, gt=0)
    # Each worker trims its stream to what is not yet done this often (0: never).
    worker_trim_interval_s: float = Field(default=60.0, ge=0)
    # A stage paused by a failure with no known end (our key refused) tries one task this often.
    worker_pause_trial_interval_s: float = Field(default=15.0, gt=0, le=3600)
    # Done marks ("this task was finished") live at least this many schedule windows, and never
    # shorter than a task's own retries and reclaims can last (``redelivery_horizon_s``): a
    # duplicate of a window's task comes while that window's work is in flight (its retries, a
    # re-run of the schedule); two windows cover one that starts late in its window. A duplicate
    # after that is a replay of an old window, which the answer cache no longer covers either.
    worker_dedup_windows: float = Field(default=2.0, gt=0, le=1000)
    # The worker's /metrics, /livez and /readyz (etl_core/worker/probes.py); port 0: none.
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    metrics_host: str = Field(default="0.0.0.0", min_length=1)
    worker_liveness_timeout_s: float = Field(default=60.0, gt=0)
    log_level: LogLevel = "INFO"

    @model_validator(mode="after")
    def _reclaim_after_timeout(self) -> WorkerSettings:
        if self.worker_retry_backoff_base_s > self.worker_retry_backoff_max_s:
            raise ValueError(
                f"WORKER_RETRY_BACKOFF_BASE_S ({self.worker_retry_backoff_base_s}) cannot exceed "
                f"WORKER_RETRY_BACKOFF_MAX_S ({self.worker_retry_backoff_max_s})"
            )
        if self.worker_reclaim_idle_ms <= self.worker_handler_timeout_s * 1000:
            raise ValueError(
                f"WORKER_RECLAIM_IDLE_MS ({self.worker_reclaim_idle_ms}) must be larger than "
                f"WORKER_HANDLER_TIMEOUT_S ({self.worker_handler_timeout_s} s) in ms, or running "
                "tasks would be reclaimed and run twice"
            )
        if self.worker_consumer_prune_idle_s * 1000 < 3 * self.worker_reclaim_idle_ms:
            raise ValueError(
                f"WORKER_CONSUMER_PRUNE_IDLE_S ({self.worker_consumer_prune_idle_s} s) must be at "
                f"least 3 x WORKER_RECLAIM_IDLE_MS ({self.worker_reclaim_idle_ms} ms), so a "
                "consumer is removed only long after anything it held could be reclaimed"
            )
        return self

    def worker_options(
        self, *, stream: str, group: str, concurrency: int, **overrides: Any
    ) -> WorkerOptions:
        """The runtime options of this deployable's worker (``overrides``, from tests and CLI
        flags, win over the settings)."""
        values: dict[str, Any] = {
            "stream": stream,
            "group": group,
            "concurrency": concurrency,
            "handler_timeout_s": self.worker_handler_timeout_s,
            "reclaim_idle_ms": self.worker_reclaim_idle_ms,
            "max_deliveries": self.worker_max_deliveries,
            "retry_backoff_base_s": self.worker_retry_backoff_base_s,
            "retry_backoff_max_s": self.worker_retry_backoff_max_s,
            "shutdown_grace_s": self.worker_shutdown_grace_s,
            "consumer_prune_idle_ms": round(self.worker_consumer_prune_idle_s * 1000),
            "trim_interval_ms": round(self.worker_trim_interval_s * 1000),
            "pause_trial_interval_s": self.worker_pause_trial_interval_s,
        }
        options = WorkerOptions(**(values | overrides))
        if "dedup_horizon_s" in overrides:
            return options
        windows_s = self.worker_dedup_windows * parse_window(self.schedule_window).total_seconds()
        horizon_s = max(windows_s, options.redelivery_horizon_s)
        return options.model_copy(update={"dedup_horizon_s": horizon_s})

    async def open_clients(
        self,
        stack: AsyncExitStack,
        *,
        redis: Any | None,
        weather_http: HttpTransport | httpx.AsyncClient | None,
        concurrency: int,
    ) -> tuple[Any, WeatherServiceClient]:
        """Redis and the weather-service client (behind the shared weather-service breaker);
        ones passed in (tests) are used as they are, ones opened here are closed with ``stack``.

        Redis connections: a blocking pool sized for ``concurrency`` handlers, each with up to
        ``REDIS_CONNECTIONS_PER_HANDLER`` commands in flight, plus the runtime's own. Past that a
        command waits for a free connection instead of failing with "Too many connections"
        (redis-py's default pool of 100 did fail, after a paid call, before its answer was cached).
        A command whose connection dropped is retried (``RedisSettings``), so a handler rides out
        a short Redis restart.
        """
        if redis is None:
            redis = self.async_redis(
                max_connections=concurrency * REDIS_CONNECTIONS_PER_HANDLER
                + RUNTIME_REDIS_CONNECTIONS,
                pool_wait_s=REDIS_POOL_WAIT_S,
            )
            stack.push_async_callback(redis.aclose)
        if weather_http is None:
            weather_http = AiohttpTransport(max_connections=concurrency)
            stack.push_async_callback(weather_http.aclose)
        weather = WeatherServiceClient(
            weather_http,
            WeatherClientOptions(
                base_url=self.weather_service_url,
                api_key=self.weather_service_api_key.get_secret_value(),
                timeout_s=self.weather_service_timeout_s,
            ),
            breaker=CircuitBreaker(
                redis, pipeline_keys.WEATHER_SERVICE_BREAKER, self.weather_service_breaker_options()
            ),
        )
        return redis, weather

    async def open_reads(
        self, stack: AsyncExitStack, weather: WeatherServiceClient
    ) -> WeatherReads:
        """Batched reads shared by the worker's handlers."""
        reads = WeatherReads(weather, max_wait_s=self.weather_service_batch_wait_ms / 1000)
        stack.push_async_callback(reads.aclose)
        return reads

    async def open_writes(
        self, stack: AsyncExitStack, weather: WeatherServiceClient
    ) -> WeatherWrites:
        """Batched writes shared by the worker's handlers; parked records are sent on close."""
        writes = WeatherWrites(
            weather,
            max_records=self.weather_service_batch_records,
            max_wait_s=self.weather_service_batch_wait_ms / 1000,
        )
        stack.push_async_callback(writes.aclose)
        return writes
