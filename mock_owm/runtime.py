"""The mock's run-time configuration: faults, limits, keys and clock, changeable while it runs.

It starts from ``MockOwmSettings`` and is replaced as a whole (it is immutable) on each
``POST /__faults``, so a request always sees one consistent configuration.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from mock_owm.ratelimit import WINDOW_S

DEFAULT_API_KEY = "mock-owm-key"
DEFAULT_TIMEOUT_S = 30.0
Rate = Annotated[float, Field(ge=0.0, le=1.0)]


def parse_api_keys(value: Any) -> tuple[str, ...]:
    """A comma-separated string or a list of keys; at least one."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = [str(item) for item in value]
    else:
        raise ValueError("api_keys must be a comma-separated string or a list of strings")
    keys = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not keys:
        raise ValueError("at least one API key is required")
    return keys


def parse_now(value: Any) -> Any:
    """None, "" or "real" mean the real clock; a naive timestamp is taken as UTC."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "real")):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def check_rate_sum(*rates: float) -> None:
    """Fault kinds are exclusive shares of requests, so together they cannot pass 1."""
    if sum(rates) > 1.0 + 1e-9:
        raise ValueError(
            "timeout_rate + 429_rate + error_rate + malformed_rate must not exceed 1"
        )


class RuntimeConfig(BaseModel):
    """What ``GET /__faults`` shows and ``POST /__faults`` changes (same names, lower case)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    error_rate: Rate = 0.0
    latency_ms: float = Field(0.0, ge=0.0)
    timeout_rate: Rate = 0.0
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0.0)
    malformed_rate: Rate = 0.0
    rate_429: Rate = Field(0.0, validation_alias=AliasChoices("429_rate", "rate_429"),
                           serialization_alias="429_rate")
    retry_after_s: int | None = Field(None, ge=0)
    rate_limit_per_minute: int | None = Field(None, ge=1)
    rate_limit_per_day: int | None = Field(None, ge=1)
    # The length of the "minute" of rate_limit_per_minute: 60 s as OpenWeatherMap counts; shorter
    # only for tests that compress time.
    rate_limit_window_s: float = Field(WINDOW_S, gt=0.0)
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    seed: int | None = None
    now: datetime | None = None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> tuple[str, ...]:
        return parse_api_keys(value)

    @field_validator("now", mode="before")
    @classmethod
    def _now(cls, value: Any) -> Any:
        return parse_now(value)

    @model_validator(mode="after")
    def _rates_fit(self) -> RuntimeConfig:
        check_rate_sum(self.timeout_rate, self.rate_429, self.error_rate, self.malformed_rate)
        return self

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def updated(self, changes: dict[str, Any]) -> RuntimeConfig:
        """A new configuration with ``changes`` applied; raises ``ValidationError``."""
        merged = self.model_dump(by_alias=True)
        if "rate_429" in changes:
            changes = {**changes, "429_rate": changes["rate_429"]}
            del changes["rate_429"]
        merged.update(changes)
        return RuntimeConfig.model_validate(merged)

    def now_s(self) -> float:
        """The mock's clock: the fixed ``now`` if set, else the real time."""
        return self.now.timestamp() if self.now is not None else time.time()
