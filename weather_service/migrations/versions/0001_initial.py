"""Initial schema: locations, hourly weather, trail conditions, ETL runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SOIL = "'excessively', 'well', 'moderately_well', 'somewhat_poorly', 'poorly', 'very_poorly'"
_ASPECTS = "'N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("elevation_m", sa.Double(), nullable=True),
        sa.Column("soil_drainage", sa.String(16), nullable=True),
        sa.Column("aspect", sa.String(2), nullable=True),
        sa.Column("canopy", sa.String(8), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.CheckConstraint("lat >= -90 AND lat <= 90", name=op.f("ck_locations_lat_range")),
        sa.CheckConstraint("lon >= -180 AND lon <= 180", name=op.f("ck_locations_lon_range")),
        sa.CheckConstraint(
            f"soil_drainage IN ({_SOIL})", name=op.f("ck_locations_soil_drainage_class")
        ),
        sa.CheckConstraint(f"aspect IN ({_ASPECTS})", name=op.f("ck_locations_aspect_value")),
        sa.CheckConstraint(
            "canopy IN ('open', 'partial', 'forest')", name=op.f("ck_locations_canopy_value")
        ),
    )
    op.create_index(op.f("ix_locations_lat_lon"), "locations", ["lat", "lon"])

    op.create_table(
        "weather_hourly",
        sa.Column("location_id", sa.String(100), nullable=False),
        sa.Column("hour", _utc(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("temperature_c", sa.Double(), nullable=False),
        sa.Column("humidity_pct", sa.Double(), nullable=True),
        sa.Column("wind_speed_ms", sa.Double(), nullable=True),
        sa.Column("wind_gust_ms", sa.Double(), nullable=True),
        sa.Column("precipitation_mm", sa.Double(), nullable=False),
        sa.Column("rain_mm", sa.Double(), nullable=False),
        sa.Column("snow_mm", sa.Double(), nullable=False),
        sa.Column("weather_id", sa.Integer(), nullable=True),
        sa.Column("pop", sa.Double(), nullable=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("fetched_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "hour", name=op.f("pk_weather_hourly")),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_weather_hourly_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "kind IN ('observed', 'forecast')", name=op.f("ck_weather_hourly_kind_value")
        ),
        sa.CheckConstraint(
            "precipitation_mm >= 0 AND rain_mm >= 0 AND snow_mm >= 0",
            name=op.f("ck_weather_hourly_precip_sign"),
        ),
        sa.CheckConstraint(
            "humidity_pct >= 0 AND humidity_pct <= 100",
            name=op.f("ck_weather_hourly_humidity_range"),
        ),
        sa.CheckConstraint("pop >= 0 AND pop <= 1", name=op.f("ck_weather_hourly_pop_range")),
    )
    op.create_index(op.f("ix_weather_hourly_fetched_at"), "weather_hourly", ["fetched_at"])

    op.create_table(
        "trail_conditions",
        sa.Column("location_id", sa.String(100), nullable=False),
        sa.Column("valid_for", _utc(), nullable=False),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("reasons", _json(), nullable=False),
        sa.Column("classifier_version", sa.String(64), nullable=False),
        sa.Column("computed_at", _utc(), nullable=False),
        sa.Column("window_start", _utc(), nullable=True),
        sa.Column("window_end", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("location_id", "valid_for", name=op.f("pk_trail_conditions")),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_trail_conditions_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "label IN ('dry', 'wet', 'muddy', 'snow', 'icy', 'unknown')",
            name=op.f("ck_trail_conditions_label_value"),
        ),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_trail_conditions_confidence_range")
        ),
    )
    op.create_index(op.f("ix_trail_conditions_computed_at"), "trail_conditions", ["computed_at"])

    op.create_table(
        "etl_runs",
        sa.Column("run_id", sa.String(100), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("counts", _json(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_etl_runs")),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'partial', 'failed', 'cancelled')",
            name=op.f("ck_etl_runs_status_value"),
        ),
    )
    op.create_index(op.f("ix_etl_runs_finished_at"), "etl_runs", ["finished_at"])
    op.create_index(op.f("ix_etl_runs_stage_finished_at"), "etl_runs", ["stage", "finished_at"])


def downgrade() -> None:
    op.drop_table("etl_runs")
    op.drop_table("trail_conditions")
    op.drop_table("weather_hourly")
    op.drop_table("locations")
