"""Done marks live two schedule windows, or as long as a task's own redeliveries if longer."""

from __future__ import annotations

import pytest

from etl_core.errors import ConfigurationError
from services import pipeline_keys
from tests.services.pipeline.helpers import categorize_settings, fetch_settings


def _horizon_s(**settings: object) -> float:
    options = fetch_settings(**settings).worker_options(
        stream=pipeline_keys.INGESTION_STREAM, group=pipeline_keys.FETCH_GROUP, concurrency=1
    )
    return options.dedup_horizon_s


def test_done_marks_live_two_windows_by_default() -> None:
    assert _horizon_s() == 2 * 3600
    assert _horizon_s(schedule_window="1d", worker_dedup_windows=1) == 86_400


def test_done_marks_outlive_the_retries_of_a_short_window() -> None:
    # 15 min windows; 5 deliveries of up to 60 s + 120 s reclaim + 300 s backoff: 2400 s.
    assert _horizon_s(schedule_window="15m") == 5 * (60 + 120 + 300)


def test_the_retry_backoff_is_settable_and_checked() -> None:
    options = categorize_settings(
        worker_retry_backoff_base_s=0.5, worker_retry_backoff_max_s=30
    ).worker_options(stream="s", group="g", concurrency=1)
    assert (options.retry_backoff_base_s, options.retry_backoff_max_s) == (0.5, 30)
    with pytest.raises(ConfigurationError, match=r"WORKER_RETRY_BACKOFF_BASE_S .* cannot exceed"):
        categorize_settings(worker_retry_backoff_base_s=60, worker_retry_backoff_max_s=30)
