"""The one settings class of the weather service, read from the environment once at start."""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from etl_core.settings import ServiceSettings

DEFAULT_DATABASE_URL = "sqlite:///./weather_service.db"
DEFAULT_MAX_BATCH = 5000
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
MIN_API_KEY_CHARS = 16
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Removed from both ends of a configured key and of a presented one, by the same function: HTTP
# strips spaces and tabs around a header value (or not, depending on the server), and a key read
# from a file often ends in a newline. Nothing inside a key is touched.
API_KEY_TRIM_CHARS = " \t\r\n"


def trim_api_key(key: str) -> str:
    """The form in which keys are compared: ``API_KEY_TRIM_CHARS`` removed from both ends."""
    return key.strip(API_KEY_TRIM_CHARS)


class WeatherServiceSettings(ServiceSettings):
    """Environment variables are the upper-case field names (``database_url`` -> DATABASE_URL).

    Writes need an API key from ``WEATHER_SERVICE_API_KEYS``. With no key configured the settings
    refuse to load, unless ``WEATHER_SERVICE_ALLOW_ANONYMOUS_WRITES=true`` says this is a
    development instance that accepts writes from anyone.
    """

    database_url: str = DEFAULT_DATABASE_URL
    weather_service_api_keys: str = Field(default="", repr=False)
    weather_service_read_auth: bool = False
    weather_service_allow_anonymous_writes: bool = False
    weather_service_max_batch: int = Field(default=DEFAULT_MAX_BATCH, ge=1, le=100_000)
    weather_service_max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024)
    weather_service_migrate_on_start: bool = True
    weather_service_db_pool_size: int = Field(default=5, ge=1, le=100)
    weather_service_db_connect_timeout_s: float = Field(default=5.0, gt=0, le=300)
    weather_service_db_statement_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    weather_service_log_level: str = "INFO"

    @field_validator("weather_service_log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @property
    def api_keys(self) -> tuple[str, ...]:
        """The configured write keys, trimmed (``trim_api_key``), blanks dropped."""
        keys = (trim_api_key(k) for k in self.weather_service_api_keys.split(","))
        return tuple(k for k in keys if k)

    @model_validator(mode="after")
    def _check_keys(self) -> Self:
        keys = self.api_keys
        if not keys and not self.weather_service_allow_anonymous_writes:
            raise ValueError(
                "WEATHER_SERVICE_API_KEYS is empty: set one or more comma-separated keys, or set "
                "WEATHER_SERVICE_ALLOW_ANONYMOUS_WRITES=true on a development instance"
            )
        short = [k for k in keys if len(k) < MIN_API_KEY_CHARS]
        if short:
            raise ValueError(
                f"WEATHER_SERVICE_API_KEYS: every key needs at least {MIN_API_KEY_CHARS} "
                f"characters ({len(short)} key(s) are shorter)"
            )
        if self.weather_service_read_auth and not keys:
            raise ValueError("WEATHER_SERVICE_READ_AUTH=true needs WEATHER_SERVICE_API_KEYS")
        if ":memory:" in self.database_url or self.database_url.rstrip("/") == "sqlite:":
            raise ValueError("DATABASE_URL: in-memory SQLite is not supported; name a file")
        return self
