"""Alembic environment: run by ``weather_service.migrate``, which passes an open connection in
``config.attributes["connection"]``. Offline mode (``--sql``) renders SQL for the configured URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from weather_service.db.tables import metadata

config = context.config


def _run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    _connection = config.attributes.get("connection")
    if _connection is None:
        raise RuntimeError("run migrations through weather_service.migrate.migrate(database_url)")
    _run_online(_connection)
