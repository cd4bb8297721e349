"""Trail conditions: bulk upsert (the later ``computed_at`` wins), history per location, and the
latest label of every location."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, and_, func, select

from weather_service.db.tables import trail_conditions
from weather_service.store.upsert import BulkUpsert, Excluded, keep_winners

KEY = ("location_id", "valid_for")
VALUE_COLUMNS = tuple(c.name for c in trail_conditions.columns if c.name not in KEY)


def _incoming_wins(table: Table, incoming: Excluded) -> ColumnElement[bool]:
    return incoming.computed_at >= table.c.computed_at


_upsert = BulkUpsert(trail_conditions, key=KEY, update=VALUE_COLUMNS, incoming_wins=_incoming_wins)


def upsert_conditions(connection: Connection, rows: Iterable[dict[str, Any]]) -> int:
    winners = keep_winners(
        rows, key=lambda r: (r["location_id"], r["valid_for"]), rank=lambda r: (r["computed_at"],)
    )
    return _upsert(connection, winners)


def list_conditions(
    connection: Connection,
    location_id: str,
    *,
    limit: int,
    start: datetime | None = None,
    end: datetime | None = None,
    after_valid_for: datetime | None = None,
) -> list[Row[Any]]:
    """One location's labels with ``start <= valid_for < end``, oldest first."""
    t = trail_conditions
    query = select(t).where(t.c.location_id == location_id).order_by(t.c.valid_for).limit(limit)
    if start is not None:
        query = query.where(t.c.valid_for >= start)
    if end is not None:
        query = query.where(t.c.valid_for < end)
    if after_valid_for is not None:
        query = query.where(t.c.valid_for > after_valid_for)
    return list(connection.execute(query))


def latest_conditions(
    connection: Connection,
    *,
    limit: int,
    after_location_id: str | None = None,
    label: str | None = None,
    at: datetime | None = None,
) -> list[Row[Any]]:
    """Per location, the label with the greatest ``valid_for`` (not after ``at`` when given),
    ordered by location id; ``label`` filters those latest labels."""
    t = trail_conditions
    newest = select(t.c.location_id, func.max(t.c.valid_for).label("valid_for")).group_by(
        t.c.location_id
    )
    if after_location_id is not None:
        newest = newest.where(t.c.location_id > after_location_id)
    if at is not None:
        newest = newest.where(t.c.valid_for <= at)
    latest = newest.subquery("latest")
    query = (
        select(t)
        .join(
            latest,
            and_(t.c.location_id == latest.c.location_id, t.c.valid_for == latest.c.valid_for),
        )
        .order_by(t.c.location_id)
        .limit(limit)
    )
    if label is not None:
        query = query.where(t.c.label == label)
    return list(connection.execute(query))
