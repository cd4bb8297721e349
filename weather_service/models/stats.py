"""What ``GET /v1/stats`` answers: how much is stored and how the last runs went."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from weather_service.models.runs import RunOut


class WeatherCounts(BaseModel):
    observed: int
    forecast: int


class StatsOut(BaseModel):
    locations: int
    weather_records: WeatherCounts
    conditions: int
    latest_weather_fetched_at: datetime | None
    latest_condition_computed_at: datetime | None
    runs_in_progress: int
    last_finished_run: RunOut | None
    last_finished_run_by_stage: dict[str, RunOut]
