"""Queries: bulk upserts and keyset-paginated reads in SQLAlchemy Core (SQLite and PostgreSQL)."""
