"""The deployables: which ``trail-etl`` command runs which settings class, resolved on the app."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices

# typer (as locked) vendors its own click: its commands and errors are not click's classes.
from typer._click.exceptions import UsageError
from typer.main import get_command

from mock_owm.settings import MockOwmSettings
from services.categorize.settings import CategorizeSettings
from services.cli import app
from services.cli.locations import LocationsSettings
from services.cli.settings import CliSettings
from services.cli.status import StatusSettings
from services.fetch_weather.settings import FetchWeatherSettings
from services.schedule_jobs.settings import ScheduleSettings
from weather_service.settings import WeatherServiceSettings

# The settings class each command reads (an entry per command the deployment files run).
SETTINGS_OF: dict[tuple[str, ...], type[Any]] = {
    ("serve", "weather-service"): WeatherServiceSettings,
    ("serve", "mock-owm"): MockOwmSettings,
    ("schedule",): ScheduleSettings,
    ("worker", "fetch-weather"): FetchWeatherSettings,
    ("worker", "categorize-trail-conditions"): CategorizeSettings,
    ("locations", "import"): LocationsSettings,
    ("status",): StatusSettings,
    ("dlq",): CliSettings,
}


def resolve(argv: list[str]) -> tuple[str, ...]:
    """The command path of ``trail-etl <argv>`` (``("worker", "fetch-weather")``); raises
    ``UsageError`` when a command, an option or a value would be refused."""
    command: Any = get_command(app)
    path: list[str] = []
    rest = list(argv)
    while rest and rest[0] in getattr(command, "commands", {}):
        path.append(rest.pop(0))
        command = command.commands[path[-1]]
    context = command.make_context(" ".join(["trail-etl", *path]), rest)
    leftover = [*getattr(context, "_protected_args", []), *context.args]
    if leftover:
        raise UsageError(f"trail-etl {' '.join(path)}: no such command {leftover}")
    return tuple(path)


def settings_of(argv: list[str]) -> type[Any]:
    path = resolve(argv)
    for length in range(len(path), 0, -1):
        if path[:length] in SETTINGS_OF:
            return SETTINGS_OF[path[:length]]
    raise AssertionError(f"no settings class known for `trail-etl {' '.join(argv)}`")


def env_names(cls: type[Any]) -> set[str]:
    """The environment variables ``cls`` reads (upper case)."""
    prefix = (cls.model_config.get("env_prefix") or "").upper()
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(prefix + field_name.upper())
    return names


def default_of(cls: type[Any], env_name: str) -> Any:
    """The default of the setting read from ``env_name``."""
    prefix = (cls.model_config.get("env_prefix") or "").upper()
    for field_name, field in cls.model_fields.items():
        if prefix + field_name.upper() == env_name:
            return field.default
    raise KeyError(f"{cls.__name__} has no setting {env_name}")
