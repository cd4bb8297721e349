"""Types shared by the services' settings classes."""

from __future__ import annotations

from typing import Literal

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

WEATHER_SERVICE_PORT = 8000  # what ``trail-etl serve weather-service`` listens on by default
DEFAULT_WEATHER_SERVICE_URL = f"http://127.0.0.1:{WEATHER_SERVICE_PORT}"
