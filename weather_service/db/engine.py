"""Engines for SQLite (the default, a WAL-mode file) and PostgreSQL (psycopg 3), and transactions.

SQLite: the driver's own transaction handling is switched off and this module emits ``BEGIN``
itself, ``BEGIN IMMEDIATE`` for writes, so two concurrent writers queue on the busy timeout instead
of one failing with "database is locked" when it upgrades a read lock. Within one process, writers
also queue on a lock first: SQLite's busy handler polls with sleeps of up to 100 ms, which under
load added more latency than the writes themselves; a lock hands over at once. (Other processes
writing the same file still queue on the busy timeout.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

WRITE_OPTION = "weather_service_write"
SQLITE_BUSY_TIMEOUT_S = 30.0
WAL_SWITCH_RETRY_S = 0.05

_sqlite_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def normalize_url(database_url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean psycopg 3; anything else is used as given."""
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def make_engine(
    database_url: str,
    *,
    pool_size: int = 5,
    connect_timeout_s: float = 5.0,
    statement_timeout_s: float = 30.0,
) -> Engine:
    """An engine for ``database_url``; nothing connects until first use."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        )
        _configure_sqlite(engine)
        _sqlite_write_locks[engine] = threading.Lock()
        return engine
    connect_args: dict[str, Any] = {
        "connect_timeout": max(1, round(connect_timeout_s)),
        "options": f"-c statement_timeout={round(statement_timeout_s * 1000)}",
        "application_name": "weather_service",
    }
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        pool_timeout=connect_timeout_s,
        connect_args=connect_args,
    )


def _switch_to_wal(cursor: Any) -> None:
    """WAL persists in the file, so only a new database is switched. SQLite can refuse the switch
    at once ("database is locked", no busy wait) while another connection opens the same new file,
    e.g. two replicas starting together: retry until the busy timeout instead of failing."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_SWITCH_RETRY_S)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun in _on_begin below
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={round(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for one request's writes: all of it commits, or none of it."""
    lock = _sqlite_write_locks.get(engine)
    if lock is None:
        with _write(engine) as connection:
            yield connection
        return
    with lock, _write(engine) as connection:
        yield connection


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for one request's reads."""
    with engine.connect() as connection, connection.begin():
        yield connection
