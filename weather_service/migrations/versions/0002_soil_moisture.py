"""Hourly weather gains the topsoil's volumetric water content, where a source gives it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and without a CHECK (the API validates 0..1): a plain ADD COLUMN on both
    # databases, where a constraint would make SQLite copy the whole table.
    op.add_column("weather_hourly", sa.Column("soil_moisture_m3m3", sa.Double(), nullable=True))


def downgrade() -> None:
    op.drop_column("weather_hourly", "soil_moisture_m3m3")
