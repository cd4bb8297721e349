"""The tables, as SQLAlchemy Core. The Alembic migrations create the same schema (a test compares
them); change both together.

Every timestamp is UTC. Weather and conditions are keyed by location and UTC hour, so an upsert
replaces rather than duplicates.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from weather_service.db.types import UtcDateTime, json_type

ID_LENGTH = 100
NAME_LENGTH = 200
SOURCE_LENGTH = 64
RULE_ID_LENGTH = 64
VERSION_LENGTH = 64
STAGE_LENGTH = 64
MESSAGE_LENGTH = 2000

SOIL_DRAINAGE_CLASSES = (
    "excessively",
    "well",
    "moderately_well",
    "somewhat_poorly",
    "poorly",
    "very_poorly",
)
ASPECTS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
CANOPIES = ("open", "partial", "forest")
WEATHER_KINDS = ("observed", "forecast")
CONDITION_LABELS = ("dry", "wet", "muddy", "snow", "icy", "unknown")
RUN_STATUSES = ("running", "succeeded", "partial", "failed", "cancelled")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


locations = Table(
    "locations",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("lat", Double, nullable=False),
    Column("lon", Double, nullable=False),
    Column("elevation_m", Double, nullable=True),
    Column("soil_drainage", String(16), nullable=True),
    Column("aspect", String(2), nullable=True),
    Column("canopy", String(8), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("lat >= -90 AND lat <= 90", name="lat_range"),
    CheckConstraint("lon >= -180 AND lon <= 180", name="lon_range"),
    CheckConstraint(_one_of("soil_drainage", SOIL_DRAINAGE_CLASSES), name="soil_drainage_class"),
    CheckConstraint(_one_of("aspect", ASPECTS), name="aspect_value"),
    CheckConstraint(_one_of("canopy", CANOPIES), name="canopy_value"),
    Index("ix_locations_lat_lon", "lat", "lon"),
)

weather_hourly = Table(
    "weather_hourly",
    metadata,
    Column(
        "location_id",
        String(ID_LENGTH),
        ForeignKey("locations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("hour", UtcDateTime, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("temperature_c", Double, nullable=False),
    Column("humidity_pct", Double, nullable=True),
    Column("wind_speed_ms", Double, nullable=True),
    Column("wind_gust_ms", Double, nullable=True),
    Column("precipitation_mm", Double, nullable=False),
    Column("rain_mm", Double, nullable=False),
    Column("snow_mm", Double, nullable=False),
    Column("weather_id", Integer, nullable=True),
    Column("pop", Double, nullable=True),
    Column("soil_moisture_m3m3", Double, nullable=True),
    Column("source", String(SOURCE_LENGTH), nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
    CheckConstraint(_one_of("kind", WEATHER_KINDS), name="kind_value"),
    CheckConstraint("precipitation_mm >= 0 AND rain_mm >= 0 AND snow_mm >= 0", name="precip_sign"),
    CheckConstraint("humidity_pct >= 0 AND humidity_pct <= 100", name="humidity_range"),
    CheckConstraint("pop >= 0 AND pop <= 1", name="pop_range"),
    Index("ix_weather_hourly_fetched_at", "fetched_at"),
)

trail_conditions = Table(
    "trail_conditions",
    metadata,
    Column(
        "location_id",
        String(ID_LENGTH),
        ForeignKey("locations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("valid_for", UtcDateTime, primary_key=True),
    Column("label", String(8), nullable=False),
    Column("confidence", Double, nullable=False),
    Column("rule_id", String(RULE_ID_LENGTH), nullable=False),
    Column("reasons", json_type(), nullable=False),
    Column("classifier_version", String(VERSION_LENGTH), nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
    Column("window_start", UtcDateTime, nullable=True),
    Column("window_end", UtcDateTime, nullable=True),
    CheckConstraint(_one_of("label", CONDITION_LABELS), name="label_value"),
    CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
    Index("ix_trail_conditions_computed_at", "computed_at"),
)

etl_runs = Table(
    "etl_runs",
    metadata,
    Column("run_id", String(ID_LENGTH), primary_key=True),
    Column("stage", String(STAGE_LENGTH), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("counts", json_type(), nullable=False),
    Column("message", Text, nullable=True),
    CheckConstraint(_one_of("status", RUN_STATUSES), name="status_value"),
    Index("ix_etl_runs_finished_at", "finished_at"),
    Index("ix_etl_runs_stage_finished_at", "stage", "finished_at"),
)
