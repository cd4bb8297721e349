"""Builds the fetch-weather worker from its settings (the one place that wires its objects)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from etl_core.breaker import CircuitBreaker
from etl_core.ratelimit import MINUTE_MS, RateLimiter, RefusalHook, WaitHook
from etl_core.ratelimit_adaptive import AdaptiveAdmission
from etl_core.worker import Worker, WorkerOptions
from etl_core.worker.metrics import WorkerMetrics
from services import pipeline_keys
from services.fetch_weather.gate import SourceGate
from services.fetch_weather.handler import FetchWeatherHandler
from services.fetch_weather.history import HistoryCoverage
from services.fetch_weather.settings import FetchWeatherSettings
from services.fetch_weather.source import SourceProfile, source_class
from services.http_transport import AiohttpTransport, HttpTransport, as_transport
from services.tasks import categorize_codec, ingest_codec
from services.worker_metrics import SourceCallMetrics, served_metrics

MINUTES_PER_HOUR = 60


def fetch_worker_options(
    settings: FetchWeatherSettings, *, concurrency: int | None = None, **overrides: Any
) -> WorkerOptions:
    """``concurrency``: source calls in flight (default FETCH_CONCURRENCY); the runtime's task
    slots are ``settings.tasks_in_flight`` of it."""
    slots = settings.tasks_in_flight(concurrency or settings.fetch_concurrency)
    return settings.worker_options(
        stream=pipeline_keys.INGESTION_STREAM,
        group=pipeline_keys.FETCH_GROUP,
        forward_stream=pipeline_keys.CATEGORIZATION_STREAM,
        concurrency=slots,
        **overrides,
    )


def source_rate_limiter(
    redis: Any,
    settings: FetchWeatherSettings,
    profile: SourceProfile,
    *,
    on_wait: WaitHook | None = None,
    on_refusal: RefusalHook | None = None,
    minute_ms: int = MINUTE_MS,
) -> RateLimiter:
    """The source's shared limiter: its per-minute limit, again over 60 s +
    OWM_RATE_LIMIT_MARGIN_MS (a permit's call reaches the provider a little after the permit:
    admitted at the very end of one minute and delayed, it would count in the next), its per-hour
    and per-day limits. Its rate adapts to the 429s of the last minute
    (OWM_RATE_LIMIT_MIN_FACTOR, _RECOVERY_S).

    ``minute_ms`` is the length of the provider's minute (the windows are it, it + the margin and
    60 of it, and the 429s of the last one are the evidence): 60 000, except in tests that
    compress time (with the mock's MOCK_OWM_RATE_LIMIT_WINDOW_S)."""
    limits = profile.limits
    margin_ms = settings.owm_rate_limit_margin_ms
    windows = [(minute_ms, limits.per_minute)]
    if margin_ms:
        windows.append((minute_ms + margin_ms, limits.per_minute))
    if limits.per_hour is not None:
        windows.append((MINUTES_PER_HOUR * minute_ms, limits.per_hour))
    return RateLimiter(
        redis,
        profile.limiter,
        per_day=limits.per_day,
        windows=windows,
        adaptive=AdaptiveAdmission(
            evidence_window_ms=minute_ms,
            min_factor=settings.owm_rate_limit_min_factor,
            recovery_s=settings.owm_rate_limit_recovery_s,
        ),
        on_wait=on_wait,
        on_refusal=on_refusal,
    )


@asynccontextmanager
async def fetch_worker(
    settings: FetchWeatherSettings,
    *,
    redis: Any | None = None,
    source_http: HttpTransport | httpx.AsyncClient | None = None,
    weather_http: httpx.AsyncClient | None = None,
    concurrency: int | None = None,
    metrics: WorkerMetrics | None = None,
    rate_limit_minute_ms: int = MINUTE_MS,
    **option_overrides: Any,
) -> AsyncIterator[Worker]:
    """The worker, with its clients open; clients passed in are used as they are (tests).
    With ``metrics``, its hooks are wired in and served on METRICS_PORT.
    ``source_http`` carries the weather source's calls; ``rate_limit_minute_ms``: see
    ``source_rate_limiter`` (tests that compress time)."""
    async with AsyncExitStack() as stack:
        calls = concurrency or settings.fetch_concurrency
        options = fetch_worker_options(settings, concurrency=calls, **option_overrides)
        redis, weather = await settings.open_clients(
            stack, redis=redis, weather_http=weather_http, concurrency=options.concurrency
        )
        if source_http is None:
            source_http = AiohttpTransport(max_connections=calls)
            stack.push_async_callback(source_http.aclose)
        source_cls = source_class(settings.weather_source)
        profile = source_cls.describe(settings)
        breaker = CircuitBreaker(redis, profile.breaker, profile.breaker_options)
        limiter = source_rate_limiter(
            redis,
            settings,
            profile,
            on_wait=None if metrics is None else metrics.on_rate_limit_wait,
            on_refusal=None if metrics is None else metrics.on_rate_limit_refusal,
            minute_ms=rate_limit_minute_ms,
        )
        gate = SourceGate(
            redis,
            profile.name,
            limiter=limiter,
            breaker=breaker,
            cache_ttl_s=settings.answer_cache_ttl_s(),
            rate_limit_wait_s=settings.owm_rate_limit_wait_s,
            transient_attempts=settings.owm_transient_attempts,
            max_concurrent_calls=calls,
            on_slot_wait=None if metrics is None else metrics.on_slot_wait,
            on_call=None if metrics is None else SourceCallMetrics(metrics).on_call,
        )
        source = source_cls.open(
            settings, http=as_transport(source_http), gate=gate, profile=profile
        )
        writes = await settings.open_writes(stack, weather)
        handler = FetchWeatherHandler(
            source=source,
            coverage=HistoryCoverage(redis, weather, settings.history_options()),
            writes=writes,
        )
        window_rule = settings.window_rule()
        worker = Worker(
            redis,
            ingest_codec(window_rule),
            handler,
            options,
            forward_codec=categorize_codec(window_rule),
            hooks=metrics,
        )
        await stack.enter_async_context(
            served_metrics(
                settings, metrics, worker, breakers=[breaker, weather.breaker], limiter=limiter
            )
        )
        yield worker


def rate_limiter(redis: Any, settings: FetchWeatherSettings, **options: Any) -> RateLimiter:
    """The shared limiter of the source ``settings`` choose (``source_rate_limiter``)."""
    profile = source_class(settings.weather_source).describe(settings)
    return source_rate_limiter(redis, settings, profile, **options)
