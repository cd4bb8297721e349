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
from services.fetch_weather.handler import FetchWeatherHandler
from services.fetch_weather.owm_client import OwmClient, OwmClientOptions
from services.fetch_weather.owm_gate import OwmGate
from services.fetch_weather.settings import FetchWeatherSettings
from services.http_transport import AiohttpTransport, HttpTransport
from services.tasks import categorize_codec, ingest_codec
from services.worker_metrics import served_metrics


def fetch_worker_options(
    settings: FetchWeatherSettings, *, concurrency: int | None = None, **overrides: Any
) -> WorkerOptions:
    """``concurrency``: OWM calls in flight (default FETCH_CONCURRENCY); the runtime's task
    slots are ``settings.tasks_in_flight`` of it."""
    slots = settings.tasks_in_flight(concurrency or settings.fetch_concurrency)
    return settings.worker_options(
        stream=pipeline_keys.INGESTION_STREAM,
        group=pipeline_keys.FETCH_GROUP,
        forward_stream=pipeline_keys.CATEGORIZATION_STREAM,
        concurrency=slots,
        **overrides,
    )


def owm_rate_limiter(
    redis: Any,
    settings: FetchWeatherSettings,
    *,
    on_wait: WaitHook | None = None,
    on_refusal: RefusalHook | None = None,
    minute_ms: int = MINUTE_MS,
) -> RateLimiter:
    """The shared OWM limiter: the per-minute and per-day limits, and the per-minute limit again
    over 60 s + OWM_RATE_LIMIT_MARGIN_MS (a permit's call reaches the provider a little after the
    permit: admitted at the very end of one minute and delayed, it would count in the next). Its
    rate adapts to the 429s of the last minute (OWM_RATE_LIMIT_MIN_FACTOR, _RECOVERY_S).

    ``minute_ms`` is the length of the provider's minute (the windows are it and it + the margin,
    and the 429s of the last one are the evidence): 60 000, except in tests that compress time
    (with the mock's MOCK_OWM_RATE_LIMIT_WINDOW_S)."""
    margin_ms = settings.owm_rate_limit_margin_ms
    per_minute = settings.owm_rate_limit_per_minute
    windows = [(minute_ms, per_minute)]
    if margin_ms:
        windows.append((minute_ms + margin_ms, per_minute))
    return RateLimiter(
        redis,
        pipeline_keys.OWM_RATE_LIMITER,
        per_day=settings.owm_rate_limit_per_day,
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
    owm_http: HttpTransport | httpx.AsyncClient | None = None,
    weather_http: httpx.AsyncClient | None = None,
    concurrency: int | None = None,
    metrics: WorkerMetrics | None = None,
    rate_limit_minute_ms: int = MINUTE_MS,
    **option_overrides: Any,
) -> AsyncIterator[Worker]:
    """The worker, with its clients open; clients passed in are used as they are (tests).
    With ``metrics``, its hooks are wired in and served on METRICS_PORT.
    ``rate_limit_minute_ms``: see ``owm_rate_limiter`` (tests that compress time)."""
    async with AsyncExitStack() as stack:
        calls = concurrency or settings.fetch_concurrency
        options = fetch_worker_options(settings, concurrency=calls, **option_overrides)
        redis, weather = await settings.open_clients(
            stack, redis=redis, weather_http=weather_http, concurrency=options.concurrency
        )
        if owm_http is None:
            owm_http = AiohttpTransport(max_connections=calls)
            stack.push_async_callback(owm_http.aclose)
        owm = OwmClient(
            owm_http,
            OwmClientOptions(
                base_url=settings.owm_base_url,
                api_key=settings.owm_api_key.get_secret_value(),
                timeout_s=settings.owm_timeout_s,
            ),
        )
        breaker = CircuitBreaker(redis, pipeline_keys.OWM_BREAKER, settings.owm_breaker_options())
        limiter = owm_rate_limiter(
            redis,
            settings,
            on_wait=None if metrics is None else metrics.on_rate_limit_wait,
            on_refusal=None if metrics is None else metrics.on_rate_limit_refusal,
            minute_ms=rate_limit_minute_ms,
        )
        gate = OwmGate(
            redis,
            limiter=limiter,
            breaker=breaker,
            cache_ttl_s=settings.answer_cache_ttl_s(),
            rate_limit_wait_s=settings.owm_rate_limit_wait_s,
            transient_attempts=settings.owm_transient_attempts,
            max_concurrent_calls=calls,
            on_slot_wait=None if metrics is None else metrics.on_slot_wait,
        )
        writes = await settings.open_writes(stack, weather)
        handler = FetchWeatherHandler(
            owm=owm, gate=gate, weather=weather, redis=redis, writes=writes
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
