"""Alembic environment and revisions of the weather service schema.

Run them with ``weather_service.migrate.migrate(database_url)``.
"""
