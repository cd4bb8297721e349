"""The settings of the fetch-weather deployable (environment variables)."""

from __future__ import annotations

from pydantic import Field

from etl_core.settings import ServiceSettings
from services.settings_types import LogLevel


class FetchWeatherSettings(ServiceSettings):
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://")
    weather_service_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://")
    weather_service_api_key: str = Field(min_length=16)
    weather_service_timeout_s: float = Field(default=30.0, gt=0)
    owm_base_url: str = Field(default="https://api.openweathermap.org", pattern=r"^https?://")
    owm_api_key: str = Field(min_length=1)
    owm_timeout_s: float = Field(default=10.0, gt=0)
    owm_rate_limit_per_minute: int = Field(default=60, ge=1)
    owm_rate_limit_per_day: int = Field(default=1000, ge=1)
    owm_rate_limit_wait_s: float = Field(default=5.0, ge=0)
    owm_transient_attempts: int = Field(default=3, ge=1, le=10)
    owm_breaker_failure_threshold: int = Field(default=5, ge=1)
    owm_breaker_reset_timeout_s: float = Field(default=30.0, gt=0)
    owm_cache_ttl_s: int = Field(default=3 * 3600, ge=1)
    fetch_concurrency: int = Field(default=16, ge=1, le=10_000)
    worker_handler_timeout_s: float = Field(default=60.0, gt=0)
    worker_reclaim_idle_ms: int = Field(default=120_000, ge=1)
    worker_max_deliveries: int = Field(default=5, ge=1)
    worker_shutdown_grace_s: float = Field(default=20.0, ge=0)
    log_level: LogLevel = "INFO"
