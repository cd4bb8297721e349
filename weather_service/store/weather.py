"""Hourly weather: the precedence-aware bulk upsert and the per-location listing.

Precedence for one (location, hour): an observed record replaces a forecast, never the reverse;
between two records of the same kind the later ``fetched_at`` wins (an equal one replaces, which
makes re-posting a batch harmless).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, and_, or_, select

from weather_service.db.tables import weather_hourly
from weather_service.store.upsert import BulkUpsert, Excluded, keep_winners

KEY = ("location_id", "hour")
VALUE_COLUMNS = tuple(c.name for c in weather_hourly.columns if c.name not in KEY)


def _incoming_wins(table: Table, incoming: Excluded) -> ColumnElement[bool]:
    return or_(
        and_(incoming.kind == "observed", table.c.kind == "forecast"),
        and_(incoming.kind == table.c.kind, incoming.fetched_at >= table.c.fetched_at),
    )


_upsert = BulkUpsert(weather_hourly, key=KEY, update=VALUE_COLUMNS, incoming_wins=_incoming_wins)


def _rank(row: dict[str, Any]) -> tuple[bool, datetime]:
    return (row["kind"] == "observed", row["fetched_at"])


def upsert_weather(connection: Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Upsert hourly records (their locations must exist); return rows inserted or replaced."""
    winners = keep_winners(rows, key=lambda r: (r["location_id"], r["hour"]), rank=_rank)
    return _upsert(connection, winners)


def list_weather(
    connection: Connection,
    location_id: str,
    *,
    limit: int,
    start: datetime | None = None,
    end: datetime | None = None,
    kind: str | None = None,
    after_hour: datetime | None = None,
) -> list[Row[Any]]:
    """Records of one location with ``start <= hour < end``, oldest first."""
    t = weather_hourly
    query = select(t).where(t.c.location_id == location_id).order_by(t.c.hour).limit(limit)
    if start is not None:
        query = query.where(t.c.hour >= start)
    if end is not None:
        query = query.where(t.c.hour < end)
    if kind is not None:
        query = query.where(t.c.kind == kind)
    if after_hour is not None:
        query = query.where(t.c.hour > after_hour)
    return list(connection.execute(query))


def weather_of_locations(
    connection: Connection,
    location_ids: Sequence[str],
    *,
    columns: Sequence[str],
    start: datetime,
    end: datetime,
    kind: str | None = None,
) -> dict[str, list[tuple[Any, ...]]]:
    """Records of several locations with ``start <= hour < end``, oldest first, per location, as
    tuples of ``columns`` (plain tuples: building row mappings was most of this read's cost)."""
    t = weather_hourly
    query = (
        select(t.c.location_id, *(t.c[c] for c in columns))
        .where(t.c.location_id.in_(list(location_ids)), t.c.hour >= start, t.c.hour < end)
        .order_by(t.c.location_id, t.c.hour)
    )
    if kind is not None:
        query = query.where(t.c.kind == kind)
    found: dict[str, list[tuple[Any, ...]]] = {}
    for row in connection.execute(query):
        found.setdefault(row[0], []).append(row[1:])
    return found
