"""What every worker deployable reads the same way: Redis, the weather service, the runtime."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from etl_core.settings import ServiceSettings
from etl_core.worker import WorkerOptions
from services.settings_types import LogLevel


class WorkerSettings(ServiceSettings):
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://")
    weather_service_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://")
    weather_service_api_key: str = Field(min_length=16)
    weather_service_timeout_s: float = Field(default=30.0, gt=0)
    worker_handler_timeout_s: float = Field(default=60.0, gt=0)
    worker_reclaim_idle_ms: int = Field(default=120_000, ge=1)
    worker_max_deliveries: int = Field(default=5, ge=1)
    worker_shutdown_grace_s: float = Field(default=20.0, ge=0)
    log_level: LogLevel = "INFO"

    def worker_options(
        self, *, stream: str, group: str, concurrency: int, **overrides: Any
    ) -> WorkerOptions:
        """The runtime options of this deployable's worker (``overrides``: tests, CLI flags)."""
        return WorkerOptions(
            stream=stream,
            group=group,
            concurrency=concurrency,
            handler_timeout_s=self.worker_handler_timeout_s,
            reclaim_idle_ms=self.worker_reclaim_idle_ms,
            max_deliveries=self.worker_max_deliveries,
            shutdown_grace_s=self.worker_shutdown_grace_s,
            **overrides,
        )
