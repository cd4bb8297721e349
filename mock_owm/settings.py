"""The mock's one settings class, read from ``MOCK_OWM_*`` environment variables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from etl_core.errors import ConfigurationError
from etl_core.settings import ServiceSettings
from mock_owm.auth import check_admin_token
from mock_owm.forecast import DEFAULT_DAY_CACHE
from mock_owm.ratelimit import WINDOW_S
from mock_owm.responder import DEFAULT_FRAGMENT_CACHE
from mock_owm.runtime import (
    DEFAULT_API_KEY,
    DEFAULT_TIMEOUT_S,
    OPEN_METEO_PER_DAY,
    OPEN_METEO_PER_HOUR,
    OPEN_METEO_PER_MINUTE,
    LatencyMs,
    PerDay,
    PerHour,
    PerMinute,
    Rate,
    RetryAfterS,
    RuntimeConfig,
    Seed,
    TimeoutS,
    WindowS,
    check_rate_sum,
    parse_api_keys,
    parse_now,
    parse_optional_api_keys,
)

ENV_PREFIX = "MOCK_OWM_"
# Cache sizes in entries; the upper bounds keep a typo from asking for tens of gigabytes.
MAX_DAY_CACHE = 200_000  # ~2.6 GB when full
MAX_FRAGMENT_CACHE = 50_000  # ~1 GB when full


class MockOwmSettings(ServiceSettings):
    """Every fault and limit here can also be changed at run time through ``POST /__faults``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", case_sensitive=False,
                                      frozen=True, populate_by_name=True)

    api_keys: Annotated[tuple[str, ...], NoDecode] = (DEFAULT_API_KEY,)
    # The bearer token of the control endpoints (/__faults, /__stats, /__warm); None: the mock
    # makes one at start and logs it once.
    admin_token: SecretStr | None = None
    now: datetime | None = None  # a fixed clock (ISO 8601; naive means UTC); None: the real clock
    seed: Seed | None = None  # seeds fault injection; None: unpredictable
    error_rate: Rate = 0.0
    latency_ms: LatencyMs = 0.0
    timeout_rate: Rate = 0.0
    timeout_s: TimeoutS = DEFAULT_TIMEOUT_S
    malformed_rate: Rate = 0.0
    # An identifier cannot start with a digit: MOCK_OWM_429_RATE is read through an alias.
    rate_429: Rate = Field(0.0, validation_alias=AliasChoices(f"{ENV_PREFIX}429_RATE", "rate_429"))
    retry_after_s: RetryAfterS | None = None
    rate_limit_per_minute: PerMinute | None = None
    rate_limit_per_day: PerDay | None = None
    rate_limit_window_s: WindowS = WINDOW_S  # see RuntimeConfig
    # GET /v1/forecast (Open-Meteo): the free API's quotas per client; blank: unlimited
    open_meteo_rate_limit_per_minute: PerMinute | None = OPEN_METEO_PER_MINUTE
    open_meteo_rate_limit_per_hour: PerHour | None = OPEN_METEO_PER_HOUR
    open_meteo_rate_limit_per_day: PerDay | None = OPEN_METEO_PER_DAY
    # valid ``apikey`` values (comma-separated); unset or blank: any key is accepted
    open_meteo_api_keys: Annotated[tuple[str, ...] | None, NoDecode] = None
    # local days kept in memory (~13 kB each)
    day_cache: int = Field(DEFAULT_DAY_CACHE, ge=16, le=MAX_DAY_CACHE)
    # encoded parts (~20 kB each)
    fragment_cache: int = Field(DEFAULT_FRAGMENT_CACHE, ge=16, le=MAX_FRAGMENT_CACHE)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = False

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> tuple[str, ...]:
        return parse_api_keys(value)

    @field_validator("open_meteo_api_keys", mode="before")
    @classmethod
    def _open_meteo_keys(cls, value: Any) -> tuple[str, ...] | None:
        return parse_optional_api_keys(value)

    @field_validator("now", mode="before")
    @classmethod
    def _now(cls, value: Any) -> Any:
        return parse_now(value)

    @field_validator("rate_limit_per_minute", "rate_limit_per_day", "retry_after_s", "seed",
                     "admin_token", "open_meteo_rate_limit_per_minute",
                     "open_meteo_rate_limit_per_hour", "open_meteo_rate_limit_per_day",
                     mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() == "" else value

    @field_validator("admin_token")
    @classmethod
    def _admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_admin_token(value.get_secret_value())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _rates_fit(self) -> MockOwmSettings:
        check_rate_sum(self.timeout_rate, self.rate_429, self.error_rate, self.malformed_rate)
        return self

    @classmethod
    def load(cls, **overrides: Any) -> Any:
        try:
            return super().load(**overrides)
        except ConfigurationError as exc:
            # The alias of MOCK_OWM_429_RATE already holds the prefix; do not name it twice.
            raise ConfigurationError(str(exc).replace(ENV_PREFIX * 2, ENV_PREFIX)) from None

    def runtime_config(self) -> RuntimeConfig:
        return RuntimeConfig(
            api_keys=self.api_keys,
            now=self.now,
            seed=self.seed,
            error_rate=self.error_rate,
            latency_ms=self.latency_ms,
            timeout_rate=self.timeout_rate,
            timeout_s=self.timeout_s,
            malformed_rate=self.malformed_rate,
            rate_429=self.rate_429,
            retry_after_s=self.retry_after_s,
            rate_limit_per_minute=self.rate_limit_per_minute,
            rate_limit_per_day=self.rate_limit_per_day,
            rate_limit_window_s=self.rate_limit_window_s,
            open_meteo_rate_limit_per_minute=self.open_meteo_rate_limit_per_minute,
            open_meteo_rate_limit_per_hour=self.open_meteo_rate_limit_per_hour,
            open_meteo_rate_limit_per_day=self.open_meteo_rate_limit_per_day,
            open_meteo_api_keys=self.open_meteo_api_keys,
        )
