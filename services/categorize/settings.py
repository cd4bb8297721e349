"""The settings of the categorize-trail-conditions deployable (environment variables)."""

from __future__ import annotations

from pydantic import Field

from etl_core.settings import ServiceSettings
from services.categorize import DEFAULT_CLASSIFIER
from services.settings_types import LogLevel


class CategorizeSettings(ServiceSettings):
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://")
    weather_service_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://")
    weather_service_api_key: str = Field(min_length=16)
    weather_service_timeout_s: float = Field(default=30.0, gt=0)
    classifier: str = DEFAULT_CLASSIFIER
    categorize_history_h: int = Field(default=72, ge=1, le=24 * 60)
    categorize_forecast_h: int = Field(default=3, ge=0, le=48)
    categorize_concurrency: int = Field(default=32, ge=1, le=10_000)
    worker_handler_timeout_s: float = Field(default=60.0, gt=0)
    worker_reclaim_idle_ms: int = Field(default=120_000, ge=1)
    worker_max_deliveries: int = Field(default=5, ge=1)
    worker_shutdown_grace_s: float = Field(default=20.0, ge=0)
    log_level: LogLevel = "INFO"
