"""ETL run records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.dialects import postgresql, sqlite

from weather_service.db.tables import etl_runs


def get_run(connection: Connection, run_id: str, *, for_update: bool = False) -> Row[Any] | None:
    query = select(etl_runs).where(etl_runs.c.run_id == run_id)
    if for_update and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    return connection.execute(query).first()


def insert_run(connection: Connection, row: dict[str, Any]) -> bool:
    """Insert a run unless one with its id exists; return whether it was inserted."""
    dialect_insert = sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert
    stmt = (
        dialect_insert(etl_runs)
        .on_conflict_do_nothing(index_elements=["run_id"])
        .execution_options(preserve_rowcount=True)
    )
    return connection.execute(stmt, row).rowcount == 1


def update_run(connection: Connection, run_id: str, values: dict[str, Any]) -> None:
    if values:
        connection.execute(update(etl_runs).where(etl_runs.c.run_id == run_id).values(**values))
