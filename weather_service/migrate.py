"""Bring a database's schema to the newest Alembic revision.

``uv run python -m weather_service.migrate`` migrates the database named by ``DATABASE_URL``. The
service also migrates on start (unless ``WEATHER_SERVICE_MIGRATE_ON_START=false``). On PostgreSQL an
advisory lock makes replicas that start together migrate one after another.
"""

from __future__ import annotations

import functools
import sys

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from etl_core.errors import ConfigurationError
from etl_core.logging import configure_logging, get_logger
from weather_service.db.engine import WRITE_OPTION, make_engine, normalize_url

SCRIPT_LOCATION = "weather_service:migrations"
# pg_advisory_lock key: "weather_service migrations" folded into a signed 64-bit integer.
ADVISORY_LOCK_KEY = 0x5753_4D49_4752_4154

log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision this code ships."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("the weather_service migrations have no head revision")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the connected database is at, or None before the first migration."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(database_url: str, *, revision: str = "head") -> str | None:
    """Upgrade the schema at ``database_url`` to ``revision``, in one transaction; return the
    revision the database is at afterwards. Running it again is a no-op."""
    config = alembic_config(database_url)
    engine = make_engine(database_url, pool_size=1)
    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.connect() as connection:
            if postgres:
                connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                connection.commit()
            try:
                connection.execution_options(**{WRITE_OPTION: True})
                with connection.begin():
                    before = current_revision(connection)
                    config.attributes["connection"] = connection
                    command.upgrade(config, revision)
                    after = current_revision(connection)
            finally:
                if postgres:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
                    connection.commit()
    finally:
        engine.dispose()
    if before != after:
        log.info("schema_migrated", from_revision=before, to_revision=after)
    return after


def main() -> int:
    from weather_service.settings import WeatherServiceSettings

    try:
        settings = WeatherServiceSettings.load()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(level=settings.weather_service_log_level)
    revision = migrate(settings.database_url)
    log.info("schema_at_revision", revision=revision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
