"""Builds the categorize-trail-conditions worker from its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from etl_core.errors import ConfigurationError
from etl_core.worker import Worker, WorkerOptions
from etl_core.worker.metrics import WorkerMetrics
from services import pipeline_keys
from services.categorize.contract import TrailClassifier, load_classifier
from services.categorize.handler import CategorizeHandler, CategorizeOptions
from services.categorize.settings import CategorizeSettings
from services.tasks import categorize_codec
from services.worker_metrics import served_metrics


def classifier_from(settings: CategorizeSettings) -> TrailClassifier:
    """The classifier named by CLASSIFIER; ``ConfigurationError`` naming it when it is bad."""
    try:
        return load_classifier(settings.classifier)
    except ValueError as exc:
        raise ConfigurationError(f"CLASSIFIER: {exc}") from None


def categorize_worker_options(
    settings: CategorizeSettings, *, concurrency: int | None = None, **overrides: Any
) -> WorkerOptions:
    return settings.worker_options(
        stream=pipeline_keys.CATEGORIZATION_STREAM,
        group=pipeline_keys.CATEGORIZE_GROUP,
        concurrency=concurrency or settings.categorize_concurrency,
        **overrides,
    )


@asynccontextmanager
async def categorize_worker(
    settings: CategorizeSettings,
    *,
    redis: Any | None = None,
    weather_http: httpx.AsyncClient | None = None,
    concurrency: int | None = None,
    metrics: WorkerMetrics | None = None,
    **option_overrides: Any,
) -> AsyncIterator[Worker]:
    """The worker, with its clients open; clients passed in are used as they are (tests).
    With ``metrics``, its hooks are wired in and served on METRICS_PORT."""
    classifier = classifier_from(settings)  # fails before anything is opened
    async with AsyncExitStack() as stack:
        options = categorize_worker_options(settings, concurrency=concurrency, **option_overrides)
        redis, weather = await settings.open_clients(
            stack, redis=redis, weather_http=weather_http, concurrency=options.concurrency
        )
        handler = CategorizeHandler(
            classifier=classifier,
            weather=weather,
            reads=await settings.open_reads(stack, weather),
            writes=await settings.open_writes(stack, weather),
            options=CategorizeOptions(
                history_h=settings.categorize_history_h,
                forecast_h=settings.categorize_forecast_h,
            ),
        )
        codec = categorize_codec(settings.window_rule())
        worker = Worker(redis, codec, handler, options, hooks=metrics)
        await stack.enter_async_context(
            served_metrics(settings, metrics, worker, breakers=[weather.breaker])
        )
        yield worker
