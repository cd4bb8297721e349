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
class _Positional:
    """How a row becomes a qmark parameter list: its values in statement order, the converted
    ones replaced, then the WHERE clause's literals (always the last parameters)."""

    getter: Callable[[dict[str, Any]], tuple[Any, ...]]
    converted: tuple[tuple[int, Converter], ...]
    tail: tuple[Any, ...]

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = list(self.getter(row))
        for index, convert in self.converted:
            values[index] = convert(values[index])
        values.extend(self.tail)
        return tuple(values)  # SQLAlchemy takes a list of tuples (or of dicts) only


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    static: dict[str, Any]  # bound literals of the WHERE clause
    positional: _Positional | None  # drivers with positional parameters (SQLite)
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
        if compiled.positional is not None:
            params = compiled.positional.params
            return [params(row) for row in rows]
        converters = compiled.converters.items()
        prepared = []
        for row in rows:
            values = {**compiled.static, **row} if compiled.static else dict(row)
            for name, convert in converters:
                values[name] = convert(values[name])
            prepared.append(values)
        return prepared

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
        converters = _converters(self.table, dialect.name)
        positional = None
        if compiled.positional:
            positional = _positional(list(compiled.positiontup or []), static, converters)
        result = _Compiled(
            sql=str(compiled), static=static, positional=positional, converters=converters
        )
        self._compiled[dialect.name] = result
        return result


def _positional(
    names: list[str], static: dict[str, Any], converters: dict[str, Converter]
) -> _Positional:
    row_names = names[: len(names) - len(static)]
    if set(names[len(row_names) :]) != set(static) or set(row_names) & set(static):
        raise RuntimeError(f"upsert parameters {names}: the literals {sorted(static)} are not last")
    if not row_names:
        raise RuntimeError("an upsert without row parameters")
    getter: Callable[[dict[str, Any]], tuple[Any, ...]]
    if len(row_names) > 1:
        getter = itemgetter(*row_names)
    else:
        only = row_names[0]

        def getter(row: dict[str, Any]) -> tuple[Any, ...]:
            return (row[only],)

    converted = tuple((i, converters[n]) for i, n in enumerate(row_names) if n in converters)
    return _Positional(getter, converted, tuple(static[n] for n in names[len(row_names) :]))


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
