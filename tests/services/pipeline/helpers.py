"""Helpers of the pipeline tests: settings pointing at the in-process apps, a task context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from etl_core.logging import get_logger
from etl_core.task import BaseTask
from etl_core.windows import window_label
from etl_core.worker import TaskContext
from services.categorize.settings import CategorizeSettings
from services.fetch_weather.settings import FetchWeatherSettings
from services.tasks import IngestTask
from tests.services.conftest import OWM_BASE, OWM_KEY, WS_API_KEY, WS_BASE, trail

FAST_WORKER = {"block_ms": 20, "empty_read_backoff_ms": 10, "delayed_poll_ms": 50}


def fetch_settings(**overrides: Any) -> FetchWeatherSettings:
    values: dict[str, Any] = {
        "weather_service_url": WS_BASE,
        "weather_service_api_key": WS_API_KEY,
        "owm_base_url": OWM_BASE,
        "owm_api_key": OWM_KEY,
        "owm_rate_limit_per_minute": 1000,
        "owm_rate_limit_per_day": 10_000,
    }
    values.update(overrides)
    settings: FetchWeatherSettings = FetchWeatherSettings.load(**values)
    return settings


def context_for(task: BaseTask, stream: str = "test-stream") -> TaskContext:
    return TaskContext(
        entry_id="1-0",
        stream=stream,
        consumer="test",
        attempts=0,
        task_id=task.task_id,
        parent_log=get_logger("tests"),
    )


def categorize_settings(**overrides: Any) -> CategorizeSettings:
    values: dict[str, Any] = {"weather_service_url": WS_BASE, "weather_service_api_key": WS_API_KEY}
    values.update(overrides)
    settings: CategorizeSettings = CategorizeSettings.load(**values)
    return settings


async def entries_added(client: Any, stream: str) -> int:
    """Entries ever added to ``stream`` (``XINFO STREAM`` entries-added): unlike ``XLEN`` it does
    not drop when a worker trims what is done (WORKER_TRIM_INTERVAL_S)."""
    return int((await client.xinfo_stream(stream))["entries-added"])


def ingest(n: int, now: datetime | None = None) -> IngestTask:
    """The fetch task of ``trail(n)`` for the schedule window of ``now`` (default: now)."""
    loc = trail(n)
    window = window_label(now or datetime.now(UTC), "1h")
    return IngestTask(location_id=loc["id"], window=window, lat=loc["lat"], lon=loc["lon"])
