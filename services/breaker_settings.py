"""The settings of the two shared circuit breakers (``etl_core.breaker``), as mixins: the
deployables that call a service read its breaker's settings, and ``trail-etl status`` reads both
to show each breaker's window the way the workers count it.

Each breaker opens when, of the last ``<PREFIX>_BREAKER_WINDOW_CALLS`` calls of every replica
reported in the last ``<PREFIX>_BREAKER_WINDOW_S``, at least ``<PREFIX>_BREAKER_MINIMUM_CALLS``
are there and ``<PREFIX>_BREAKER_FAILURE_RATE`` of them failed (5xx, timeouts, dropped
connections); it half-opens after ``<PREFIX>_BREAKER_RESET_TIMEOUT_S``.
"""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from etl_core.breaker import BreakerOptions
from etl_core.settings import ServiceSettings

# BreakerOptions field -> the suffix of its setting (``<PREFIX>_BREAKER_<SUFFIX>``).
BREAKER_SETTINGS = {
    "failure_rate_threshold": "failure_rate",
    "minimum_calls": "minimum_calls",
    "window_calls": "window_calls",
    "window_s": "window_s",
    "slow_call_duration_s": "slow_call_s",
    "slow_call_rate_threshold": "slow_call_rate",
    "reset_timeout_s": "reset_timeout_s",
}


def breaker_options(settings: ServiceSettings, prefix: str) -> BreakerOptions:
    """The ``BreakerOptions`` of the ``<PREFIX>_BREAKER_*`` settings that ``settings`` has (the
    others keep the breaker's defaults); a combination the breaker refuses is a ``ValueError``
    naming the variables."""
    names = {
        field: f"{prefix}_breaker_{suffix}"
        for field, suffix in BREAKER_SETTINGS.items()
        if f"{prefix}_breaker_{suffix}" in type(settings).model_fields
    }
    try:
        return BreakerOptions(**{field: getattr(settings, name) for field, name in names.items()})
    except ValueError as exc:
        message = str(exc)
        for field, name in names.items():
            message = re.sub(rf"\b{field}\b", name.upper(), message)
        raise ValueError(message) from None


class OwmBreakerSettings(ServiceSettings):
    """The breaker in front of OpenWeatherMap. The defaults never open at 25% independent
    failures (over millions of simulated calls) and open after 30-36 failed calls of an outage
    (tests/etl_core/test_breaker_rate.py)."""

    owm_breaker_failure_rate: float = Field(default=0.6, gt=0, le=1)
    owm_breaker_minimum_calls: int = Field(default=30, ge=1, le=10_000)
    owm_breaker_window_calls: int = Field(default=60, ge=1, le=10_000)
    owm_breaker_window_s: float = Field(default=120.0, gt=0)
    # Calls this slow count as slow; OWM_BREAKER_SLOW_CALL_RATE of them open it (unset: never).
    owm_breaker_slow_call_s: float | None = Field(default=None, gt=0)
    owm_breaker_slow_call_rate: float = Field(default=1.0, gt=0, le=1)
    owm_breaker_reset_timeout_s: float = Field(default=30.0, gt=0)
    # Read only to refuse it: the breaker no longer counts consecutive failures.
    owm_breaker_failure_threshold: str | None = None

    @model_validator(mode="after")
    def _check_owm_breaker(self) -> OwmBreakerSettings:
        if self.owm_breaker_failure_threshold is not None:
            raise ValueError(
                "OWM_BREAKER_FAILURE_THRESHOLD is no longer read: the breaker opens on a failure "
                "rate; set OWM_BREAKER_FAILURE_RATE and OWM_BREAKER_MINIMUM_CALLS instead"
            )
        self.owm_breaker_options()  # a window that could never open is refused at start
        return self

    def owm_breaker_options(self) -> BreakerOptions:
        return breaker_options(self, "owm")


class WeatherServiceBreakerSettings(ServiceSettings):
    """The breaker in front of the weather service. Our own service fails rarely, so a smaller
    window opens it sooner; probing it is free, so it half-opens sooner too."""

    weather_service_breaker_failure_rate: float = Field(default=0.5, gt=0, le=1)
    weather_service_breaker_minimum_calls: int = Field(default=10, ge=1, le=10_000)
    weather_service_breaker_window_calls: int = Field(default=20, ge=1, le=10_000)
    weather_service_breaker_window_s: float = Field(default=60.0, gt=0)
    weather_service_breaker_reset_timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _check_weather_service_breaker(self) -> WeatherServiceBreakerSettings:
        self.weather_service_breaker_options()
        return self

    def weather_service_breaker_options(self) -> BreakerOptions:
        return breaker_options(self, "weather_service")
