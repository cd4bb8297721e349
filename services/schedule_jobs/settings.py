"""The settings of the schedule-jobs deployable (environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from etl_core.replication import DEFAULT_WAIT_TIMEOUT_MS, ReplicationWait
from services.redis_settings import RedisSettings
from services.settings_types import DEFAULT_WEATHER_SERVICE_URL, LogLevel
from services.window_settings import ScheduleWindowSettings

DEFAULT_CHUNK_SIZE = 1000
DEFAULT_REDIS_UNAVAILABLE_TIMEOUT_S = 60.0
# Below the scheduler's socket timeout (services.redis_settings.SYNC_SOCKET_TIMEOUT_S, 30 s): the
# client must not give up on a WAIT that is still allowed to block.
MAX_OUTBOX_WAIT_TIMEOUT_MS = 20_000


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
    # Replicas that must hold published tasks before the outbox deletes their rows: "auto" (every
    # replica connected to the master, none without replicas), 0 (never wait) or N.
    outbox_wait_replicas: Literal["auto"] | Annotated[int, Field(ge=0)] = "auto"
    outbox_wait_timeout_ms: int = Field(
        default=DEFAULT_WAIT_TIMEOUT_MS, ge=1, le=MAX_OUTBOX_WAIT_TIMEOUT_MS
    )
    log_level: LogLevel = "INFO"

    def replication_wait(self) -> ReplicationWait:
        """The outbox's WAIT; a flush not confirmed is tried again for as long as a publish round
        Redis does not answer (``REDIS_UNAVAILABLE_TIMEOUT_S``), then the run fails."""
        replicas = self.outbox_wait_replicas
        return ReplicationWait(
            replicas=None if replicas == "auto" else replicas,
            timeout_ms=self.outbox_wait_timeout_ms,
            give_up_after_s=self.redis_unavailable_timeout_s,
        )

    @field_validator("locations_file", mode="before")
    @classmethod
    def _blank_file(cls, value: object) -> object:
        return None if value == "" else value
