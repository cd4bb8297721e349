from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from weather_service.db.engine import make_engine
from weather_service.db.tables import metadata
from weather_service.migrate import head_revision, migrate


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
