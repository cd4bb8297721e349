"""The shared OpenWeatherMap rate limit holds across three fetch-worker processes, and lets the
whole limit through (real processes; the mock counts every call and enforces no limit itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services import pipeline_keys
from services.demo.environment import DEMO_OWM_KEY
from tests.services.pipeline.process_support import (
    dead_letter_counts,
    redis_client,
    require_running,
    running_pipeline,
    wait_until,
)

LOCATIONS = 15  # each new location: one onecall and up to three day_summary calls
PER_MINUTE = 40  # so the run needs a little more than one minute of calls


@pytest.mark.slow
def test_rate_limit_holds_across_fetch_worker_processes(tmp_path: Path) -> None:
    with running_pipeline(tmp_path) as pipeline:
        location_ids = pipeline.seed(LOCATIONS)
        env = pipeline.env(
            OWM_RATE_LIMIT_PER_MINUTE=str(PER_MINUTE),
            OWM_RATE_LIMIT_PER_DAY="100000",
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
        wait_until(
            lambda: pipeline.conditions_count() >= LOCATIONS,
            85,
            f"{LOCATIONS} conditions",
            alive=require_running(workers, pipeline),
        )
        assert pipeline.latest_condition_ids() == set(location_ids)
        client = redis_client(pipeline)
        try:
            assert dead_letter_counts(client) == {
                pipeline_keys.INGESTION_STREAM: 0,
                pipeline_keys.CATEGORIZATION_STREAM: 0,
            }
        finally:
            client.close()
        stats = pipeline.owm_stats()
        key = stats["keys"][DEMO_OWM_KEY]
        print(
            f"owm calls: {stats['requests_by_endpoint']}, admitted {key['admitted']}, "
            f"max_admitted_in_any_60s {key['max_admitted_in_any_60s']}, "
            f"max_in_any_60s {key['max_in_any_60s']}"
        )
        assert key["rate_limited"] == 0
        assert key["max_in_any_60s"] <= PER_MINUTE
        assert key["max_admitted_in_any_60s"] <= PER_MINUTE
        assert key["max_admitted_in_any_60s"] >= PER_MINUTE  # the limiter let the whole limit in
        assert key["admitted"] > PER_MINUTE  # and the run needed more than one window
