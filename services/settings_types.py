"""Types shared by the services' settings classes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

WEATHER_SERVICE_PORT = 8000  # what ``trail-etl serve weather-service`` listens on by default
DEFAULT_WEATHER_SERVICE_URL = f"http://127.0.0.1:{WEATHER_SERVICE_PORT}"


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# A limit an operator may switch off with an empty variable (``OPEN_METEO_RATE_LIMIT_PER_DAY=``).
OptionalLimit = Annotated[Annotated[int, Field(ge=1)] | None, BeforeValidator(_blank_is_none)]
