"""The figures behind ``GET /v1/stats``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select

from weather_service.db.tables import etl_runs, locations, trail_conditions, weather_hourly


@dataclass(frozen=True, slots=True)
class StoredCounts:
    locations: int
    observed: int
    forecast: int
    conditions: int
    latest_weather_fetched_at: datetime | None
    latest_condition_computed_at: datetime | None
    runs_in_progress: int


def stored_counts(connection: Connection) -> StoredCounts:
    kinds = select(weather_hourly.c.kind, func.count()).group_by(weather_hourly.c.kind)
    by_kind: dict[str, int] = {kind: count for kind, count in connection.execute(kinds)}
    return StoredCounts(
        locations=connection.scalar(select(func.count()).select_from(locations)) or 0,
        observed=by_kind.get("observed", 0),
        forecast=by_kind.get("forecast", 0),
        conditions=connection.scalar(select(func.count()).select_from(trail_conditions)) or 0,
        latest_weather_fetched_at=connection.scalar(select(func.max(weather_hourly.c.fetched_at))),
        latest_condition_computed_at=connection.scalar(
            select(func.max(trail_conditions.c.computed_at))
        ),
        runs_in_progress=connection.scalar(
            select(func.count()).select_from(etl_runs).where(etl_runs.c.status == "running")
        )
        or 0,
    )


def last_finished_runs(connection: Connection) -> list[Row[Any]]:
    """Per stage, the run that finished last (newest first)."""
    newest = (
        select(etl_runs.c.stage, func.max(etl_runs.c.finished_at).label("finished_at"))
        .where(etl_runs.c.finished_at.is_not(None))
        .group_by(etl_runs.c.stage)
        .subquery("newest")
    )
    query = (
        select(etl_runs)
        .join(
            newest,
            (etl_runs.c.stage == newest.c.stage) & (etl_runs.c.finished_at == newest.c.finished_at),
        )
        .order_by(etl_runs.c.finished_at.desc(), etl_runs.c.run_id)
    )
    rows = list(connection.execute(query))
    seen: set[str] = set()
    unique = []
    for row in rows:
        if row.stage not in seen:
            seen.add(row.stage)
            unique.append(row)
    return unique
