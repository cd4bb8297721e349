"""``trail-etl locations``: manage the locations the pipeline schedules."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import Field, SecretStr

from etl_core.errors import ConfigurationError, EtlError
from etl_core.settings import ServiceSettings
from services.cli.exits import EXIT_FAILED, exit_with
from services.settings_types import DEFAULT_WEATHER_SERVICE_URL

if TYPE_CHECKING:
    from services.locations_import import ImportReport

app = typer.Typer(help="Manage the locations the pipeline schedules.", no_args_is_help=True)


class LocationsSettings(ServiceSettings):
    weather_service_url: str = Field(default=DEFAULT_WEATHER_SERVICE_URL, pattern=r"^https?://")
    weather_service_api_key: SecretStr = Field(min_length=16)
    weather_service_timeout_s: float = Field(default=30.0, gt=0)


async def _import(path: Path, settings: LocationsSettings) -> ImportReport:
    import httpx

    from services.locations_import import import_locations
    from services.weather_client import WeatherClientOptions, WeatherServiceClient

    async with httpx.AsyncClient() as http:
        client = WeatherServiceClient(
            http,
            WeatherClientOptions(
                base_url=settings.weather_service_url,
                api_key=settings.weather_service_api_key.get_secret_value(),
                timeout_s=settings.weather_service_timeout_s,
            ),
        )
        return await import_locations(path, client)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="A .csv (with header), .json or .jsonl file."),
) -> None:
    """Upsert the locations of FILE into the weather service (id, name, lat, lon, elevation_m,
    soil_drainage, aspect, canopy). Safe to run again."""
    try:
        settings: LocationsSettings = LocationsSettings.load()
        report = asyncio.run(_import(file, settings))
    except ConfigurationError as exc:
        raise exit_with(str(exc)) from None
    except EtlError as exc:
        raise exit_with(f"import failed: {type(exc).__name__}: {exc}", code=EXIT_FAILED) from None
    if report.unknown_columns:
        from services.schedule_jobs.locations import KNOWN_COLUMNS

        typer.echo(
            f"warning: {file}: ignored unknown column(s) {', '.join(report.unknown_columns)} "
            f"(known: {', '.join(sorted(KNOWN_COLUMNS))})",
            err=True,
        )
    typer.echo(f"imported {report.sent} locations from {file}")
