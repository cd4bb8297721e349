"""The mock's one settings class, read from ``MOCK_OWM_*`` environment variables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from etl_core.errors import ConfigurationError
from etl_core.settings import ServiceSettings
from mock_owm.forecast import DEFAULT_DAY_CACHE
from mock_owm.ratelimit import WINDOW_S
from mock_owm.responder import DEFAULT_FRAGMENT_CACHE
from mock_owm.runtime import (
    DEFAULT_API_KEY,
    DEFAULT_TIMEOUT_S,
    Rate,
    RuntimeConfig,
    check_rate_sum,
    parse_api_keys,
    parse_now,
)

ENV_PREFIX = "MOCK_OWM_"


class MockOwmSettings(ServiceSettings):
    """Every fault and limit here can also be changed at run time through ``POST /__faults``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", case_sensitive=False,
                                      frozen=True, populate_by_name=True)

    api_keys: Annotated[tuple[str, ...], NoDecode] = (DEFAULT_API_KEY,)
    now: datetime | None = None  # a fixed clock (ISO 8601; naive means UTC); None: the real clock
    seed: int | None = None  # seeds fault injection; None: unpredictable
    error_rate: Rate = 0.0
    latency_ms: float = Field(0.0, ge=0.0)
    timeout_rate: Rate = 0.0
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0.0)
    malformed_rate: Rate = 0.0
    # An identifier cannot start with a digit: MOCK_OWM_429_RATE is read through an alias.
    rate_429: Rate = Field(0.0, validation_alias=AliasChoices(f"{ENV_PREFIX}429_RATE", "rate_429"))
    retry_after_s: int | None = Field(None, ge=0)
    rate_limit_per_minute: int | None = Field(None, ge=1)
    rate_limit_per_day: int | None = Field(None, ge=1)
    rate_limit_window_s: float = Field(WINDOW_S, gt=0.0)  # see RuntimeConfig
    day_cache: int = Field(DEFAULT_DAY_CACHE, ge=16)  # local days kept in memory (~13 kB each)
    fragment_cache: int = Field(DEFAULT_FRAGMENT_CACHE, ge=16)  # encoded parts (~20 kB each)
    log_level: str = "INFO"
    access_log: bool = False

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> tuple[str, ...]:
        return parse_api_keys(value)

    @field_validator("now", mode="before")
    @classmethod
    def _now(cls, value: Any) -> Any:
        return parse_now(value)

    @field_validator("rate_limit_per_minute", "rate_limit_per_day", "retry_after_s", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() == "" else value

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
        )
