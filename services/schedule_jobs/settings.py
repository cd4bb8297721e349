"""The settings of the schedule-jobs deployable (environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from services.redis_settings import RedisSettings
from services.settings_types import DEFAULT_WEATHER_SERVICE_URL, LogLevel
from services.window_settings import ScheduleWindowSettings

DEFAULT_CHUNK_SIZE = 1000
DEFAULT_REDIS_UNAVAILABLE_TIMEOUT_S = 60.0


class ScheduleSettings(RedisSettings, ScheduleWindowSettings):
    weather_service_url: str = Field(default=DEFAULT_WEATHER_SERVICE_URL, pattern=r"^https?://")
    weather_service_api_key: SecretStr = Field(min_length=16)
    weather_service_timeout_s: float = Field(default=30.0, gt=0)
    outbox_path: Path = Path("./schedule-jobs-outbox.sqlite3")
    locations_file: Path | None = None
    locations_chunk_size: int = Field(default=DEFAULT_CHUNK_SIZE, ge=1, le=100_000)
    stream_max_backlog: int | None = Field(default=None, ge=1)
    backpressure_timeout_s: float = Field(default=300.0, ge=0)
    # A publish round Redis does not answer is tried again for this long before the run fails
    # (its tasks stay in the outbox either way).
    redis_unavailable_timeout_s: float = Field(default=DEFAULT_REDIS_UNAVAILABLE_TIMEOUT_S, ge=0)
    log_level: LogLevel = "INFO"

    @field_validator("locations_file", mode="before")
    @classmethod
    def _blank_file(cls, value: object) -> object:
        return None if value == "" else value
