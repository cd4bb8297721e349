"""``trail-etl worker fetch-weather`` and ``trail-etl worker categorize-trail-conditions``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Annotated, Any

import redis
import typer

from etl_core.errors import ConfigurationError, RedisRefused
from etl_core.logging import configure_logging
from etl_core.settings import ServiceSettings
from services import pipeline_keys
from services.cli.exits import exit_with, redis_exit

if TYPE_CHECKING:
    from etl_core.worker import Worker

app = typer.Typer(
    help="Run a pipeline worker until SIGTERM (exit 2 on a bad setting, or when Redis refuses "
    "its credentials or an ACL permission; an unreachable Redis is waited out).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

Concurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency", min=1, help="Handlers in flight (default: CATEGORIZE_CONCURRENCY)."
    ),
]
CallConcurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        min=1,
        help="Weather-provider calls in flight (default: FETCH_CONCURRENCY); tasks in flight: "
        "FETCH_MAX_IN_FLIGHT, default twice this.",
    ),
]
WorkerFactory = Callable[..., AbstractAsyncContextManager["Worker"]]


def _settings(cls: type[ServiceSettings]) -> Any:
    try:
        return cls.load()
    except ConfigurationError as exc:
        raise exit_with(str(exc)) from None


async def _serve(
    factory: WorkerFactory, settings: Any, concurrency: int | None, stage: str
) -> None:
    from etl_core.gc_tuning import tune_gc
    from services.worker_metrics import pipeline_worker_metrics

    worker_context: AbstractAsyncContextManager[Worker] = factory(
        settings, concurrency=concurrency, metrics=pipeline_worker_metrics(stage)
    )
    async with worker_context as worker:
        worker.install_signal_handlers()
        tune_gc()
        await worker.run()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (it roughly halves the loop's and sockets' CPU per task)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _run(factory: WorkerFactory, settings: Any, concurrency: int | None, stage: str) -> None:
    configure_logging(level=settings.log_level)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(factory, settings, concurrency, stage))
    except (RedisRefused, redis.RedisError) as exc:  # credentials or an ACL permission refused
        raise redis_exit(exc, settings.redis_url) from None
    except ConfigurationError as exc:
        raise exit_with(str(exc)) from None


@app.command("fetch-weather")
def fetch_weather(concurrency: CallConcurrency = None) -> None:
    """Fetch OpenWeatherMap data for owm-ingestion-stream tasks."""
    # Each worker imports its own stage (aiohttp, the OWM client) only when it is the one started.
    from services.fetch_weather.settings import FetchWeatherSettings
    from services.fetch_weather.wiring import fetch_worker

    _run(fetch_worker, _settings(FetchWeatherSettings), concurrency, pipeline_keys.FETCH_GROUP)


@app.command("categorize-trail-conditions")
def categorize_trail_conditions(concurrency: Concurrency = None) -> None:
    """Label trail conditions for owm-categorization-stream tasks."""
    from services.categorize.settings import CategorizeSettings
    from services.categorize.wiring import categorize_worker

    _run(
        categorize_worker,
        _settings(CategorizeSettings),
        concurrency,
        pipeline_keys.CATEGORIZE_GROUP,
    )
