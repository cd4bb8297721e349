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
# Upper bounds of every knob: an operator's typo (latency_ms 1e12) must be refused, not hang every
# call or hold memory; each bound is far beyond what a test or benchmark needs.
MAX_LATENCY_MS = 60_000.0
MAX_TIMEOUT_S = 600.0
# Only a header value, so far beyond a day: tests give clients absurd ones that they must cap.
MAX_RETRY_AFTER_S = 1_000_000_000
MAX_RATE_LIMIT_PER_MINUTE = 10_000_000
MAX_RATE_LIMIT_PER_HOUR = 100_000_000
MAX_RATE_LIMIT_PER_DAY = 1_000_000_000
MAX_RATE_LIMIT_WINDOW_S = 3_600.0
MAX_SEED = 2**63 - 1
MAX_API_KEYS = 64
MAX_API_KEY_CHARS = 128
# The fixed clock: from the first moment of OWM's history to a year whose dates, plus the
# forecast and day_summary horizons, stay far inside what the date arithmetic handles.
EARLIEST_NOW = datetime(1979, 1, 1, tzinfo=UTC)
LATEST_NOW = datetime(2100, 1, 1, tzinfo=UTC)

Rate = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
LatencyMs = Annotated[float, Field(ge=0.0, le=MAX_LATENCY_MS, allow_inf_nan=False)]
TimeoutS = Annotated[float, Field(gt=0.0, le=MAX_TIMEOUT_S, allow_inf_nan=False)]
RetryAfterS = Annotated[int, Field(ge=0, le=MAX_RETRY_AFTER_S)]
PerMinute = Annotated[int, Field(ge=1, le=MAX_RATE_LIMIT_PER_MINUTE)]
PerHour = Annotated[int, Field(ge=1, le=MAX_RATE_LIMIT_PER_HOUR)]
PerDay = Annotated[int, Field(ge=1, le=MAX_RATE_LIMIT_PER_DAY)]
WindowS = Annotated[float, Field(gt=0.0, le=MAX_RATE_LIMIT_WINDOW_S, allow_inf_nan=False)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
# Open-Meteo's free API: calls (weighted, open_meteo_quota.py) per client and period.
OPEN_METEO_PER_MINUTE = 600
OPEN_METEO_PER_HOUR = 5_000
OPEN_METEO_PER_DAY = 10_000


def parse_api_keys(value: Any) -> tuple[str, ...]:
    """A comma-separated string or a list of strings; at least one key, at most MAX_API_KEYS, each
    at most MAX_API_KEY_CHARS printable characters without spaces."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ValueError("api_keys must be a comma-separated string or a list of strings")
    keys = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not keys:
        raise ValueError("at least one API key is required")
    if len(keys) > MAX_API_KEYS:
        raise ValueError(f"at most {MAX_API_KEYS} API keys")
    for key in keys:
        if len(key) > MAX_API_KEY_CHARS or not key.isprintable() or any(c.isspace() for c in key):
            raise ValueError(
                f"an API key has at most {MAX_API_KEY_CHARS} printable characters, no spaces"
            )
    return keys


def parse_optional_api_keys(value: Any) -> tuple[str, ...] | None:
    """None or blank: any key is accepted; otherwise as ``parse_api_keys``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_api_keys(value)


def parse_now(value: Any) -> Any:
    """None, "" or "real" mean the real clock; a naive timestamp is taken as UTC."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "real")):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if isinstance(value, datetime) and not EARLIEST_NOW <= value < LATEST_NOW:
        raise ValueError(
            f"now must lie from {EARLIEST_NOW.date().isoformat()} to before "
            f"{LATEST_NOW.date().isoformat()}"
        )
    return value


def check_rate_sum(*rates: float) -> None:
    """Fault kinds are exclusive shares of requests, so together they cannot pass 1."""
    if sum(rates) > 1.0 + 1e-9:
        raise ValueError(
            "timeout_rate + 429_rate + error_rate + malformed_rate must not exceed 1"
        )


class RuntimeConfig(BaseModel):
    """What ``GET /__faults`` shows and ``POST /__faults`` changes (same names, lower case)."""

    # Strict: a JSON body's "0.5" for a rate is a mistake to report, not a value to guess at.
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True)

    error_rate: Rate = 0.0
    latency_ms: LatencyMs = 0.0
    timeout_rate: Rate = 0.0
    timeout_s: TimeoutS = DEFAULT_TIMEOUT_S
    malformed_rate: Rate = 0.0
    rate_429: Rate = Field(0.0, validation_alias=AliasChoices("429_rate", "rate_429"),
                           serialization_alias="429_rate")
    retry_after_s: RetryAfterS | None = None
    rate_limit_per_minute: PerMinute | None = None
    rate_limit_per_day: PerDay | None = None
    # The length of the "minute" of rate_limit_per_minute: 60 s as OpenWeatherMap counts; shorter
    # only for tests that compress time.
    rate_limit_window_s: WindowS = WINDOW_S
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    # /v1/forecast: calls per client in each minute (of rate_limit_window_s), hour (60 such
    # windows) and day (1,440); None: unlimited. The keys a request's ``apikey`` must be one of;
    # None: any (a request without one is always the free API, counted per client address).
    open_meteo_rate_limit_per_minute: PerMinute | None = OPEN_METEO_PER_MINUTE
    open_meteo_rate_limit_per_hour: PerHour | None = OPEN_METEO_PER_HOUR
    open_meteo_rate_limit_per_day: PerDay | None = OPEN_METEO_PER_DAY
    open_meteo_api_keys: tuple[str, ...] | None = None
    seed: Seed | None = None
    now: datetime | None = None

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
