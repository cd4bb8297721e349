"""Throwaway PostgreSQL databases for tests: created on the admin URL, dropped afterwards.

The admin URL comes from ``TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``). Only databases whose name starts with
``trail_etl_test_`` are ever created or dropped here, so nothing else on the server is touched.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ADMIN_URL_ENV = "TEST_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_DATABASE_PREFIX = "trail_etl_test_"
_TEST_NAME_RE = re.compile(rf"{TEST_DATABASE_PREFIX}[a-z0-9_]+")
CONNECT_TIMEOUT_S = 3


def admin_url() -> str:
    return os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL


def postgres_available(url: str | None = None) -> bool:
    """Whether the admin URL accepts a connection (within a few seconds)."""
    try:
        with psycopg.connect(url or admin_url(), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def database_url(name: str, base_url: str | None = None) -> str:
    """The admin URL with its database swapped for ``name`` (a ``postgresql://`` URL)."""
    params = conninfo_to_dict(base_url or admin_url())
    params["dbname"] = name
    user = params.get("user", "")
    password = params.get("password")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    extra = {
        k: v for k, v in params.items() if k not in {"dbname", "user", "password", "host", "port"}
    }
    query = ("?" + make_conninfo("", **extra).replace(" ", "&")) if extra else ""
    return f"postgresql://{auth}{host}:{port}/{name}{query}"


def _check_name(name: str) -> None:
    if not _TEST_NAME_RE.fullmatch(name):
        raise ValueError(
            f"refusing to manage database {name!r}: not a {TEST_DATABASE_PREFIX}* name"
        )


def create_database(name: str, *, url: str | None = None) -> str:
    """Create database ``name`` (which must start with ``trail_etl_test_``); return its URL."""
    _check_name(name)
    with psycopg.connect(
        url or admin_url(), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    ) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(name, url)


def drop_database(name: str, *, url: str | None = None) -> None:
    """Drop database ``name`` if it exists, disconnecting whoever still uses it."""
    _check_name(name)
    with psycopg.connect(
        url or admin_url(), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    ) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@contextmanager
def temporary_database(*, url: str | None = None) -> Iterator[str]:
    """A fresh ``trail_etl_test_<random>`` database for the duration of the block."""
    name = f"{TEST_DATABASE_PREFIX}{secrets.token_hex(6)}"
    db_url = create_database(name, url=url)
    try:
        yield db_url
    finally:
        drop_database(name, url=url)
