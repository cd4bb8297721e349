"""Idempotent bulk upserts: ``INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE <incoming wins>``
on SQLite and PostgreSQL, sent as executemany in chunks inside the caller's transaction.

This is the write hot path. The statement is built with SQLAlchemy and compiled once per dialect;
rows then go to the driver's ``executemany`` with only the values that need it converted
(timestamps, JSON), which skips SQLAlchemy's per-row parameter processing (most of the cost of a
1,000-row batch). The conversions match what the column types store, so reads are unaffected.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from weather_service.db.types import UtcDateTime, sqlite_time_text

CHUNK_ROWS = 1000

Excluded = ReadOnlyColumnCollection[str, Any]
WinsClause = Callable[[Table, Excluded], ColumnElement[bool]]
Converter = Callable[[Any], Any]


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else sqlite_time_text(value)


def _sqlite_json(value: Any) -> str:
    return json.dumps(value)


def _converters(table: Table, dialect_name: str) -> dict[str, Converter]:
    converters: dict[str, Converter] = {}
    for column in table.columns:
        if isinstance(column.type, UtcDateTime) and dialect_name == "sqlite":
            converters[column.name] = _sqlite_time
        elif isinstance(column.type, JSON) or isinstance(getattr(column.type, "impl", None), JSON):
            converters[column.name] = _sqlite_json if dialect_name == "sqlite" else Jsonb
    return converters


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    static: dict[str, Any]  # bound literals of the WHERE clause
    getter: Callable[[dict[str, Any]], tuple[Any, ...]] | None  # positional drivers only
    converters: dict[str, Converter]


class BulkUpsert:
    """One table's upsert: insert rows; on a key conflict overwrite the ``update`` columns when
    ``incoming_wins`` holds (default: always)."""

    def __init__(
        self,
        table: Table,
        *,
        key: Sequence[str],
        update: Iterable[str],
        incoming_wins: WinsClause | None = None,
    ) -> None:
        self.table = table
        self.key = tuple(key)
        self.update = tuple(update)
        self.incoming_wins = incoming_wins
        self._compiled: dict[str, _Compiled] = {}

    def __call__(
        self,
        connection: Connection,
        rows: Sequence[dict[str, Any]],
        *,
        chunk_rows: int = CHUNK_ROWS,
    ) -> int:
        """Upsert ``rows`` and return how many were inserted or changed.

        ``rows`` must not repeat a key (PostgreSQL refuses to update one row twice in a statement)
        and should be sorted by key, so concurrent writers lock rows in the same order.
        """
        if not rows:
            return 0
        compiled = self._compile(connection.dialect)
        written = 0
        for start in range(0, len(rows), chunk_rows):
            params = self._params(compiled, rows[start : start + chunk_rows])
            result = connection.exec_driver_sql(
                compiled.sql, params, execution_options={"preserve_rowcount": True}
            )
            written += max(result.rowcount, 0)
        return written

    def _params(self, compiled: _Compiled, rows: Sequence[dict[str, Any]]) -> list[Any]:
        converters = compiled.converters.items()
        prepared = []
        for row in rows:
            values = {**compiled.static, **row} if compiled.static else dict(row)
            for name, convert in converters:
                values[name] = convert(values[name])
            prepared.append(values)
        if compiled.getter is None:
            return prepared
        getter = compiled.getter
        return [getter(values) for values in prepared]

    def _compile(self, dialect: Dialect) -> _Compiled:
        cached = self._compiled.get(dialect.name)
        if cached is not None:
            return cached
        if dialect.name == "sqlite":
            stmt: Any = sqlite.insert(self.table)
        elif dialect.name == "postgresql":
            stmt = postgresql.insert(self.table)
        else:
            raise RuntimeError(f"unsupported database dialect {dialect.name!r}")
        excluded = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=list(self.key),
            set_={name: excluded[name] for name in self.update},
            where=self.incoming_wins(self.table, excluded) if self.incoming_wins else None,
        )
        compiled = stmt.compile(dialect=dialect)
        columns = {c.name for c in self.table.columns}
        static = {k: v for k, v in compiled.params.items() if k not in columns}
        getter = None
        if compiled.positional:
            names = compiled.positiontup or []
            getter = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
        result = _Compiled(
            sql=str(compiled),
            static=static,
            getter=getter,
            converters=_converters(self.table, dialect.name),
        )
        self._compiled[dialect.name] = result
        return result


def keep_winners(
    rows: Iterable[dict[str, Any]],
    *,
    key: Callable[[dict[str, Any]], tuple[Any, ...]],
    rank: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None,
) -> list[dict[str, Any]]:
    """One row per key, sorted by key: the highest ``rank`` wins, and on a tie (or with no rank)
    the later row, as if the rows had been upserted one after another."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = key(row)
        current = best.get(k)
        if current is None or rank is None or rank(row) >= rank(current):
            best[k] = row
    return [best[k] for k in sorted(best)]
