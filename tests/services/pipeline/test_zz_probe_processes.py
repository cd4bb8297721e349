"""Open-Meteo's limits per minute and per hour hold across three fetch-worker processes: the
shared limiter admits the whole minute, then stops at the hour's limit while tasks wait, and the
mock (enforcing the same quotas itself) never has to refuse a call (real processes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from services import pipeline_keys
from tests.services.conftest import SOURCES
from tests.services.pipeline.process_support import (
    dead_letter_counts,
    redis_client,
    require_running,
    running_pipeline,
    wait_until,
)

LOCATIONS = 20  # one call each; more than the hour allows
PER_MINUTE = 8
PER_HOUR = 12  # binds in the second minute
MARGIN_S = 2.0  # the limiter's per-minute window is 60 s + OWM_RATE_LIMIT_MARGIN_MS
# From the first call: by then the per-minute limit alone would have admitted another
# PER_MINUTE calls (8 s for them to be admitted and answered on a loaded machine).
WATCH_S = 60 + MARGIN_S + 8


def _client_stats(stats: dict[str, Any]) -> dict[str, Any]:
    (client,) = stats["open_meteo"]["clients"].values()  # one address: every worker's
    return dict(client)


@pytest.mark.slow
def test_open_meteo_minute_and_hour_limits_hold_across_fetch_worker_processes(
    tmp_path: Path,
) -> None:
    quotas = {
        "MOCK_OWM_OPEN_METEO_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
        "MOCK_OWM_OPEN_METEO_RATE_LIMIT_PER_HOUR": str(PER_HOUR),
    }
    with running_pipeline(tmp_path, source=SOURCES["open-meteo"], **quotas) as pipeline:
        location_ids = pipeline.seed(LOCATIONS)
        env = pipeline.env(
            OPEN_METEO_RATE_LIMIT_PER_MINUTE=str(PER_MINUTE),
            OPEN_METEO_RATE_LIMIT_PER_HOUR="",
            OPEN_METEO_RATE_LIMIT_PER_DAY="10000",
            WORKER_HANDLER_TIMEOUT_S="80",
            WORKER_RECLAIM_IDLE_MS="120000",
            WORKER_SHUTDOWN_GRACE_S="5",
        )
        pipeline.schedule(env)
        workers = [
            pipeline.start_worker(f"fetch-worker-{i}", "fetch-weather", env) for i in range(3)
        ]
        workers.append(
            pipeline.start_worker("categorize-worker-0", "categorize-trail-conditions", env)
        )
        alive = require_running(workers, pipeline)
        wait_until(
            lambda: pipeline.owm_stats()["open_meteo"]["calls_charged"] > 0,
            60,
            "the first Open-Meteo call",
            alive=alive,
        )
        first_call = time.monotonic()
        # Watch until the per-minute limit alone would have let a second minute's calls through.
        while time.monotonic() - first_call < WATCH_S:
            alive()
            charged = _client_stats(pipeline.owm_stats())["calls_charged"]
            assert charged <= PER_HOUR, f"{charged} calls in the hour, limit {PER_HOUR}"
            time.sleep(0.5)
        wait_until(
            lambda: pipeline.conditions_count() >= PER_HOUR,
            60,
            f"{PER_HOUR} conditions (the hour's calls)",
            alive=alive,
        )

        stats = pipeline.owm_stats()
        client = _client_stats(stats)
        print(f"open-meteo: {client}, refused by the mock: {stats['open_meteo']['rate_limited']}")
        assert client["calls_charged"] == PER_HOUR  # the whole hour, and no more
        assert client["max_calls_charged_in_any_60s"] <= PER_MINUTE
        assert stats["open_meteo"]["rate_limited"] == {}  # the mock never had to say 429
        assert pipeline.conditions_count() == PER_HOUR
        assert pipeline.latest_condition_ids() < set(location_ids)
        redis = redis_client(pipeline)
        try:  # the rest wait for the next hour: none is dead-lettered
            assert dead_letter_counts(redis) == {
                pipeline_keys.INGESTION_STREAM: 0,
                pipeline_keys.CATEGORIZATION_STREAM: 0,
            }
        finally:
            redis.close()
