"""The settings of the categorize-trail-conditions deployable (environment variables)."""

from __future__ import annotations

from pydantic import Field

from services.categorize import DEFAULT_CLASSIFIER
from services.worker_settings import WorkerSettings


class CategorizeSettings(WorkerSettings):
    """Also reads every ``WorkerSettings`` variable (REDIS_URL, WEATHER_SERVICE_*, WORKER_*)."""

    classifier: str = DEFAULT_CLASSIFIER
    categorize_history_h: int = Field(default=72, ge=1, le=24 * 60)
    categorize_forecast_h: int = Field(default=3, ge=0, le=48)
    categorize_concurrency: int = Field(default=32, ge=1, le=10_000)
