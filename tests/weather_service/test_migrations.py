from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from weather_service.db.engine import WRITE_OPTION, make_engine
from weather_service.db.tables import metadata
from weather_service.migrate import alembic_config, head_revision, migrate


def test_migrations_build_exactly_the_schema_the_code_declares(fresh_database_url: str) -> None:
    assert migrate(fresh_database_url) == head_revision()
    engine = make_engine(fresh_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_concurrent_migrations_are_safe_and_repeating_is_a_no_op(fresh_database_url: str) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        revisions = list(pool.map(lambda _: migrate(fresh_database_url), range(3)))
    assert revisions == [head_revision()] * 3
    assert migrate(fresh_database_url) == head_revision()


def test_the_migrate_command_uses_database_url(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weather_service import migrate as command

    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("WEATHER_SERVICE_API_KEYS", "a-key-long-enough-1")
    assert command.main() == 0
    assert migrate(fresh_database_url) == head_revision()
    monkeypatch.setenv("WEATHER_SERVICE_API_KEYS", "")
    assert command.main() == 2


def _downgrade(database_url: str, revision: str) -> None:
    config = alembic_config(database_url)
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                config.attributes["connection"] = connection
                command.downgrade(config, revision)
    finally:
        engine.dispose()


def _weather_columns(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        return [c["name"] for c in inspect(engine).get_columns("weather_hourly")]
    finally:
        engine.dispose()


def _execute(database_url: str, sql: str) -> list[Any]:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql))
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def test_soil_moisture_is_added_and_dropped_keeping_the_rows(fresh_database_url: str) -> None:
    url = fresh_database_url
    assert migrate(url, revision="0001") == "0001"
    assert "soil_moisture_m3m3" not in _weather_columns(url)
    stamp = "'2026-11-01 00:00:00.000000'"
    _execute(
        url,
        "INSERT INTO locations (id, name, lat, lon, created_at, updated_at) "
        f"VALUES ('t-1', 'T', 1, 2, {stamp}, {stamp})",
    )
    _execute(
        url,
        "INSERT INTO weather_hourly (location_id, hour, kind, temperature_c, precipitation_mm, "
        f"rain_mm, snow_mm, source, fetched_at) VALUES ('t-1', {stamp}, 'observed', 3.5, 0, 0, "
        f"0, 's', {stamp})",
    )

    assert migrate(url) == "0002"
    assert "soil_moisture_m3m3" in _weather_columns(url)
    assert _execute(url, "SELECT soil_moisture_m3m3 FROM weather_hourly") == [(None,)]
    _execute(url, "UPDATE weather_hourly SET soil_moisture_m3m3 = 0.42")

    _downgrade(url, "0001")
    assert "soil_moisture_m3m3" not in _weather_columns(url)
    assert _execute(url, "SELECT location_id, temperature_c FROM weather_hourly") == [("t-1", 3.5)]

    assert migrate(url) == head_revision()
    assert _execute(url, "SELECT soil_moisture_m3m3 FROM weather_hourly") == [(None,)]
