"""The settings of the fetch-weather deployable (environment variables)."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from etl_core.errors import ConfigurationError
from etl_core.ratelimit_adaptive import DEFAULT_MIN_FACTOR, DEFAULT_RECOVERY_S
from etl_core.windows import parse_window
from services.breaker_settings import OwmBreakerSettings
from services.fetch_weather.history import HistoryOptions
from services.fetch_weather.owm.client import DEFAULT_TIMEOUT_S
from services.settings_types import OptionalLimit
from services.worker_settings import WorkerSettings

IN_FLIGHT_PER_CALL = 2  # default task slots per call slot


class FetchWeatherSettings(WorkerSettings, OwmBreakerSettings):
    """Also reads every ``WorkerSettings`` variable (REDIS_URL, WEATHER_SERVICE_*, WORKER_*) and
    the source breaker's (``OwmBreakerSettings``).

    The gate's behaviour (OWM_RATE_LIMIT_MARGIN_MS, _WAIT_S, _MIN_FACTOR, _RECOVERY_S,
    OWM_TRANSIENT_ATTEMPTS, OWM_CACHE_TTL_S, OWM_BREAKER_*) applies to whichever source runs; the
    limits, URL, key and timeout are each source's own."""

    # owm, open-meteo, or package.module:Class (services.fetch_weather.source)
    weather_source: str = Field(default="owm", min_length=1)
    # The observed history categorize needs (CATEGORIZE_HISTORY_H reads as much), and the most
    # past days a new location may be backfilled with.
    fetch_history_h: int = Field(default=72, ge=1, le=24 * 30)
    fetch_min_observed_h: int = Field(default=48, ge=0)
    fetch_max_backfill_days: int = Field(default=3, ge=0, le=30)

    owm_base_url: str = Field(default="https://api.openweathermap.org", pattern=r"^https?://")
    owm_api_key: SecretStr | None = Field(default=None, min_length=1, validate_default=True)
    # One Call answers in well under a second; a hung call holds one of FETCH_CONCURRENCY call
    # slots for this long, so a longer wait costs throughput whenever the provider drops calls.
    owm_timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    owm_rate_limit_per_minute: int = Field(default=60, ge=1)
    owm_rate_limit_per_day: int = Field(default=1000, ge=1)
    # The per-minute permits are also counted over 60 s + this margin, so calls held up on their
    # way (a busy worker loop, a queue at the provider) cannot land more than the limit into any
    # 60 s the provider counts; costs margin / (60 s + margin) of the allowed rate.
    owm_rate_limit_margin_ms: int = Field(default=2000, ge=0, le=60_000)
    owm_rate_limit_wait_s: float = Field(default=5.0, ge=0)
    # On evidence that 429s keep coming the shared limiter lowers every replica's rate, never below
    # this share of the configured limits (10%: still 6 calls a minute at 60 to find out when the
    # provider takes more); 1 never lowers it. It climbs back linearly, from the floor to the
    # configured rate in OWM_RATE_LIMIT_RECOVERY_S (300 s: from half rate in under 3 minutes, so a
    # quota that really is smaller is probed a few provider minutes apart, and a passing squeeze
    # costs a few minutes of lower rate).
    owm_rate_limit_min_factor: float = Field(default=DEFAULT_MIN_FACTOR, gt=0, le=1)
    owm_rate_limit_recovery_s: float = Field(default=DEFAULT_RECOVERY_S, gt=0, le=86_400)
    owm_transient_attempts: int = Field(default=3, ge=1, le=10)
    # How long a fetched answer (the part the transform reads) stays cached; default: one schedule
    # window. A task's retries and reclaims come within that (WORKER_MAX_DELIVERIES times the
    # longest backoff and reclaim, well under an hour), so a redelivery pays no second call, and
    # the next window's task is a new request that must not reuse it anyway.
    owm_cache_ttl_s: int | None = Field(default=None, ge=1)
    # Source calls one process keeps in flight (``--concurrency`` overrides).
    fetch_concurrency: int = Field(default=16, ge=1, le=10_000)
    # Tasks one process holds at once (read, not yet settled); default twice FETCH_CONCURRENCY, so
    # a task writing its records to the weather service does not keep a call slot idle.
    fetch_max_in_flight: int | None = Field(default=None, ge=1, le=20_000)

    # Open-Meteo: keyless on the free API; with OPEN_METEO_API_KEY, the commercial endpoint (set
    # OPEN_METEO_BASE_URL to it, https://customer-api.open-meteo.com) or a self-hosted instance.
    open_meteo_base_url: str = Field(default="https://api.open-meteo.com", pattern=r"^https?://")
    open_meteo_api_key: SecretStr | None = Field(default=None, min_length=1)
    open_meteo_timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    # The free API's published limits per client address; a commercial plan has its own.
    open_meteo_rate_limit_per_minute: int = Field(default=600, ge=1)
    open_meteo_rate_limit_per_hour: OptionalLimit = 5000
    open_meteo_rate_limit_per_day: OptionalLimit = 10_000

    @field_validator("owm_api_key")
    @classmethod
    def _owm_key_when_owm(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and info.data.get("weather_source", "owm") == "owm":
            raise ValueError("required when WEATHER_SOURCE is owm (the default)")
        return value

    @model_validator(mode="after")
    def _history_fits(self) -> FetchWeatherSettings:
        if self.fetch_min_observed_h > self.fetch_history_h:
            raise ValueError(
                f"FETCH_MIN_OBSERVED_H ({self.fetch_min_observed_h}) cannot exceed "
                f"FETCH_HISTORY_H ({self.fetch_history_h})"
            )
        return self

    def history_options(self) -> HistoryOptions:
        return HistoryOptions(
            history_h=self.fetch_history_h,
            min_observed_h=self.fetch_min_observed_h,
            max_backfill_days=self.fetch_max_backfill_days,
        )

    def answer_cache_ttl_s(self) -> int:
        """OWM_CACHE_TTL_S, or one schedule window."""
        if self.owm_cache_ttl_s is not None:
            return self.owm_cache_ttl_s
        return int(parse_window(self.schedule_window).total_seconds())

    def tasks_in_flight(self, calls: int) -> int:
        """The worker's task slots for ``calls`` source calls in flight (checked here, not when the
        settings load: ``--concurrency`` may replace FETCH_CONCURRENCY)."""
        if self.fetch_max_in_flight is None:
            return IN_FLIGHT_PER_CALL * calls
        if self.fetch_max_in_flight < calls:
            raise ConfigurationError(
                f"FETCH_MAX_IN_FLIGHT ({self.fetch_max_in_flight}) must be at least the calls "
                f"in flight (FETCH_CONCURRENCY or --concurrency: {calls}): each call is a task's"
            )
        return self.fetch_max_in_flight
