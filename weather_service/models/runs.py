"""ETL run records: one per run of a pipeline stage, so operators can see when it last finished
and how it went."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from weather_service.models.common import (
    Count,
    CountName,
    InputModel,
    Message,
    OutputModel,
    PastUtcTime,
    ResourceId,
    Slug,
)

RunStatus = Literal["running", "succeeded", "partial", "failed", "cancelled"]
FINISHED_STATUSES: frozenset[str] = frozenset({"succeeded", "partial", "failed", "cancelled"})
MAX_COUNTS = 100

Counts = dict[CountName, Count]


class RunCreate(InputModel):
    run_id: ResourceId | None = Field(
        default=None, description="Client-chosen id (retries stay idempotent); generated if null."
    )
    stage: Slug = Field(examples=["fetch-weather"])
    status: RunStatus = "running"
    started_at: PastUtcTime | None = Field(default=None, description="Defaults to now.")
    finished_at: PastUtcTime | None = None
    counts: Counts = Field(default_factory=dict, max_length=MAX_COUNTS)
    message: Message | None = None


class RunPatch(InputModel):
    status: RunStatus | None = None
    finished_at: PastUtcTime | None = Field(
        default=None, description="Defaults to now when the status becomes a finished one."
    )
    counts: Counts | None = Field(
        default=None, max_length=MAX_COUNTS, description="Merged into the stored counts."
    )
    message: Message | None = None


class RunOut(OutputModel):
    run_id: str
    stage: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    counts: dict[str, int]
    message: str | None
