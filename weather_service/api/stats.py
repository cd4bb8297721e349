"""``GET /v1/stats``: how much is stored, and when each stage last finished a run and how."""

from __future__ import annotations

from fastapi import APIRouter

from weather_service.api.deps import EngineDep
from weather_service.api.json_route import OrjsonRoute
from weather_service.api.runs import run_out
from weather_service.db.engine import read_transaction
from weather_service.models.stats import StatsOut, WeatherCounts
from weather_service.store.stats import last_finished_runs, stored_counts

read_router = APIRouter(tags=["stats"], route_class=OrjsonRoute)


@read_router.get("/v1/stats", response_model=StatsOut)
def stats(engine: EngineDep) -> StatsOut:
    with read_transaction(engine) as connection:
        counts = stored_counts(connection)
        finished = [run_out(row) for row in last_finished_runs(connection)]
    return StatsOut(
        locations=counts.locations,
        weather_records=WeatherCounts(observed=counts.observed, forecast=counts.forecast),
        conditions=counts.conditions,
        latest_weather_fetched_at=counts.latest_weather_fetched_at,
        latest_condition_computed_at=counts.latest_condition_computed_at,
        runs_in_progress=counts.runs_in_progress,
        last_finished_run=finished[0] if finished else None,
        last_finished_run_by_stage={run.stage: run for run in finished},
    )
