"""Column types shared by the tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Timestamps repeat a great deal (a batch's records share a few hours and one fetched_at per
# answer), and on SQLite each costs a text conversion of a few microseconds: cached, a lookup.
TIME_TEXT_CACHE = 8192


@lru_cache(maxsize=TIME_TEXT_CACHE)
def sqlite_time_text(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME stores: naive UTC, always with microseconds. (Equal
    instants in other offsets share a cache entry; the text is that of the instant, so correct.)"""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@lru_cache(maxsize=TIME_TEXT_CACHE)
def _utc_from_sqlite_text(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _utc_from_sqlite(value: str | None) -> datetime | None:
    """sqlite3 hands back the stored text (or NULL as None)."""
    return None if value is None else _utc_from_sqlite_text(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every dialect.

    PostgreSQL stores ``timestamptz``. SQLite has no timestamp type, so values are stored as naive
    UTC text of fixed width, which keeps ``<``, ``>``, ``MAX`` and ``ORDER BY`` correct. Naive
    datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(
        self, dialect: Dialect, coltype: Any
    ) -> Callable[[Any], datetime | None] | None:
        """On SQLite, stored text -> aware UTC datetime in one cached step (the generic path
        parses to a naive datetime, then replaces its tzinfo: most of a large read's cost)."""
        if dialect.name == "sqlite":
            return _utc_from_sqlite
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> Any:
    """JSON on SQLite, JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")
