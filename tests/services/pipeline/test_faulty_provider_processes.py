"""A provider that misbehaves the way real ones do does not slow the pipeline to a crawl or drain
it into dead letters: three fetch-worker processes with default settings, 500 locations, the mock
at 20% 5xx, 5% 429 (one run with ``Retry-After``, one without) and 2% hung calls. Every location
gets a condition, nothing is pending or dead-lettered, the breaker never opens, and each faulty run
takes at most three times as long as the same run without faults (the times are printed).

Each run schedules its own 500 locations (``LOCATIONS_FILE``), so none reuses another's cached
answers or covered history.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl_core import keys
from services.demo.run import demo_locations
from tests.services.pipeline.process_support import (
    Pipeline,
    dead_letter_counts,
    drained,
    redis_client,
    require_running,
    running_pipeline,
    wait_until,
)

LOCATIONS = 500
FETCH_WORKERS = 3
FAULTS: dict[str, Any] = {"error_rate": 0.20, "rate_429": 0.05, "timeout_rate": 0.02}
MAX_SLOWDOWN = 3.0
RUN_TIMEOUT_S = 600.0


def run_window(
    pipeline: Pipeline, env: dict[str, str], file: Path, done_before: int, alive: Any
) -> float:
    """Schedule the locations of ``file``; seconds until each of them has a condition."""
    started = time.monotonic()
    pipeline.schedule({**env, "LOCATIONS_FILE": str(file)})
    wait_until(
        lambda: pipeline.conditions_count() >= done_before + LOCATIONS,
        RUN_TIMEOUT_S,
        f"{LOCATIONS} more conditions",
        alive=alive,
    )
    return time.monotonic() - started


def set_faults(pipeline: Pipeline, **faults: Any) -> None:
    response = httpx.post(
        pipeline.owm_url + "/__faults",
        json=faults,
        headers=pipeline.owm_admin_headers,
        timeout=10.0,
    )
    assert response.status_code == 200, response.text


@pytest.mark.slow
def test_a_faulty_provider_costs_time_not_tasks(tmp_path: Path) -> None:
    with running_pipeline(tmp_path) as pipeline:
        bodies = demo_locations(3 * LOCATIONS)
        response = httpx.post(
            pipeline.weather_url + "/v1/locations",
            json={"locations": bodies},
            headers={"X-API-Key": pipeline.env()["WEATHER_SERVICE_API_KEY"]},
            timeout=120.0,
        )
        response.raise_for_status()
        files = []
        for n in range(3):
            file = tmp_path / f"locations-{n}.jsonl"
            chunk = bodies[n * LOCATIONS : (n + 1) * LOCATIONS]
            file.write_text("".join(json.dumps(b) + "\n" for b in chunk))
            files.append(file)
        env = pipeline.env()
        workers = [
            pipeline.start_worker(f"fetch-worker-{i}", "fetch-weather", env)
            for i in range(FETCH_WORKERS)
        ]
        workers.append(
            pipeline.start_worker("categorize-worker", "categorize-trail-conditions", env)
        )
        alive = require_running(workers, pipeline)

        clean_s = run_window(pipeline, env, files[0], 0, alive)
        set_faults(pipeline, **FAULTS, retry_after_s=1)
        with_retry_after_s = run_window(pipeline, env, files[1], LOCATIONS, alive)
        set_faults(pipeline, **FAULTS, retry_after_s=None)
        without_retry_after_s = run_window(pipeline, env, files[2], 2 * LOCATIONS, alive)
        stats = pipeline.owm_stats()
        print(
            f"{LOCATIONS} locations, {FETCH_WORKERS} fetch workers: "
            f"without faults {clean_s:.1f} s; "
            f"with faults and Retry-After {with_retry_after_s:.1f} s; without Retry-After "
            f"{without_retry_after_s:.1f} s; mock status codes {stats['status_codes']}"
        )
        assert pipeline.latest_condition_ids() == {str(b["id"]) for b in bodies}
        client = redis_client(pipeline)
        try:
            for stream, group in (
                (keys.INGESTION_STREAM, keys.FETCH_GROUP),
                (keys.CATEGORIZATION_STREAM, keys.CATEGORIZE_GROUP),
            ):
                wait_until(lambda s=stream, g=group: drained(client, s, g), 60, f"{group} drained")
            assert dead_letter_counts(client) == {
                keys.INGESTION_STREAM: 0,
                keys.CATEGORIZATION_STREAM: 0,
            }
            assert not client.exists(keys.stage_pause(keys.FETCH_GROUP))
        finally:
            client.close()
        faults_seen = stats["status_codes"]
        assert int(faults_seen.get("429", 0)) > 0 and any(c.startswith("5") for c in faults_seen)
        assert with_retry_after_s <= MAX_SLOWDOWN * clean_s
        assert without_retry_after_s <= MAX_SLOWDOWN * clean_s
        for i in range(FETCH_WORKERS):
            log = (tmp_path / f"fetch-worker-{i}.log").read_text(errors="replace")
            assert "breaker_state_changed" not in log, log[-3000:]  # not even half-open
